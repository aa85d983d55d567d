package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// object is a JSON Schema node.
type object = map[string]any

// inference walks the YAML nodes of one values file (yaml.v3 keeps the
// comments that carry descriptions and annotations) and collects every
// problem instead of stopping at the first.
type inference struct {
	values   valuesText
	lines    []string
	defs     definitions
	attached map[int]bool // lines of `# @schema` comments that refined a key
	problems []error
}

// inferValues returns the schema of a values file's root.
func inferValues(values valuesText, defs definitions) (object, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(values.text, &doc); err != nil {
		return nil, values.relocate(err)
	}
	in := &inference{
		values:   values,
		lines:    strings.Split(string(values.text), "\n"),
		defs:     defs,
		attached: map[int]bool{},
	}
	// An empty file is an empty map: Helm reads it as no values.
	root := object{"type": "object", "additionalProperties": false, "properties": object{}}
	if len(doc.Content) > 0 {
		top := doc.Content[0]
		if top.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: the values must be a map, not a %s", values.at(top.Line), top.ShortTag())
		}
		if len(top.Content) > 0 {
			root = in.schemaOf(top)
		}
		root = refine(root, in.annotation(doc.HeadComment, top.Line))
	}
	in.reportUnattached()
	return root, errors.Join(in.problems...)
}

func (in *inference) fail(line int, format string, args ...any) {
	in.problems = append(in.problems, fmt.Errorf("%s: %s", in.values.at(line), fmt.Sprintf(format, args...)))
}

// schemaOf infers a value's schema from its default.
func (in *inference) schemaOf(value *yaml.Node) object {
	switch value.Kind {
	case yaml.AliasNode:
		return in.schemaOf(value.Alias)
	case yaml.SequenceNode:
		return object{"type": "array"}
	case yaml.MappingNode:
		if len(value.Content) == 0 {
			return object{"type": "object"} // `{}`: any keys
		}
		return object{"type": "object", "additionalProperties": false, "properties": in.properties(value)}
	default:
		return in.scalar(value)
	}
}

// properties infers the schema of each key of a non-empty map.
func (in *inference) properties(mapping *yaml.Node) object {
	props := object{}
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		key, value := mapping.Content[i], mapping.Content[i+1]
		switch {
		case key.ShortTag() == "!!merge":
			in.fail(key.Line, "merge keys (`<<`) are not supported: write the keys out")
			continue
		case key.Kind != yaml.ScalarNode:
			in.fail(key.Line, "a key must be a plain string")
			continue
		case props[key.Value] != nil:
			in.fail(key.Line, "key %q is defined twice", key.Value)
		}
		props[key.Value] = in.property(key, value)
	}
	return props
}

// property is a key's inferred schema with its description, refined by its
// annotation.
func (in *inference) property(key, value *yaml.Node) object {
	schema := in.schemaOf(value)
	if text := description(key.HeadComment); text != "" {
		schema["description"] = text
	}
	return refine(schema, in.annotation(key.HeadComment, key.Line))
}

// scalar types a scalar as Helm reads it. Helm's YAML is 1.1 (an unquoted
// `yes` is a boolean, `0o17` a string) while yaml.v3's tags are 1.2, so a
// plain scalar is decoded again the way Helm decodes it.
func (in *inference) scalar(value *yaml.Node) object {
	if value.Style == 0 {
		var read any
		if err := sigsyaml.Unmarshal([]byte(value.Value), &read); err == nil {
			switch read.(type) {
			case nil:
				return object{}
			case bool:
				return object{"type": "boolean"}
			case float64:
				if value.ShortTag() == "!!int" {
					return object{"type": "integer"}
				}
				return object{"type": "number"}
			case string:
				return object{"type": "string"}
			}
		}
	}
	switch value.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return object{"type": "string"}
	case "!!bool":
		return object{"type": "boolean"}
	case "!!int":
		return object{"type": "integer"}
	case "!!float":
		return object{"type": "number"}
	case "!!null":
		return object{}
	}
	in.fail(value.Line, "value %q has tag %s, which Helm does not read", value.Value, value.Tag)
	return object{}
}

// description is the helm-docs description of a key: the last `# --` line of
// its head comment and the comment lines after it, minus `# @...` directives
// (`@default`, `@raw`, our `@schema`) and empty `#` lines, joined with
// spaces as helm-docs does.
func description(head string) string {
	lines := strings.Split(head, "\n")
	start := -1
	for i, line := range lines {
		if strings.HasPrefix(line, "# --") {
			start = i
		}
	}
	if start < 0 {
		return ""
	}
	parts := []string{strings.TrimPrefix(lines[start], "# --")}
	for _, line := range lines[start+1:] {
		text, ok := strings.CutPrefix(line, "#")
		text = strings.TrimPrefix(text, " ")
		if ok && text != "" && !strings.HasPrefix(text, "@") {
			parts = append(parts, text)
		}
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

// lineOf finds the line of a head-comment line: yaml.v3 keeps comments
// without positions, and the comment block sits right above its key. A line
// already attached to a key is another copy of the same text.
func (in *inference) lineOf(comment string, below int) int {
	for n := below - 1; n >= 1 && n <= len(in.lines); n-- {
		if strings.TrimSpace(in.lines[n-1]) == comment && !in.attached[n] {
			return n
		}
	}
	return below
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// relocate points a YAML syntax error at the line a user edits (the values
// file, or the shared source for a line of a block).
func (v valuesText) relocate(err error) error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s: %w", v.path, err)
	}
	n, _ := strconv.Atoi(m[1])
	return fmt.Errorf("%s: invalid YAML: %s", v.at(n), m[2])
}
