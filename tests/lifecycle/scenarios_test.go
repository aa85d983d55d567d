package lifecycle_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/helmcli/helmclitest"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
	"github.com/osmo-wi/charts/harness/standinimage"
)

// Every chart × every scenario installs into a namespace enforcing Pod Security
// "restricted", becomes Available under the resolved account, and passes `helm test`,
// with both helm versions.
func TestEveryScenarioInstalls(t *testing.T) {
	t.Parallel()
	all, err := scenario.All(render.Charts)
	require.NoError(t, err)
	forEachHelm(t, func(t *testing.T, h helmclitest.Helm, c cluster.Cluster) {
		for _, s := range all {
			t.Run(s.Name, func(t *testing.T) {
				t.Parallel()
				skipUnlessKindHoldsImages(t, h, c, s)
				ns := namespace(t, c)
				for _, chart := range render.Charts {
					installRelease(t, h, c, ns, chart, releaseName(chart), s.ValuesFile(chart))
				}
			})
		}
	})
}

// installRelease installs a release with a values file, creating first the
// pre-provisioned account the values name (as an operator would), and proves
// it on the cluster: Available, under the resolved account, `helm test` passing.
func installRelease(t *testing.T, h helmclitest.Helm, c cluster.Cluster, namespace, chart, release, valuesFile string) {
	t.Helper()
	account, annotations, ok, err := scenario.PreProvisionedAccount(valuesFile)
	require.NoError(t, err)
	if ok {
		if _, err := c.Client().CoreV1().ServiceAccounts(namespace).Get(ctx(t), account, metav1.GetOptions{}); err != nil {
			createAccount(t, c, namespace, account, annotations)
		}
	}
	h.Install(t, namespace, release, charts(t)+"/"+chart, valuesFile)
	verifyRelease(t, c, namespace, release, expectedAccount(t, chart, namespace, release, valuesFile))
	helmTestPasses(t, h, c, namespace, release)
}

// skipUnlessKindHoldsImages skips, in one line, a scenario whose pods run, on
// kind, images no stand-in is loaded under (a private registry's, an image
// pinned by digest): no registry serves them here, and no stand-in can have
// another image's digest. The local cluster's kwok pulls nothing.
func skipUnlessKindHoldsImages(t *testing.T, h helmclitest.Helm, c cluster.Cluster, s scenario.Scenario) {
	t.Helper()
	if c.Provider() != cluster.ProviderKind {
		return
	}
	loaded := standinimage.References()
	var missing []string
	for _, chart := range render.Charts {
		files := append([]string{s.ValuesFile(chart)}, h.Overlay(charts(t)+"/"+chart)...)
		r, err := render.RenderFiles(chart, render.Release{Name: releaseName(chart), Namespace: "images"}, files...)
		require.NoError(t, err)
		for _, image := range render.Images(r) {
			if !slices.Contains(loaded, image) && !slices.Contains(missing, image) {
				missing = append(missing, image)
			}
		}
	}
	if len(missing) > 0 {
		t.Skipf("kind: scenario %s runs images no stand-in is loaded under, which no registry serves here: %s", s.Name, strings.Join(missing, ", "))
	}
}
