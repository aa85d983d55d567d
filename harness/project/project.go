// Package project locates the repository and what the toolchain built into it:
// the charts, the scenario files and the pinned binaries in .bin/.
package project

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Charts are the four application charts, in install order (charts/common is
// the library they share).
var Charts = []string{"service", "router", "backend-operator", "web-ui"}

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// Root is the repository's top folder: the nearest parent of the working
// directory holding go.mod and charts/.
func Root() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if isRoot(dir) {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = fmt.Errorf("project: no go.mod with a charts/ folder above the working directory")
				return
			}
			dir = parent
		}
	})
	return root, rootErr
}

func isRoot(dir string) bool {
	_, modErr := os.Stat(filepath.Join(dir, "go.mod"))
	info, chartsErr := os.Stat(filepath.Join(dir, "charts"))
	return modErr == nil && chartsErr == nil && info.IsDir()
}

// MustRoot is Root for tests and commands that cannot go on without it.
func MustRoot() string {
	dir, err := Root()
	if err != nil {
		panic(err)
	}
	return dir
}

// Path joins elements onto the repository root.
func Path(elem ...string) string {
	return filepath.Join(append([]string{MustRoot()}, elem...)...)
}

// BinDir is the folder `make tools` fills.
func BinDir() string { return Path(".bin") }

// Bin returns the path of a pinned tool, or an error telling how to build it.
// A missing tool is built by `make tools`, never skipped.
func Bin(name string) (string, error) {
	path := filepath.Join(BinDir(), name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is not built: run `make tools` (it builds the pinned toolchain into .bin/)", path)
	}
	return path, nil
}

// MustBin is Bin for callers that cannot go on without the tool.
func MustBin(name string) string {
	path, err := Bin(name)
	if err != nil {
		panic(err)
	}
	return path
}

// EnvWithBin returns the environment with .bin/ first on PATH, so tools that
// run other tools (ct runs helm and kubectl) get the pinned ones.
func EnvWithBin(env []string) []string {
	out := make([]string, 0, len(env)+1)
	path := BinDir()
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			path += string(os.PathListSeparator) + kv[5:]
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path)
}

// ToolsCache is the per-user cache tools/install.sh builds the pinned tools
// into, spelled as the script spells it:
// ${OSMO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/osmo-charts-tools}.
// The own Docker engine and the kind image's Debian rootfs live in it too.
func ToolsCache() (string, error) { return toolsCache(os.Getenv) }

func toolsCache(getenv func(string) string) (string, error) {
	if cache := getenv("OSMO_TOOLS_CACHE"); cache != "" {
		return cache, nil
	}
	base := getenv("XDG_CACHE_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("neither OSMO_TOOLS_CACHE, XDG_CACHE_HOME nor HOME is set: no tools cache folder")
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "osmo-charts-tools"), nil
}
