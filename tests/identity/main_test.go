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
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/helmcli/helmclitest"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/podspec"
	"github.com/osmo-wi/charts/harness/scenario"
)

// standIn answers for the three clouds' token endpoints (they cannot be reached
// here); the Azure webhook injects its address as AZURE_AUTHORITY_HOST.
var standIn = &cloudsts.Server{}

func TestMain(m *testing.M) {
	if err := standIn.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "cloud stand-in:", err)
		os.Exit(1)
	}
	code := clustertest.Run(m, cluster.Options{
		Provider: cluster.ProviderLocal,
		Local: cluster.LocalOptions{AfterStart: []func(context.Context, *cluster.Local) error{
			identitywebhook.Start(identitywebhook.Options{AzureAuthorityHost: standIn.EntraAuthorityHost()}),
		}},
	})
	standIn.Stop()
	chartdir.RemoveShared()
	os.Exit(code)
}

// local is the package's cluster with its webhooks.
func local(tb testing.TB) *cluster.Local {
	tb.Helper()
	c, ok := clustertest.Shared(tb).(*cluster.Local)
	require.True(tb, ok, "identity tests need the local provider")
	return c
}

// chartDir is a CLI-ready copy of charts/<chart>, built once per package.
func chartDir(tb testing.TB, chart string) string {
	tb.Helper()
	dir, err := chartdir.Shared()
	require.NoError(tb, err)
	return filepath.Join(dir, chart)
}

// helm is the pinned helm v3 pointed at the package's cluster; each release's
// workflows stay in its test's namespace.
func helm(tb testing.TB) helmclitest.Helm {
	h := helmclitest.New(tb, "helm", local(tb).KubeconfigPath())
	h.Sets = scenario.InNamespace
	return h
}

// preProvision creates the account a values file declares pre-provisioned
// (serviceAccount.create: false), as an operator would before installing.
func preProvision(tb testing.TB, namespace, valuesFile string) {
	tb.Helper()
	name, annotations, ok, err := scenario.PreProvisionedAccount(valuesFile)
	require.NoError(tb, err)
	if !ok {
		return
	}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}
	_, err = local(tb).Client().CoreV1().ServiceAccounts(namespace).Create(context.Background(), account, metav1.CreateOptions{})
	require.NoError(tb, err)
}

// workloadPods lists the running workload pods (not `helm test` hooks) matching selector.
func workloadPods(tb testing.TB, namespace, selector string) []corev1.Pod {
	tb.Helper()
	list, err := local(tb).Client().CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	require.NoError(tb, err)
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Labels["app.kubernetes.io/component"] != "test" {
			pods = append(pods, p)
		}
	}
	require.NotEmpty(tb, pods, "pods in %s (%s)", namespace, selector)
	return pods
}

// env is a container's literal environment variables.
func env(c corev1.Container) map[string]string {
	literal, _ := podspec.Env(&c)
	return literal
}

// databasePassword is a values file with the database password's source the service and
// router charts need (without one they refuse to render: OSMO's programs would exit at
// start): the MEK file and the password from Secret db-secret, as the deploy guide sets
// it. It goes first, so the test's own values win; the values-examples files set it
// themselves. kwok starts no containers, so the Secret and ConfigMap need not exist.
func databasePassword(tb testing.TB) string {
	tb.Helper()
	return writeValues(tb, "services: {configFile: {enabled: true}}")
}

// writeValues writes a values block to a file for one helm call.
func writeValues(tb testing.TB, content string) string {
	tb.Helper()
	f, err := os.CreateTemp(tb.TempDir(), "values-*.yaml")
	require.NoError(tb, err)
	defer f.Close()
	_, err = f.WriteString(content + "\n")
	require.NoError(tb, err)
	return f.Name()
}
