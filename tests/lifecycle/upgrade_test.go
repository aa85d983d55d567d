package lifecycle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/helmcli/helmclitest"
)

// valuesFile writes a values block to a file for one helm call.
func valuesFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// podState is what an upgrade must change on every running pod of a release.
type podState struct {
	Team        string // extraPodLabels.team
	PullSecrets []corev1.LocalObjectReference
}

// Upgrades with changed values (label added and changed, annotation changed, pull
// secret added and removed) succeed without immutable-field errors and roll the
// pods; rollback restores the earlier revision; uninstall removes the release's
// objects and nothing else.
func TestUpgradeRollbackUninstall(t *testing.T) {
	t.Parallel()
	forEachHelmAndChart(t, func(t *testing.T, h helmclitest.Helm, c cluster.Cluster, chart, namespace string) {
		release, dir := releaseName(chart), charts(t)+"/"+chart
		account := expectedAccount(t, chart, namespace, release)

		// What else lives in the namespace: hand-made objects and another release.
		sentinel := createSentinels(t, c, namespace)
		h.Install(t, namespace, "bystander", dir)

		rev1 := valuesFile(t, "rev1", `{}`)
		rev2 := valuesFile(t, "rev2", `
extraPodLabels: {team: a}
serviceAccount: {annotations: {example.com/owner: team-a}}
imagePullSecrets: [osmo-registry]`)
		rev3 := valuesFile(t, "rev3", `
extraPodLabels: {team: b}
serviceAccount: {annotations: {example.com/owner: team-b}}`)

		h.Install(t, namespace, release, dir, rev1)
		h.Upgrade(t, namespace, release, dir, rev2)
		assertRolled(t, c, namespace, release, account, podState{Team: "a", PullSecrets: []corev1.LocalObjectReference{{Name: "osmo-registry"}}}, "team-a")
		h.Upgrade(t, namespace, release, dir, rev3)
		assertRolled(t, c, namespace, release, account, podState{Team: "b"}, "team-b")
		h.Rollback(t, namespace, release, 2)
		assertRolled(t, c, namespace, release, account, podState{Team: "a", PullSecrets: []corev1.LocalObjectReference{{Name: "osmo-registry"}}}, "team-a")
		helmTestPasses(t, h, c, namespace, release)

		h.Uninstall(t, namespace, release)
		assertGone(t, c, namespace, release)
		sentinel.assertUntouched(t, c)
		verifyRelease(t, c, namespace, "bystander", expectedAccount(t, chart, namespace, "bystander"))
	})
}

// assertRolled checks that every Deployment's template and every running pod
// carries the state, and the chart's account the annotation.
func assertRolled(t *testing.T, c cluster.Cluster, namespace, release, account string, want podState, owner string) {
	t.Helper()
	deployments := waitAvailable(t, c, namespace, release)
	for _, d := range deployments {
		assert.Equal(t, want.Team, d.Spec.Template.Labels["team"], "Deployment %s template", d.Name)
		assert.Equal(t, want.PullSecrets, d.Spec.Template.Spec.ImagePullSecrets, "Deployment %s template", d.Name)
	}
	pods, err := c.Client().CoreV1().Pods(namespace).List(ctx(t), releaseSelector(release))
	require.NoError(t, err)
	current := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Labels["app.kubernetes.io/component"] == "test" || p.Status.Phase != corev1.PodRunning {
			continue
		}
		if p.Labels["team"] == want.Team {
			current++
			assert.Equal(t, want.PullSecrets, p.Spec.ImagePullSecrets, "pod %s", p.Name)
		}
	}
	assert.GreaterOrEqual(t, current, len(deployments), "running pods rolled to team=%s", want.Team)
	sa, err := c.Client().CoreV1().ServiceAccounts(namespace).Get(ctx(t), account, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, owner, sa.Annotations["example.com/owner"])
}

// assertGone checks that no object of the release is left, in the namespace or cluster-wide.
func assertGone(t *testing.T, c cluster.Cluster, namespace, release string) {
	t.Helper()
	client, selector := c.Client(), releaseSelector(release)
	count := func(n int, err error) int { require.NoError(t, err); return n }
	left := map[string]int{}
	d, err := client.AppsV1().Deployments(namespace).List(ctx(t), selector)
	left["Deployment"] = count(len(d.Items), err)
	s, err := client.CoreV1().Services(namespace).List(ctx(t), selector)
	left["Service"] = count(len(s.Items), err)
	cm, err := client.CoreV1().ConfigMaps(namespace).List(ctx(t), selector)
	left["ConfigMap"] = count(len(cm.Items), err)
	sa, err := client.CoreV1().ServiceAccounts(namespace).List(ctx(t), selector)
	left["ServiceAccount"] = count(len(sa.Items), err)
	r, err := client.RbacV1().Roles(namespace).List(ctx(t), selector)
	left["Role"] = count(len(r.Items), err)
	rb, err := client.RbacV1().RoleBindings(namespace).List(ctx(t), selector)
	left["RoleBinding"] = count(len(rb.Items), err)
	cr, err := client.RbacV1().ClusterRoles().List(ctx(t), metav1.ListOptions{LabelSelector: selector.LabelSelector})
	var names []string
	for _, r := range cr.Items {
		names = append(names, r.Name)
	}
	left["ClusterRole"] = count(len(ofNamespace(names, namespace)), err)
	crb, err := client.RbacV1().ClusterRoleBindings().List(ctx(t), metav1.ListOptions{LabelSelector: selector.LabelSelector})
	names = nil
	for _, b := range crb.Items {
		names = append(names, b.Name)
	}
	left["ClusterRoleBinding"] = count(len(ofNamespace(names, namespace)), err)
	for kind, n := range left {
		assert.Zero(t, n, "%s objects of release %s left after uninstall", kind, release)
	}
}

// sentinels are objects an operator made by hand in the release's namespace.
type sentinels struct {
	configMap *corev1.ConfigMap
	account   *corev1.ServiceAccount
}

func createSentinels(t *testing.T, c cluster.Cluster, namespace string) sentinels {
	t.Helper()
	cm, err := c.Client().CoreV1().ConfigMaps(namespace).Create(ctx(t), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "operator-notes", Namespace: namespace},
		Data:       map[string]string{"note": "made by hand"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return sentinels{configMap: cm, account: createAccount(t, c, namespace, "operator-made", map[string]string{"example.com/made-by": "hand"})}
}

func (s sentinels) assertUntouched(t *testing.T, c cluster.Cluster) {
	t.Helper()
	cm, err := c.Client().CoreV1().ConfigMaps(s.configMap.Namespace).Get(ctx(t), s.configMap.Name, metav1.GetOptions{})
	require.NoError(t, err, "the hand-made ConfigMap survives")
	assert.Equal(t, s.configMap.ResourceVersion, cm.ResourceVersion, "the hand-made ConfigMap is unchanged")
	assertAccountUntouched(t, c, s.account)
}

// assertAccountUntouched checks an account still exists exactly as it was made.
func assertAccountUntouched(t *testing.T, c cluster.Cluster, before *corev1.ServiceAccount) {
	t.Helper()
	now, err := c.Client().CoreV1().ServiceAccounts(before.Namespace).Get(ctx(t), before.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		t.Fatalf("ServiceAccount %s was deleted", before.Name)
	}
	require.NoError(t, err)
	assert.Equal(t, before.UID, now.UID, "ServiceAccount %s was recreated", before.Name)
	assert.Equal(t, before.ResourceVersion, now.ResourceVersion, "ServiceAccount %s was changed", before.Name)
	assert.Equal(t, before.Annotations, now.Annotations)
	assert.Equal(t, before.Labels, now.Labels)
}

// ofNamespace returns the names, among cluster-scoped objects, of those made for
// releases in this namespace (their names start with it).
func ofNamespace(names []string, namespace string) []string {
	var out []string
	for _, name := range names {
		if strings.HasPrefix(name, namespace+"-") {
			out = append(out, name)
		}
	}
	return out
}
