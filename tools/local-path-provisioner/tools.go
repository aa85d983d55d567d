//go:build tools

// Package tools pins the storage provisioner kind's default StorageClass
// runs, for the kind node image's preloaded images.
package tools

import _ "github.com/rancher/local-path-provisioner"
