// Package lifecycle_test proves, on a real API server, what operators and
// GitOps rely on: every chart × scenario installs, runs under the resolved
// ServiceAccount and passes `helm test`; upgrades, rollbacks and uninstalls
// keep their promises; pre-provisioned accounts are never touched; the same
// holds with both pinned helm versions, v3 and v4 (server-side apply).
package lifecycle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/helmcli"
	"github.com/osmo-wi/charts/harness/helmcli/helmclitest"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

func TestMain(m *testing.M) {
	code := clustertest.Run(m, cluster.Options{})
	chartdir.RemoveShared()
	os.Exit(code)
}

// charts returns the folder of CLI-ready charts, built once for the package.
func charts(t *testing.T) string {
	t.Helper()
	dir, err := chartdir.Shared()
	require.NoError(t, err)
	return dir
}

// helmFor returns the pinned helm (tool "helm" or "helm4") pointed at the package's
// cluster; each release's workflows stay in its test's namespace.
func helmFor(t *testing.T, tool string) (helmclitest.Helm, cluster.Cluster) {
	c := clustertest.Shared(t)
	h := helmclitest.New(t, tool, c.KubeconfigPath())
	h.Sets = scenario.InNamespace
	return h, c
}

// forEachHelm runs a parallel subtest per pinned helm version.
func forEachHelm(t *testing.T, test func(t *testing.T, h helmclitest.Helm, c cluster.Cluster)) {
	for _, tool := range helmcli.Tools {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			h, c := helmFor(t, tool)
			test(t, h, c)
		})
	}
}

// forEachHelmAndChart runs a parallel subtest per helm version × chart, each in
// its own namespace enforcing Pod Security "restricted", with the chart's
// chartBase added to every install and upgrade.
func forEachHelmAndChart(t *testing.T, test func(t *testing.T, h helmclitest.Helm, c cluster.Cluster, chart, namespace string)) {
	forEachHelm(t, func(t *testing.T, h helmclitest.Helm, c cluster.Cluster) {
		for _, chart := range render.Charts {
			t.Run(chart, func(t *testing.T) {
				t.Parallel()
				hc := h
				hc.Sets = func(namespace string) []string { return append(h.Sets(namespace), chartBase[chart]...) }
				test(t, hc, c, chart, clustertest.Namespace(t, c, "restricted"))
			})
		}
	})
}

// chartBase is what a chart needs set before it renders at all, as --set
// assignments:
//   - service and router: the database password's source (without one they
//     refuse to render: OSMO's programs would exit at start): the MEK file and the
//     password from Secret db-secret, as the deploy guide sets it; kwok starts no
//     containers, so the Secret and ConfigMap need not exist;
//   - service: an IdP for the gateway's OAuth2 Proxy (on by default, as at
//     NVIDIA's), so the whole gateway tier installs, upgrades and rolls back too.
var chartBase = map[string][]string{
	"service": {
		"services.configFile.enabled=true",
		"gateway.envoy.hostname=osmo.example.com",
		"gateway.oauth2Proxy.clientId=osmo-lifecycle",
		"gateway.oauth2Proxy.oidcIssuerUrl=https://idp.example.com",
	},
	"router": {"services.configFile.enabled=true"},
}

// chartBaseFile is chartBase as a values file (parsed as helm parses --set),
// for in-process renders; "" for a chart that needs nothing.
func chartBaseFile(t *testing.T, chart string) string {
	t.Helper()
	vals := map[string]any{}
	for _, set := range chartBase[chart] {
		require.NoError(t, strvals.ParseInto(set, vals))
	}
	data, err := yaml.Marshal(vals)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), chart+"-base.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// releaseSelector selects every object a release labels.
func releaseSelector(release string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release}
}

// expectedAccount is the account the chart promises its pods run under, read
// from the in-process render of the same values (render tests prove it right).
func expectedAccount(t *testing.T, chart, namespace, release string, valuesFiles ...string) string {
	t.Helper()
	// Lowest first, as the installs pass it: the values given win.
	valuesFiles = append([]string{chartBaseFile(t, chart)}, valuesFiles...)
	account, err := render.ServiceAccountOf(chart, render.Release{Name: release, Namespace: namespace}, valuesFiles...)
	require.NoError(t, err)
	return account
}

// verifyRelease asserts what the API server did with an installed release:
// every Deployment Available, every pod under the account, every binding naming it.
func verifyRelease(t *testing.T, c cluster.Cluster, namespace, release, account string) {
	t.Helper()
	client := c.Client()
	deployments := waitAvailable(t, c, namespace, release)
	require.NotEmpty(t, deployments, "release %s has Deployments", release)
	pods, err := client.CoreV1().Pods(namespace).List(ctx(t), releaseSelector(release))
	require.NoError(t, err)
	running := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Labels["app.kubernetes.io/component"] == "test" {
			continue
		}
		running++
		assert.Equal(t, account, p.Spec.ServiceAccountName, "pod %s", p.Name)
	}
	assert.GreaterOrEqual(t, running, len(deployments), "a pod per Deployment at least")
	for _, subject := range bindingSubjects(t, c, namespace, release) {
		assert.Equal(t, account, subject.Name, "RBAC subject")
		assert.Equal(t, namespace, subject.Namespace, "RBAC subject namespace")
	}
}

// waitAvailable waits until every Deployment of the release reports Available
// for its current generation. `helm --wait` returns once the pods are ready;
// the Deployment controller, busy with parallel tests, updates the condition
// a moment later.
func waitAvailable(t *testing.T, c cluster.Cluster, namespace, release string) []appsv1.Deployment {
	t.Helper()
	var deployments []appsv1.Deployment
	err := poll.Until(ctx(t), "the Deployments of "+release+" to be Available", 250*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		list, err := c.Client().AppsV1().Deployments(namespace).List(ctx, releaseSelector(release))
		if err != nil {
			return false, poll.Stop(err)
		}
		deployments = list.Items
		var pending []string
		for _, d := range deployments {
			if !available(d) {
				pending = append(pending, fmt.Sprintf("%s: %+v", d.Name, d.Status.Conditions))
			}
		}
		if len(pending) > 0 {
			return false, poll.NotYet("not Available: %s", strings.Join(pending, "; "))
		}
		return true, nil
	})
	assert.NoError(t, err)
	return deployments
}

func available(d appsv1.Deployment) bool {
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
			return d.Status.ObservedGeneration >= d.Generation
		}
	}
	return false
}

func bindingSubjects(t *testing.T, c cluster.Cluster, namespace, release string) []rbacv1.Subject {
	t.Helper()
	var subjects []rbacv1.Subject
	roleBindings, err := c.Client().RbacV1().RoleBindings(namespace).List(ctx(t), releaseSelector(release))
	require.NoError(t, err)
	for _, b := range roleBindings.Items {
		subjects = append(subjects, b.Subjects...)
	}
	clusterBindings, err := c.Client().RbacV1().ClusterRoleBindings().List(ctx(t), releaseSelector(release))
	require.NoError(t, err)
	for _, b := range clusterBindings.Items {
		if slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Namespace == namespace }) {
			subjects = append(subjects, b.Subjects...)
		}
	}
	return subjects
}

// createAccount creates a ServiceAccount the way an operator would, outside Helm.
func createAccount(t *testing.T, c cluster.Cluster, namespace, name string, annotations map[string]string) *corev1.ServiceAccount {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: namespace,
		Labels:      map[string]string{"owner": "platform-team"},
		Annotations: annotations,
	}}
	created, err := c.Client().CoreV1().ServiceAccounts(namespace).Create(ctx(t), sa, metav1.CreateOptions{})
	require.NoError(t, err, "create the pre-provisioned account %s", name)
	return created
}

// helmTestPasses runs `helm test` and asserts the hook pod succeeded.
func helmTestPasses(t *testing.T, h helmclitest.Helm, namespace, release string) {
	t.Helper()
	out := h.Test(t, namespace, release)
	assert.Contains(t, out, "Phase:          Succeeded", "helm test output:\n%s", out)
}

func releaseName(chart string) string { return fmt.Sprintf("osmo-%s", chart) }
