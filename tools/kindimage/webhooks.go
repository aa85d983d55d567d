package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// webhookManifests copies the identity webhooks' own deployment manifests,
// from the modules tools/install.sh built them of (the Go module cache,
// offline), beside the node image: versions.AzureWebhookManifest (the Azure
// project's deploy/azure-wi-webhook.yaml) and versions.EKSWebhookManifest (the
// EKS project's deploy/ folder: auth, deployment, service, webhook).
// harness/identitywebhook applies them to a kind cluster, with our images.
func (b *builder) webhookManifests(ctx context.Context) error {
	sources := []struct {
		wrapper, module, out string
		files                []string
	}{
		{"azure-webhook", "github.com/Azure/azure-workload-identity", versions.AzureWebhookManifest, []string{"deploy/azure-wi-webhook.yaml"}},
		{"eks-webhook", "github.com/aws/amazon-eks-pod-identity-webhook", versions.EKSWebhookManifest,
			[]string{"deploy/auth.yaml", "deploy/deployment-base.yaml", "deploy/service.yaml", "deploy/mutatingwebhook.yaml"}},
	}
	var said []string
	for _, s := range sources {
		dir, err := output(ctx, "go", "list", "-C", project.Path("tools", s.wrapper), "-m", "-f", "{{.Dir}}", s.module)
		if err != nil {
			return fmt.Errorf("%s: %w", s.module, err)
		}
		var doc bytes.Buffer
		for _, f := range s.files {
			data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), f))
			if err != nil {
				return err
			}
			fmt.Fprintf(&doc, "# %s %s\n---\n%s\n---\n", s.module, f, data)
		}
		if err := os.WriteFile(filepath.Join(b.out, s.out), doc.Bytes(), 0o644); err != nil {
			return err
		}
		said = append(said, s.out)
	}
	b.said = strings.Join(said, " ")
	return nil
}
