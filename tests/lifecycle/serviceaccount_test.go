package lifecycle_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/helmcli/helmclitest"
)

// A pre-provisioned account is never created, changed or deleted by install,
// upgrade, rollback or uninstall, even when the values carry annotations for it.
func TestPreProvisionedAccountIsNeverTouched(t *testing.T) {
	t.Parallel()
	forEachHelmAndChart(t, func(t *testing.T, h helmclitest.Helm, c cluster.Cluster, chart, namespace string) {
		release, dir := releaseName(chart), charts(t)+"/"+chart
		account := createAccount(t, c, namespace, "team-identity", map[string]string{
			"azure.workload.identity/client-id": "11111111-2222-3333-4444-555555555555",
		})
		v1 := valuesFile(t, "v1", `
serviceAccount:
  create: false
  name: team-identity
  annotations: {azure.workload.identity/client-id: "99999999-8888-7777-6666-555555555555"}
  labels: {owner: helm}`)
		v2 := valuesFile(t, "v2", `
serviceAccount: {create: false, name: team-identity}
extraPodLabels: {team: a}`)

		steps := []func(){
			func() { h.Install(t, namespace, release, dir, v1) },
			func() { h.Upgrade(t, namespace, release, dir, v2) },
			func() { h.Rollback(t, namespace, release, 1) },
		}
		for _, step := range steps {
			step() // fails the test with helm's command and output
			assertAccountUntouched(t, c, account)
			verifyRelease(t, c, namespace, release, "team-identity")
		}
		helmTestPasses(t, h, c, namespace, release)
		h.Uninstall(t, namespace, release)
		assertAccountUntouched(t, c, account)
	})
}

// Switching a release from create: true to create: false with the same name, in
// the two steps the chart README documents, keeps the account (same UID) and its pods.
func TestHandOverCreatedAccount(t *testing.T) {
	t.Parallel()
	forEachHelmAndChart(t, func(t *testing.T, h helmclitest.Helm, c cluster.Cluster, chart, namespace string) {
		release, dir := releaseName(chart), charts(t)+"/"+chart
		created := valuesFile(t, "created", `serviceAccount: {create: true, name: osmo-identity, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/osmo"}}`)
		keep := valuesFile(t, "keep", `serviceAccount: {create: true, name: osmo-identity, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/osmo", helm.sh/resource-policy: keep}}`)
		handedOver := valuesFile(t, "handed-over", `serviceAccount: {create: false, name: osmo-identity}`)

		h.Install(t, namespace, release, dir, created)
		before, err := c.Client().CoreV1().ServiceAccounts(namespace).Get(ctx(t), "osmo-identity", metav1.GetOptions{})
		require.NoError(t, err)

		for _, step := range []string{keep, handedOver} {
			h.Upgrade(t, namespace, release, dir, step)
		}
		after, err := c.Client().CoreV1().ServiceAccounts(namespace).Get(ctx(t), "osmo-identity", metav1.GetOptions{})
		require.NoError(t, err, "the account survives the hand-over")
		assert.Equal(t, before.UID, after.UID, "same account, not a new one")
		assert.Equal(t, "arn:aws:iam::111122223333:role/osmo", after.Annotations["eks.amazonaws.com/role-arn"], "its identity annotation is kept")
		verifyRelease(t, c, namespace, release, "osmo-identity")
		helmTestPasses(t, h, c, namespace, release)

		h.Uninstall(t, namespace, release)
		_, err = c.Client().CoreV1().ServiceAccounts(namespace).Get(ctx(t), "osmo-identity", metav1.GetOptions{})
		assert.NoError(t, err, "once handed over, uninstall leaves the account")
	})
}
