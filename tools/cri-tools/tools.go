//go:build tools

// Package tools pins crictl, which the kind node image carries (kind reads
// the node's images with it, and collects logs with it).
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
