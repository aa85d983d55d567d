// Command osmo-standin stands in for every OSMO program where OSMO's images
// cannot be pulled. Installed under each OSMO command name (service, worker,
// logger, agent_service, delayed_job_monitor, router, backend_listener,
// backend_worker, backend_test_runner, progress_check, authz_sidecar, node), it
// parses its command line, environment and --config files as the real program
// does (harness/osmoprogram: exit status 2 and argparse's message on a bad flag,
// 1 on a missing or mistyped value or an unreadable config file), prints one JSON line with what it parsed, then
// serves what the real program serves (its probe paths and ports, its progress
// files) until SIGTERM. progress_check checks the progress files as the real one
// does and exits 0 or 1.
//
// With a cloud identity in its environment (the webhooks' AZURE_* or AWS_*
// variables), it exchanges the projected token with the real SDK until the
// cloud accepts it, and serves the outcome on every HTTP listener at
// /osmo-standin/identity (identity.go).
//
// Run as `osmo-standin identity [--listen ADDR]`, it only does that: the
// workload of a workflow pod proving the identity OSMO's pod template gave it.
//
// Installed as envoy, it stands in for the gateway's Envoy (envoy*.go): Envoy's
// command line, the bootstrap and the xDS files it names decoded strictly and
// validated (harness/envoyconfig), the admin address's /ready, and on each
// listener an HTTP reverse proxy that routes as the route table says.
//
// Installed as wget, it stands in for busybox's wget in the charts' helm test
// image (wget.go): the options the tests run (-q, -O FILE, -T SEC), with
// busybox's messages and exit statuses.
//
//	osmo-standin router --hostname osmo --log_level DEBUG   # or: ln -s osmo-standin router; ./router ...
//
// It links no test code.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// checks run after the parse and before serving: what the real program would
// find wrong when it starts (login.go: the operators' login file; logfile.go:
// the --log_dir file OSMO's logger opens). An error
// exits 1. The --config files are read by the parse itself.
var checks []func(ctx context.Context, inv *osmoprogram.Invocation, env map[string]string) error

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args, environment(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func environment() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func run(ctx context.Context, argv []string, env map[string]string, stdout, stderr io.Writer) int {
	program, args := filepath.Base(argv[0]), argv[1:]
	if program == "osmo-standin" {
		if len(args) == 0 {
			fmt.Fprintf(stderr, "usage: osmo-standin <program> [args...]\nprograms: %s\n", strings.Join(append(osmoprogram.Names(), "envoy", "wget", "identity"), ", "))
			return 2
		}
		program, args = filepath.Base(args[0]), args[1:]
	}
	switch program {
	case "envoy":
		return envoyMain(ctx, args, stdout, stderr)
	case "wget":
		return wgetMain(ctx, args, env, stdout, stderr)
	case "identity":
		return identityMain(ctx, args, env, stdout, stderr)
	}
	inv, err := osmoprogram.ParseWithFiles(program, args, env, os.ReadFile)
	var refused *osmoprogram.Error
	if errors.As(err, &refused) {
		fmt.Fprintln(stderr, refused.Output)
		return refused.Status
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if inv.Help {
		p, _ := osmoprogram.Lookup(program)
		fmt.Fprintf(stdout, "usage: %s %s\n", program, strings.Join(p.FlagNames(), " "))
		return 0
	}
	serves := inv.Serves()
	logLine(stdout, inv, serves)
	if inv.Program == "progress_check" {
		return progressCheck(inv, stdout)
	}
	for _, check := range checks {
		if err := check(ctx, inv, env); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", inv.Program, err)
			return 1
		}
	}
	startIdentity(ctx, env, stdout)
	if err := serve(ctx, serves); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", inv.Program, err)
		return 1
	}
	return 0
}

// logLine prints what the program parsed, secrets redacted, as one JSON line.
func logLine(w io.Writer, inv *osmoprogram.Invocation, serves osmoprogram.Serving) {
	type value struct {
		Value  string `json:"value"`
		Source string `json:"source"`
	}
	configs := map[string]map[string]value{}
	for _, c := range inv.Configs {
		values := map[string]value{}
		for name, v := range c.Values {
			text := v.Text
			if secret(name) && v.Source != "default" {
				text = "<redacted>"
			}
			values[name] = value{text, v.Source}
		}
		configs[c.Class] = values
	}
	line, _ := json.Marshal(map[string]any{
		"standin":      "osmo-standin",
		"program":      inv.Program,
		"args":         redactArgs(inv.Args),
		"configs":      configs,
		"config_files": inv.ConfigFiles,
		"serves":       serves,
	})
	fmt.Fprintln(w, string(line))
}

func secret(name string) bool {
	name = strings.ReplaceAll(name, "-", "_")
	return name == "token" || (strings.Contains(name, "password") && !strings.HasSuffix(name, "_file"))
}

func redactArgs(args []string) []string {
	out := append([]string{}, args...)
	for i, a := range out {
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !secret(name) {
			continue
		}
		if hasValue {
			out[i] = a[:strings.Index(a, "=")+1] + "<redacted>"
		} else if i+1 < len(out) {
			out[i+1] = "<redacted>"
		}
	}
	return out
}
