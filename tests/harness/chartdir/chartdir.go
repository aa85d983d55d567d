// Package chartdir prepares chart folders for the helm and ct command lines:
// a private copy of charts/ with each application chart's library dependency
// built, so CLI runs never write into the work tree and never see a stale
// packaged copy of the library chart.
package chartdir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/osmo-wi/charts/tests/harness/project"
)

// Build copies the repository's charts/ into dst and runs `helm dependency
// build` for every application chart. It returns the copy's charts folder.
func Build(dst string) (string, error) {
	return BuildFrom(project.Path("charts"), dst)
}

// shared is the process's one built copy of charts/ (see Shared).
var shared struct {
	once sync.Once
	dir  string
	err  error
}

// Shared returns the charts folder of one built copy per process, made on
// first use; RemoveShared deletes it (a TestMain calls it after the tests).
func Shared() (string, error) {
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "osmo-charts-")
		if shared.err == nil {
			_, shared.err = Build(shared.dir)
		}
	})
	return filepath.Join(shared.dir, "charts"), shared.err
}

// RemoveShared deletes the copy Shared made, if any.
func RemoveShared() {
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// BuildFrom is Build for another charts folder (an earlier version from git history).
func BuildFrom(src, dst string) (string, error) {
	charts := filepath.Join(dst, "charts")
	if err := os.CopyFS(charts, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("copy charts: %w", err)
	}
	for _, chart := range project.Charts {
		dir := filepath.Join(charts, chart)
		os.RemoveAll(filepath.Join(dir, "charts")) // a packaged library left by a manual `helm dependency build`
		os.Remove(filepath.Join(dir, "Chart.lock"))
		if out, err := Helm(dst, "dependency", "build", dir); err != nil {
			return "", fmt.Errorf("helm dependency build %s: %w\n%s", chart, err, out)
		}
	}
	return charts, nil
}

// Helm runs the pinned helm in dir with a private Helm home, so no user
// configuration or repository cache leaks in and nothing is written outside dir.
func Helm(dir string, args ...string) ([]byte, error) {
	return Run(dir, "helm", args...)
}

// Run runs a pinned tool from .bin/ in dir with .bin/ first on PATH and Helm's
// folders inside dir.
func Run(dir, tool string, args ...string) ([]byte, error) {
	return RunWithEnv(dir, nil, tool, args...)
}

// RunWithEnv is Run with extra environment variables (KUBECONFIG=...).
func RunWithEnv(dir string, env []string, tool string, args ...string) ([]byte, error) {
	bin, err := project.Bin(tool)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(project.EnvWithBin(os.Environ()),
		"HELM_CACHE_HOME="+filepath.Join(dir, ".helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(dir, ".helm", "config"),
		"HELM_DATA_HOME="+filepath.Join(dir, ".helm", "data"),
	)
	cmd.Env = append(cmd.Env, env...)
	return cmd.CombinedOutput()
}
