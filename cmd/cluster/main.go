// Command cluster runs the local cluster in the background for hands-on work:
//
//	go run ./cmd/cluster up     # start it (state in .cluster/), print how to use it
//	go run ./cmd/cluster down   # stop it, leaving no process
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/project"
)

// hostProcesses start next to the control plane at `up` and share its
// lifecycle: the Azure and AWS identity webhooks, so a cluster started by
// hand admits pods exactly like the test clusters, and the load balancer
// stand-in (this program again, as `serve-loadbalancers`), which a cluster
// owned by a running process serves from that process.
var hostProcesses = []func(context.Context, *cluster.Local) error{identitywebhook.Start(identitywebhook.Options{}), startLoadBalancers}

// serveLoadBalancersCommand is the internal command the detached load
// balancer stand-in runs as.
const serveLoadBalancersCommand = "serve-loadbalancers"

func main() {
	if len(os.Args) == 3 && os.Args[1] == serveLoadBalancersCommand {
		if err := serveLoadBalancers(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "cluster %s: %v\n", serveLoadBalancersCommand, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: go run ./cmd/cluster up|down")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "cluster %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(command string) error {
	root, err := project.Root()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ".cluster")
	if command == "down" {
		return down(dir)
	}
	// Ctrl-C while starting rolls back what was started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return up(ctx, dir)
}

func up(ctx context.Context, dir string) error {
	running, err := cluster.RunningDetached(dir)
	if err != nil {
		return err
	}
	if running {
		fmt.Printf("A local cluster is already running (state in %s).\n", dir)
		printUsage(dir)
		return nil
	}
	opts := cluster.Options{Out: os.Stdout, Local: cluster.LocalOptions{Dir: dir, Detached: true, AfterStart: hostProcesses}}
	if _, err := cluster.StartLocal(ctx, opts); err != nil {
		return err
	}
	printUsage(dir)
	return nil
}

func printUsage(dir string) {
	rel := func(path string) string {
		if r, err := filepath.Rel(project.MustRoot(), path); err == nil {
			return r
		}
		return path
	}
	fmt.Printf("Use it:\n  export KUBECONFIG=%s\n  %s get nodes\nStop it:\n  go run ./cmd/cluster down\n",
		filepath.Join(dir, "kubeconfig"), rel(filepath.Join(project.BinDir(), "kubectl")))
}

func down(dir string) error {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		fmt.Println("No local cluster is running.")
		return nil
	}
	running, err := cluster.RunningDetached(dir)
	if err != nil {
		return err
	}
	if err := cluster.StopDetached(dir); err != nil {
		return err
	}
	if running {
		fmt.Println("Local cluster stopped.")
	} else {
		fmt.Printf("The local cluster had already stopped; removed what it left in %s.\n", dir)
	}
	return nil
}

// startLoadBalancers runs this program as the detached cluster's load
// balancer stand-in; it dies with the cluster (`down` stops it with the rest).
func startLoadBalancers(_ context.Context, l *cluster.Local) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return l.StartProcess("loadbalancers", self, []string{serveLoadBalancersCommand, l.KubeconfigPath()}, nil)
}

// serveLoadBalancers publishes the cluster's LoadBalancer Services until SIGTERM.
func serveLoadBalancers(kubeconfig string) error {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cluster.ServeLoadBalancers(ctx, client)
	return nil
}
