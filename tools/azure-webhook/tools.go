//go:build tools

// Package tools pins the Azure Workload Identity mutating webhook.
package tools

import _ "github.com/Azure/azure-workload-identity/cmd/webhook"
