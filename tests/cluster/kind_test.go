package cluster_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/versions"
)

// The kind provider needs a container engine and a node image; it runs
// wherever an engine answers (CI runners) and is skipped only when none does.
func TestKindProvider(t *testing.T) {
	engine, why := cluster.ContainerEngine(context.Background())
	if engine == "" {
		t.Skipf("kind: no container engine answers (%s)", why)
	}
	t.Parallel()
	kind, err := cluster.Start(context.Background(), cluster.Options{Provider: cluster.ProviderKind, Out: t.Output()})
	require.NoError(t, err)
	defer func() { assert.NoError(t, kind.Stop(context.Background())) }()
	assert.Equal(t, cluster.ProviderKind, kind.Provider())
	require.NoError(t, cluster.WaitReady(context.Background(), kind.Client()))
	version, err := kind.Client().Discovery().ServerVersion()
	require.NoError(t, err)
	assert.Equal(t, string(versions.Kubernetes), version.GitVersion)
	assert.FileExists(t, kind.KubeconfigPath())
}
