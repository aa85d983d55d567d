package lifecycle_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/helmcli/helmclitest"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

// baselineRef is the earlier chart version upgrades must come from: the first
// commit whose charts passed their render tests. Move it forward on each release.
const baselineRef = "564e20f"

// The charts as they were at baselineRef (packaged from git history) upgrade to
// the current ones with the same values file, and the pods keep their account:
// its name is the federated credential's subject, so a rename would cut the
// release off from its cloud identity.
func TestUpgradeFromPreviousChartVersion(t *testing.T) {
	t.Parallel()
	previous := previousCharts(t)
	s, err := scenario.Get("aks-workload-identity-shortcut", render.Charts)
	require.NoError(t, err)
	forEachHelmAndChart(t, func(t *testing.T, h helmclitest.Helm, c cluster.Cluster, chart, namespace string) {
		release, values := "osmo", s.ValuesFile(chart)
		// The previous version has no gateway and no database settings, and its strict
		// schema refuses those keys: its operator's file had no gateway block and no
		// services.configFile, and adds them moving to 2.x.
		old := h
		old.Sets = scenario.InNamespace
		if c.Provider() == cluster.ProviderKind {
			// On kind its pods never become ready: that version set no command
			// and relied on an image entrypoint, which the OSMO stand-in images
			// lack (NVIDIA's charts, and ours since, name the program), and its
			// web UI probed port 8000 without setting PORT=8000, so the program
			// listened on its own default. The upgrade must bring them up.
			old.NoWait = true
		}
		old.Install(t, namespace, release, filepath.Join(previous, chart), forPreviousVersion(t, values)) // install the previous version
		before := deploymentsOf(t, c, namespace, release, !old.NoWait)[0].Spec.Template.Spec.ServiceAccountName
		h.Upgrade(t, namespace, release, charts(t)+"/"+chart, values) // upgrade to the current version
		verifyRelease(t, c, namespace, release, before)
		helmTestPasses(t, h, c, namespace, release)
	})
}

// previousCharts extracts charts/ at baselineRef and builds their dependencies.
func previousCharts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	archive := exec.Command("git", "archive", "--format=tar", baselineRef, "charts")
	archive.Dir = project.MustRoot()
	tarball, err := archive.Output()
	require.NoError(t, err, "git archive %s (the tests need the repository's history)", baselineRef)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "charts.tar"), tarball, 0o644))
	untar := exec.Command("tar", "-xf", "charts.tar")
	untar.Dir = dir
	out, err := untar.CombinedOutput()
	require.NoError(t, err, "%s", out)
	charts, err := chartdir.BuildFrom(filepath.Join(dir, "charts"), filepath.Join(dir, "built"))
	require.NoError(t, err)
	return charts
}

// forPreviousVersion is a copy of a values file without the keys the previous
// version does not know: the top-level gateway block and services.configFile (an
// emptied services block goes too).
func forPreviousVersion(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	vals := map[string]any{}
	require.NoError(t, yaml.Unmarshal(data, &vals))
	delete(vals, "gateway")
	if services, ok := vals["services"].(map[string]any); ok {
		delete(services, "configFile")
		if len(services) == 0 {
			delete(vals, "services")
		}
	}
	out, err := yaml.Marshal(vals)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "previous-version-"+filepath.Base(file))
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// deploymentsOf lists the release's Deployments, once Available when available is set.
func deploymentsOf(t *testing.T, c cluster.Cluster, namespace, release string, available bool) []appsv1.Deployment {
	t.Helper()
	if available {
		return waitAvailable(t, c, namespace, release)
	}
	list, err := c.Client().AppsV1().Deployments(namespace).List(ctx(t), releaseSelector(release))
	require.NoError(t, err)
	require.NotEmpty(t, list.Items, "release %s has Deployments", release)
	return list.Items
}
