// Package cluster_test proves the harness's cluster providers: the local
// control plane behaves like a real cluster where the charts' tests need it
// (versions, workloads, Pod Security, dry runs, service account tokens and
// OIDC discovery, test pods), clusters run side by side, nothing leaks, and
// the provider is chosen as documented.
package cluster_test

import (
	"os"
	"testing"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
)

func TestMain(m *testing.M) {
	if os.Getenv(leakChildEnv) != "" || os.Getenv(parallelChildEnv) != "" {
		os.Exit(m.Run()) // the leak and parallel tests' children start their own clusters
	}
	// These tests prove the local provider itself, so it is pinned here;
	// packages testing charts leave Provider empty and follow OSMO_CLUSTER.
	clustertest.Main(m, cluster.Options{Provider: cluster.ProviderLocal})
}

// local returns the package's cluster as the local provider, for what only it has (CA, issuer, pids).
func local(t *testing.T) *cluster.Local {
	t.Helper()
	c := clustertest.Shared(t)
	l, ok := c.(*cluster.Local)
	if !ok {
		t.Fatalf("the package cluster is %s, want local", c.Provider())
	}
	return l
}
