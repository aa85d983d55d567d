package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ResolveHosts makes the cluster's DNS answer names with ip, as a private
// DNS zone would (Private Google Access resolves *.googleapis.com to its own
// addresses): a hosts block in CoreDNS's Corefile, ahead of the forwarder,
// then CoreDNS restarted so that its pods read it now rather than at their
// next reload. Pods then reach the clouds' own URLs (the charts' credential
// files name Google's) at ip.
func (k *Kind) ResolveHosts(ctx context.Context, ip string, names ...string) error {
	configMaps := k.client.CoreV1().ConfigMaps("kube-system")
	cm, err := configMaps.Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("kind: CoreDNS's ConfigMap: %w", err)
	}
	corefile, err := withHosts(cm.Data["Corefile"], ip, names)
	if err != nil {
		return fmt.Errorf("kind: CoreDNS's Corefile: %w", err)
	}
	cm.Data["Corefile"] = corefile
	if _, err := configMaps.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("kind: update CoreDNS's Corefile: %w", err)
	}
	return k.restartCoreDNS(ctx)
}

// withHosts puts `hosts { ip names...; fallthrough }` first in the root zone's
// server block (`.:53 {`) of a Corefile.
func withHosts(corefile, ip string, names []string) (string, error) {
	const root = ".:53 {\n"
	at := strings.Index(corefile, root)
	if at < 0 {
		return "", fmt.Errorf("no %q server block in:\n%s", strings.TrimSpace(root), strings.TrimSpace(corefile))
	}
	block := fmt.Sprintf("    hosts {\n        %s %s\n        fallthrough\n    }\n", ip, strings.Join(names, " "))
	at += len(root)
	return corefile[:at] + block + corefile[at:], nil
}

// restartCoreDNS rolls CoreDNS's Deployment, as `kubectl rollout restart`
// does, and waits until the new pods are all available.
func (k *Kind) restartCoreDNS(ctx context.Context) error {
	deployments := k.client.AppsV1().Deployments("kube-system")
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := deployments.Patch(ctx, "coredns", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("kind: restart CoreDNS: %w", err)
	}
	return WaitDeploymentRolledOut(ctx, k.client, "kube-system", "coredns", 2*time.Minute)
}
