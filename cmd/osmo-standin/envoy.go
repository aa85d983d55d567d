package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// envoyVersion is the Envoy release the stand-in answers for: the service
// chart's gateway.envoy.image tag.
const envoyVersion = "1.29.0"

// envoyOptions is Envoy's command line, parsed as Envoy 1.29 parses it
// (source/server/options_impl.cc, TCLAP): an option it does not know is a
// parse error (exit 1), and so is one of its own options the stand-in does
// not implement, saying so, so that a chart passing one fails here instead of
// being silently served.
type envoyOptions struct {
	configPath     string
	logLevel       string
	mode           string
	serviceCluster string
	serviceNode    string
	serviceZone    string
}

// envoyOption is one of Envoy's options: its short and long names, whether it
// takes a value (and of which TCLAP type), and whether the stand-in honours it.
type envoyOption struct {
	short, long string
	value       string // "" a switch, "string" or "uint32_t"
	honoured    bool
}

// envoyOptionTable is every option Envoy 1.29's command line knows.
var envoyOptionTable = []envoyOption{
	{short: "c", long: "config-path", value: "string", honoured: true},
	{short: "l", long: "log-level", value: "string", honoured: true},
	{long: "mode", value: "string", honoured: true},
	{long: "service-cluster", value: "string", honoured: true},
	{long: "service-node", value: "string", honoured: true},
	{long: "service-zone", value: "string", honoured: true},
	// Honoured as no-ops: the stand-in runs one process, no hot restart, no worker threads.
	{long: "concurrency", value: "uint32_t", honoured: true},
	{long: "base-id", value: "uint32_t", honoured: true},
	{long: "use-dynamic-base-id", honoured: true},
	{long: "restart-epoch", value: "uint32_t", honoured: true},
	{long: "disable-hot-restart", honoured: true},
	{long: "drain-time-s", value: "uint32_t", honoured: true},
	{long: "parent-shutdown-time-s", value: "uint32_t", honoured: true},
	{long: "cpuset-threads", honoured: true},
	// Envoy's, not implemented by the stand-in.
	{long: "base-id-path", value: "string"},
	{long: "config-yaml", value: "string"},
	{long: "allow-unknown-fields"},
	{long: "allow-unknown-static-fields"},
	{long: "reject-unknown-dynamic-fields"},
	{long: "ignore-unknown-dynamic-fields"},
	{long: "admin-address-path", value: "string"},
	{long: "local-address-ip-version", value: "string"},
	{long: "component-log-level", value: "string"},
	{long: "log-format", value: "string"},
	{long: "log-format-escaped"},
	{long: "enable-fine-grain-logging"},
	{long: "log-path", value: "string"},
	{long: "hot-restart-version"},
	{long: "file-flush-interval-msec", value: "uint32_t"},
	{long: "drain-strategy", value: "string"},
	{long: "enable-mutex-tracing"},
	{long: "disable-extensions", value: "string"},
	{long: "socket-path", value: "string"},
	{long: "socket-mode", value: "string"},
	{long: "enable-core-dump"},
	{long: "stats-tag", value: "string"},
}

// envoyLogLevels are the levels --log-level accepts (spdlog's, and "warn").
var envoyLogLevels = []string{"trace", "debug", "info", "warning", "warn", "error", "critical", "off"}

// envoySays is an error worded as Envoy words it (capitals and full stops kept).
type envoySays string

func (e envoySays) Error() string { return string(e) }

// envoyParseError is TCLAP's failure output: the argument, the error, and the
// pointer to --help.
func envoyParseError(arg, msg string) error {
	return fmt.Errorf("PARSE ERROR: Argument: %s\n             %s\n\nFor complete USAGE and HELP type: \n   envoy  --help", arg, msg)
}

// parseEnvoyArgs parses Envoy's command line; help is true for -h/--help and
// --version, which print and exit 0.
func parseEnvoyArgs(args []string) (opts envoyOptions, help string, err error) {
	opts = envoyOptions{logLevel: "info", mode: "serve"}
	set := map[string]bool{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch arg {
		case "-h", "--help":
			return opts, "USAGE: envoy (osmo-standin's stand-in for Envoy " + envoyVersion + ")\n   " + envoyUsage(), nil
		case "--version":
			return opts, "envoy  version: osmo-standin/" + envoyVersion + "/standin/RELEASE/BoringSSL", nil
		}
		// TCLAP with Envoy's delimiter ' ': a value is the next argument, never "--name=value".
		name := arg
		var opt *envoyOption
		for j := range envoyOptionTable {
			o := &envoyOptionTable[j]
			if (o.short != "" && name == "-"+o.short) || name == "--"+o.long {
				opt = o
			}
		}
		if opt == nil {
			return opts, "", envoyParseError(arg, "Couldn't find match for argument")
		}
		id := envoyArgID(*opt)
		if !opt.honoured {
			return opts, "", fmt.Errorf("osmo-standin envoy: %s is an Envoy option the stand-in does not implement", id)
		}
		if set[opt.long] {
			return opts, "", envoyParseError(id, "Argument already set!")
		}
		set[opt.long] = true
		if opt.value == "" {
			continue
		}
		if i+1 >= len(args) {
			return opts, "", envoyParseError(id, "Missing a value for this argument!")
		}
		i++
		value := args[i]
		if opt.value == "uint32_t" {
			if _, err := strconv.ParseUint(value, 10, 32); err != nil {
				return opts, "", envoyParseError(id, fmt.Sprintf("Couldn't read argument value from string '%s'", value))
			}
		}
		switch opt.long {
		case "config-path":
			opts.configPath = value
		case "log-level":
			opts.logLevel = value
		case "mode":
			opts.mode = value
		case "service-cluster":
			opts.serviceCluster = value
		case "service-node":
			opts.serviceNode = value
		case "service-zone":
			opts.serviceZone = value
		}
	}
	if !contains(envoyLogLevels, opts.logLevel) {
		return opts, "", fmt.Errorf("error: invalid log level specified '%s'", opts.logLevel)
	}
	if !contains([]string{"serve", "validate", "init_only"}, opts.mode) {
		return opts, "", fmt.Errorf("error: unknown mode '%s'", opts.mode)
	}
	return opts, "", nil
}

func envoyArgID(o envoyOption) string {
	if o.short != "" {
		return fmt.Sprintf("(-%s,  --%s)", o.short, o.long)
	}
	return "(--" + o.long + ")"
}

func envoyUsage() string {
	var parts []string
	for _, o := range envoyOptionTable {
		if !o.honoured {
			continue
		}
		p := "--" + o.long
		if o.short != "" {
			p = "-" + o.short + "|" + p
		}
		if o.value != "" {
			p += " <" + o.value + ">"
		}
		parts = append(parts, "["+p+"]")
	}
	return strings.Join(parts, " ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// envoyMain is the envoy program: parse the command line, load the bootstrap
// and the files it names (exit 1 on anything the real Envoy would refuse, and
// on what the stand-in cannot serve), print one JSON line saying what it loaded,
// then serve the admin address and every listener until SIGTERM.
func envoyMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, help, err := parseEnvoyArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if help != "" {
		fmt.Fprintln(stdout, help)
		return 0
	}
	if opts.configPath == "" {
		fmt.Fprintln(stderr, "error initializing configuration '': At least one of --config-path or --config-yaml or Options::configProto() should be non-empty")
		return 1
	}
	gw, err := loadEnvoy(opts.configPath, os.ReadFile, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "error initializing configuration '%s': %v\n", opts.configPath, err)
		return 1
	}
	gw.options = opts
	gw.debug = opts.logLevel == "trace" || opts.logLevel == "debug"
	gw.logLine(args)
	switch opts.mode {
	case "validate":
		fmt.Fprintf(stdout, "configuration '%s' OK\n", opts.configPath)
		return 0
	case "init_only":
		return 0
	}
	if err := gw.serve(ctx); err != nil {
		fmt.Fprintf(stderr, "envoy: %v\n", err)
		return 1
	}
	return 0
}
