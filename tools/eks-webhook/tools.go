//go:build tools

// Package tools pins the EKS pod identity webhook (its main package is the module root).
package tools

import _ "github.com/aws/amazon-eks-pod-identity-webhook"
