package lifecycle_test

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/project"
)

// `ct install` (ct.yaml and each chart's ci/*-values.yaml) passes against the
// package's cluster, as it does on kind in CI: install --wait, helm test, delete.
// On kind (the kind layer of `make test`) every workload's stand-in program
// (the OSMO images' cmd/osmo-standin, which refuses what the real program
// refuses) starts and passes its probes under the real kubelet before --wait
// returns, and the `helm test` pods run their scripts (wget through the
// Services and the gateway's Envoy); kwok only completes them.
// One ct run per chart, side by side: ct installs a chart's ci files one after
// the other, waiting for each namespace to be deleted. ct rebuilds each chart's
// dependencies, so it gets a copy of its own, not the one parallel installs read.
func TestCTInstall(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	dir := t.TempDir()
	_, err := chartdir.Build(dir)
	require.NoError(t, err)
	for _, chart := range project.Charts {
		t.Run(chart, func(t *testing.T) {
			t.Parallel()
			out, err := chartdir.CTInstall(t.Context(), dir, c.KubeconfigPath(), chart)
			require.NoError(t, err, "ct install:\n%s", out)
			assert.Regexp(t, regexp.MustCompile(`✔︎ `+chart+` => \(version: "[^"]+", path: "[^"]+"\)`), out, "ct installed and tested %s", chart)
			ciFiles, err := filepath.Glob(project.Path("charts", chart, "ci", "*-values.yaml"))
			require.NoError(t, err)
			assert.Len(t, regexp.MustCompile(`Phase:\s+Succeeded`).FindAllString(out, -1), len(ciFiles),
				"a helm test pod ran and succeeded for each ci values file:\n%s", out)
		})
	}
}
