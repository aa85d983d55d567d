//go:build tools

// Package tools pins the CNI plugins the kind node image installs in
// /opt/cni/bin (the version kind v0.33.0's base image builds).
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
)
