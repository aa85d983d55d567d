package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
)

// generated returns the files the command derives for the charts in dir, by path.
func generated(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := generate(dir)
	require.NoError(t, err)
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.path] = f.content
	}
	return byPath
}

// helmValidate validates values as `helm install` does: Helm's reader, and
// Helm's validator (santhosh-tekuri/jsonschema/v6 configured by Helm).
func helmValidate(t *testing.T, schema []byte, values string) error {
	t.Helper()
	parsed, err := chartutil.ReadValues([]byte(values))
	require.NoError(t, err)
	return chartutil.ValidateAgainstSingleSchema(parsed, schema)
}

func TestHelmAppliesTheGeneratedSchema(t *testing.T) {
	files := generated(t, testCharts)
	schema := files[filepath.Join(testCharts, "alpha", "values.schema.json")]
	defaults := string(files[filepath.Join(testCharts, "alpha", "values.yaml")])
	for _, c := range []struct {
		name, values, refused string // refused: "" when Helm accepts the values
	}{
		{"the defaults", defaults, ""},
		{"a dependency's key", "common: {anything: 1}", ""},
		{"an unknown key under the open global", "global: {umbrellaKey: x}", ""},
		{"an unknown key under an open map of global", "global: {workloadIdentity: {azure: {audience: x}}}", ""},
		{"a number as image tag", "services: {api: {tag: 20240101}}", ""},
		{"labels with an unquoted true", "extraPodLabels: {azure.workload.identity/use: true}", ""},
		{"both pull secret forms", "global: {imagePullSecrets: [a, {name: b}]}", ""},
		{"a free-form object under an annotated type", "services: {api: {resources: {limits: {cpu: 1}}}}", ""},
		{"any value under a null default", "services: {api: {extra: [1, {a: b}]}}", ""},
		{"an unknown top-level key", "nope: 1", "additional properties 'nope' not allowed"},
		{"an unknown nested key", "services: {api: {replica: 2}}", "additional properties 'replica' not allowed"},
		{"a wrong type", "services: {api: {replicas: two}}", "at '/services/api/replicas': got string, want integer"},
		{"a float for an integer", "services: {api: {replicas: 1.5}}", "got number, want integer"},
		{"a wrong type under the open global", "global: {imagePullSecrets: a}", "at '/global/imagePullSecrets': got string, want array"},
		{"a provider outside the enum", "global: {workloadIdentity: {provider: oracle}}", "at '/global/workloadIdentity/provider'"},
		{"a map as label value", "extraPodLabels: {a: {b: c}}", "at '/extraPodLabels/a'"},
		{"a pull secret with an extra key", "global: {imagePullSecrets: [{name: a, x: 1}]}", "at '/global/imagePullSecrets/0'"},
		{"an empty string in a definition used transitively", "services: {api: {extraArgs: [\"\"]}}", "at '/services/api/extraArgs/0'"},
		{"a wrong type for a dependency", "common: 1", "at '/common': got number, want object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := helmValidate(t, schema, c.values)
			if c.refused == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.refused)
		})
	}
}

// The repository's charts, as they are now: the generator accepts them, Helm
// accepts their defaults under the generated schema and refuses unknown keys
// at the root, and `global` stays open. Nothing is written.
func TestRepositoryChartsValidateTheirDefaults(t *testing.T) {
	dir := filepath.Join("..", "..", "charts")
	files := generated(t, dir)
	charts, err := applicationCharts(dir)
	require.NoError(t, err)
	require.NotEmpty(t, charts)
	for _, chart := range charts {
		t.Run(filepath.Base(chart.dir), func(t *testing.T) {
			schema := files[filepath.Join(chart.dir, "values.schema.json")]
			require.NotNil(t, schema)
			defaults := string(files[filepath.Join(chart.dir, "values.yaml")])
			assert.NoError(t, helmValidate(t, schema, defaults), "defaults")
			assert.Error(t, helmValidate(t, schema, "notAValuesKey: 1"), "unknown root key")
			if strings.Contains(defaults, "\nglobal:") {
				assert.NoError(t, helmValidate(t, schema, "global: {notAValuesKey: 1}"), "global is open")
			}
			assert.NotContains(t, string(schema), `"$ref": "http`, "no remote reference")
		})
	}
}
