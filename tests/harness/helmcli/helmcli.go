// Package helmcli runs a pinned helm command line (v3 or v4) against a test
// cluster through terratest's helm module, with a private Helm home, so the
// lifecycle tests exercise exactly what operators run.
package helmcli

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/shell"

	"github.com/osmo-wi/charts/tests/harness/project"
)

// Versions are the pinned helm binaries in .bin/: v3.22.0 and v4.3.1.
var Versions = []string{"helm", "helm4"}

// Timeout bounds every --wait.
const Timeout = 3 * time.Minute

// Helm is one helm binary pointed at one cluster.
type Helm struct {
	Tool       string // "helm" (v3.22.0) or "helm4" (v4.3.1), a tool in .bin/
	Kubeconfig string
	Home       string // private HELM_CACHE_HOME/CONFIG_HOME/DATA_HOME root
}

// Run runs `helm <cmd> <args...> --namespace ns` and returns its combined output.
// terratest builds the command (kubeconfig, namespace); only the binary differs.
func (h Helm) Run(t testing.TB, namespace, cmd string, args ...string) (string, error) {
	t.Helper()
	binary, err := project.Bin(h.Tool)
	if err != nil {
		return "", err
	}
	options := &helm.Options{
		KubectlOptions: k8s.NewKubectlOptions("", h.Kubeconfig, namespace),
		EnvVars: map[string]string{
			"HELM_CACHE_HOME":  filepath.Join(h.Home, "cache"),
			"HELM_CONFIG_HOME": filepath.Join(h.Home, "config"),
			"HELM_DATA_HOME":   filepath.Join(h.Home, "data"),
		},
		Logger: logger.Discard,
	}
	command := helm.PrepareHelmCommand(options, cmd, args...)
	command.Command = binary
	ctx, cancel := context.WithTimeout(context.Background(), Timeout+time.Minute)
	defer cancel()
	out, err := shell.RunCommandContextAndGetOutputE(t, ctx, command)
	if err != nil {
		return out, fmt.Errorf("%s %s %v: %w\n%s", h.Tool, cmd, args, err, out)
	}
	return out, nil
}

// waitArgs make install, upgrade and rollback wait for the release to be ready.
func waitArgs() []string { return []string{"--wait", "--timeout", Timeout.String()} }

// Install installs chartDir as release with the values files, waiting for readiness.
func (h Helm) Install(t testing.TB, namespace, release, chartDir string, valuesFiles ...string) (string, error) {
	args := append([]string{release, chartDir}, valuesArgs(valuesFiles)...)
	return h.Run(t, namespace, "install", append(args, waitArgs()...)...)
}

// Upgrade upgrades release to chartDir with the values files (not reusing old values).
func (h Helm) Upgrade(t testing.TB, namespace, release, chartDir string, valuesFiles ...string) (string, error) {
	args := append([]string{release, chartDir}, valuesArgs(valuesFiles)...)
	return h.Run(t, namespace, "upgrade", append(args, waitArgs()...)...)
}

// Rollback rolls release back to revision.
func (h Helm) Rollback(t testing.TB, namespace, release string, revision int) (string, error) {
	return h.Run(t, namespace, "rollback", append([]string{release, strconv.Itoa(revision)}, waitArgs()...)...)
}

// Uninstall removes release and waits for its resources to be deleted.
func (h Helm) Uninstall(t testing.TB, namespace, release string) (string, error) {
	return h.Run(t, namespace, "uninstall", release, "--wait", "--timeout", Timeout.String())
}

// Test runs the release's `helm test` hooks.
func (h Helm) Test(t testing.TB, namespace, release string) (string, error) {
	return h.Run(t, namespace, "test", release, "--timeout", Timeout.String())
}

func valuesArgs(files []string) []string {
	var args []string
	for _, f := range files {
		args = append(args, "--values", f)
	}
	return args
}
