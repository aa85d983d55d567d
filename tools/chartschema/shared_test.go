package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSource = `# Commentary outside blocks is not copied.
# >>> keys
# -- A.
a: 1

b:
  c: 2
# <<< keys
between: not copied
# >>> one
one: 1
# <<< one
`

const note = " (generated from charts/common/shared-values.yaml by `make generate`; edit it there)"

func testBlocks(t *testing.T) blocks {
	t.Helper()
	shared, err := parseBlocks("shared-values.yaml", testSource)
	require.NoError(t, err)
	return shared
}

func TestExpandPlacesBlocksAtTheMarkersColumn(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"at column 0",
			"# >>> shared:one\n# <<< shared:one\n",
			"# >>> shared:one" + note + "\none: 1\n# <<< shared:one\n"},
		{"indented, blank lines stay blank, chart keys around it",
			"global:\n  before: 0\n  # >>> shared:keys\n  # <<< shared:keys\n  after: 3\n",
			"global:\n  before: 0\n  # >>> shared:keys" + note + "\n  # -- A.\n  a: 1\n\n  b:\n    c: 2\n  # <<< shared:keys\n  after: 3\n"},
		{"stale content and the marker's note are replaced",
			"x:\n    # >>> shared:one old note\n    one: 0\n    gone: true\n    # <<< shared:one\n",
			"x:\n    # >>> shared:one" + note + "\n    one: 1\n    # <<< shared:one\n"},
		{"several blocks",
			"# >>> shared:one\n# <<< shared:one\nn:\n  # >>> shared:one\n  # <<< shared:one\n",
			"# >>> shared:one" + note + "\none: 1\n# <<< shared:one\nn:\n  # >>> shared:one" + note + "\n  one: 1\n  # <<< shared:one\n"},
		{"a file without markers is unchanged", "a: 1\n# a comment\n", "a: 1\n# a comment\n"},
		{"a file without a final newline keeps none", "a: 1", "a: 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := expand("values.yaml", []byte(c.values), testBlocks(t))
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got.text))
			again, err := expand("values.yaml", got.text, testBlocks(t))
			require.NoError(t, err)
			assert.Equal(t, c.want, string(again.text), "expanding twice changes nothing")
		})
	}
}

// Each expanded line knows the line a user edits: the values file's own, or
// the shared source's.
func TestExpandedLinesPointAtTheirSource(t *testing.T) {
	got, err := expand("values.yaml", []byte("top: 0\nn:\n  # >>> shared:keys\n  # <<< shared:keys\nlast: 1\n"), testBlocks(t))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"values.yaml:1", "values.yaml:2", "values.yaml:3",
		"shared-values.yaml:3", "shared-values.yaml:4", "shared-values.yaml:5", "shared-values.yaml:6", "shared-values.yaml:7",
		"values.yaml:4", "values.yaml:5", "values.yaml:6",
	}, got.from)
}

// An annotation error inside a block names the shared source's line.
func TestErrorsInABlockNameTheSharedSource(t *testing.T) {
	shared, err := parseBlocks("shared-values.yaml", "# >>> bad\n# -- A.\n# @schema {nope}\na: 1\n# <<< bad\n")
	require.NoError(t, err)
	values, err := expand("values.yaml", []byte("x: 1\ng:\n  # >>> shared:bad\n  # <<< shared:bad\n"), shared)
	require.NoError(t, err)
	_, err = inferValues(values, testDefs)
	require.Error(t, err)
	assert.Equal(t, "shared-values.yaml:3: @schema {nope}: not a JSON object on one line (invalid character 'n' looking for beginning of object key string)", err.Error())
}

func TestExpandErrors(t *testing.T) {
	for _, c := range []struct {
		name, values, want string
	}{
		{"an unknown marker", "a: 1\n# >>> global\n# <<< global\n",
			"values.yaml:2: unknown marker `# >>> global`: want `# >>> shared:<block>`"},
		{"a block missing from the source", "# >>> shared:nope\n# <<< shared:nope\n",
			`values.yaml:1: shared block "nope" is not in shared-values.yaml (it has: keys, one)`},
		{"an unclosed marker", "a: 1\n  # >>> shared:one\n  one: 1\n",
			"values.yaml:2: shared block \"one\" is never closed: add `# <<< shared:one`"},
		{"a marker opening before the previous one closes", "# >>> shared:one\n# >>> shared:keys\n# <<< shared:keys\n",
			"values.yaml:1: shared block \"one\" is not closed before the marker at line 2: add `# <<< shared:one`"},
		{"a closing marker naming another block", "# >>> shared:one\n# <<< shared:keys\n",
			"values.yaml:2: `# <<< shared:keys` closes shared block \"one\" opened at line 1: want `# <<< shared:one`"},
		{"a closing marker without an opening one", "a: 1\n  # <<< shared:one\n",
			`values.yaml:2: "# <<< shared:one" closes no open shared block`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := expand("values.yaml", []byte(c.values), testBlocks(t))
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
		})
	}
}

func TestSharedSourceErrors(t *testing.T) {
	for _, c := range []struct {
		name, source, want string
	}{
		{"a block opening inside another", "# >>> a\nx: 1\n# >>> b\n# <<< b\n# <<< a\n",
			"shared-values.yaml:3: block \"b\" opens inside block \"a\" (opened at shared-values.yaml:1); close it first with `# <<< a`"},
		{"an unclosed block", "x: 0\n# >>> a\nx: 1\n",
			"shared-values.yaml:2: block \"a\" is never closed: add `# <<< a`"},
		{"a closing line naming another block", "# >>> a\n# <<< b\n",
			"shared-values.yaml:2: `# <<< b` closes no open block (block \"a\", opened at shared-values.yaml:1, is still open)"},
		{"a closing line without a block", "x: 1\n# <<< a\n",
			"shared-values.yaml:2: `# <<< a` closes no open block"},
		{"a block defined twice", "# >>> a\n# <<< a\n# >>> a\n# <<< a\n",
			`shared-values.yaml:3: block "a" is already defined at shared-values.yaml:1`},
		{"a bad block name", "# >>> shared:a\n# <<< shared:a\n",
			`shared-values.yaml:1: block name "shared:a": want letters, digits, '.', '_' or '-'`},
		{"a marker inside a block", "# >>> a\n  # >>> shared:b\n# <<< a\n",
			`shared-values.yaml:2: block "a" holds a marker line "# >>> shared:b"; blocks cannot nest`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBlocks("shared-values.yaml", c.source)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
		})
	}
}

func TestSharedSourceBlocks(t *testing.T) {
	shared := testBlocks(t)
	assert.Equal(t, "keys, one", shared.names())
	assert.Equal(t, "# -- A.\na: 1\n\nb:\n  c: 2", strings.Join(shared.named["keys"].lines, "\n"))
	assert.Equal(t, "shared-values.yaml:2", shared.named["keys"].at)
}
