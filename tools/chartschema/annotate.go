package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// annotationLine is a `# @schema <JSON object>` comment line.
var annotationLine = regexp.MustCompile(`^\s*#\s*@schema\b(.*)$`)

// replacing are the keywords with which an annotation states the type
// itself, so the inferred one must not narrow it.
var replacing = []string{"$ref", "oneOf", "anyOf", "type"}

// inferredShape is what an annotation setting a replacing keyword drops.
var inferredShape = []string{"type", "properties", "additionalProperties"}

// refine merges an annotation over an inferred schema, key by key, the
// annotation winning; see the package comment for the rule.
func refine(inferred, annotation object) object {
	if annotation == nil {
		return inferred
	}
	for _, keyword := range replacing {
		if _, ok := annotation[keyword]; ok {
			for _, drop := range inferredShape {
				delete(inferred, drop)
			}
			break
		}
	}
	for key, value := range annotation {
		inferred[key] = value
	}
	return inferred
}

// annotation merges, in file order, the `# @schema` lines of a head comment
// that ends right above line `below`; nil when there is none.
func (in *inference) annotation(head string, below int) object {
	lines := strings.Split(head, "\n")
	var fragments []object
	search := below
	// From the bottom up, so identical lines each find their own position.
	for i := len(lines) - 1; i >= 0; i-- {
		m := annotationLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		line := in.lineOf(strings.TrimSpace(lines[i]), search)
		search = line
		in.attached[line] = true
		fragment, err := parseFragment(m[1])
		if err != nil {
			in.fail(line, "%v", err)
			continue
		}
		for _, problem := range refProblems(fragment, in.defs) {
			in.fail(line, "@schema: %s", problem)
		}
		fragments = append([]object{fragment}, fragments...)
	}
	if len(fragments) == 0 {
		return nil
	}
	merged := object{}
	for _, fragment := range fragments {
		for key, value := range fragment {
			merged[key] = value
		}
	}
	return merged
}

// parseFragment reads the JSON object after `@schema`, keeping numbers as
// written so the output repeats them exactly.
func parseFragment(text string) (object, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("empty @schema: want `# @schema {...}`, a JSON object on one line")
	}
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()
	var fragment object
	if err := decoder.Decode(&fragment); err != nil || fragment == nil {
		return nil, fmt.Errorf("@schema %s: not a JSON object on one line (%v)", text, err)
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, fmt.Errorf("@schema %s: text after the JSON object", text)
	}
	return fragment, nil
}

// annotationKeywords are the only keywords allowed beside "$ref": draft-07
// validators ignore every other one there, silently.
var annotationKeywords = map[string]bool{
	"$ref": true, "description": true, "title": true, "default": true,
	"examples": true, "$comment": true, "readOnly": true, "writeOnly": true,
}

// refProblems lists, anywhere in a schema fragment, the references that are
// not to a definition of defs and the keywords draft-07 would ignore.
func refProblems(node any, defs definitions) []string {
	var problems []string
	switch n := node.(type) {
	case []any:
		for _, item := range n {
			problems = append(problems, refProblems(item, defs)...)
		}
	case object:
		if ref, ok := n["$ref"]; ok {
			problems = append(problems, checkRef(ref, n, defs)...)
		}
		for _, key := range sortedKeys(n) {
			problems = append(problems, refProblems(n[key], defs)...)
		}
	}
	return problems
}

func checkRef(ref any, node object, defs definitions) []string {
	var problems []string
	text, _ := ref.(string)
	name, local := strings.CutPrefix(text, defsPrefix)
	if !local || strings.Contains(name, "/") {
		problems = append(problems, fmt.Sprintf("$ref %v: want %s<name>, a definition of %s (no remote or nested reference)", ref, defsPrefix, defs.path))
	} else if _, ok := defs.named[name]; !ok {
		problems = append(problems, fmt.Sprintf("$ref %s: %s has no definition %q (it has: %s)", text, defs.path, name, strings.Join(sortedKeys(defs.named), ", ")))
	}
	var ignored []string
	for _, key := range sortedKeys(node) {
		if !annotationKeywords[key] {
			ignored = append(ignored, key)
		}
	}
	if len(ignored) > 0 {
		problems = append(problems, fmt.Sprintf("draft-07 ignores %s beside $ref %v: wrap the reference, {\"allOf\": [{\"$ref\": %q}], ...}", strings.Join(ignored, ", "), ref, text))
	}
	return problems
}

// reportUnattached fails every `# @schema` line that refined no key: yaml.v3
// attaches a comment followed by a blank line, or inside a list, to no key,
// and a silently ignored annotation is a schema hole.
func (in *inference) reportUnattached() {
	for i, line := range in.lines {
		if annotationLine.MatchString(line) && !in.attached[i+1] {
			in.fail(i+1, "this `# @schema` line refines no key: put it in the comment block directly above a key of a map (list items are not inferred)")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
