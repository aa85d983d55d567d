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
	"sync"
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
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

func TestMain(m *testing.M) {
	// On kind the `helm test` pods run their scripts, which check that the
	// cloud's webhook injected the identity: the webhooks run there as AKS
	// and EKS run them (the local cluster's kwok completes test pods unrun).
	code := clustertest.Run(m, cluster.Options{Kind: cluster.KindOptions{
		AfterStart: []func(context.Context, *cluster.Kind) error{identitywebhook.InCluster(identitywebhook.Options{})},
	}})
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
	if c.Provider() == cluster.ProviderKind {
		h.Overlay = kindFit(t)
	}
	return h, c
}

// kindFit gives each chart folder's scenario.KindFit as a values file
// (written once per folder): on kind the pods really run, on one node of this
// machine, from the loaded images.
func kindFit(t *testing.T) func(chartDir string) []string {
	t.Helper()
	dir := t.TempDir()
	var mu sync.Mutex
	files := map[string]string{}
	return func(chartDir string) []string {
		mu.Lock()
		defer mu.Unlock()
		if files[chartDir] == "" {
			path, err := scenario.KindFitFile(chartDir, dir)
			require.NoError(t, err)
			files[chartDir] = path
		}
		return []string{files[chartDir]}
	}
}

// namespace is a new namespace enforcing Pod Security "restricted"; on kind
// it also holds what an operator creates before installing (placeholders of
// every Secret and ConfigMap the releases' pods need and do not create),
// since the kubelet starts no pod whose volumes it cannot mount. kwok
// starts no containers, so the local cluster needs none.
func namespace(t *testing.T, c cluster.Cluster) string {
	t.Helper()
	ns := clustertest.Namespace(t, c, "restricted")
	if c.Provider() != cluster.ProviderKind {
		return ns
	}
	needs, err := prerequisites()
	require.NoError(t, err)
	for _, p := range needs {
		switch obj := p.Placeholder(ns).(type) {
		case *corev1.Secret:
			_, err = c.Client().CoreV1().Secrets(ns).Create(ctx(t), obj, metav1.CreateOptions{})
		case *corev1.ConfigMap:
			_, err = c.Client().CoreV1().ConfigMaps(ns).Create(ctx(t), obj, metav1.CreateOptions{})
		}
		require.NoError(t, err, "create the placeholder %s %s", p.Kind, p.Name)
	}
	return ns
}

// prerequisites are the Secrets and ConfigMaps the tests' releases need from
// outside them: every chart rendered with its chartBase and each scenario,
// and the GitOps examples, leaving out what any of them creates (ct install
// makes namespaces of its own, and the ci values bring what they need).
var prerequisites = sync.OnceValues(func() ([]render.Prerequisite, error) {
	dir, err := os.MkdirTemp("", "lifecycle-prerequisites-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var renders []*render.Result
	for _, chart := range render.Charts {
		variants, err := releaseValues(dir, chart)
		if err != nil {
			return nil, err
		}
		for _, files := range variants {
			r, err := render.RenderFiles(chart, render.Release{Name: releaseName(chart), Namespace: "prerequisites"}, files...)
			if err != nil {
				return nil, fmt.Errorf("%s with %v: %w", chart, files, err)
			}
			renders = append(renders, r)
		}
	}
	return render.Prerequisites(renders...), nil
})

// releaseValues are the values files of every release the tests install of
// a chart on kind (written to dir where they are not files already): its
// chartBase alone and with each scenario, and its GitOps examples, each with
// the chart's KindFit last.
func releaseValues(dir, chart string) ([][]string, error) {
	base, err := writeChartBase(dir, chart)
	if err != nil {
		return nil, err
	}
	fit, err := scenario.KindFitFile(project.Path("charts", chart), dir)
	if err != nil {
		return nil, err
	}
	all, err := scenario.All(render.Charts)
	if err != nil {
		return nil, err
	}
	variants := [][]string{{base, fit}}
	for _, s := range all {
		variants = append(variants, []string{base, s.ValuesFile(chart), fit})
	}
	gitops, err := scenario.GitOps()
	if err != nil {
		return nil, err
	}
	for i, g := range gitops {
		if g.Chart != chart {
			continue
		}
		data, err := yaml.Marshal(g.Values)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-gitops-%d.yaml", chart, i))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return nil, err
		}
		variants = append(variants, []string{file, fit})
	}
	return variants, nil
}

// forEachHelm runs a parallel subtest per pinned helm version (helmTools).
func forEachHelm(t *testing.T, test func(t *testing.T, h helmclitest.Helm, c cluster.Cluster)) {
	for _, tool := range helmTools(clustertest.Shared(t)) {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			h, c := helmFor(t, tool)
			test(t, h, c)
		})
	}
}

// helmTools are the helm versions the tests run with: both pinned ones on the
// local cluster; on kind helm v3 alone, the one ct runs. The two differ in how
// they apply a release (client- or server-side), which the local cluster
// proves with both; what kind adds is the kubelet running the pods, which
// does not depend on the client, and every release there starts real
// containers on this machine's two cores.
func helmTools(c cluster.Cluster) []string {
	if c.Provider() == cluster.ProviderKind {
		return helmcli.Tools[:1]
	}
	return helmcli.Tools
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
				test(t, hc, c, chart, namespace(t, c))
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
	path, err := writeChartBase(t.TempDir(), chart)
	require.NoError(t, err)
	return path
}

// writeChartBase writes chartBase[chart] to dir/<chart>-base.yaml.
func writeChartBase(dir, chart string) (string, error) {
	vals := map[string]any{}
	for _, set := range chartBase[chart] {
		if err := strvals.ParseInto(set, vals); err != nil {
			return "", err
		}
	}
	data, err := yaml.Marshal(vals)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, chart+"-base.yaml")
	return path, os.WriteFile(path, data, 0o644)
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
// On a failure it shows the test pods' logs: on kind the scripts really run,
// and their last line says what they found missing.
func helmTestPasses(t *testing.T, h helmclitest.Helm, c cluster.Cluster, namespace, release string) {
	t.Helper()
	out, err := h.TestE(ctx(t), namespace, release)
	if err != nil {
		t.Fatalf("%v\n%s", err, testPodLogs(t, c, namespace, release))
	}
	assert.Contains(t, out, "Phase:          Succeeded", "helm test output:\n%s", out)
}

// testPodLogs are the logs of the release's `helm test` pods that are left
// (a failed one is kept: its delete policy is hook-succeeded).
func testPodLogs(t *testing.T, c cluster.Cluster, namespace, release string) string {
	t.Helper()
	pods, err := c.Client().CoreV1().Pods(namespace).List(ctx(t), metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=test"})
	if err != nil {
		return "(test pods: " + err.Error() + ")"
	}
	var logs strings.Builder
	for _, p := range pods.Items {
		raw, err := c.Client().CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx(t))
		if err != nil {
			raw = []byte(err.Error())
		}
		fmt.Fprintf(&logs, "logs of test pod %s:\n%s\n", p.Name, raw)
	}
	return logs.String()
}

func releaseName(chart string) string { return fmt.Sprintf("osmo-%s", chart) }
