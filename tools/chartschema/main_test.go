package main

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/charts holds two application charts (alpha uses three shared
// blocks, beta none and has no type), a library chart and a folder without
// Chart.yaml, committed in their generated state.
const testCharts = "testdata/charts"

var update = flag.Bool("update", false, "regenerate testdata/charts")

// command runs the command in-process.
func command(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTestdataIsGenerated(t *testing.T) {
	if *update {
		code, _, stderr := command("-charts", testCharts)
		require.Equal(t, 0, code, stderr)
	}
	code, stdout, stderr := command("-check", "-charts", testCharts)
	assert.Equal(t, 0, code, "%s%s(run `go test ./tools/chartschema -update` after changing testdata)", stdout, stderr)
}

// copyCharts gives a test its own copy of testdata/charts.
func copyCharts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(testCharts, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, strings.TrimPrefix(path, testCharts))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(t, err)
	return dir
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644))
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err == nil && !entry.IsDir() {
			data, _ := os.ReadFile(path)
			files[path] = string(data)
		}
		return err
	}))
	return files
}

func TestCheckNamesEveryStaleFileAndWritesNothing(t *testing.T) {
	for _, c := range []struct {
		name  string
		stale func(dir string)
		want  []string // stale files, under dir
	}{
		{"a hand-edited schema", func(dir string) {
			edit(t, filepath.Join(dir, "beta", "values.schema.json"), `"boolean"`, `"string"`)
		}, []string{"beta/values.schema.json"}},
		{"a values key changed without regenerating", func(dir string) {
			edit(t, filepath.Join(dir, "beta", "values.yaml"), "enabled: true", "enabled: 1")
		}, []string{"beta/values.schema.json"}},
		{"a hand-edited shared block", func(dir string) {
			edit(t, filepath.Join(dir, "alpha", "values.yaml"), "  create: true\n", "  create: true\n  extra: 1\n")
		}, []string{"alpha/values.yaml"}},
		{"a changed shared source", func(dir string) {
			edit(t, filepath.Join(dir, "common", "shared-values.yaml"), "# -- Create the account.", "# -- Create the ServiceAccount.")
		}, []string{"alpha/values.schema.json", "alpha/values.yaml"}},
		{"a changed definition", func(dir string) {
			edit(t, filepath.Join(dir, "common", "schema-defs.json"), `"minLength": 1}`, `"minLength": 2}`)
		}, []string{"alpha/values.schema.json"}},
		{"a deleted schema", func(dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "beta", "values.schema.json")))
		}, []string{"beta/values.schema.json"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyCharts(t)
			c.stale(dir)
			before := snapshot(t, dir)
			code, _, stderr := command("-check", "-charts", dir)
			assert.Equal(t, 1, code)
			var want string
			for _, file := range c.want {
				want += filepath.Join(dir, file) + " is stale: run `make generate`\n"
			}
			assert.Equal(t, want, stderr)
			assert.Equal(t, before, snapshot(t, dir), "-check writes nothing")

			code, _, stderr = command("-charts", dir)
			require.Equal(t, 0, code, stderr)
			code, _, stderr = command("-check", "-charts", dir)
			assert.Equal(t, 0, code, "fresh after a run: %s", stderr)
		})
	}
}

func TestRunIsByteStable(t *testing.T) {
	dir := copyCharts(t)
	for _, path := range []string{"alpha/values.schema.json", "beta/values.schema.json"} {
		require.NoError(t, os.Remove(filepath.Join(dir, path)))
	}
	code, stdout, stderr := command("-charts", dir)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "chartschema: wrote "+filepath.Join(dir, "alpha/values.schema.json")+"\nchartschema: wrote "+filepath.Join(dir, "beta/values.schema.json")+"\n", stdout)
	first := snapshot(t, dir)
	for range 3 {
		code, stdout, stderr = command("-charts", dir)
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stdout, "nothing to write")
		assert.Equal(t, first, snapshot(t, dir))
	}
	assert.Equal(t, snapshot(t, testCharts)[filepath.Join(testCharts, "alpha/values.schema.json")], first[filepath.Join(dir, "alpha/values.schema.json")])
}

func TestOnlyApplicationChartsAreGenerated(t *testing.T) {
	files, err := generate(testCharts)
	require.NoError(t, err)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.path)
	}
	assert.Equal(t, []string{
		filepath.Join(testCharts, "alpha/values.schema.json"),
		filepath.Join(testCharts, "alpha/values.yaml"),
		filepath.Join(testCharts, "beta/values.schema.json"),
		filepath.Join(testCharts, "beta/values.yaml"),
	}, paths, "library charts and folders without Chart.yaml are skipped; a chart without type is an application")
}

// Every broken chart is reported in one run, each problem at its line.
func TestErrorsOfEveryChartAreReported(t *testing.T) {
	dir := copyCharts(t)
	edit(t, filepath.Join(dir, "alpha", "values.yaml"), "  # <<< shared:account\n", "")
	edit(t, filepath.Join(dir, "beta", "values.yaml"), "enabled: true", "# @schema {oops}\nenabled: true")
	code, _, stderr := command("-check", "-charts", dir)
	assert.Equal(t, 1, code)
	assert.Equal(t, "chartschema: "+filepath.Join(dir, "alpha/values.yaml")+":33: shared block \"account\" is never closed: add `# <<< shared:account`\n"+
		filepath.Join(dir, "beta/values.yaml")+":3: @schema {oops}: not a JSON object on one line (invalid character 'o' looking for beginning of object key string)\n", stderr)
}

func TestSourceErrorsStopTheRun(t *testing.T) {
	dir := copyCharts(t)
	edit(t, filepath.Join(dir, "common", "shared-values.yaml"), "# <<< top\n", "")
	code, _, stderr := command("-charts", dir)
	assert.Equal(t, 1, code)
	assert.Equal(t, "chartschema: "+filepath.Join(dir, "common/shared-values.yaml")+":26: block \"account\" opens inside block \"top\"", strings.SplitN(stderr, " (", 2)[0])
}

func TestBadFlags(t *testing.T) {
	code, _, stderr := command("-nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "flag provided but not defined: -nope")
	code, _, stderr = command("-charts", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no such file or directory")
}
