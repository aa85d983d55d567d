package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnnotationMergesOverTheInferredSchema(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"a keyword without type is added to the inferred schema",
			"# @schema {\"enum\": [\"a\", \"b\"]}\nk: a\n",
			`{"type":"string","enum":["a","b"]}`},
		{"$ref replaces the inferred type",
			"# @schema {\"$ref\": \"#/$defs/env\"}\nk: []\n",
			`{"$ref":"#/$defs/env"}`},
		{"$ref replaces a map's properties, and keeps the description",
			"# @schema {\"$ref\": \"#/$defs/stringMap\"}\n# -- Labels.\nk:\n  a: x\n",
			`{"$ref":"#/$defs/stringMap","description":"Labels."}`},
		{"type replaces the inferred type and properties",
			"# @schema {\"type\": \"object\"}\nk:\n  a: 1\n",
			`{"type":"object"}`},
		{"oneOf replaces the inferred type",
			"# @schema {\"oneOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}\nk: \"\"\n",
			`{"oneOf":[{"type":"string"},{"type":"integer"}]}`},
		{"anyOf replaces the inferred type",
			"# @schema {\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]}\nk: \"\"\n",
			`{"anyOf":[{"type":"string"},{"type":"null"}]}`},
		{"a replacing annotation keeps what it restates",
			"# @schema {\"type\": \"object\", \"properties\": {\"b\": {\"type\": \"string\"}}}\nk:\n  a: 1\n",
			`{"type":"object","properties":{"b":{"type":"string"}}}`},
		{"additionalProperties true keeps the typed properties: an open object",
			"# @schema {\"additionalProperties\": true}\nk:\n  a: 1\n  b:\n    c: x\n",
			`{"type":"object","additionalProperties":true,"properties":{
				"a":{"type":"integer"},
				"b":{"type":"object","additionalProperties":false,"properties":{"c":{"type":"string"}}}}}`},
		{"an annotation on an inner key refines only that key",
			"k:\n  # @schema {\"minimum\": 1}\n  a: 1\n  b: 2\n",
			`{"type":"object","additionalProperties":false,"properties":{"a":{"type":"integer","minimum":1},"b":{"type":"integer"}}}`},
		{"several lines merge in order, the later winning",
			"# @schema {\"minimum\": 0, \"maximum\": 9}\n# @schema {\"maximum\": 5}\nk: 1\n",
			`{"type":"integer","minimum":0,"maximum":5}`},
		{"an annotation below the description applies too (helm-docs would print it)",
			"# -- Port.\n# @schema {\"maximum\": 65535}\nk: 80\n",
			`{"type":"integer","maximum":65535,"description":"Port."}`},
		{"an annotated description wins over the comment",
			"# @schema {\"description\": \"Mine.\"}\n# -- Comment.\nk: 1\n",
			`{"type":"integer","description":"Mine."}`},
		{"numbers are kept as written",
			"# @schema {\"multipleOf\": 0.50}\nk: 1.5\n",
			`{"type":"number","multipleOf":0.50}`},
		{"a $ref beside annotation keywords is accepted",
			"# @schema {\"$ref\": \"#/$defs/env\", \"title\": \"Env\", \"examples\": [[]]}\nk: []\n",
			`{"$ref":"#/$defs/env","title":"Env","examples":[[]]}`},
		{"allOf wraps a $ref with validation keywords",
			"# @schema {\"allOf\": [{\"$ref\": \"#/$defs/env\"}], \"minItems\": 1}\nk: [{name: a}]\n",
			`{"type":"array","allOf":[{"$ref":"#/$defs/env"}],"minItems":1}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.JSONEq(t, c.want, property(t, c.values, "k"))
		})
	}
}

// The file's header comment (followed by a blank line) annotates the root,
// even with the same annotation on the first key.
func TestHeaderAndFirstKeyWithTheSameAnnotation(t *testing.T) {
	root, err := inferText("# @schema {\"additionalProperties\": true}\n\n# @schema {\"additionalProperties\": true}\na:\n  b: 1\n")
	require.NoError(t, err)
	assert.Equal(t, true, root["additionalProperties"])
	assert.Equal(t, true, root["properties"].(object)["a"].(object)["additionalProperties"])
}

// The file's header comment (followed by a blank line) annotates the root.
func TestHeaderAnnotationRefinesTheRoot(t *testing.T) {
	root, err := inferText("# @schema {\"additionalProperties\": true}\n\n# -- A.\na: 1\n")
	require.NoError(t, err)
	assert.Equal(t, true, root["additionalProperties"])
	assert.Contains(t, root["properties"], "a")
}

func TestAnnotationErrors(t *testing.T) {
	for _, c := range []struct {
		name, values string
		want         []string
	}{
		{"malformed JSON", "a: 1\n# @schema {\"type\": \"string\",}\nk: x\n",
			[]string{`values.yaml:2: @schema {"type": "string",}: not a JSON object on one line (invalid character '}' looking for beginning of object key string)`}},
		{"not an object", "# @schema [\"string\"]\nk: x\n",
			[]string{`values.yaml:1: @schema ["string"]: not a JSON object on one line (json: cannot unmarshal array into Go value of type map[string]interface {})`}},
		{"text after the object", "# @schema {\"minimum\": 1} trailing\nk: 1\n",
			[]string{`values.yaml:1: @schema {"minimum": 1} trailing: text after the JSON object`}},
		{"empty", "# @schema\nk: 1\n",
			[]string{"values.yaml:1: empty @schema: want `# @schema {...}`, a JSON object on one line"}},
		{"a remote $ref", "# @schema {\"$ref\": \"https://example.com/s.json\"}\nk: x\n",
			[]string{"values.yaml:1: @schema: $ref https://example.com/s.json: want #/$defs/<name>, a definition of schema-defs.json (no remote or nested reference)"}},
		{"a nested $ref path", "# @schema {\"$ref\": \"#/$defs/env/items\"}\nk: x\n",
			[]string{"values.yaml:1: @schema: $ref #/$defs/env/items: want #/$defs/<name>, a definition of schema-defs.json (no remote or nested reference)"}},
		{"an unknown definition, also inside a nested schema", "# @schema {\"items\": {\"$ref\": \"#/$defs/nope\"}}\nk: []\n",
			[]string{`values.yaml:1: @schema: $ref #/$defs/nope: schema-defs.json has no definition "nope" (it has: env, inner, outer, stringMap, unused)`}},
		{"a validation keyword beside $ref", "# @schema {\"$ref\": \"#/$defs/env\", \"minItems\": 1}\nk: []\n",
			[]string{`values.yaml:1: @schema: draft-07 ignores minItems beside $ref #/$defs/env: wrap the reference, {"allOf": [{"$ref": "#/$defs/env"}], ...}`}},
		{"an annotation followed by a blank line", "a: 1\n# @schema {\"minimum\": 1}\n\nk: 1\n",
			[]string{"values.yaml:2: this `# @schema` line refines no key: put it in the comment block directly above a key of a map (list items are not inferred)"}},
		{"an annotation inside a list", "k:\n  # @schema {\"minimum\": 1}\n  - 1\n",
			[]string{"values.yaml:2: this `# @schema` line refines no key: put it in the comment block directly above a key of a map (list items are not inferred)"}},
		{"every problem is reported, at its own line", "# @schema {\n# @schema {\"minimum\": 1}\na: 1\nb:\n  # @schema nope\n  c: 1\n",
			[]string{
				"values.yaml:1: @schema {: not a JSON object on one line (unexpected EOF)",
				"values.yaml:5: @schema nope: not a JSON object on one line (invalid character 'o' in literal null (expecting 'u'))",
			}},
		{"identical lines each have their own position", "# @schema {\"x\": 1,}\na: 1\n# @schema {\"x\": 1,}\nb: 1\n",
			[]string{
				`values.yaml:1: @schema {"x": 1,}: not a JSON object on one line (invalid character '}' looking for beginning of object key string)`,
				`values.yaml:3: @schema {"x": 1,}: not a JSON object on one line (invalid character '}' looking for beginning of object key string)`,
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := inferText(c.values)
			require.Error(t, err)
			assert.Equal(t, c.want, strings.Split(err.Error(), "\n"))
		})
	}
}

func TestRefineDropsOnlyForReplacingKeywords(t *testing.T) {
	inferred := func() object {
		return object{"type": "object", "additionalProperties": false, "properties": object{"a": object{}}, "description": "d"}
	}
	for _, keyword := range replacing {
		got := refine(inferred(), object{keyword: "x"})
		assert.Equal(t, object{keyword: "x", "description": "d"}, got, keyword)
	}
	got := refine(inferred(), object{"additionalProperties": true})
	assert.Equal(t, true, got["additionalProperties"])
	assert.Equal(t, "object", got["type"])
	assert.Contains(t, got, "properties")
	assert.Equal(t, inferred(), refine(inferred(), nil), "no annotation, no change")
}
