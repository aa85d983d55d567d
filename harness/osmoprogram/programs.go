package osmoprogram

import (
	"net"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Listener is a port a started program listens on.
type Listener struct {
	Address  string   // host:port to bind ("" host: every interface)
	Protocol string   // "http" or "grpc"
	Paths    []string // HTTP paths that answer 200 (probe paths, without a query)
}

// Port is the listener's port number.
func (l Listener) Port() int {
	_, port, _ := net.SplitHostPort(l.Address)
	n, _ := strconv.Atoi(port)
	return n
}

// Serving is what a started program listens on and which progress files it
// keeps fresh (each holds time.time() as text, written atomically; progress_check
// reads them).
type Serving struct {
	Listeners     []Listener
	ProgressFiles []string
	ProgressEvery time.Duration
}

// pythonImages hold OSMO's Python programs; each also holds progress_check
// (every program's BUILD adds //src/utils/progress_check:progress_check_image_layers).
var pythonImages = []string{"service", "worker", "logger", "agent", "delayed-job-monitor", "router", "backend-listener", "backend-worker"}

// ImageConfig is what an OSMO image's own config says about starting it: its
// ENTRYPOINT and CMD, the environment it sets and its working folder.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string // NAME=value, as the image config lists them
	WorkingDir string
}

// imageConfigs: the OSMO images whose config starts a program when a container
// sets no command. The Python images set none (their containers always say
// which program). authz-sidecar: src/service/authz_sidecar/BUILD (oci_image
// entrypoint); web-ui: src/ui/Dockerfile's runner stage (WORKDIR /app, ENV
// HOSTNAME and NODE_ENV, ENTRYPOINT ["node"], CMD ["server.js"]).
var imageConfigs = map[string]ImageConfig{
	"authz-sidecar": {Entrypoint: []string{"/osmo/authz_sidecar"}},
	"web-ui": {Entrypoint: []string{"node"}, Cmd: []string{"server.js"}, WorkingDir: "/app",
		Env: []string{"HOSTNAME=0.0.0.0", "NODE_ENV=production", "NEXT_PUBLIC_APP_NAME=OSMO"}},
}

// ImageConfigOf is an OSMO image's config (empty for the Python images).
func ImageConfigOf(imageName string) ImageConfig {
	c := imageConfigs[imageName]
	return ImageConfig{Entrypoint: slices.Clone(c.Entrypoint), Cmd: slices.Clone(c.Cmd), Env: slices.Clone(c.Env), WorkingDir: c.WorkingDir}
}

// ImageCommand is what the kubelet runs for a container of an OSMO image: its
// command and args, or the image's entrypoint with args replacing the image's
// CMD. ok is false when the image has no entrypoint and the container no command.
func ImageCommand(imageName string, command, args []string) (argv []string, ok bool) {
	if len(command) > 0 {
		return append(append([]string{}, command...), args...), true
	}
	c := imageConfigs[imageName]
	if len(c.Entrypoint) == 0 {
		return nil, false
	}
	if len(args) == 0 {
		args = c.Cmd
	}
	return append(append([]string{}, c.Entrypoint...), args...), true
}

// hostListener is where a uvicorn program binds from its --host URL:
// urlparse(host).hostname ("" when none) and .port (8000 when none).
func hostListener(inv *Invocation, paths ...string) Listener {
	host, port := "", "8000"
	if u, err := url.Parse(inv.Text("host")); err == nil && strings.Contains(inv.Text("host"), "//") {
		host = strings.ToLower(u.Hostname())
		if p := u.Port(); p != "" {
			port = p
		}
	}
	return Listener{Address: net.JoinHostPort(host, port), Protocol: "http", Paths: paths}
}

// metricsListener is MetricCreator.start_server's Prometheus endpoint.
func metricsListener(inv *Invocation) Listener {
	return Listener{Address: net.JoinHostPort("", inv.Text("metrics_prometheus_port")), Protocol: "http", Paths: []string{"/metrics"}}
}

func seconds(inv *Invocation, field string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(inv.Text(field)))
	if err != nil || n <= 0 {
		return 15 * time.Second
	}
	return time.Duration(n) * time.Second
}

func inFolder(inv *Invocation, fields ...string) []string {
	var out []string
	for _, f := range fields {
		out = append(out, path.Join(inv.Text("progress_folder_path"), inv.Text(f)))
	}
	return out
}

var programs = map[string]Program{
	"service": {Name: "service", Images: []string{"service"}, Source: "src/service/core/service.py main", Parsers: []Class{workflowServiceConfig},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{hostListener(inv, "/health", "/api/version", "/api/workflow"), metricsListener(inv)}}
		}},
	"worker": {Name: "worker", Images: []string{"worker"}, Source: "src/service/worker/worker.py main", Parsers: []Class{classes.worker},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{metricsListener(inv)}, ProgressFiles: []string{inv.Text("progress_file")}, ProgressEvery: 15 * time.Second}
		}},
	"logger": {Name: "logger", Images: []string{"logger"}, Source: "src/service/logger/logger.py main", Parsers: []Class{classes.logger},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{hostListener(inv, "/health")}, ProgressFiles: []string{inv.Text("progress_file")}, ProgressEvery: seconds(inv, "progress_period")}
		}},
	// The agent loads WorkflowServiceConfig, then BackendServiceConfig: two strict
	// parsers over the same argv.
	"agent_service": {Name: "agent_service", Images: []string{"agent"}, Source: "src/service/agent/agent_service.py main", Parsers: []Class{workflowServiceConfig, classes.backendService},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{hostListener(inv, "/health"), metricsListener(inv)}, ProgressFiles: []string{inv.Text("progress_file")}, ProgressEvery: seconds(inv, "progress_period")}
		}},
	"delayed_job_monitor": {Name: "delayed_job_monitor", Images: []string{"delayed-job-monitor"}, Source: "src/service/delayed_job_monitor/delayed_job_monitor.py main", Parsers: []Class{classes.delayedJobMonitor},
		serves: func(inv *Invocation) Serving {
			s := Serving{ProgressFiles: []string{inv.Text("progress_file")}, ProgressEvery: seconds(inv, "poll_interval")}
			if inv.Text("enable_metrics") == "True" || isTrue(inv.Text("enable_metrics")) {
				s.Listeners = []Listener{metricsListener(inv)}
			}
			return s
		}},
	"router": {Name: "router", Images: []string{"router"}, Source: "src/service/router/router.py main", Parsers: []Class{classes.router},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{hostListener(inv, "/api/router/version")}}
		}},
	"backend_listener": {Name: "backend_listener", Images: []string{"backend-listener"}, Source: "src/operator/backend_listener.py main", Parsers: []Class{classes.backendListener},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{metricsListener(inv)}, ProgressEvery: 15 * time.Second,
				ProgressFiles: inFolder(inv, "websocket_progress_file", "pod_progress_file", "node_progress_file", "event_progress_file", "control_progress_file")}
		}},
	"backend_worker": {Name: "backend_worker", Images: []string{"backend-worker"}, Source: "src/operator/backend_worker.py main", Parsers: []Class{classes.backendWorker},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{metricsListener(inv)}, ProgressEvery: 15 * time.Second,
				ProgressFiles: inFolder(inv, "worker_job_progress_file", "worker_heartbeat_progress_file")}
		}},
	"backend_test_runner": {Name: "backend_test_runner", Images: []string{"backend-test-runner"}, Source: "src/operator/backend_test_runner/backend_test_runner.py main", Parsers: []Class{classes.testRunner}},
	"progress_check":      {Name: "progress_check", Images: pythonImages, Source: "src/utils/progress_check/progress_check.py main", Parsers: []Class{classes.progressCheck}},
	// authz_sidecar: src/service/authz_sidecar/main.go, with the flags of
	// src/utils/postgres/postgres_client.go RegisterPostgresFlags,
	// src/utils/roles/role_cache.go RegisterCacheFlags and
	// src/utils/logging/logging.go RegisterFlags (defaults from src/utils/env.go).
	"authz_sidecar": {Name: "authz_sidecar", Images: []string{"authz-sidecar"}, Source: "src/service/authz_sidecar/main.go main", Syntax: GoFlag,
		Flags: []GoFlagDef{
			{Name: "grpc-port", Kind: "int", Default: "50052"},
			{Name: "enable-reflection", Kind: "bool", Default: "false"},
			{Name: "roles-file", Kind: "string"},
			{Name: "postgres-host", Kind: "string", Default: "localhost", Env: "OSMO_POSTGRES_HOST", EnvRule: "GetEnv"},
			{Name: "postgres-port", Kind: "int", Default: "5432", Env: "OSMO_POSTGRES_PORT", EnvRule: "GetEnvInt"},
			{Name: "postgres-user", Kind: "string", Default: "postgres", Env: "OSMO_POSTGRES_USER", EnvRule: "GetEnv"},
			{Name: "postgres-password", Kind: "string", Env: "OSMO_POSTGRES_PASSWORD", EnvRule: "GetEnvOrConfig", ConfigKey: "postgres_password"},
			{Name: "postgres-database", Kind: "string", Default: "osmo_db", Env: "OSMO_POSTGRES_DATABASE_NAME", EnvRule: "GetEnv"},
			{Name: "postgres-max-conns", Kind: "int", Default: "10", Env: "OSMO_POSTGRES_MAX_CONNS", EnvRule: "GetEnvInt"},
			{Name: "postgres-min-conns", Kind: "int", Default: "2", Env: "OSMO_POSTGRES_MIN_CONNS", EnvRule: "GetEnvInt"},
			{Name: "postgres-max-conn-lifetime", Kind: "int", Default: "5", Env: "OSMO_POSTGRES_MAX_CONN_LIFETIME", EnvRule: "GetEnvInt"},
			{Name: "postgres-ssl-mode", Kind: "string", Default: "prefer", Env: "OSMO_POSTGRES_SSL_MODE", EnvRule: "GetEnv"},
			{Name: "postgres-schema-version", Kind: "string", Default: "public", Env: "OSMO_SCHEMA_VERSION", EnvRule: "GetEnv"},
			{Name: "cache-ttl", Kind: "int", Default: "300", Env: "OSMO_CACHE_TTL", EnvRule: "GetEnvInt"},
			{Name: "cache-max-size", Kind: "int", Default: "1000", Env: "OSMO_CACHE_MAX_SIZE", EnvRule: "GetEnvInt"},
			{Name: "log-level", Kind: "string", Default: "info"},
			{Name: "log-dir", Kind: "string"},
			{Name: "log-name", Kind: "string"},
		},
		serves: func(inv *Invocation) Serving {
			return Serving{Listeners: []Listener{{Address: net.JoinHostPort("0.0.0.0", inv.Flags["grpc-port"]), Protocol: "grpc"}}}
		}},
	"node": {Name: "node", Images: []string{"web-ui"}, Source: "src/ui/Dockerfile ENTRYPOINT/CMD, Next.js standalone server.js", Syntax: Node,
		serves: func(inv *Invocation) Serving {
			host := inv.Text("hostname")
			if net.ParseIP(host) == nil {
				host = "0.0.0.0"
			}
			return Serving{Listeners: []Listener{{Address: net.JoinHostPort(host, inv.Text("port")), Protocol: "http", Paths: []string{"/health", "/"}}}}
		}},
}

func isTrue(text string) bool {
	return contains(boolTrue, strings.ToLower(strings.TrimSpace(text)))
}

// ImageNames are the names (the last part of the repository) of every OSMO
// image a program lives in, sorted.
func ImageNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range programs {
		for _, image := range p.Images {
			if !seen[image] {
				seen[image] = true
				out = append(out, image)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Holds tells whether an OSMO image holds a program.
func (p Program) Holds(imageName string) bool {
	return contains(p.Images, imageName)
}
