package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	draft07    = "http://json-schema.org/draft-07/schema#"
	defsPrefix = "#/$defs/"
)

// definitions are the shared JSON Schema definitions annotations refer to.
type definitions struct {
	path  string
	named map[string]any
}

// loadDefs reads `{"$defs": {...}}`; a missing file defines nothing. Every
// reference inside a definition must resolve within the file.
func loadDefs(path string) (definitions, error) {
	defs := definitions{path: path, named: map[string]any{}}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return defs, nil
	}
	if err != nil {
		return defs, err
	}
	var file struct {
		Defs map[string]any `json:"$defs"`
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	if err := decoder.Decode(&file); err != nil {
		return defs, fmt.Errorf("%s: %w", path, err)
	}
	if file.Defs != nil {
		defs.named = file.Defs
	}
	var problems []error
	for _, name := range sortedKeys(defs.named) {
		for _, problem := range refProblems(defs.named[name], defs) {
			problems = append(problems, fmt.Errorf("%s: $defs.%s: %s", path, name, problem))
		}
	}
	return defs, errors.Join(problems...)
}

// chartSchema completes the inferred root into the chart's values.schema.json.
func chartSchema(chart chartInfo, root object, defs definitions) ([]byte, error) {
	root["$schema"] = draft07
	root["title"] = "Values of the OSMO " + chart.Name + " chart"
	// Helm puts each dependency's values under its name (or alias).
	if props, ok := root["properties"].(object); ok {
		for _, dep := range chart.Dependencies {
			key := dep.Name
			if dep.Alias != "" {
				key = dep.Alias
			}
			if _, set := props[key]; !set {
				props[key] = object{"type": "object", "description": "Values of the " + dep.Name + " dependency; Helm adds this key."}
			}
		}
	}
	if used := defs.usedBy(root); len(used) > 0 {
		root["$defs"] = used
	}
	return marshal(root)
}

// usedBy returns the definitions a schema refers to, directly or through
// other definitions.
func (defs definitions) usedBy(schema object) object {
	used := object{}
	pending := refsIn(schema)
	for len(pending) > 0 {
		name := pending[0]
		pending = pending[1:]
		if _, done := used[name]; done {
			continue
		}
		used[name] = defs.named[name]
		pending = append(pending, refsIn(defs.named[name])...)
	}
	return used
}

// refsIn lists the definition names referenced anywhere in a node.
func refsIn(node any) []string {
	var names []string
	switch n := node.(type) {
	case []any:
		for _, item := range n {
			names = append(names, refsIn(item)...)
		}
	case object:
		if ref, ok := n["$ref"].(string); ok {
			names = append(names, strings.TrimPrefix(ref, defsPrefix))
		}
		for _, key := range sortedKeys(n) {
			names = append(names, refsIn(n[key])...)
		}
	}
	return names
}

// marshal writes a schema as committed: two-space indent, sorted keys (as
// encoding/json sorts map keys), `<` and `>` kept readable, final newline.
func marshal(schema object) ([]byte, error) {
	var out bytes.Buffer
	encoder := json.NewEncoder(&out)
	encoder.SetEscapeHTML(false)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(schema); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// validateDefaults checks the chart's own defaults against its schema, as
// Helm does at install: a schema that refuses them is a wrong annotation.
func validateDefaults(valuesPath string, values, schemaJSON []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return err
	}
	compiler := jsonschema.NewCompiler()
	if err := compiler.AddResource("file:///values.schema.json", doc); err != nil {
		return err
	}
	schema, err := compiler.Compile("file:///values.schema.json")
	if err != nil {
		return fmt.Errorf("%s: the generated schema is invalid (check the `# @schema` annotations): %v", valuesPath, err)
	}
	var defaults map[string]any
	if err := sigsyaml.Unmarshal(values, &defaults); err != nil {
		return fmt.Errorf("%s: %w", valuesPath, err)
	}
	if defaults == nil {
		defaults = map[string]any{}
	}
	if err := schema.Validate(defaults); err != nil {
		// Drop the validator's first line, which names only the schema URL.
		_, detail, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("%s: the chart's defaults do not validate against the generated schema (fix the default or its `# @schema` annotation):\n%s", valuesPath, detail)
	}
	return nil
}
