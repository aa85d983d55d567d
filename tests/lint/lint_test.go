// Package lint_test runs the ecosystem's static checks on the charts, offline,
// with the pinned tools: `helm lint --strict`, `ct lint`, and the checks that
// keep generated docs and schemas in step with the values files.
package lint_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/tests/harness/chartdir"
	"github.com/osmo-wi/charts/tests/harness/project"
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
		out, err := chartdir.Helm(dir, "lint", "--strict", filepath.Join(charts, chart))
		assert.NoError(t, err, "helm lint --strict %s:\n%s", chart, out)
		assert.Contains(t, string(out), "0 chart(s) failed")
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
	out, err := chartdir.Run(dir, "ct", "lint", "--config", project.Path("ct.yaml"), "--all",
		"--chart-dirs", charts, "--skip-helm-dependencies", "--lint-conf", filepath.Join(etc, "lintconf.yaml"), "--chart-yaml-schema", filepath.Join(etc, "chart_schema.yaml"))
	require.NoError(t, err, "ct lint:\n%s", out)
	for _, chart := range project.Charts {
		assert.Regexp(t, regexp.MustCompile(`✔︎ `+chart+` => \(version: "[^"]+", path: "[^"]+"\)`), string(out), "ct linted %s", chart)
	}
}

// The chart READMEs are what helm-docs generates from the values comments.
func TestReadmesMatchValues(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "charts"), os.DirFS(project.Path("charts"))))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".helmdocsignore"), []byte("charts/common\n"), 0o644))
	out, err := chartdir.Run(dir, "helm-docs", append([]string{"--chart-search-root", "charts"}, helmDocsTemplates...)...)
	require.NoError(t, err, "helm-docs:\n%s", out)
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

// The values shared by every chart (global, serviceAccount, pull secrets, labels,
// security) are written identically in the four values files.
func TestSharedValuesAreIdenticalAcrossCharts(t *testing.T) {
	shared := map[string]string{}
	for _, chart := range project.Charts {
		data, err := os.ReadFile(project.Path("charts", chart, "values.yaml"))
		require.NoError(t, err)
		shared[chart] = sharedPart(string(data))
	}
	for _, chart := range project.Charts[1:] {
		assert.Equal(t, shared[project.Charts[0]], shared[chart], "the shared part of charts/%s/values.yaml differs from charts/%s", chart, project.Charts[0])
	}
}

// sharedPart drops what differs on purpose: the components, the backend
// operator's own keys, and the documented automount default.
func sharedPart(values string) string {
	values, _, _ = strings.Cut(values, "\n# Components:")
	if start := strings.Index(values, "# -- Namespace where workflow pods run"); start >= 0 {
		values = values[:start]
	}
	automount := regexp.MustCompile(`(?m)^  # -- Mount the Kubernetes API token.*\n  automountServiceAccountToken: .*\n`)
	return strings.TrimSpace(automount.ReplaceAllString(values, ""))
}
