package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/testca"
)

// gatewayFiles renders the service chart with a scenario's values (and extra
// values) and returns the files the gateway's Envoy pod sees: the Envoy
// ConfigMap's documents under /var/config, plus extra mounted files.
func gatewayFiles(t *testing.T, scenario, extra string) map[string][]byte {
	t.Helper()
	files := []string{project.Path("values-examples", scenario, "service.yaml")}
	if extra != "" {
		path := filepath.Join(t.TempDir(), "extra.yaml")
		require.NoError(t, os.WriteFile(path, []byte(extra), 0o644))
		files = append(files, path)
	}
	r, err := render.RenderFiles("service", render.Release{Name: "osmo", Namespace: "osmo"}, files...)
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if cm.Name != "osmo-service-gateway-envoy-config" {
			continue
		}
		for name, text := range cm.Data {
			out["/var/config/"+name] = []byte(text)
		}
	}
	require.Contains(t, out, "/var/config/bootstrap.yaml", "the gateway's Envoy ConfigMap")
	return out
}

func readFrom(files map[string][]byte) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if data, ok := files[path]; ok {
			return data, nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
}

// upstreams points every cluster of gw at a loopback server that records the
// requests it gets, by cluster.
type upstreams struct {
	mu  sync.Mutex
	got map[string][]*http.Request
}

func (u *upstreams) requests(cluster string) []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.got[cluster]
}

func serveUpstreams(t *testing.T, gw *envoyGateway) *upstreams {
	u := &upstreams{got: map[string][]*http.Request{}}
	for name, c := range gw.clusters {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u.mu.Lock()
			u.got[name] = append(u.got[name], r.Clone(context.Background()))
			u.mu.Unlock()
			w.Header().Set("Server", "uvicorn")
			fmt.Fprintf(w, "%s %s", name, r.URL.RequestURI())
		}))
		t.Cleanup(srv.Close)
		c.endpoint = strings.TrimPrefix(srv.URL, "http://")
	}
	return u
}

// TestEnvoyGatewayRoutesTheRenderedConfig loads the gateway ConfigMap the
// service chart renders for the minimal scenario as the stand-in Envoy loads it
// in the pod, and sends requests through its listener: each path reaches the
// cluster the route table names, with the host kept and x-request-id added,
// and Envoy's own answers where no route or no upstream serves.
func TestEnvoyGatewayRoutesTheRenderedConfig(t *testing.T) {
	var stdout bytes.Buffer
	gw, err := loadEnvoy("/var/config/bootstrap.yaml", readFrom(gatewayFiles(t, "minimal", "")), &stdout)
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9901", gw.admin)
	assert.Equal(t, []string{"/var/config/cds.yaml", "/var/config/lds.yaml"}, gw.files)
	assert.Equal(t, []string{"osmo-service", "osmo-router", "osmo-ui", "osmo-agent", "osmo-logger", "osmo-service-jwks"}, gw.clusterNames)
	assert.Equal(t, "osmo-service:80", gw.clusters["osmo-service"].endpoint)
	assert.Equal(t, "osmo-router-headless:8000", gw.clusters["osmo-router"].endpoint)
	require.Len(t, gw.listeners, 1)
	l := gw.listeners[0]
	assert.Equal(t, "gateway_listener", l.name)
	assert.Equal(t, "0.0.0.0:8080", l.address)
	assert.Nil(t, l.tls)
	assert.True(t, l.upgrades["websocket"])
	require.NotEmpty(t, gw.notRun, "the Lua filters are configured")
	assert.Contains(t, gw.notRun, "gateway_listener: block-spam-ips (envoy.extensions.filters.http.lua.v3.Lua)")
	for _, f := range gw.notRun {
		assert.NotContains(t, f, "Router", "the router runs")
	}

	u := serveUpstreams(t, gw)
	front := httptest.NewServer(l)
	defer front.Close()
	for _, c := range []struct {
		path, cluster string
	}{
		{"/api/version", "osmo-service"},
		{"/api/workflow?limit=1", "osmo-service"},
		{"/client/version", "osmo-service"},
		{"/api/router/version", "osmo-router"},
		{"/api/agent/listener/x", "osmo-agent"},
		{"/api/logger/workflow/x", "osmo-logger"},
		{"/", "osmo-ui"},
		{"/workflows", "osmo-ui"},
	} {
		req, _ := http.NewRequest(http.MethodGet, front.URL+c.path, nil)
		req.Host = "osmo.example.com"
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, c.path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, c.path)
		assert.Equal(t, c.cluster+" "+c.path, string(body), "%s reaches %s unchanged", c.path, c.cluster)
		assert.Equal(t, "envoy", resp.Header.Get("Server"), "Envoy overwrites the server header")
		got := u.requests(c.cluster)
		require.NotEmpty(t, got, c.path)
		last := got[len(got)-1]
		assert.Equal(t, "osmo.example.com", last.Host, "the host is kept")
		assert.Len(t, last.Header.Get("X-Request-Id"), 36, "x-request-id added")
		assert.Equal(t, "http", last.Header.Get("X-Forwarded-Proto"))
	}

	// The access log: one JSON line per request, in the chart's json_format.
	var entry map[string]any
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 8)
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	assert.Equal(t, "/api/version", entry["path"])
	assert.Equal(t, "200", entry["response_code"])
	assert.Equal(t, "osmo-service", entry["upstream_cluster"])
	assert.Equal(t, "GET", entry["method"])
	assert.Equal(t, "info", entry["level"])
	assert.Nil(t, entry["osmo_user"], "an unset header is null")

	// No upstream answering: Envoy's 503 and its text.
	gw.clusters["osmo-service"].endpoint = "127.0.0.1:1"
	resp, err := http.Get(front.URL + "/api/version")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "upstream connect error or disconnect/reset before headers. reset reason: connection failure", string(body))

	// A websocket upgrade is allowed (upgrade_configs); another upgrade is refused.
	req, _ := http.NewRequest(http.MethodGet, front.URL+"/api/router/x", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "h2c-nope")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// The admin address answers the chart's probes.
	admin := httptest.NewServer(gw.adminHandler(func() {}, new(atomic.Bool)))
	defer admin.Close()
	resp, err = http.Get(admin.URL + "/ready")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "LIVE\n", string(body))
}

// TestEnvoyGatewayWithoutUI: with the UI upstream off the route table has no
// "/" route, so a page outside the API gets Envoy's 404.
func TestEnvoyGatewayWithoutUI(t *testing.T) {
	gw, err := loadEnvoy("/var/config/bootstrap.yaml", readFrom(gatewayFiles(t, "minimal", "gateway: {upstreams: {ui: {enabled: false}}}\n")), io.Discard)
	require.NoError(t, err)
	serveUpstreams(t, gw)
	front := httptest.NewServer(gw.listeners[0])
	defer front.Close()
	resp, err := http.Get(front.URL + "/workflows")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "envoy", resp.Header.Get("Server"))
}

// TestEnvoyGatewayIdP loads the gateway-idp scenario (OAuth2 Proxy, authz, JWT
// providers, the IdP cluster over TLS): everything decodes and validates, the
// auth filters are listed as not run, and the IdP cluster speaks TLS with SNI.
func TestEnvoyGatewayIdP(t *testing.T) {
	gw, err := loadEnvoy("/var/config/bootstrap.yaml", readFrom(gatewayFiles(t, "gateway-idp", "")), io.Discard)
	require.NoError(t, err)
	idp := gw.clusters["idp"]
	require.NotNil(t, idp)
	assert.Equal(t, "login.microsoftonline.com:443", idp.endpoint)
	assert.Equal(t, "https", idp.scheme)
	assert.Equal(t, "login.microsoftonline.com", idp.transport.(*http.Transport).TLSClientConfig.ServerName)
	assert.NotNil(t, gw.clusters["authz"].transport.(*http.Transport).Protocols, "the gRPC clusters speak HTTP/2")
	var types []string
	for _, f := range gw.notRun {
		types = append(types, f[strings.LastIndex(f, "(")+1:len(f)-1])
	}
	assert.Contains(t, types, "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz")
	assert.Contains(t, types, "envoy.extensions.common.matching.v3.ExtensionWithMatcher", "the JWT and OAuth2 filters, each behind a skip matcher")
}

func pemCert(t *testing.T, c tls.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
}

// TestEnvoyGatewayTLS: with gateway.envoy.ssl (the listener's certificate from
// an SDS file naming the mounted Secret) and gateway.tls (upstreams verified
// with the mounted CA), the stand-in serves TLS with that certificate and
// reaches an upstream whose certificate the CA signed; an unmounted
// certificate fails the start, as it fails Envoy's.
func TestEnvoyGatewayTLS(t *testing.T) {
	files := gatewayFiles(t, "minimal", "gateway: {envoy: {ssl: {enabled: true}}, tls: {enabled: true}}\n")
	ca, err := testca.New("osmo-standin envoy test CA (tests only)")
	require.NoError(t, err)
	serving, err := ca.ServingCert()
	require.NoError(t, err)
	certPEM, keyPEM := pemCert(t, serving)

	_, err = loadEnvoy("/var/config/bootstrap.yaml", readFrom(files), io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Invalid path: /etc/")

	files["/etc/ssl/envoy-certs/tls.crt"] = certPEM
	files["/etc/ssl/envoy-certs/tls.key"] = keyPEM
	files["/etc/gateway-tls/ca.crt"] = ca.CertPEM()
	gw, err := loadEnvoy("/var/config/bootstrap.yaml", readFrom(files), io.Discard)
	require.NoError(t, err)
	l := gw.listeners[0]
	assert.Equal(t, "0.0.0.0:443", l.address)
	require.NotNil(t, l.tls)
	assert.Contains(t, gw.files, "/var/config/sds_downstream_tls.yaml")
	assert.Contains(t, gw.files, "/var/config/sds_upstream_ca.yaml")

	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "api over TLS")
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{serving}}
	api.StartTLS()
	defer api.Close()
	svc := gw.clusters["osmo-service"]
	assert.Equal(t, "https", svc.scheme)
	svc.endpoint = strings.TrimPrefix(api.URL, "https://")

	front := httptest.NewUnstartedServer(l)
	front.TLS = l.tls
	front.StartTLS()
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.CertPool()}}}
	resp, err := client.Get(front.URL + "/api/version")
	require.NoError(t, err, "the listener serves the mounted certificate")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "api over TLS", string(body), "the upstream's certificate is verified with the mounted CA")

	// An upstream whose certificate another CA signed is refused.
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	other.Config.ErrorLog = log.New(io.Discard, "", 0)
	other.StartTLS()
	defer other.Close()
	svc.endpoint = strings.TrimPrefix(other.URL, "https://")
	resp, err = client.Get(front.URL + "/api/version")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestEnvoyRefusesWhatEnvoyRefuses: a rendered config broken in the ways Envoy
// refuses at start fails the load with Envoy's words, and so does what the
// stand-in cannot serve, naming it.
func TestEnvoyRefusesWhatEnvoyRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(files map[string][]byte)
		want string
	}{
		{"an unknown bootstrap field", func(f map[string][]byte) {
			f["/var/config/bootstrap.yaml"] = append(f["/var/config/bootstrap.yaml"], "no_such_field: 1\n"...)
		}, `unknown field "no_such_field"`},
		{"a route to a cluster CDS lacks", func(f map[string][]byte) {
			f["/var/config/lds.yaml"] = bytes.Replace(f["/var/config/lds.yaml"], []byte("cluster: osmo-service}"), []byte("cluster: nope}"), 1)
		}, "route: unknown cluster 'nope'"},
		{"the LDS file missing", func(f map[string][]byte) { delete(f, "/var/config/lds.yaml") }, "unable to read file: /var/config/lds.yaml"},
		{"a cluster without a name", func(f map[string][]byte) {
			f["/var/config/cds.yaml"] = bytes.Replace(f["/var/config/cds.yaml"], []byte(`name: "osmo-logger"`), []byte(`name: ""`), 1)
		}, "Name"},
		{"the router not last", func(f map[string][]byte) {
			lds := string(f["/var/config/lds.yaml"])
			const router = "- name: envoy.filters.http.router"
			i := strings.Index(lds, router)
			require.Greater(t, i, 0)
			indent := lds[strings.LastIndex(lds[:i], "\n")+1 : i]
			const typ = `"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router`
			j := i + strings.Index(lds[i:], typ) + len(typ)
			second := "\n" + indent + "- name: second-router\n" + indent + "  typed_config: {" + typ + "}"
			f["/var/config/lds.yaml"] = []byte(lds[:j] + second + lds[j:])
		}, "must be the last filter in a http filter chain"},
		{"listeners over ADS", func(f map[string][]byte) {
			b := string(f["/var/config/bootstrap.yaml"])
			i := strings.Index(b, "path: /var/config/lds.yaml")
			require.Greater(t, i, 0)
			start := strings.LastIndex(b[:i], "path_config_source:")
			end := i + strings.Index(b[i:], "watched_directory: {path: /var/config}") + len("watched_directory: {path: /var/config}")
			f["/var/config/bootstrap.yaml"] = []byte(b[:start] + "ads: {}" + b[end:])
		}, "the stand-in reads xDS from files only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := gatewayFiles(t, "minimal", "")
			c.edit(files)
			_, err := loadEnvoy("/var/config/bootstrap.yaml", readFrom(files), io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestEnvoyCommandLine: Envoy's command line as the chart passes it starts the
// gateway (here in --mode validate); what Envoy's parser refuses exits 1 with
// its message, and so does an Envoy option the stand-in does not implement.
func TestEnvoyCommandLine(t *testing.T) {
	dir := t.TempDir()
	for path, data := range gatewayFiles(t, "minimal", "") {
		text := strings.ReplaceAll(string(data), "/var/config", dir)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(path)), []byte(text), 0o644))
	}
	bootstrap := filepath.Join(dir, "bootstrap.yaml")
	for _, c := range []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"-c", bootstrap, "--log-level", "info", "--mode", "validate"}, 0, "configuration '" + bootstrap + "' OK"},
		{[]string{"--config-path", bootstrap, "-l", "warn", "--mode", "validate"}, 0, "OK"},
		{[]string{"-c", bootstrap, "--no-such-flag"}, 1, "PARSE ERROR: Argument: --no-such-flag\n             Couldn't find match for argument"},
		{[]string{"-c", bootstrap, "--log-level=info"}, 1, "Couldn't find match for argument"},
		{[]string{"-c", bootstrap, "--log-level", "loud"}, 1, "error: invalid log level specified 'loud'"},
		{[]string{"-c", bootstrap, "-c", bootstrap}, 1, "PARSE ERROR: Argument: (-c,  --config-path)\n             Argument already set!"},
		{[]string{"-c"}, 1, "Missing a value for this argument!"},
		{[]string{"-c", bootstrap, "--concurrency", "two"}, 1, "Couldn't read argument value from string 'two'"},
		{[]string{"-c", bootstrap, "--mode", "dry"}, 1, "error: unknown mode 'dry'"},
		{[]string{"-c", bootstrap, "--config-yaml", "{}"}, 1, "(--config-yaml) is an Envoy option the stand-in does not implement"},
		{[]string{"--log-level", "info"}, 1, "At least one of --config-path or --config-yaml"},
		{[]string{"-c", filepath.Join(dir, "missing.yaml")}, 1, "unable to read file: " + filepath.Join(dir, "missing.yaml")},
		{[]string{"--version"}, 0, "version: osmo-standin/1.29.0"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"envoy"}, c.args...), nil, &stdout, &stderr)
		assert.Equal(t, c.code, code, "%v: %s%s", c.args, stdout.String(), stderr.String())
		assert.Contains(t, stdout.String()+stderr.String(), c.output, "%v", c.args)
	}
}

// staticBootstrap is a bootstrap with static resources, exercising the route
// features the charts' serviceRoutes may use.
const staticBootstrap = `
static_resources:
  clusters:
  - name: api
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: api
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 1}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          route_config:
            virtual_hosts:
            - name: other
              domains: ["other.example.com", "*.other.example.com"]
              routes:
              - match: {prefix: /}
                direct_response: {status: 418, body: {inline_string: other host}}
            - name: all
              domains: ["*"]
              request_headers_to_add:
              - header: {key: x-osmo-user, value: guest}
                append_action: ADD_IF_ABSENT
              routes:
              - match: {prefix: /old/}
                route: {cluster: api, prefix_rewrite: /api/}
              - match: {safe_regex: {regex: "/v[0-9]+/(.*)"}}
                route: {cluster: api, regex_rewrite: {pattern: {regex: "^/v[0-9]+/(.*)$"}, substitution: "/api/\\1"}}
              - match:
                  prefix: /admin
                  headers: [{name: x-admin, string_match: {exact: "yes"}}]
                route: {cluster: api}
              - match: {prefix: /admin}
                direct_response: {status: 403, body: {inline_string: "no"}}
              - match: {path: /secure}
                redirect: {https_redirect: true}
              - match: {prefix: /}
                route: {cluster: api}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
`

// TestEnvoyRouteFeatures: prefix and regex rewrites (the original path kept
// in x-envoy-original-path), header matchers, direct responses, redirects,
// virtual hosts by domain, and request headers added only when absent.
func TestEnvoyRouteFeatures(t *testing.T) {
	gw, err := loadEnvoy("/b.yaml", readFrom(map[string][]byte{"/b.yaml": []byte(staticBootstrap)}), io.Discard)
	require.NoError(t, err)
	u := serveUpstreams(t, gw)
	front := httptest.NewServer(gw.listeners[0])
	defer front.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		path, host string
		header     map[string]string
		status     int
		body       string // the upstream's answer ("api <path>") or the direct response
		location   string
	}{
		{path: "/old/version", status: 200, body: "api /api/version"},
		{path: "/v2/workflow?x=1", status: 200, body: "api /api/workflow?x=1"},
		{path: "/admin/x", header: map[string]string{"X-Admin": "yes"}, status: 200, body: "api /admin/x"},
		{path: "/admin/x", status: 403, body: "no"},
		{path: "/secure", status: 301, location: "https://HOST/secure"},
		{path: "/", host: "a.other.example.com", status: 418, body: "other host"},
		{path: "/", host: "other.example.com:80", status: 200, body: "api /"},
	} {
		req, _ := http.NewRequest(http.MethodGet, front.URL+c.path, nil)
		if c.host != "" {
			req.Host = c.host
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		require.NoError(t, err, c.path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, c.status, resp.StatusCode, "%s %s", c.host, c.path)
		assert.Equal(t, c.body, string(body), "%s %s", c.host, c.path)
		if c.location != "" {
			assert.Equal(t, strings.Replace(c.location, "HOST", req.Host, 1), resp.Header.Get("Location"))
		}
	}
	got := u.requests("api")
	require.NotEmpty(t, got)
	assert.Equal(t, "/old/version", got[0].Header.Get("X-Envoy-Original-Path"))
	assert.Equal(t, "guest", got[0].Header.Get("X-Osmo-User"), "added when absent")
	req, _ := http.NewRequest(http.MethodGet, front.URL+"/", nil)
	req.Header.Set("X-Osmo-User", "alice")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	got = u.requests("api")
	assert.Equal(t, []string{"alice"}, got[len(got)-1].Header.Values("X-Osmo-User"), "kept when present")
}
