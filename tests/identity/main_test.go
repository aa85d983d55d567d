// Package identity_test proves that pods receive a cloud identity the way a
// cluster gives it: the charts installed on a local control plane with the
// real Azure Workload Identity and EKS pod identity webhooks in the loop, and
// (in the exchange tests) the pods' projected tokens accepted by loopback
// stand-ins for Entra ID, AWS STS and Google STS through the real cloud SDKs.
//
// The webhooks run as host processes beside the API server, so this package
// always uses the local provider.
package identity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/tests/harness/chartdir"
	"github.com/osmo-wi/charts/tests/harness/cloudsts"
	"github.com/osmo-wi/charts/tests/harness/cluster"
	"github.com/osmo-wi/charts/tests/harness/helmcli"
	"github.com/osmo-wi/charts/tests/harness/identitywebhook"
)

// standIn answers for the three clouds' token endpoints (they cannot be reached
// here); the Azure webhook injects its address as AZURE_AUTHORITY_HOST.
var standIn = &cloudsts.Server{}

func TestMain(m *testing.M) {
	if err := standIn.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "cloud stand-in:", err)
		os.Exit(1)
	}
	code := cluster.Run(m, cluster.Options{
		Provider: cluster.ProviderLocal,
		Local: cluster.LocalOptions{AfterStart: []func(context.Context, *cluster.Local) error{
			identitywebhook.Start(identitywebhook.Options{AzureAuthorityHost: standIn.EntraAuthorityHost()}),
		}},
	})
	standIn.Stop()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// local is the package's cluster with its webhooks.
func local(t *testing.T) *cluster.Local {
	t.Helper()
	c, ok := cluster.Shared(t).(*cluster.Local)
	require.True(t, ok, "identity tests need the local provider")
	return c
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// chartDir is a CLI-ready copy of charts/<chart>, built once per package.
func chartDir(t *testing.T, chart string) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "osmo-identity-charts-")
		if built.err == nil {
			_, built.err = chartdir.Build(built.dir)
		}
	})
	require.NoError(t, built.err)
	return filepath.Join(built.dir, "charts", chart)
}

// helm is the pinned helm v3 pointed at the package's cluster.
func helm(t *testing.T) helmcli.Helm {
	return helmcli.Helm{Tool: "helm", Kubeconfig: local(t).KubeconfigPath(), Home: filepath.Join(t.TempDir(), "helm-home")}
}
