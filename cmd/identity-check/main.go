// Command identity-check tells whether every pod of a release would get its
// cloud workload identity, and for each one that would not, why and the fix.
// Install it without a checkout with
// go install github.com/osmo-wi/charts/cmd/identity-check@latest; from a
// checkout:
//
//	go run ./cmd/identity-check --namespace osmo --release osmo-router
//	go run ./cmd/identity-check --namespace osmo --selector app.kubernetes.io/name=service --output json
//	go run ./cmd/identity-check --namespace osmo --exchange   # local cluster: also prove the token exchange
//
// Exit status: 0 when every pod would get its identity, 1 when one would not
// (the fixes are printed), 2 on usage or connection errors, and when nothing
// matched (no pod, and no Deployment waiting for pods).
// The logic lives in harness/identitycheck.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/osmo-wi/charts/harness/identitycheck"
)

// Exit statuses.
const (
	exitOK       = 0 // every pod would get its identity
	exitNotOK    = 1 // at least one would not; the report says why and how to fix it
	exitUsageErr = 2 // bad flags, no cluster, nothing matched
)

// timeout bounds the whole check: a few reads from the API server.
const timeout = time.Minute

// config is the parsed command line.
type config struct {
	kubeconfig string
	options    identitycheck.Options
	output     string // "table" or "json"
	exchange   bool   // also run the token exchange against the local cloud stand-ins
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "identity-check:", err)
		return exitUsageErr
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	restConfig, err := loadRESTConfig(cfg.kubeconfig)
	if err != nil {
		fmt.Fprintln(stderr, "identity-check: kubeconfig:", err)
		return exitUsageErr
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		fmt.Fprintln(stderr, "identity-check:", err)
		return exitUsageErr
	}
	report, err := identitycheck.Check(ctx, client, cfg.options)
	if err != nil {
		fmt.Fprintln(stderr, "identity-check:", err)
		return exitUsageErr
	}
	if err := proveIdentities(ctx, cfg, restConfig, report); err != nil {
		fmt.Fprintln(stderr, "identity-check:", err)
		return exitUsageErr
	}

	if err := write(stdout, cfg.output, report); err != nil {
		fmt.Fprintln(stderr, "identity-check: write report:", err)
		return exitUsageErr
	}
	if !report.OK() {
		fmt.Fprintf(stderr, "identity-check: %d of %d would not get their identity (fixes in the report)\n", len(report.Failing()), len(report.Pods))
		return exitNotOK
	}
	return exitOK
}

// proveIdentities runs the per-pod steps beyond the static check: with
// --exchange, the token exchange against the local stand-ins of the clouds.
func proveIdentities(ctx context.Context, cfg config, restConfig *rest.Config, report *identitycheck.Report) error {
	if !cfg.exchange {
		return nil
	}
	caPEM := restConfig.CAData
	if len(caPEM) == 0 && restConfig.CAFile != "" {
		data, err := os.ReadFile(restConfig.CAFile)
		if err != nil {
			return err
		}
		caPEM = data
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	return report.ProveExchanges(ctx, client, caPEM)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	flags := flag.NewFlagSet("identity-check", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: identity-check [--kubeconfig FILE] [--namespace NS] [--release NAME] [--selector LABELS] [--output table|json] [--exchange]")
		fmt.Fprintln(stderr, "Tells whether every pod would get its cloud workload identity; exit 0 yes, 1 no (with the fix), 2 on errors.")
		flags.PrintDefaults()
	}
	flags.StringVar(&cfg.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
	flags.StringVar(&cfg.options.Namespace, "namespace", "default", "namespace of the pods")
	flags.StringVar(&cfg.options.Selector, "selector", "", "label selector of the pods, as kubectl -l takes it")
	flags.StringVar(&cfg.options.Release, "release", "", "Helm release of the pods (app.kubernetes.io/instance=<release>)")
	flags.StringVar(&cfg.output, "output", "table", "table or json")
	flags.BoolVar(&cfg.exchange, "exchange", false, "local cluster only: also exchange each pod's token with the real cloud SDK against loopback stand-ins of Entra ID, AWS STS and Google STS")
	if err := flags.Parse(args); err != nil {
		return cfg, err
	}
	if flags.NArg() > 0 {
		flags.Usage()
		return cfg, fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if cfg.output != "table" && cfg.output != "json" {
		return cfg, fmt.Errorf("--output %q: expected table or json", cfg.output)
	}
	if _, err := cfg.options.LabelSelector(); err != nil {
		return cfg, fmt.Errorf("--selector: %w", err)
	}
	return cfg, nil
}

// loadRESTConfig reads --kubeconfig, or else $KUBECONFIG (a list of files) or ~/.kube/config.
func loadRESTConfig(explicit string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = explicit
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, err
	}
	restConfig.Timeout = 20 * time.Second
	return restConfig, nil
}

func write(out io.Writer, format string, report *identitycheck.Report) error {
	if format == "json" {
		encoder := json.NewEncoder(out)
		encoder.SetIndent("", "  ")
		return encoder.Encode(report)
	}
	return report.WriteTable(out)
}
