// Package lint_test runs the ecosystem's static checks on the charts, offline,
// with the pinned tools: `helm lint --strict`, `ct lint`, and the checks that
// keep generated docs and schemas in step with the values files.
package lint_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/project"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chartdir.RemoveShared()
	os.Exit(code)
}

// builtCharts is the package's one CLI-ready copy of charts/, and its parent folder.
func builtCharts(t *testing.T) (charts, dir string) {
	t.Helper()
	charts, err := chartdir.Shared()
	require.NoError(t, err)
	return charts, filepath.Dir(charts)
}

func TestHelmLintStrict(t *testing.T) {
	t.Parallel()
	charts, dir := builtCharts(t)
	for _, chart := range append([]string{"common"}, project.Charts...) {
		args := []string{"--strict", filepath.Join(charts, chart)}
		if chart == "service" { // its defaults switch on the gateway's login, which needs an IdP: lint as ct does
			args = append(args, "--values", filepath.Join(charts, chart, "ci", "01-default-values.yaml"))
		}
		out, err := chartdir.HelmIn(dir).RunE(t.Context(), "", "lint", args...)
		assert.NoError(t, err, "helm lint --strict %s", chart)
		assert.Contains(t, out, "0 chart(s) failed")
	}
}

// The copy is shared with parallel tests and its dependencies are already
// built (chartdir), so ct must not rebuild them underneath the others.
func TestCTLint(t *testing.T) {
	if _, err := exec.LookPath("yamllint"); err != nil {
		t.Fatal("ct lint needs yamllint: `make tools` installs it (Debian package yamllint)")
	}
	t.Parallel()
	charts, dir := builtCharts(t)
	etc := filepath.Join(project.BinDir(), "ct-etc")
	out, err := chartdir.HelmIn(dir).ToolE(t.Context(), "ct", "lint", "--config", project.Path("ct.yaml"), "--all",
		"--chart-dirs", charts, "--skip-helm-dependencies", "--lint-conf", filepath.Join(etc, "lintconf.yaml"), "--chart-yaml-schema", filepath.Join(etc, "chart_schema.yaml"))
	require.NoError(t, err, "ct lint")
	for _, chart := range project.Charts {
		assert.Regexp(t, regexp.MustCompile(`✔︎ `+chart+` => \(version: "[^"]+", path: "[^"]+"\)`), out, "ct linted %s", chart)
	}
}

// The chart READMEs are what helm-docs generates from the values comments.
func TestReadmesMatchValues(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "charts"), os.DirFS(project.Path("charts"))))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".helmdocsignore"), []byte("charts/common\n"), 0o644))
	_, err := chartdir.HelmIn(dir).ToolE(t.Context(), "helm-docs", append([]string{"--chart-search-root", "charts"}, helmDocsTemplates...)...)
	require.NoError(t, err, "helm-docs")
	for _, chart := range project.Charts {
		generated, err := os.ReadFile(filepath.Join(dir, "charts", chart, "README.md"))
		require.NoError(t, err)
		committed, err := os.ReadFile(project.Path("charts", chart, "README.md"))
		require.NoError(t, err)
		assert.Equal(t, string(generated), string(committed), "charts/%s/README.md drifted from its values.yaml: run `make generate`", chart)
	}
}

// helmDocsTemplates are the flags `make generate` passes too (see Makefile).
var helmDocsTemplates = []string{"--template-files", "./_templates.gotmpl", "--template-files", "README.md.gotmpl"}
