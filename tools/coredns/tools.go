//go:build tools

// Package tools pins CoreDNS at the version kubeadm v1.34 deploys
// (constants.CoreDNSVersion), for the kind node image's preloaded images.
package tools

import _ "github.com/coredns/coredns"
