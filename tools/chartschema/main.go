// Command chartschema derives each chart's values.schema.json, and the shared
// blocks of its values.yaml, from the values files alone: no key, type or
// chart is named in this code.
//
//	go run ./tools/chartschema                 write charts/*/values.yaml blocks and values.schema.json
//	go run ./tools/chartschema -check          write nothing; exit 1 naming every stale file
//	go run ./tools/chartschema -charts DIR     charts in DIR instead of ./charts
//
// Charts are the folders of -charts whose Chart.yaml has `type: application`
// (or no type, which Helm reads as application); library charts are skipped.
// Sources, in the library chart folder DIR/common:
//   - shared-values.yaml: blocks of values every chart carries (see below);
//   - schema-defs.json: `{"$defs": {...}}`, the JSON Schema definitions that
//     annotations refer to as `#/$defs/<name>`.
//
// # Schema inference
//
// Every key of values.yaml gets a schema from its default, read as Helm reads
// it (YAML 1.1: an unquoted `yes` is a boolean):
//
//	"text"       {"type": "string"}
//	true         {"type": "boolean"}
//	3            {"type": "integer"}
//	1.5          {"type": "number"}
//	~ / empty    {}                        (any type)
//	{a: 1}       {"type": "object", "additionalProperties": false, "properties": {"a": ...}}
//	{}           {"type": "object"}        (any keys)
//	[...]        {"type": "array"}         (items unconstrained)
//
// The root is a strict map like any other (so unknown top-level keys are
// refused), plus `"<dependency>": {"type": "object"}` for every dependency of
// Chart.yaml (its alias when it has one) the values do not set, because Helm
// adds those keys. A commented-out key is not in the schema, so it is refused
// unless its map is open. The helm-docs comment (the last `# -- text` line,
// continued on the following comment lines up to the key; `# @default -- ...`
// and other `# @...` lines dropped) becomes "description".
//
// # Annotations
//
// A comment line `# @schema <JSON object>` in the comment block directly above
// a key refines that key's schema (`# @schema` lines in the file's header
// comment, separated from the first key by a blank line, refine the root).
// Several such lines are merged in order, later keys winning. The result is
// merged over the inferred schema, key by key, the annotation winning, with
// one rule: when it sets "$ref", "oneOf", "anyOf" or "type", the inferred
// "type", "properties" and "additionalProperties" are dropped first (so
// `{"$ref": "#/$defs/env"}` replaces the inferred `{"type": "array"}`).
// `{"additionalProperties": true}` sets none of them, so a map keeps its
// typed properties and accepts other keys: that is how `global` stays open.
//
// Put `# @schema` lines ABOVE the `# --` line: helm-docs reads every comment
// line after `# --` as description. A `$ref` must be `#/$defs/<name>` of a
// definition in schema-defs.json; only the definitions a chart uses
// (transitively) are copied into its schema. Draft-07 validators ignore every
// keyword beside "$ref", so an annotation that puts a validation keyword
// beside it is refused (wrap it: `{"allOf": [{"$ref": ...}], ...}`).
// A malformed annotation fails naming file:line, and so does one attached to
// no key: yaml.v3 gives a comment followed by a blank line to the key above,
// and list items are not inferred. The chart's defaults must validate against
// the schema generated for it (checked with Helm's validator library).
//
// # Shared blocks
//
// shared-values.yaml holds named blocks, written at zero indentation between
// `# >>> <name>` and `# <<< <name>` lines at column 0 (text outside blocks is
// free commentary). A chart's values.yaml places a block with a marker pair
// at any indentation:
//
//	global:
//	  # >>> shared:global (generated from charts/common/shared-values.yaml by `make generate`; edit it there)
//	  ...
//	  # <<< shared:global
//	  serviceUrl: ""
//
// The lines between the markers are replaced by the block, re-indented to the
// marker's column (blank lines stay blank), and the opening marker's note is
// rewritten, before the schema is inferred from the result. Problems on a
// block's lines name shared-values.yaml:<line>. Every problem of every chart
// is reported in one run.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// libraryDir is the folder, under -charts, of the library chart that holds
// the shared sources.
const libraryDir = "common"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, callable in-process by tests.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("chartschema", flag.ContinueOnError)
	flags.SetOutput(stderr)
	check := flags.Bool("check", false, "write nothing; exit 1 naming every stale file")
	dir := flags.String("charts", "charts", "folder holding the charts")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	files, err := generate(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "chartschema:", err)
		return 1
	}
	stale := 0
	for _, f := range files {
		have, err := os.ReadFile(f.path)
		if err == nil && bytes.Equal(have, f.content) {
			continue
		}
		if *check {
			fmt.Fprintf(stderr, "%s is stale: run `make generate`\n", f.path)
			stale++
			continue
		}
		if err := os.WriteFile(f.path, f.content, 0o644); err != nil {
			fmt.Fprintln(stderr, "chartschema:", err)
			return 1
		}
		fmt.Fprintln(stdout, "chartschema: wrote", f.path)
	}
	if stale > 0 {
		return 1
	}
	return 0
}

// output is one generated file.
type output struct {
	path    string
	content []byte
}

// generate returns every file derived for the charts in dir, or every
// problem found, so a user fixes them all in one round.
func generate(dir string) ([]output, error) {
	library := filepath.Join(dir, libraryDir)
	shared, err := loadBlocks(filepath.Join(library, "shared-values.yaml"))
	if err != nil {
		return nil, err
	}
	defs, err := loadDefs(filepath.Join(library, "schema-defs.json"))
	if err != nil {
		return nil, err
	}
	charts, err := applicationCharts(dir)
	if err != nil {
		return nil, err
	}
	var files []output
	var problems []error
	for _, chart := range charts {
		generated, err := generateChart(chart, shared, defs)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		files = append(files, generated...)
	}
	return files, errors.Join(problems...)
}

// generateChart returns a chart's values.yaml with its shared blocks
// refreshed, and the values.schema.json inferred from that text.
func generateChart(chart chartInfo, shared blocks, defs definitions) ([]output, error) {
	valuesPath := filepath.Join(chart.dir, "values.yaml")
	text, err := os.ReadFile(valuesPath)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	values, err := expand(valuesPath, text, shared)
	if err != nil {
		return nil, err
	}
	root, err := inferValues(values, defs)
	if err != nil {
		return nil, err
	}
	schema, err := chartSchema(chart, root, defs)
	if err != nil {
		return nil, err
	}
	if err := validateDefaults(valuesPath, values.text, schema); err != nil {
		return nil, err
	}
	files := []output{{filepath.Join(chart.dir, "values.schema.json"), schema}}
	if text != nil {
		files = append(files, output{valuesPath, values.text})
	}
	return files, nil
}

// chartInfo is what the generator reads from a Chart.yaml.
type chartInfo struct {
	dir          string
	Name         string `json:"name"`
	Type         string `json:"type"`
	Dependencies []struct {
		Name  string `json:"name"`
		Alias string `json:"alias"`
	} `json:"dependencies"`
}

// applicationCharts lists the folders of dir holding an application chart,
// sorted by name.
func applicationCharts(dir string) ([]chartInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var charts []chartInfo
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		path := filepath.Join(dir, entry.Name(), "Chart.yaml")
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		chart := chartInfo{dir: filepath.Join(dir, entry.Name())}
		if err := yaml.Unmarshal(data, &chart); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// Helm reads a missing type as application.
		if chart.Type == "" || chart.Type == "application" {
			charts = append(charts, chart)
		}
	}
	return charts, nil
}
