// Package helmcli runs the pinned helm command line (v3 or v4, from .bin/)
// the way operators run it, with a private Helm home: every operation as
// FooE(ctx, ...), which returns helm's output and error. Package helmclitest
// adds Foo(t, ...) and FooContext(t, ctx, ...), which fail the test; this
// package links no testing code, so commands (cmd/demo) use it too.
package helmcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// Tools are the pinned helm binaries in .bin/: "helm" (v3) and "helm4" (v4).
var Tools = []string{"helm", "helm4"}

// ToolVersions are the versions Tools are built at.
var ToolVersions = map[string]versions.Version{"helm": versions.Helm, "helm4": versions.Helm4}

// Timeout bounds every --wait unless Helm.Timeout says otherwise.
const Timeout = 3 * time.Minute

// Helm is one pinned helm pointed at one cluster. The zero value runs helm
// v3 as a user would: the environment's kubeconfig, the user's Helm home.
type Helm struct {
	// Tool is "helm" (v3) or "helm4" (v4), a tool in .bin/; "" means "helm".
	Tool string
	// Kubeconfig is passed as --kubeconfig; "" leaves helm to $KUBECONFIG.
	Kubeconfig string
	// Home, when set, holds HELM_CACHE_HOME, HELM_CONFIG_HOME and
	// HELM_DATA_HOME (its cache, config and data folders), so no user
	// configuration or repository cache leaks in, and nothing is written
	// outside it; "" leaves helm to the user's own.
	Home string
	// Dir is the working directory; "" means this process's.
	Dir string
	// Timeout bounds each --wait; 0 means Timeout.
	Timeout time.Duration
	// Sets, when set, gives `--set` assignments added to every install and
	// upgrade in a namespace (see scenario.InNamespace).
	Sets func(namespace string) []string
	// NoWait makes install, upgrade, rollback and uninstall return once the
	// objects are applied, without --wait: for a release whose pods are
	// known not to become ready.
	NoWait bool
	// Overlay, when set, gives values files added after the caller's to
	// every install and upgrade of a chart (its folder, as given): what a
	// cluster needs of every release (scenario.KindFit on kind).
	Overlay func(chartDir string) []string
}

func (h Helm) tool() string {
	if h.Tool == "" {
		return "helm"
	}
	return h.Tool
}

func (h Helm) timeout() time.Duration {
	if h.Timeout == 0 {
		return Timeout
	}
	return h.Timeout
}

// Env is the environment the tools run in: this process's, with .bin/ first
// on PATH (ct runs helm and kubectl: the pinned ones), the Helm home when
// set, and KUBECONFIG when Kubeconfig is set.
func (h Helm) Env() []string {
	env := project.EnvWithBin(os.Environ())
	if h.Home != "" {
		env = append(env,
			"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
			"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
			"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
		)
	}
	if h.Kubeconfig != "" {
		env = append(env, "KUBECONFIG="+h.Kubeconfig)
	}
	return env
}

// RunE runs `helm <command> <args...>`, in namespace unless it is "", and
// returns its combined output; the error carries the command and output.
func (h Helm) RunE(ctx context.Context, namespace, command string, args ...string) (string, error) {
	full := append([]string{command}, args...)
	if namespace != "" {
		full = append(full, "--namespace", namespace)
	}
	if h.Kubeconfig != "" {
		full = append(full, "--kubeconfig", h.Kubeconfig)
	}
	// No helm command here takes longer than its --wait; the rest is slack.
	ctx, cancel := context.WithTimeout(ctx, h.timeout()+time.Minute)
	defer cancel()
	return h.ToolE(ctx, h.tool(), full...)
}

// ToolE runs another pinned tool of .bin/ (ct, helm-docs) the way RunE runs
// helm: in Dir, with Env; only ctx bounds it (ct install runs many helm calls).
func (h Helm) ToolE(ctx context.Context, tool string, args ...string) (string, error) {
	binary, err := project.Bin(tool)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir, cmd.Env = h.Dir, h.Env()
	cmd.WaitDelay = 5 * time.Second // output pipes held by a killed child's children
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return string(out), fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// waitArgs make install, upgrade, rollback and uninstall wait for readiness,
// unless NoWait.
func (h Helm) waitArgs() []string {
	if h.NoWait {
		return []string{"--timeout", h.timeout().String()}
	}
	return []string{"--wait", "--timeout", h.timeout().String()}
}

// InstallE installs chart as release with the values files, waiting for readiness.
func (h Helm) InstallE(ctx context.Context, namespace, release, chart string, valuesFiles ...string) (string, error) {
	args := append([]string{release, chart}, h.valuesArgs(namespace, chart, valuesFiles)...)
	return h.RunE(ctx, namespace, "install", append(args, h.waitArgs()...)...)
}

// UpgradeE upgrades release to chart with the values files (not reusing old values).
func (h Helm) UpgradeE(ctx context.Context, namespace, release, chart string, valuesFiles ...string) (string, error) {
	args := append([]string{release, chart}, h.valuesArgs(namespace, chart, valuesFiles)...)
	return h.RunE(ctx, namespace, "upgrade", append(args, h.waitArgs()...)...)
}

// RollbackE rolls release back to revision.
func (h Helm) RollbackE(ctx context.Context, namespace, release string, revision int) (string, error) {
	return h.RunE(ctx, namespace, "rollback", append([]string{release, strconv.Itoa(revision)}, h.waitArgs()...)...)
}

// UninstallE removes release and waits for its resources to be deleted.
func (h Helm) UninstallE(ctx context.Context, namespace, release string) (string, error) {
	return h.RunE(ctx, namespace, "uninstall", append([]string{release}, h.waitArgs()...)...)
}

// TestE runs the release's `helm test` hooks.
func (h Helm) TestE(ctx context.Context, namespace, release string) (string, error) {
	return h.RunE(ctx, namespace, "test", release, "--timeout", h.timeout().String())
}

// DependencyBuildE runs `helm dependency build` for the chart in chartDir.
func (h Helm) DependencyBuildE(ctx context.Context, chartDir string) (string, error) {
	return h.RunE(ctx, "", "dependency", "build", chartDir)
}

// valuesArgs are the values files, the Overlay for the chart, then the Sets
// for the namespace (which win).
func (h Helm) valuesArgs(namespace, chart string, files []string) []string {
	if h.Overlay != nil {
		files = append(slices.Clone(files), h.Overlay(chart)...)
	}
	var args []string
	for _, f := range files {
		args = append(args, "--values", f)
	}
	if h.Sets != nil {
		for _, set := range h.Sets(namespace) {
			args = append(args, "--set", set)
		}
	}
	return args
}
