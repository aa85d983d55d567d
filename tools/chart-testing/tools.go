//go:build tools

// Package tools pins chart-testing (ct). `go install …@v3.14.0` fails because the
// proxy refuses the module's version list, so it is built from this wrapper.
package tools

import _ "github.com/helm/chart-testing/v3/ct"
