// Command demo is the main job (`make demo`): it starts the local cluster with
// the real Azure and AWS identity webhooks, installs the four charts with an
// Azure example scenario into a namespace enforcing Pod Security "restricted",
// waits for them, and prints what each pod received (the identity check),
// with each pod's token exchanged by the real cloud SDK against a local
// stand-in of the cloud's token endpoint.
// Then it stops everything, unless --keep leaves the cluster running.
//
//	go run ./cmd/demo [--keep] [--scenario aks-workload-identity-shortcut]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/identitycheck"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/scenario"
)

const namespace = "osmo"

func main() {
	keep := flag.Bool("keep", false, "leave the cluster running (state in .cluster/) and print its kubeconfig")
	scenarioName := flag.String("scenario", "aks-workload-identity-shortcut", "folder of values-examples/ to install")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, *scenarioName, *keep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run returns whether every pod received its identity.
func run(ctx context.Context, scenarioName string, keep bool) (bool, error) {
	start := time.Now()
	s, err := scenario.Get(scenarioName, project.Charts)
	if err != nil {
		return false, err
	}
	local, err := startCluster(ctx, keep)
	if err != nil {
		return false, err
	}
	if !keep {
		defer func() {
			local.Stop(context.Background())
			fmt.Printf("\nStopped the cluster; nothing is left running. (%s in all)\n", since(start))
		}()
	}
	step := time.Now()
	if err := install(ctx, local, s); err != nil {
		return false, err
	}
	fmt.Printf("Installed %v with values-examples/%s/ in namespace %q (Pod Security \"restricted\") in %s\n\n", project.Charts, s.Name, namespace, since(step))

	report, err := identitycheck.Check(ctx, local.Client(), identitycheck.Options{Namespace: namespace})
	if err != nil {
		return false, err
	}
	step = time.Now()
	if err := report.ProveExchanges(ctx, local.Client(), local.CA().CertPEM()); err != nil {
		return false, err
	}
	fmt.Printf("Exchanged every pod's token with the real Azure SDK against a local stand-in for Entra ID (it cannot be reached from here) in %s\n\n", since(step))
	if err := report.WriteTable(os.Stdout); err != nil {
		return false, err
	}
	if keep {
		fmt.Printf("\nThe cluster keeps running (%s in all):\n  export KUBECONFIG=%s\n  go run ./cmd/identity-check --namespace %s\n  make cluster-down   # to stop it\n",
			since(start), local.KubeconfigPath(), namespace)
	}
	return report.OK(), nil
}

// startCluster starts the local cluster with both identity webhooks; with
// keep it runs detached in .cluster/, as `make cluster-up` does.
func startCluster(ctx context.Context, keep bool) (*cluster.Local, error) {
	local := cluster.LocalOptions{AfterStart: []func(context.Context, *cluster.Local) error{identitywebhook.Start(identitywebhook.Options{})}}
	if keep {
		dir := project.Path(".cluster")
		if running, err := cluster.RunningDetached(dir); err != nil || running {
			return nil, fmt.Errorf("a cluster from `make cluster-up` already runs in %s: stop it with `make cluster-down` first (%v)", dir, err)
		}
		local.Dir, local.Detached = dir, true
	}
	return cluster.StartLocal(ctx, cluster.Options{Out: os.Stdout, Local: local})
}

// install creates the namespace and installs the four charts, waiting for each.
func install(ctx context.Context, local *cluster.Local, s scenario.Scenario) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if _, err := local.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "osmo-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	charts, err := chartdir.Build(dir)
	if err != nil {
		return err
	}
	helm := chartdir.HelmIn(dir)
	helm.Kubeconfig, helm.Timeout, helm.Sets = local.KubeconfigPath(), 2*time.Minute, scenario.InNamespace
	for _, chart := range project.Charts {
		if _, err := helm.InstallE(ctx, namespace, "osmo-"+chart, filepath.Join(charts, chart), s.ValuesFile(chart)); err != nil {
			return err // names the command, with helm's output
		}
	}
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
