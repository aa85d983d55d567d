package lifecycle_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/scenario"
)

// The Argo CD and Flux examples install as written: their values blocks are
// extracted and installed, so the examples cannot rot.
func TestGitOpsExamplesInstall(t *testing.T) {
	t.Parallel()
	releases, err := scenario.GitOps()
	require.NoError(t, err)
	kinds := map[string][]string{}
	for _, r := range releases {
		kinds[r.Kind] = append(kinds[r.Kind], r.Chart)
	}
	for _, kind := range []string{"Application", "HelmRelease"} {
		assert.ElementsMatch(t, project.Charts, kinds[kind], "every chart has a %s example", kind)
	}
	h, c := helmFor(t, "helm")
	byFile := map[string][]scenario.GitOpsRelease{}
	for _, r := range releases {
		byFile[r.File] = append(byFile[r.File], r)
	}
	for file, releases := range byFile {
		t.Run(releases[0].Kind, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t, c)
			for _, r := range releases {
				data, err := yaml.Marshal(r.Values)
				require.NoError(t, err)
				t.Logf("%s %s from %s", r.Kind, r.Release, file)
				installRelease(t, h, c, ns, r.Chart, r.Release, valuesFile(t, r.Release, string(data)))
			}
		})
	}
}
