// Package chartdir prepares chart folders for the helm and ct command lines:
// a private copy of charts/ with each application chart's library dependency
// built, so CLI runs never write into the work tree and never see a stale
// packaged copy of the library chart. Commands on a copy run through HelmIn.
package chartdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/osmo-wi/charts/harness/helmcli"
	"github.com/osmo-wi/charts/harness/project"
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
	helm := HelmIn(dst)
	for _, chart := range project.Charts {
		dir := filepath.Join(charts, chart)
		os.RemoveAll(filepath.Join(dir, "charts")) // a packaged library left by a manual `helm dependency build`
		os.Remove(filepath.Join(dir, "Chart.lock"))
		if _, err := helm.DependencyBuildE(context.Background(), dir); err != nil {
			return "", fmt.Errorf("chart %s: %w", chart, err)
		}
	}
	return charts, nil
}

// HelmIn is the pinned helm for a copy made in dir (Build's dst): it works
// in dir with its Helm home in dir/.helm, so no user configuration or
// repository cache leaks in and nothing is written outside dir. Its ToolE
// runs ct and helm-docs the same way.
func HelmIn(dir string) helmcli.Helm {
	return helmcli.Helm{Dir: dir, Home: filepath.Join(dir, ".helm")}
}

// Helm runs the pinned helm with args in dir, as HelmIn(dir) does; prefer
// HelmIn(dir).RunE, which takes a context (the render benchmark uses this).
func Helm(dir string, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("chartdir.Helm: no helm command")
	}
	out, err := HelmIn(dir).RunE(context.Background(), "", args[0], args[1:]...)
	return []byte(out), err
}

// CTInstall runs `ct install` of one chart of a copy made in dir (Build's
// dst) against the cluster kubeconfig names, with the project's ct.yaml and
// the chart's ci/*-values.yaml: install --wait, helm test, delete, as CI on
// kind runs it. ct rebuilds the chart's dependencies in place, so each caller
// gives it a copy of its own.
func CTInstall(ctx context.Context, dir, kubeconfig, chart string) (string, error) {
	ct := HelmIn(dir)
	ct.Kubeconfig = kubeconfig
	out, err := ct.ToolE(ctx, "ct", "install",
		"--config", project.Path("ct.yaml"), "--chart-dirs", filepath.Join(dir, "charts"), "--charts", filepath.Join(dir, "charts", chart))
	return string(out), err
}
