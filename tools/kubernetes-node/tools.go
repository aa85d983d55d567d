//go:build tools

// Package tools pins the Kubernetes commands the kind node image carries
// (tools/kindimage): the node's kubelet, kubeadm and kube-proxy (whose image
// kubeadm's DaemonSet runs).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
