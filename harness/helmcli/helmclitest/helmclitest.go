// Package helmclitest is helmcli for tests, shaped like terratest's helm
// module: Foo(t, ...) runs helmcli's FooE with the test's context and fails
// the test on error, FooContext(t, ctx, ...) with ctx; FooE stays available.
package helmclitest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/osmo-wi/charts/harness/helmcli"
)

// Helm is helmcli.Helm with the failing forms.
type Helm struct{ helmcli.Helm }

// New is the pinned tool ("helm" or "helm4") pointed at kubeconfig, with a
// Helm home of its own in the test's temporary folder.
func New(t testing.TB, tool, kubeconfig string) Helm {
	return Helm{helmcli.Helm{Tool: tool, Kubeconfig: kubeconfig, Home: filepath.Join(t.TempDir(), "helm-home")}}
}

// must returns out, or fails t with err (which carries the command and output).
func must(t testing.TB, out string, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Run runs `helm <command> <args...>` in namespace (helmcli.Helm.RunE).
func (h Helm) Run(t testing.TB, namespace, command string, args ...string) string {
	t.Helper()
	return h.RunContext(t, t.Context(), namespace, command, args...)
}

// RunContext is Run under ctx.
func (h Helm) RunContext(t testing.TB, ctx context.Context, namespace, command string, args ...string) string {
	t.Helper()
	out, err := h.RunE(ctx, namespace, command, args...)
	return must(t, out, err)
}

// Install installs chart as release, waiting for readiness (helmcli.Helm.InstallE).
func (h Helm) Install(t testing.TB, namespace, release, chart string, valuesFiles ...string) string {
	t.Helper()
	return h.InstallContext(t, t.Context(), namespace, release, chart, valuesFiles...)
}

// InstallContext is Install under ctx.
func (h Helm) InstallContext(t testing.TB, ctx context.Context, namespace, release, chart string, valuesFiles ...string) string {
	t.Helper()
	out, err := h.InstallE(ctx, namespace, release, chart, valuesFiles...)
	return must(t, out, err)
}

// Upgrade upgrades release to chart (helmcli.Helm.UpgradeE).
func (h Helm) Upgrade(t testing.TB, namespace, release, chart string, valuesFiles ...string) string {
	t.Helper()
	return h.UpgradeContext(t, t.Context(), namespace, release, chart, valuesFiles...)
}

// UpgradeContext is Upgrade under ctx.
func (h Helm) UpgradeContext(t testing.TB, ctx context.Context, namespace, release, chart string, valuesFiles ...string) string {
	t.Helper()
	out, err := h.UpgradeE(ctx, namespace, release, chart, valuesFiles...)
	return must(t, out, err)
}

// Rollback rolls release back to revision (helmcli.Helm.RollbackE).
func (h Helm) Rollback(t testing.TB, namespace, release string, revision int) string {
	t.Helper()
	return h.RollbackContext(t, t.Context(), namespace, release, revision)
}

// RollbackContext is Rollback under ctx.
func (h Helm) RollbackContext(t testing.TB, ctx context.Context, namespace, release string, revision int) string {
	t.Helper()
	out, err := h.RollbackE(ctx, namespace, release, revision)
	return must(t, out, err)
}

// Uninstall removes release, waiting for its resources to go (helmcli.Helm.UninstallE).
func (h Helm) Uninstall(t testing.TB, namespace, release string) string {
	t.Helper()
	return h.UninstallContext(t, t.Context(), namespace, release)
}

// UninstallContext is Uninstall under ctx.
func (h Helm) UninstallContext(t testing.TB, ctx context.Context, namespace, release string) string {
	t.Helper()
	out, err := h.UninstallE(ctx, namespace, release)
	return must(t, out, err)
}

// Test runs the release's `helm test` hooks (helmcli.Helm.TestE).
func (h Helm) Test(t testing.TB, namespace, release string) string {
	t.Helper()
	return h.TestContext(t, t.Context(), namespace, release)
}

// TestContext is Test under ctx.
func (h Helm) TestContext(t testing.TB, ctx context.Context, namespace, release string) string {
	t.Helper()
	out, err := h.TestE(ctx, namespace, release)
	return must(t, out, err)
}
