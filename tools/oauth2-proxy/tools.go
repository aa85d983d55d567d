//go:build tools

// Package tools pins the OAuth2 Proxy this wrapper module builds: the gateway's
// oauth2-proxy, which tests/gateway starts with the arguments the service chart
// renders. NVIDIA's image is v7.14.2; the Go module proxy serves no v7.14.x (nor
// v7.15.0/v7.15.1), so this is the served release closest to it (versions.env).
package tools

import (
	_ "github.com/oauth2-proxy/oauth2-proxy/v7"
)
