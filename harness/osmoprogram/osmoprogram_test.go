package osmoprogram_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

var password = map[string]string{"OSMO_POSTGRES_PASSWORD": "secret"}

func env(pairs ...string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[pairs[i]] = pairs[i+1]
	}
	return out
}

// refusal is one command line the real program refuses.
type refusal struct {
	name    string
	program string
	args    []string
	env     map[string]string
	rule    string
	flag    string
	status  int
	message string // the error's message contains this
}

func TestParseRefuses(t *testing.T) {
	backend := []string{"--namespace", "osmo-namespace"}
	cases := []refusal{
		{"unknown flag", "router", []string{"--foo", "bar"}, password, "unrecognized", "--foo", 2, "unrecognized arguments: --foo bar"},
		{"unknown positional", "worker", []string{"extra"}, password, "unrecognized", "", 2, "unrecognized arguments: extra"},
		{"single-dash long flag", "router", []string{"-postgres_host", "x"}, password, "unrecognized", "-postgres_host", 2, "unrecognized arguments: -postgres_host x"},
		{"flag without its value at the end", "router", []string{"--postgres_host"}, password, "expected-argument", "--postgres_host", 2, "argument --postgres_host: expected one argument"},
		{"flag followed by a flag", "router", []string{"--hostname", "--log_level", "INFO"}, password, "expected-argument", "--hostname", 2, "argument --hostname: expected one argument"},
		{"ambiguous abbreviation", "router", []string{"--postgres_p", "x"}, password, "ambiguous", "--postgres_p", 2, "ambiguous option: --postgres_p could match --postgres_port, --postgres_password, --postgres_pool_minconn, --postgres_pool_maxconn"},
		{"store_true with a value after it", "delayed_job_monitor", []string{"--enable_metrics", "true"}, password, "unrecognized", "", 2, "unrecognized arguments: true"},
		{"store_true with =value", "delayed_job_monitor", []string{"--enable_metrics=true"}, password, "explicit-argument", "--enable_metrics", 2, "argument --enable_metrics: ignored explicit argument 'true'"},
		{"required value missing", "router", nil, nil, "required", "--postgres_password", 1, "postgres_password: required, no value provided via config file key postgres_password, --postgres_password, env OSMO_POSTGRES_PASSWORD"},
		{"required flag without env", "backend_listener", []string{"--host", "http://osmo"}, nil, "required", "--namespace", 1, "namespace: required"},
		{"int that is text", "router", []string{"--postgres_port", "abc"}, password, "type", "--postgres_port", 1, "Input should be a valid integer, unable to parse string as an integer: 'abc'"},
		{"int with a fraction", "worker", []string{"--redis_port", "6379.5"}, password, "type", "--redis_port", 1, "got a number with a fractional part"},
		{"int from the environment", "worker", nil, env("OSMO_POSTGRES_PASSWORD", "x", "OSMO_REDIS_PORT", "six"), "type", "env OSMO_REDIS_PORT", 1, "redis_port (env OSMO_REDIS_PORT): Input should be a valid integer"},
		{"int not greater than 0", "service", []string{"--postgres_pool_minconn", "0"}, password, "type", "--postgres_pool_minconn", 1, "Input should be greater than 0"},
		{"bool that is not one", "service", []string{"--redis_tls_enable", "maybe"}, password, "type", "--redis_tls_enable", 1, "Input should be a valid boolean, unable to interpret input: 'maybe'"},
		{"bool from the environment", "backend_listener", append([]string{"--host", "http://osmo"}, backend...), env("ENABLE_NODE_LABEL_UPDATE", "enabled"), "type", "env ENABLE_NODE_LABEL_UPDATE", 1, "Input should be a valid boolean"},
		{"log level name", "logger", []string{"--log_level", "VERBOSE"}, password, "type", "--log_level", 1, `Invalid logging level: "VERBOSE". Valid levels are: CRITICAL, ERROR, WARNING, INFO, DEBUG, FATAL, WARN`},
		{"log level number", "logger", []string{"--k8s_log_level", "15"}, password, "type", "--k8s_log_level", 1, "15 is not a valid LoggingLevel"},
		{"literal", "worker", []string{"--method", "prod"}, password, "type", "--method", 1, "Input should be 'dev'"},
		{"literal with two values", "backend_worker", append([]string{"--login_method", "oauth"}, backend...), nil, "type", "--login_method", 1, "Input should be 'password' or 'token'"},
		{"agent: --host is not BackendServiceConfig's", "agent_service", []string{"--host", "http://0.0.0.0:8000"}, password, "unrecognized", "--host", 2, "unrecognized arguments: --host http://0.0.0.0:8000"},
		{"agent: --progress_period is not WorkflowServiceConfig's", "agent_service", []string{"--progress_period", "10"}, password, "unrecognized", "--progress_period", 2, "unrecognized arguments: --progress_period 10"},
		{"agent: --metrics_otel_enable is not BackendServiceConfig's", "agent_service", []string{"--metrics_otel_enable", "true"}, password, "unrecognized", "--metrics_otel_enable", 2, "unrecognized arguments: --metrics_otel_enable true"},
		{"model validator", "service", []string{"--default_admin_username", "admin"}, password, "validator", "", 1, "default_admin_password must be set when default_admin_username is specified"},
		{"test runner without its test name", "backend_test_runner", nil, env("NAMESPACE", "osmo"), "required", "--backend_test_name", 1, "test_name: required"},
		{"test runner without a source", "backend_test_runner", []string{"--read_from_osmo", ""}, env("NAMESPACE", "osmo", "BACKEND_TEST_NAME", "t"), "validator", "", 1, "read_from_file is required when read_from_osmo is False"},
		{"help with a value", "router", []string{"--help=yes"}, password, "explicit-argument", "--help", 2, "argument -h/--help: ignored explicit argument 'yes'"},
		{"go flag unknown", "authz_sidecar", []string{"--grpc-port=50052", "--postgres-sslmode=require"}, nil, "unrecognized", "-postgres-sslmode", 2, "flag provided but not defined: -postgres-sslmode"},
		{"go flag int", "authz_sidecar", []string{"--cache-ttl=5m"}, nil, "type", "-cache-ttl", 2, `invalid value "5m" for flag -cache-ttl: parse error`},
		{"go flag without value", "authz_sidecar", []string{"-roles-file"}, nil, "expected-argument", "-roles-file", 2, "flag needs an argument: -roles-file"},
		{"go bool flag with a bad value", "authz_sidecar", []string{"-enable-reflection=sometimes"}, nil, "type", "-enable-reflection", 2, `invalid boolean value "sometimes" for -enable-reflection`},
		{"NODE_OPTIONS not allowed", "node", []string{"server.js"}, env("NODE_OPTIONS", "--max-http-header-size=16384 --expose-internals"), "node-option", "--expose-internals", 9, "--expose-internals is not allowed in NODE_OPTIONS"},
		{"NODE_OPTIONS bad number", "node", []string{"server.js"}, env("NODE_OPTIONS", "--max-http-header-size=16k"), "type", "--max-http-header-size", 9, `invalid value for --max-http-header-size: "16k"`},
		{"node script not in the image", "node", []string{"index.js"}, nil, "script", "index.js", 1, "Cannot find module '/app/index.js'"},
		{"node bad option", "node", []string{"--frobnicate", "server.js"}, nil, "node-option", "--frobnicate", 9, "bad option: --frobnicate"},
		{"not an OSMO program", "osmo-cli", nil, nil, "unknown-program", "", 127, "osmo-cli is not an OSMO program"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := osmoprogram.Parse(c.program, c.args, c.env)
			require.Error(t, err, "%s %v must be refused; parsed %+v", c.program, c.args, inv)
			var perr *osmoprogram.Error
			require.True(t, errors.As(err, &perr), "%T", err)
			assert.Equal(t, c.program, perr.Program)
			assert.Equal(t, c.rule, perr.Rule, perr.Message)
			assert.Equal(t, c.flag, perr.Flag, perr.Message)
			assert.Equal(t, c.status, perr.Status)
			assert.Contains(t, perr.Message, c.message)
			assert.True(t, strings.HasPrefix(err.Error(), c.program+": "), err.Error())
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Run("the router as the chart starts it", func(t *testing.T) {
		inv, err := osmoprogram.Parse("router", []string{"--hostname", "", "--postgres_host", "postgres", "--postgres_port", "5432",
			"--postgres_database_name", "osmo", "--postgres_user", "postgres", "--mek_file", "/home/osmo/vault-agent/secrets/vault-secrets.yaml",
			"--log_level", "DEBUG", "--k8s_log_level", "WARNING", "--log_dir", "/logs", "--log_name", "router_service"}, password)
		require.NoError(t, err)
		assert.Equal(t, osmoprogram.Value{Text: "", Source: "--hostname"}, mustValue(t, inv, "hostname"))
		assert.Equal(t, "5432", inv.Text("postgres_port"))
		assert.Equal(t, "env OSMO_POSTGRES_PASSWORD", mustValue(t, inv, "postgres_password").Source)
		assert.Equal(t, "default", mustValue(t, inv, "timeout").Source)
		assert.Equal(t, []osmoprogram.Listener{{Address: "0.0.0.0:8000", Protocol: "http", Paths: []string{"/api/router/version"}}}, inv.Serves().Listeners)
	})
	t.Run("the environment wins over the flag", func(t *testing.T) {
		inv, err := osmoprogram.Parse("worker", []string{"--postgres_port", "1"}, env("OSMO_POSTGRES_PASSWORD", "", "OSMO_POSTGRES_PORT", "5433"))
		require.NoError(t, err, "an empty variable is present, so it counts")
		assert.Equal(t, osmoprogram.Value{Text: "5433", Source: "env OSMO_POSTGRES_PORT"}, mustValue(t, inv, "postgres_port"))
	})
	t.Run("abbreviations, =values, negative numbers", func(t *testing.T) {
		inv, err := osmoprogram.Parse("router", []string{"--postgres_h", "db", "--timeout=-5", "--webserver_i", "8.0", "--sticky", "a,b"}, password)
		require.NoError(t, err)
		assert.Equal(t, osmoprogram.Value{Text: "db", Source: "--postgres_host"}, mustValue(t, inv, "postgres_host"))
		assert.Equal(t, "-5", inv.Text("timeout"))
		assert.Equal(t, "8.0", inv.Text("webserver_initial_timeout"))
	})
	t.Run("typed values pydantic accepts", func(t *testing.T) {
		_, err := osmoprogram.Parse("service", []string{"--redis_tls_enable", "Yes", "--log_level", "warn", "--k8s_log_level", "10",
			"--metrics_otel_enable", "1", "--method", "dev", "--postgres_port", " 1_000 "}, password)
		require.NoError(t, err)
	})
	t.Run("store_true", func(t *testing.T) {
		inv, err := osmoprogram.Parse("delayed_job_monitor", []string{"--enable_metrics"}, password)
		require.NoError(t, err)
		assert.Equal(t, "True", inv.Text("enable_metrics"))
		assert.Len(t, inv.Serves().Listeners, 1, "the metrics server starts only with --enable_metrics")
		inv, err = osmoprogram.Parse("delayed_job_monitor", nil, password)
		require.NoError(t, err)
		assert.Equal(t, osmoprogram.Value{Text: "False", Source: "--enable_metrics"}, mustValue(t, inv, "enable_metrics"), "argparse's False beats the default")
		assert.Empty(t, inv.Serves().Listeners)
	})
	t.Run("a required value left to a config file", func(t *testing.T) {
		inv, err := osmoprogram.Parse("router", []string{"--config", "/opt/osmo/config.yaml"}, nil)
		require.NoError(t, err)
		assert.Equal(t, []string{"/opt/osmo/config.yaml"}, inv.ConfigFiles)
		assert.Equal(t, []string{"postgres_password"}, inv.Configs[0].FromConfigFiles)
	})
	t.Run("the agent's two parsers", func(t *testing.T) {
		inv, err := osmoprogram.Parse("agent_service", []string{"--redis_host", "redis", "--service_hostname", "osmo.example.com"}, env("OSMO_POSTGRES_PASSWORD", "x", "OSMO_PROGRESS_PERIOD", "10"))
		require.NoError(t, err)
		require.Len(t, inv.Configs, 2)
		assert.Equal(t, []string{"WorkflowServiceConfig", "BackendServiceConfig"}, []string{inv.Configs[0].Class, inv.Configs[1].Class})
		s := inv.Serves()
		assert.Equal(t, []string{"/var/run/osmo/last_progress"}, s.ProgressFiles)
		assert.Equal(t, "10s", s.ProgressEvery.String())
	})
	t.Run("help", func(t *testing.T) {
		for _, args := range [][]string{{"-h"}, {"--help"}, {"--he"}, {"-hx"}, {"--log_level", "INFO", "--help", "--unknown"},
			{"-hostname", "x"}, // argparse reads -h with "ostname" as more short flags: the help wins
		} {
			inv, err := osmoprogram.Parse("router", args, nil)
			require.NoError(t, err, "%v", args)
			assert.True(t, inv.Help, "%v", args)
		}
	})
	t.Run("the backend listener with its env and list flag", func(t *testing.T) {
		inv, err := osmoprogram.Parse("backend_listener", []string{"--host", "http://osmo-agent", "--namespace", "ns", "--include_namespace_usage", "",
			"--enable_node_label_update", "false", "--progress_folder_path", "/run/osmo"}, nil)
		require.NoError(t, err)
		assert.Equal(t, "http://osmo-agent", inv.Text("service_url"), "--host sets service_url")
		assert.Equal(t, []string{"/run/osmo/last_progress_websocket", "/run/osmo/last_progress_pod", "/run/osmo/last_progress_node", "/run/osmo/last_progress_event", "/run/osmo/last_progress_control"}, inv.Serves().ProgressFiles)
	})
	t.Run("authz sidecar defaults from the environment", func(t *testing.T) {
		inv, err := osmoprogram.Parse("authz_sidecar", []string{"--grpc-port=50052", "-log-dir", "/logs", "ignored"}, env("OSMO_POSTGRES_PORT", "abc", "OSMO_POSTGRES_HOST", "db"))
		require.NoError(t, err)
		assert.Equal(t, "5432", inv.Flags["postgres-port"], "GetEnvInt ignores a variable that is not an integer")
		assert.Equal(t, osmoprogram.Value{Text: "db", Source: "env OSMO_POSTGRES_HOST"}, mustValue(t, inv, "postgres-host"))
		assert.Equal(t, "0.0.0.0:50052", inv.Serves().Listeners[0].Address)
	})
	t.Run("node server.js", func(t *testing.T) {
		inv, err := osmoprogram.Parse("node", []string{"server.js"}, env("PORT", "8000", "NODE_OPTIONS", "--max-http-header-size=16384"))
		require.NoError(t, err)
		assert.Equal(t, []osmoprogram.Listener{{Address: "0.0.0.0:8000", Protocol: "http", Paths: []string{"/health", "/"}}}, inv.Serves().Listeners)
	})
}

// mustValue is a field's text and source.
func mustValue(t *testing.T, inv *osmoprogram.Invocation, field string) osmoprogram.Value {
	t.Helper()
	v, ok := inv.Value(field)
	require.True(t, ok, "no field %s", field)
	return osmoprogram.Value{Text: v.Text, Source: v.Source}
}

// TestTables checks the tables themselves: every program cites its source, no
// parser has a flag twice (argparse would refuse to start: conflicting option
// string), and the flag counts are those of OSMO's classes.
func TestTables(t *testing.T) {
	want := map[string]int{ // flags, with --config, -h and --help
		"service": 43, "worker": 32, "logger": 30, "agent_service": 27, "delayed_job_monitor": 33,
		"router": 28, "backend_listener": 41, "backend_worker": 29, "backend_test_runner": 25,
		"progress_check": 5, "authz_sidecar": 20, "node": 0,
	}
	for _, name := range osmoprogram.Names() {
		p, _ := osmoprogram.Lookup(name)
		assert.NotEmpty(t, p.Source, name)
		assert.NotEmpty(t, p.Images, name)
		for _, c := range p.Parsers {
			seen := map[string]string{}
			for _, f := range c.Fields {
				if f.Flag == "" {
					continue
				}
				assert.Empty(t, seen[f.Flag], "%s %s: --%s on %s and %s", name, c.Name, f.Flag, seen[f.Flag], f.Name)
				seen[f.Flag] = f.Name
				assert.False(t, f.Required && f.Default != "", "%s.%s", c.Name, f.Name)
			}
		}
		assert.Len(t, p.FlagNames(), want[name], "%s: %v", name, p.FlagNames())
	}
	assert.ElementsMatch(t, []string{"agent_service", "authz_sidecar", "backend_listener", "backend_test_runner", "backend_worker", "delayed_job_monitor", "logger", "node", "progress_check", "router", "service", "worker"}, osmoprogram.Names())
}

func TestImageCommand(t *testing.T) {
	argv, ok := osmoprogram.ImageCommand("web-ui", nil, nil)
	assert.True(t, ok)
	assert.Equal(t, []string{"node", "server.js"}, argv)
	argv, _ = osmoprogram.ImageCommand("web-ui", nil, []string{"other.js"})
	assert.Equal(t, []string{"node", "other.js"}, argv, "args replace the image's CMD")
	argv, _ = osmoprogram.ImageCommand("authz-sidecar", nil, []string{"--grpc-port=1"})
	assert.Equal(t, []string{"/osmo/authz_sidecar", "--grpc-port=1"}, argv)
	argv, _ = osmoprogram.ImageCommand("router", []string{"router"}, []string{"--hostname", "x"})
	assert.Equal(t, []string{"router", "--hostname", "x"}, argv)
	_, ok = osmoprogram.ImageCommand("router", nil, []string{"--hostname"})
	assert.False(t, ok, "OSMO's Python images have no entrypoint of their own")
}

func TestParseWithFiles(t *testing.T) {
	files := map[string]string{
		"/etc/a.yaml":   "postgres_password: from-file\npostgres_port: 6000\ntimeout: 5\n",
		"/etc/b.yaml":   "timeout: 7\n",
		"/etc/bad.yaml": "postgres_pasword: typo\n",
		"/etc/int.yaml": "timeout: soon\n",
	}
	read := func(path string) ([]byte, error) {
		text, ok := files[path]
		if !ok {
			return nil, errors.New("no such file")
		}
		return []byte(text), nil
	}
	inv, err := osmoprogram.ParseWithFiles("router", []string{"--config", "/etc/a.yaml", "--config", "/etc/b.yaml", "--postgres_port", "6001"}, nil, read)
	require.NoError(t, err)
	assert.Equal(t, osmoprogram.Value{Text: "from-file", Source: "config file /etc/a.yaml"}, mustValue(t, inv, "postgres_password"))
	assert.Equal(t, "6001", inv.Text("postgres_port"), "a flag beats a config file")
	assert.Equal(t, "7", inv.Text("timeout"), "the later file wins")
	assert.Empty(t, inv.Configs[0].FromConfigFiles)

	for _, c := range []struct {
		args    []string
		rule    string
		message string
	}{
		{[]string{"--config", "/opt/osmo/config.yaml"}, "config-file", "FileNotFoundError: [Errno 2] No such file or directory: '/opt/osmo/config.yaml'"},
		{[]string{"--config", "/etc/bad.yaml"}, "config-file", `ValueError: Unrecognized key "postgres_pasword" in config file /etc/bad.yaml`},
		{[]string{"--config", "/etc/b.yaml"}, "required", "postgres_password: required"},
		{[]string{"--config", "/etc/a.yaml", "--config", "/etc/int.yaml"}, "type", "timeout (config file /etc/int.yaml): Input should be a valid integer"},
	} {
		_, err := osmoprogram.ParseWithFiles("router", c.args, nil, read)
		var perr *osmoprogram.Error
		require.True(t, errors.As(err, &perr), "%v: %v", c.args, err)
		assert.Equal(t, c.rule, perr.Rule, perr.Message)
		assert.Equal(t, 1, perr.Status)
		assert.Contains(t, perr.Message, c.message)
	}
}
