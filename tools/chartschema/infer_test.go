package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDefs are the definitions the unit tests refer to.
var testDefs = definitions{path: "schema-defs.json", named: map[string]any{
	"stringMap": object{"type": "object", "additionalProperties": object{"type": "string"}},
	"env":       object{"type": "array", "items": object{"type": "object"}},
	"outer":     object{"type": "array", "items": object{"$ref": "#/$defs/inner"}},
	"inner":     object{"type": "string"},
	"unused":    object{"type": "string"},
}}

// inferText runs a values file (no shared blocks) through inference.
func inferText(text string) (object, error) {
	values, err := expand("values.yaml", []byte(text), blocks{path: "shared-values.yaml"})
	if err != nil {
		return nil, err
	}
	return inferValues(values, testDefs)
}

// property infers a values file and returns the JSON of one top-level key.
func property(t *testing.T, text, key string) string {
	t.Helper()
	root, err := inferText(text)
	require.NoError(t, err)
	out, err := json.Marshal(root["properties"].(object)[key])
	require.NoError(t, err)
	return string(out)
}

func TestInferenceFollowsTheDefault(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"a string is a string", `k: text`, `{"type":"string"}`},
		{"a quoted number is a string", `k: "6.4"`, `{"type":"string"}`},
		{"an empty string is a string", `k: ""`, `{"type":"string"}`},
		{"a block scalar is a string", "k: |\n  line\n", `{"type":"string"}`},
		{"a timestamp is a string, as Helm reads it", `k: 2024-01-01`, `{"type":"string"}`},
		{"true is a boolean", `k: true`, `{"type":"boolean"}`},
		{"an unquoted yes is a boolean, as Helm (YAML 1.1) reads it", `k: yes`, `{"type":"boolean"}`},
		{"an integer is an integer", `k: 3`, `{"type":"integer"}`},
		{"an unquoted 20240101 is an integer", `k: 20240101`, `{"type":"integer"}`},
		{"a float is a number", `k: 1.5`, `{"type":"number"}`},
		{"an unquoted NO is a boolean for Helm too", `k: NO`, `{"type":"boolean"}`},
		{"a quoted yes is a string", `k: "yes"`, `{"type":"string"}`},
		{"~ is any type", `k: ~`, `{}`},
		{"null is any type", `k: null`, `{}`},
		{"an empty value is any type", "k:\n", `{}`},
		{"an empty map takes any keys", `k: {}`, `{"type":"object"}`},
		{"a map is strict, recursively", "k:\n  a: 1\n  b:\n    c: x\n",
			`{"type":"object","additionalProperties":false,"properties":{
				"a":{"type":"integer"},
				"b":{"type":"object","additionalProperties":false,"properties":{"c":{"type":"string"}}}}}`},
		{"an empty list is an array", `k: []`, `{"type":"array"}`},
		{"a list's items are not constrained", "k:\n  - a: 1\n  - 2\n", `{"type":"array"}`},
		{"an alias is inferred from its anchor", "a: &x {b: 1}\nk: *x\n",
			`{"type":"object","additionalProperties":false,"properties":{"b":{"type":"integer"}}}`},
		{"a commented-out key is ignored", "k:\n  a: 1\n  # b: 2\n",
			`{"type":"object","additionalProperties":false,"properties":{"a":{"type":"integer"}}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.JSONEq(t, c.want, property(t, c.values, "k"))
		})
	}
}

func TestRootIsAStrictObject(t *testing.T) {
	for _, values := range []string{"a: 1\n", "", "# only a comment\n"} {
		root, err := inferText(values)
		require.NoError(t, err)
		assert.Equal(t, "object", root["type"], "%q", values)
		assert.Equal(t, false, root["additionalProperties"], "%q", values)
		assert.IsType(t, object{}, root["properties"], "%q", values)
	}
}

func TestDescriptionIsHelmDocsComment(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"one line", "# -- Replicas.\nk: 1\n", "Replicas."},
		{"continuation lines are joined with spaces", "# -- Replicas\n# of the API.\nk: 1\n", "Replicas of the API."},
		{"@default is dropped", "# -- Tag.\n# @default -- appVersion\nk: \"\"\n", "Tag."},
		{"@schema after the description is dropped", "# -- Tag.\n# @schema {\"minLength\": 0}\nk: \"\"\n", "Tag."},
		{"@schema above the description is not part of it", "# @schema {\"minLength\": 0}\n# -- Tag.\nk: \"\"\n", "Tag."},
		{"only the last # -- group counts, as in helm-docs", "# -- Old.\n# -- New.\nk: 1\n", "New."},
		{"plain comments are not descriptions", "# Just a note.\nk: 1\n", ""},
		{"an empty comment line is skipped", "# -- Replicas\n#\n# of the API.\nk: 1\n", "Replicas of the API."},
		{"a comment before a blank line belongs to the key above (yaml.v3, as in helm-docs)", "# -- Lost.\n\n# Note.\nk: 1\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, err := inferText("first: 0\n" + c.values)
			require.NoError(t, err)
			got, _ := root["properties"].(object)["k"].(object)["description"].(string)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestInferenceErrors(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"a key defined twice", "a: 1\nb: 2\na: 3\n", `values.yaml:3: key "a" is defined twice`},
		{"a merge key", "base: &b {x: 1}\nk:\n  <<: *b\n", "values.yaml:3: merge keys (`<<`) are not supported: write the keys out"},
		{"values that are not a map", "- a\n- b\n", "values.yaml:1: the values must be a map, not a !!seq"},
		{"invalid YAML, at its line", "a: 1\nb: [\n", "values.yaml:2: invalid YAML: did not find expected node content"},
		{"a tag Helm does not read", "k: !custom x\n", `values.yaml:1: value "x" has tag !custom, which Helm does not read`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := inferText(c.values)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
		})
	}
}
