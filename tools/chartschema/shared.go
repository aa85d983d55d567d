package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// sharedSource names the blocks' source in the markers, as a reader of the
// repository finds it (whatever -charts says).
const sharedSource = "charts/common/shared-values.yaml"

var (
	// In the source, blocks open and close at column 0.
	sourceOpen  = regexp.MustCompile(`^# >>> (.*)$`)
	sourceClose = regexp.MustCompile(`^# <<< (.*)$`)
	// In a values file, markers sit at any indentation; the opening one may
	// carry a note after the name.
	markerOpen  = regexp.MustCompile(`^(\s*)# >>> (\S*)`)
	markerClose = regexp.MustCompile(`^(\s*)# <<< (.*)$`)
	blockName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// block is one named block of the shared source.
type block struct {
	at    string   // file:line of its opening line
	lines []string // at zero indentation
	from  []string // file:line of each line
}

// blocks are the shared source's blocks by name.
type blocks struct {
	path  string
	named map[string]block
}

// loadBlocks reads the shared source; a missing file holds no block.
func loadBlocks(path string) (blocks, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return blocks{path: path}, nil
	}
	if err != nil {
		return blocks{}, err
	}
	return parseBlocks(path, string(data))
}

func parseBlocks(path, text string) (blocks, error) {
	found := map[string]block{}
	open := "" // name of the block being read
	var current block
	for i, line := range strings.Split(text, "\n") {
		at := fmt.Sprintf("%s:%d", path, i+1)
		if m := sourceOpen.FindStringSubmatch(line); m != nil {
			name := strings.TrimSpace(m[1])
			switch {
			case open != "":
				return blocks{}, fmt.Errorf("%s: block %q opens inside block %q (opened at %s); close it first with `# <<< %s`", at, name, open, current.at, open)
			case !blockName.MatchString(name):
				return blocks{}, fmt.Errorf("%s: block name %q: want letters, digits, '.', '_' or '-'", at, name)
			case found[name].at != "":
				return blocks{}, fmt.Errorf("%s: block %q is already defined at %s", at, name, found[name].at)
			}
			open, current = name, block{at: at}
			continue
		}
		if m := sourceClose.FindStringSubmatch(line); m != nil {
			name := strings.TrimSpace(m[1])
			if name != open {
				return blocks{}, fmt.Errorf("%s: `# <<< %s` closes no open block%s", at, name, openNote(open, current.at))
			}
			found[name], open = current, ""
			continue
		}
		if open == "" {
			continue // commentary between blocks
		}
		if markerOpen.MatchString(line) || markerClose.MatchString(line) {
			return blocks{}, fmt.Errorf("%s: block %q holds a marker line %q; blocks cannot nest", at, open, strings.TrimSpace(line))
		}
		current.lines = append(current.lines, line)
		current.from = append(current.from, at)
	}
	if open != "" {
		return blocks{}, fmt.Errorf("%s: block %q is never closed: add `# <<< %s`", current.at, open, open)
	}
	return blocks{path: path, named: found}, nil
}

func openNote(open, at string) string {
	if open == "" {
		return ""
	}
	return fmt.Sprintf(" (block %q, opened at %s, is still open)", open, at)
}

// valuesText is a values file with its shared blocks expanded, and where each
// of its lines comes from, so errors name the line a user edits.
type valuesText struct {
	path string
	text []byte
	from []string // file:line of each line
}

// at locates line n (1-based) of the expanded text.
func (v valuesText) at(n int) string {
	if n < 1 || n > len(v.from) {
		return fmt.Sprintf("%s:%d", v.path, n)
	}
	return v.from[n-1]
}

// expand replaces the lines between each marker pair of a values file with
// the named block, re-indented to the opening marker's column.
func expand(path string, text []byte, shared blocks) (valuesText, error) {
	lines := strings.Split(string(text), "\n")
	var out, from []string
	emit := func(line, at string) {
		out = append(out, line)
		from = append(from, at)
	}
	for i := 0; i < len(lines); i++ {
		at := fmt.Sprintf("%s:%d", path, i+1)
		open := markerOpen.FindStringSubmatch(lines[i])
		if open == nil {
			if markerClose.MatchString(lines[i]) {
				return valuesText{}, fmt.Errorf("%s: %q closes no open shared block", at, strings.TrimSpace(lines[i]))
			}
			emit(lines[i], at)
			continue
		}
		indent := open[1]
		name, err := markerName(at, open[2], shared)
		if err != nil {
			return valuesText{}, err
		}
		end, err := closingMarker(path, lines, i, name)
		if err != nil {
			return valuesText{}, err
		}
		emit(indent+"# >>> shared:"+name+" (generated from "+sharedSource+" by `make generate`; edit it there)", at)
		b := shared.named[name]
		for k, line := range b.lines {
			emit(reindent(indent, line), b.from[k])
		}
		emit(indent+"# <<< shared:"+name, fmt.Sprintf("%s:%d", path, end+1))
		i = end
	}
	return valuesText{path: path, text: []byte(strings.Join(out, "\n")), from: from}, nil
}

// markerName checks an opening marker `# >>> shared:<name>` names a block of
// the source.
func markerName(at, word string, shared blocks) (string, error) {
	name, ok := strings.CutPrefix(word, "shared:")
	if !ok {
		return "", fmt.Errorf("%s: unknown marker `# >>> %s`: want `# >>> shared:<block>`", at, word)
	}
	if _, ok := shared.named[name]; !ok {
		return "", fmt.Errorf("%s: shared block %q is not in %s (it has: %s)", at, name, shared.path, shared.names())
	}
	return name, nil
}

// closingMarker finds the line index of `# <<< shared:<name>` after line open.
func closingMarker(path string, lines []string, open int, name string) (int, error) {
	for j := open + 1; j < len(lines); j++ {
		if markerOpen.MatchString(lines[j]) {
			return 0, fmt.Errorf("%s:%d: shared block %q is not closed before the marker at line %d: add `# <<< shared:%s`", path, open+1, name, j+1, name)
		}
		if m := markerClose.FindStringSubmatch(lines[j]); m != nil {
			if got := strings.TrimSpace(m[2]); got != "shared:"+name {
				return 0, fmt.Errorf("%s:%d: `# <<< %s` closes shared block %q opened at line %d: want `# <<< shared:%s`", path, j+1, got, name, open+1, name)
			}
			return j, nil
		}
	}
	return 0, fmt.Errorf("%s:%d: shared block %q is never closed: add `# <<< shared:%s`", path, open+1, name, name)
}

// reindent puts a block line at the marker's column; blank lines stay empty
// so the generated text carries no trailing spaces.
func reindent(indent, line string) string {
	if strings.TrimSpace(line) == "" {
		return ""
	}
	return indent + line
}

func (shared blocks) names() string {
	var list []string
	for name := range shared.named {
		list = append(list, name)
	}
	sort.Strings(list)
	if len(list) == 0 {
		return "no block"
	}
	return strings.Join(list, ", ")
}
