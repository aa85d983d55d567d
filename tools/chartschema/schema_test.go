package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// schemaOf generates a chart's schema from a values text, as the command does.
func schemaOf(t *testing.T, chart chartInfo, values string) object {
	t.Helper()
	root, err := inferText(values)
	require.NoError(t, err)
	out, err := chartSchema(chart, root, testDefs)
	require.NoError(t, err)
	var schema object
	require.NoError(t, json.Unmarshal(out, &schema))
	return schema
}

func TestOnlyUsedDefinitionsAreCopied(t *testing.T) {
	for _, c := range []struct {
		name, values string
		want         []string
	}{
		{"none used: no $defs", "a: 1\n", nil},
		{"a direct reference", "# @schema {\"$ref\": \"#/$defs/env\"}\na: []\n", []string{"env"}},
		{"a reference inside a definition, transitively", "# @schema {\"$ref\": \"#/$defs/outer\"}\na: []\n", []string{"inner", "outer"}},
		{"a reference nested in an annotation", "# @schema {\"items\": {\"$ref\": \"#/$defs/inner\"}}\na: []\n", []string{"inner"}},
		{"a reference used twice is copied once", "# @schema {\"$ref\": \"#/$defs/inner\"}\na: x\n# @schema {\"$ref\": \"#/$defs/outer\"}\nb: []\n", []string{"inner", "outer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			schema := schemaOf(t, chartInfo{Name: "x"}, c.values)
			defs, _ := schema["$defs"].(object)
			assert.Equal(t, c.want, keysOf(defs))
		})
	}
}

func TestRootNamesTheChartAndItsDependencies(t *testing.T) {
	chart := chartInfo{Name: "alpha"}
	chart.Dependencies = append(chart.Dependencies,
		struct {
			Name  string `json:"name"`
			Alias string `json:"alias"`
		}{Name: "common"},
		struct {
			Name  string `json:"name"`
			Alias string `json:"alias"`
		}{Name: "db", Alias: "database"},
		struct {
			Name  string `json:"name"`
			Alias string `json:"alias"`
		}{Name: "own"})
	schema := schemaOf(t, chart, "a: 1\n# -- Own values.\nown:\n  x: 1\n")
	assert.Equal(t, draft07, schema["$schema"])
	assert.Equal(t, "Values of the OSMO alpha chart", schema["title"])
	assert.Equal(t, false, schema["additionalProperties"])
	props := schema["properties"].(map[string]any)
	assert.Equal(t, map[string]any{"type": "object", "description": "Values of the common dependency; Helm adds this key."}, props["common"])
	assert.Equal(t, "object", props["database"].(map[string]any)["type"], "an aliased dependency is keyed by its alias")
	assert.NotContains(t, props, "db")
	assert.Equal(t, "Own values.", props["own"].(map[string]any)["description"], "a key the values file sets itself wins")
}

func TestMarshalIsStable(t *testing.T) {
	schema := object{"b": 1, "a": object{"z": "<release>", "y": []any{"x"}}}
	first, err := marshal(schema)
	require.NoError(t, err)
	for range 10 {
		again, err := marshal(schema)
		require.NoError(t, err)
		assert.Equal(t, first, again)
	}
	assert.Equal(t, "{\n  \"a\": {\n    \"y\": [\n      \"x\"\n    ],\n    \"z\": \"<release>\"\n  },\n  \"b\": 1\n}\n", string(first),
		"two-space indent, sorted keys, `<` unescaped, final newline")
}

func TestDefaultsMustValidate(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"a default the annotation refuses", "# @schema {\"type\": \"integer\"}\nk: text\n",
			"values.yaml: the chart's defaults do not validate against the generated schema (fix the default or its `# @schema` annotation):\n- at '/k': got string, want integer"},
		{"an annotation that is no schema", "# @schema {\"type\": \"strin\"}\nk: text\n",
			"values.yaml: the generated schema is invalid (check the `# @schema` annotations)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, err := inferText(c.values)
			require.NoError(t, err)
			schema, err := chartSchema(chartInfo{Name: "x"}, root, testDefs)
			require.NoError(t, err)
			err = validateDefaults("values.yaml", []byte(c.values), schema)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestDefinitionFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, defs, want string
	}{
		{"a reference to a missing definition", `{"$defs": {"a": {"$ref": "#/$defs/b"}}}`,
			`schema-defs.json: $defs.a: $ref #/$defs/b: schema-defs.json has no definition "b" (it has: a)`},
		{"a remote reference", `{"$defs": {"a": {"items": {"$ref": "http://x/y.json"}}}}`,
			"schema-defs.json: $defs.a: $ref http://x/y.json: want #/$defs/<name>, a definition of schema-defs.json (no remote or nested reference)"},
		{"invalid JSON", `{"$defs": `, "schema-defs.json: unexpected EOF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "schema-defs.json")
			require.NoError(t, os.WriteFile(path, []byte(c.defs), 0o644))
			_, err := loadDefs(path)
			require.Error(t, err)
			assert.Equal(t, c.want, strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), ""))
		})
	}
}

// repoDefs are the definitions the chart authors use.
func repoDefs(t *testing.T) definitions {
	t.Helper()
	defs, err := loadDefs(filepath.Join("..", "..", "charts", libraryDir, "schema-defs.json"))
	require.NoError(t, err)
	return defs
}

func TestRepositoryDefinitionsAreComplete(t *testing.T) {
	defs := repoDefs(t)
	for _, name := range []string{
		"stringMap", "pullSecrets", "env", "volumes", "volumeMounts", "containers", "probe", "resources",
		"imageTag", "imagePullPolicy", "digest", "tolerations", "nodeSelector", "hpaMetrics", "workloadIdentityProvider",
		"podSecurityContext", "securityContext",
	} {
		def, ok := defs.named[name].(map[string]any)
		if assert.True(t, ok, name) {
			assert.NotEmpty(t, def["description"], "%s has a description", name)
		}
	}
}

// The definitions of Kubernetes objects list the fields k8s.io/api has: a
// fact stated in two languages is checked equal.
func TestRepositoryDefinitionsMatchKubernetes(t *testing.T) {
	defs := repoDefs(t)
	for _, c := range []struct {
		path string // in schema-defs.json: definition, then "items" or property names
		api  any
	}{
		{"env/items", corev1.EnvVar{}},
		{"volumeMounts/items", corev1.VolumeMount{}},
		{"tolerations/items", corev1.Toleration{}},
		{"resources", corev1.ResourceRequirements{}},
		{"resources/claims/items", corev1.ResourceClaim{}},
		{"podSecurityContext", corev1.PodSecurityContext{}},
		{"podSecurityContext/sysctls/items", corev1.Sysctl{}},
		{"securityContext", corev1.SecurityContext{}},
		{"capabilities", corev1.Capabilities{}},
		{"securityProfile", corev1.SeccompProfile{}},
		{"securityProfile", corev1.AppArmorProfile{}},
	} {
		t.Run(c.path+" "+reflect.TypeOf(c.api).Name(), func(t *testing.T) {
			node := lookup(t, defs, c.path)
			assert.Equal(t, jsonFields(c.api), keysOf(node["properties"].(map[string]any)))
		})
	}
}

// lookup walks a path of definition, "items" and property names.
func lookup(t *testing.T, defs definitions, path string) map[string]any {
	t.Helper()
	parts := strings.Split(path, "/")
	node, _ := defs.named[parts[0]].(map[string]any)
	for _, part := range parts[1:] {
		if part != "items" {
			node, _ = node["properties"].(map[string]any)
		}
		node, _ = node[part].(map[string]any)
	}
	require.NotNil(t, node, path)
	return node
}

func jsonFields(value any) []string {
	var names []string
	kind := reflect.TypeOf(value)
	for i := range kind.NumField() {
		name, _, _ := strings.Cut(kind.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func keysOf(m map[string]any) []string {
	if len(m) == 0 {
		return nil
	}
	return sortedKeys(m)
}
