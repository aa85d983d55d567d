package render_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	matchingv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	luav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ratelimit/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/osmo-wi/charts/harness/envoyconfig"
	"github.com/osmo-wi/charts/harness/render"
)

const gatewayTestdata = "testdata/osmo/service"

// gatewayIdP is the smallest gateway block with a working OAuth2 Proxy, for renders
// of the chart's defaults.
const gatewayIdP = `
gateway:
  envoy: {hostname: osmo.example.com}
  oauth2Proxy: {oidcIssuerUrl: "https://idp.example.com", clientId: osmo}
`

// gatewayScenarios: every values set that renders the gateway: the testdata files,
// the values-examples gateway scenario when it exists, the chart's defaults with an IdP.
func gatewayScenarios(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{"defaults+idp": values(t, gatewayIdP)}
	files, err := filepath.Glob(filepath.Join(gatewayTestdata, "gateway-*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	if _, err := os.Stat("../../values-examples/gateway-idp/service.yaml"); err == nil {
		files = append(files, "../../values-examples/gateway-idp/service.yaml")
	}
	for _, f := range files {
		vals, err := render.ReadValues(f)
		require.NoError(t, err, f)
		out[f] = vals
	}
	return out
}

// gatewayFile renders one testdata file.
func gatewayFile(t *testing.T, name string) (*render.Result, *envoyconfig.Config) {
	t.Helper()
	vals, err := render.ReadValues(filepath.Join(gatewayTestdata, name))
	require.NoError(t, err)
	r := renderChart(t, "service", vals)
	return r, envoyConfig(t, r)
}

// envoyConfig decodes the rendered Envoy ConfigMap strictly.
func envoyConfig(t *testing.T, r *render.Result) *envoyconfig.Config {
	t.Helper()
	var found []*corev1.ConfigMap
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if strings.HasSuffix(cm.Name, "-envoy-config") {
			found = append(found, cm)
		}
	}
	require.Len(t, found, 1, "one Envoy ConfigMap")
	cfg, err := envoyconfig.ConfigMap(found[0].Data)
	require.NoError(t, err, "the Envoy documents decode strictly")
	return cfg
}

func unpack[T proto.Message](t *testing.T, a *anypb.Any) T {
	t.Helper()
	m, err := envoyconfig.Unpack(a)
	require.NoError(t, err)
	out, ok := m.(T)
	require.True(t, ok, "typed_config is %s", a.GetTypeUrl())
	return out
}

func hcmOf(t *testing.T, cfg *envoyconfig.Config) *hcmv3.HttpConnectionManager {
	t.Helper()
	l := cfg.Listener("gateway_listener")
	require.NotNil(t, l)
	require.Len(t, l.GetFilterChains(), 1)
	f := l.GetFilterChains()[0].GetFilters()
	require.Len(t, f, 1)
	require.Equal(t, "envoy.filters.network.http_connection_manager", f[0].GetName())
	return unpack[*hcmv3.HttpConnectionManager](t, f[0].GetTypedConfig())
}

func httpFilter(t *testing.T, hcm *hcmv3.HttpConnectionManager, name string) *anypb.Any {
	t.Helper()
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() == name {
			return f.GetTypedConfig()
		}
	}
	t.Fatalf("no HTTP filter %s", name)
	return nil
}

func luaSource(t *testing.T, hcm *hcmv3.HttpConnectionManager, name string) string {
	t.Helper()
	return unpack[*luav3.Lua](t, httpFilter(t, hcm, name)).GetDefaultSourceCode().GetInlineString()
}

// Every Envoy document of every scenario decodes strictly into Envoy's v3 protos (unknown
// fields and unresolvable @types refused, PGV rules checked), and every file the bootstrap,
// the listener and the clusters point at is a document of the ConfigMap.
func TestGatewayEnvoyDocumentsDecodeStrictly(t *testing.T) {
	for name, vals := range gatewayScenarios(t) {
		t.Run(name, func(t *testing.T) {
			r := renderChart(t, "service", vals)
			var cm *corev1.ConfigMap
			for _, c := range render.Objects[*corev1.ConfigMap](r) {
				if strings.HasSuffix(c.Name, "-envoy-config") {
					cm = c
				}
			}
			require.NotNil(t, cm)
			cfg, err := envoyconfig.ConfigMap(cm.Data)
			require.NoError(t, err)
			paths := []string{
				cfg.Bootstrap.GetDynamicResources().GetLdsConfig().GetPathConfigSource().GetPath(),
				cfg.Bootstrap.GetDynamicResources().GetCdsConfig().GetPathConfigSource().GetPath(),
			}
			for _, fc := range cfg.Listener("gateway_listener").GetFilterChains() {
				if ts := fc.GetTransportSocket(); ts != nil {
					for _, s := range unpack[*tlsv3.DownstreamTlsContext](t, ts.GetTypedConfig()).GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs() {
						paths = append(paths, s.GetSdsConfig().GetPathConfigSource().GetPath())
					}
				}
			}
			for _, c := range cfg.Clusters {
				if ts := c.GetTransportSocket(); ts != nil {
					if s := unpack[*tlsv3.UpstreamTlsContext](t, ts.GetTypedConfig()).GetCommonTlsContext().GetValidationContextSdsSecretConfig(); s != nil {
						paths = append(paths, s.GetSdsConfig().GetPathConfigSource().GetPath())
					}
				}
			}
			for _, p := range paths {
				require.True(t, strings.HasPrefix(p, "/var/config/"), p)
				assert.Contains(t, cm.Data, strings.TrimPrefix(p, "/var/config/"), "%s is a document of the ConfigMap", p)
			}
			// Every cluster a route or filter names exists.
			hcm := hcmOf(t, cfg)
			for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
				for _, rt := range vh.GetRoutes() {
					assert.NotNil(t, cfg.Cluster(rt.GetRoute().GetCluster()), "route %s names cluster %q", rt.GetMatch().GetPrefix(), rt.GetRoute().GetCluster())
				}
			}
		})
	}
}

// The bootstrap: admin on 9901, the node named after the gateway, LDS and CDS from
// /var/config reloaded when Kubernetes swaps the ConfigMap's directory.
func TestGatewayEnvoyBootstrap(t *testing.T) {
	cases := []struct{ file, node string }{
		{"gateway-minimal.yaml", "osmo-service-gateway"},
		{"gateway-everything.yaml", "osmo-gateway"}, // gateway.name set: NVIDIA's spelling
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, cfg := gatewayFile(t, tc.file)
			b := cfg.Bootstrap
			assert.Equal(t, "0.0.0.0", b.GetAdmin().GetAddress().GetSocketAddress().GetAddress())
			assert.Equal(t, uint32(9901), b.GetAdmin().GetAddress().GetSocketAddress().GetPortValue())
			admin := b.GetAdmin().ProtoReflect()
			assert.Equal(t, "/dev/null", admin.Get(admin.Descriptor().Fields().ByName("access_log_path")).String(), "NVIDIA's (deprecated) admin access log path")
			assert.Equal(t, tc.node, b.GetNode().GetId())
			assert.Equal(t, tc.node, b.GetNode().GetCluster())
			for doc, src := range map[string]string{
				"/var/config/lds.yaml": b.GetDynamicResources().GetLdsConfig().GetPathConfigSource().GetPath(),
				"/var/config/cds.yaml": b.GetDynamicResources().GetCdsConfig().GetPathConfigSource().GetPath(),
			} {
				assert.Equal(t, doc, src)
			}
			assert.Equal(t, "/var/config", b.GetDynamicResources().GetLdsConfig().GetPathConfigSource().GetWatchedDirectory().GetPath())
			assert.Equal(t, "/var/config", b.GetDynamicResources().GetCdsConfig().GetPathConfigSource().GetWatchedDirectory().GetPath())
		})
	}
}

// The listener: its port, its HTTP filters in NVIDIA's order with their types, the
// headers clients may not send, and the default identity.
func TestGatewayEnvoyListener(t *testing.T) {
	const (
		lua     = "envoy.extensions.filters.http.lua.v3.Lua"
		matcher = "envoy.extensions.common.matching.v3.ExtensionWithMatcher"
		authz   = "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
		rl      = "envoy.extensions.filters.http.ratelimit.v3.RateLimit"
		router  = "envoy.extensions.filters.http.router.v3.Router"
	)
	base := [][2]string{{"block-spam-ips", lua}, {"strip-unauthorized-headers", lua}, {"add-auth-skip", lua}, {"add-forwarded-host", lua}}
	cases := []struct {
		file        string
		port        uint32
		tls         bool
		filters     [][2]string
		internal    []string
		identity    map[string]string
		maxHeaderKb uint32
	}{
		{
			file: "gateway-minimal.yaml", port: 8080,
			filters:  append(append([][2]string{}, base...), [2]string{"envoy.filters.http.lua.roles", lua}, [2]string{"envoy.filters.http.router", router}),
			internal: []string{"x-osmo-auth-skip", "x-osmo-token-name", "x-osmo-workflow-id"},
			identity: map[string]string{"x-osmo-user": "admin", "x-osmo-roles": "osmo-admin", "x-osmo-allowed-pools": "default"}, maxHeaderKb: 128,
		},
		{
			file: "gateway-entra.yaml", port: 8080,
			filters: append(append([][2]string{}, base...), [2]string{"ext-authz-oauth2-proxy", matcher}, [2]string{"jwt-authn-with-matcher", matcher},
				[2]string{"envoy.filters.http.lua.roles", lua}, [2]string{"envoy.filters.http.ext_authz", authz}, [2]string{"envoy.filters.http.router", router}),
			internal: []string{"x-osmo-auth-skip", "x-osmo-user", "x-osmo-roles", "x-osmo-allowed-pools", "x-osmo-token-name", "x-osmo-workflow-id"}, maxHeaderKb: 128,
		},
		{
			file: "gateway-tls.yaml", port: 443, tls: true,
			filters:  append(append([][2]string{}, base...), [2]string{"envoy.filters.http.lua.roles", lua}, [2]string{"envoy.filters.http.router", router}),
			internal: []string{"x-osmo-auth-skip", "x-osmo-token-name", "x-osmo-workflow-id"}, maxHeaderKb: 128,
		},
		{
			file: "gateway-everything.yaml", port: 443, tls: true,
			filters: append(append([][2]string{}, base...), [2]string{"ext-authz-oauth2-proxy", matcher}, [2]string{"jwt-authn-with-matcher", matcher},
				[2]string{"envoy.filters.http.lua.roles", lua}, [2]string{"envoy.filters.http.ext_authz", authz}, [2]string{"envoy.filters.http.ratelimit", rl}, [2]string{"envoy.filters.http.router", router}),
			internal: []string{"x-osmo-auth-skip", "x-osmo-user", "x-osmo-roles", "x-osmo-allowed-pools", "x-osmo-token-name", "x-osmo-workflow-id"}, maxHeaderKb: 96,
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, cfg := gatewayFile(t, tc.file)
			require.Len(t, cfg.Listeners, 1)
			l := cfg.Listener("gateway_listener")
			assert.Equal(t, "0.0.0.0", l.GetAddress().GetSocketAddress().GetAddress())
			assert.Equal(t, tc.port, l.GetAddress().GetSocketAddress().GetPortValue())
			if tc.tls {
				ts := l.GetFilterChains()[0].GetTransportSocket()
				require.NotNil(t, ts)
				sds := unpack[*tlsv3.DownstreamTlsContext](t, ts.GetTypedConfig()).GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs()
				require.Len(t, sds, 1)
				assert.Equal(t, "downstream_cert", sds[0].GetName())
				secret := cfg.Secrets["sds_downstream_tls.yaml"]
				require.Len(t, secret, 1)
				assert.Equal(t, "downstream_cert", secret[0].GetName())
				assert.Equal(t, "/etc/ssl/envoy-certs/tls.crt", secret[0].GetTlsCertificate().GetCertificateChain().GetFilename())
				assert.Equal(t, "/etc/ssl/envoy-certs/tls.key", secret[0].GetTlsCertificate().GetPrivateKey().GetFilename())
			} else {
				assert.Nil(t, l.GetFilterChains()[0].GetTransportSocket())
				assert.NotContains(t, cfg.Secrets, "sds_downstream_tls.yaml")
			}
			hcm := hcmOf(t, cfg)
			assert.Equal(t, "ingress_http", hcm.GetStatPrefix())
			assert.Equal(t, hcmv3.HttpConnectionManager_AUTO, hcm.GetCodecType())
			assert.Equal(t, tc.maxHeaderKb, hcm.GetMaxRequestHeadersKb().GetValue())
			require.Len(t, hcm.GetUpgradeConfigs(), 1)
			assert.Equal(t, "websocket", hcm.GetUpgradeConfigs()[0].GetUpgradeType())
			require.Len(t, hcm.GetAccessLog(), 1)
			assert.Equal(t, "envoy.access_loggers.file", hcm.GetAccessLog()[0].GetName())
			var got [][2]string
			for _, f := range hcm.GetHttpFilters() {
				got = append(got, [2]string{f.GetName(), strings.TrimPrefix(f.GetTypedConfig().GetTypeUrl(), "type.googleapis.com/")})
			}
			assert.Equal(t, tc.filters, got)
			rc := hcm.GetRouteConfig()
			assert.Equal(t, "gateway_routes", rc.GetName())
			assert.Equal(t, tc.internal, rc.GetInternalOnlyHeaders())
			require.Len(t, rc.GetVirtualHosts(), 1)
			vh := rc.GetVirtualHosts()[0]
			assert.Equal(t, []string{"*"}, vh.GetDomains())
			identity := map[string]string{}
			for _, h := range vh.GetRequestHeadersToAdd() {
				assert.Equal(t, "ADD_IF_ABSENT", h.GetAppendAction().String())
				identity[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
			}
			if tc.identity == nil {
				assert.Empty(t, identity)
			} else {
				assert.Equal(t, tc.identity, identity)
			}
		})
	}
}

// The Lua filters: blocked IPs, the headers stripped from clients (identity headers only
// when OAuth2 Proxy or authz owns them), the skip-auth paths.
func TestGatewayEnvoyLuaFilters(t *testing.T) {
	_, cfg := gatewayFile(t, "gateway-everything.yaml")
	hcm := hcmOf(t, cfg)
	assert.Contains(t, luaSource(t, hcm, "block-spam-ips"), "  local blocked_ips = {\n    [\"203.0.113.7\"] = true,\n    [\"2001:db8::1\"] = true\n  }\n")
	skip := luaSource(t, hcm, "add-auth-skip")
	for _, p := range []string{"/api/version", "/api/auth/login", "/healthz"} {
		assert.Contains(t, skip, "get(':path'), '"+p+"')) then\n    skip = true\n")
	}
	assert.Equal(t, 3, strings.Count(skip, "skip = true"))
	assert.Contains(t, luaSource(t, hcm, "strip-unauthorized-headers"), `remove("x-osmo-user")`)

	_, cfg = gatewayFile(t, "gateway-minimal.yaml")
	hcm = hcmOf(t, cfg)
	assert.Contains(t, luaSource(t, hcm, "block-spam-ips"), "  local blocked_ips = {\n  }\n")
	strip := luaSource(t, hcm, "strip-unauthorized-headers")
	assert.NotContains(t, strip, `remove("x-osmo-user")`, "minimal mode trusts the client's identity")
	for _, h := range []string{"x-osmo-auth-skip", "x-osmo-token-name", "x-osmo-workflow-id", "x-envoy-internal", "x-forwarded-host"} {
		assert.Contains(t, strip, `remove("`+h+`")`)
	}
	assert.Equal(t, 8, strings.Count(luaSource(t, hcm, "add-auth-skip"), "skip = true"), "NVIDIA's eight default skip-auth paths")
}

type routeRow struct {
	prefix, cluster string
	timeout         *time.Duration
	cookie          string
}

func dur(d time.Duration) *time.Duration { return &d }

// Routes: first match wins, in NVIDIA's order; prefixes, clusters, timeouts, the router's
// affinity cookie.
func TestGatewayEnvoyRoutes(t *testing.T) {
	cases := []struct {
		file   string
		routes []routeRow
	}{
		{"gateway-minimal.yaml", []routeRow{
			{"/api/router", "osmo-router", dur(0), "_osmo_router_affinity/1m0s"},
			{"/api/agent/", "osmo-agent", dur(0), ""},
			{"/api/logger/", "osmo-logger", dur(0), ""},
			{"/api/", "osmo-service", nil, ""},
			{"/client/", "osmo-service", nil, ""},
			{"/", "osmo-ui", nil, ""},
		}},
		{"gateway-entra.yaml", []routeRow{
			{"/oauth2/", "oauth2-proxy", nil, ""},
			{"/api/router", "osmo-router", dur(0), "_osmo_router_affinity/1m0s"},
			{"/api/agent/", "osmo-agent", dur(0), ""},
			{"/api/logger/", "osmo-logger", dur(0), ""},
			{"/api/", "osmo-service", nil, ""},
			{"/client/", "osmo-service", nil, ""},
			{"/", "osmo-ui", nil, ""},
		}},
		{"gateway-everything.yaml", []routeRow{
			{"/oauth2/", "oauth2-proxy", nil, ""},
			{"/api/router/", "osmo-router", dur(30 * time.Second), "_router/2m0s"},
			{"/api/agent/", "osmo-agent", dur(0), ""},
			{"/api/", "osmo-service", dur(time.Minute), ""}, // serviceRoutes, verbatim
			{"/client/", "osmo-service", nil, ""},
			{"/", "osmo-ui", nil, ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, cfg := gatewayFile(t, tc.file)
			var got []routeRow
			for _, r := range hcmOf(t, cfg).GetRouteConfig().GetVirtualHosts()[0].GetRoutes() {
				row := routeRow{prefix: r.GetMatch().GetPrefix(), cluster: r.GetRoute().GetCluster()}
				if r.GetRoute().GetTimeout() != nil {
					row.timeout = dur(r.GetRoute().GetTimeout().AsDuration())
				}
				for _, h := range r.GetRoute().GetHashPolicy() {
					row.cookie = h.GetCookie().GetName() + "/" + h.GetCookie().GetTtl().AsDuration().String()
				}
				got = append(got, row)
			}
			assert.Equal(t, tc.routes, got)
		})
	}
}

type clusterRow struct {
	name, host string
	port       uint32
	lb         string
	tls        string // "", "upstream_ca" or "sni:<host>"
	http2      bool
}

// Clusters: one per upstream and gateway part, with NVIDIA's names; the in-chart upstreams
// reach this release's Services, the gateway parts the Services the chart renders for them.
func TestGatewayEnvoyClusters(t *testing.T) {
	cases := []struct {
		file        string
		clusters    []clusterRow
		maxRequests uint32
	}{
		{"gateway-minimal.yaml", []clusterRow{
			{"osmo-service", "osmo-service", 80, "ROUND_ROBIN", "", false},
			{"osmo-router", "osmo-router-headless", 8000, "RING_HASH", "", false},
			{"osmo-ui", "osmo-ui", 80, "ROUND_ROBIN", "", false},
			{"osmo-agent", "osmo-service-agent", 80, "ROUND_ROBIN", "", false},
			{"osmo-logger", "osmo-service-logger", 80, "ROUND_ROBIN", "", false},
			{"osmo-service-jwks", "osmo-service", 80, "ROUND_ROBIN", "", false},
		}, 100},
		{"gateway-entra.yaml", []clusterRow{
			{"osmo-service", "osmo-service", 80, "ROUND_ROBIN", "", false},
			{"osmo-router", "osmo-router-headless", 8000, "RING_HASH", "", false},
			{"osmo-ui", "osmo-ui", 80, "ROUND_ROBIN", "", false},
			{"osmo-agent", "osmo-service-agent", 80, "ROUND_ROBIN", "", false},
			{"osmo-logger", "osmo-service-logger", 80, "ROUND_ROBIN", "", false},
			{"oauth2-proxy", "osmo-service-gateway-oauth2-proxy", 4180, "ROUND_ROBIN", "", false},
			{"authz", "osmo-service-gateway-authz", 50052, "ROUND_ROBIN", "", true},
			{"idp", "login.microsoftonline.com", 443, "ROUND_ROBIN", "sni:login.microsoftonline.com", false},
			{"osmo-service-jwks", "osmo-service", 80, "ROUND_ROBIN", "", false},
		}, 100},
		{"gateway-tls.yaml", []clusterRow{
			{"osmo-service", "osmo-service", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"osmo-router", "osmo-router-headless", 8000, "RING_HASH", "upstream_ca", false},
			{"osmo-ui", "osmo-ui", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"osmo-agent", "osmo-service-agent", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"osmo-logger", "osmo-service-logger", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"osmo-service-jwks", "osmo-service", 80, "ROUND_ROBIN", "", false},
		}, 100},
		{"gateway-everything.yaml", []clusterRow{
			{"osmo-service", "osmo-service", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"osmo-router", "osmo-router-headless.osmo-router.svc.cluster.local", 8000, "RING_HASH", "upstream_ca", false},
			{"osmo-ui", "osmo-web-ui.osmo-ui.svc.cluster.local", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"osmo-agent", "osmo-service-agent", 80, "ROUND_ROBIN", "upstream_ca", false},
			{"oauth2-proxy", "osmo-gateway-oauth2-proxy", 4181, "ROUND_ROBIN", "", false},
			{"authz", "osmo-gateway-authz", 50053, "ROUND_ROBIN", "", true},
			{"rate-limit", "osmo-gateway-ratelimit", 8092, "ROUND_ROBIN", "", true},
			{"idp", "login.microsoftonline.com", 443, "ROUND_ROBIN", "sni:login.microsoftonline.com", false},
			{"osmo-jwks", "osmo-service.osmo.svc.cluster.local", 80, "ROUND_ROBIN", "", false},
		}, 500},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, cfg := gatewayFile(t, tc.file)
			var got []clusterRow
			for _, c := range cfg.Clusters {
				assert.Equal(t, clusterv3.Cluster_STRICT_DNS, c.GetType(), c.GetName())
				eps := c.GetLoadAssignment().GetEndpoints()
				require.Len(t, eps, 1, c.GetName())
				require.Len(t, eps[0].GetLbEndpoints(), 1, c.GetName())
				addr := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
				assert.Equal(t, c.GetName(), c.GetLoadAssignment().GetClusterName())
				row := clusterRow{name: c.GetName(), host: addr.GetAddress(), port: addr.GetPortValue(), lb: c.GetLbPolicy().String()}
				if ts := c.GetTransportSocket(); ts != nil {
					up := unpack[*tlsv3.UpstreamTlsContext](t, ts.GetTypedConfig())
					if s := up.GetCommonTlsContext().GetValidationContextSdsSecretConfig(); s != nil {
						row.tls = s.GetName()
					} else {
						row.tls = "sni:" + up.GetSni()
					}
				}
				if o, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok {
					require.NotNil(t, o)
					row.http2 = true
				}
				got = append(got, row)
			}
			assert.Equal(t, tc.clusters, got)
			api := cfg.Cluster("osmo-service")
			assert.Equal(t, tc.maxRequests, api.GetCircuitBreakers().GetThresholds()[0].GetMaxRequests().GetValue())
			if secrets := cfg.Secrets["sds_upstream_ca.yaml"]; len(secrets) > 0 {
				assert.Equal(t, "upstream_ca", secrets[0].GetName())
				assert.Equal(t, "/etc/gateway-tls/ca.crt", secrets[0].GetValidationContext().GetTrustedCa().GetFilename())
			}
			// Every cluster host without a dot is a Service this release renders, on that port
			// (the router and UI live in their own releases).
			services := map[string]*corev1.Service{}
			for _, s := range render.Objects[*corev1.Service](r) {
				services[s.Name] = s
			}
			for _, row := range tc.clusters {
				if strings.Contains(row.host, ".") || row.name == "osmo-router" || row.name == "osmo-ui" {
					continue
				}
				svc := services[row.host]
				require.NotNil(t, svc, "cluster %s: no Service %s", row.name, row.host)
				var ports []uint32
				for _, p := range svc.Spec.Ports {
					ports = append(ports, uint32(p.Port))
				}
				assert.Contains(t, ports, row.port, "cluster %s: Service %s exposes %v", row.name, row.host, ports)
			}
		})
	}
}

type jwtRow struct {
	issuer    string
	audiences []string
	uri       string
	cluster   string
	claim     string
	header    string
}

// JWT providers: issuer, audiences, the JWKS URI and cluster, the claim written to the user
// header, tokens read from Bearer authorization or x-osmo-auth; any provider satisfies the
// rule for every path; skipped when x-osmo-auth-skip is set.
func TestGatewayEnvoyJWTProviders(t *testing.T) {
	keycloak := "https://auth-osmo.example.com/realms/osmo"
	cases := []struct {
		file      string
		providers []jwtRow
	}{
		{"gateway-entra.yaml", []jwtRow{
			{"https://login.microsoftonline.com/12345678-1234-1234-1234-123456789abc/v2.0", []string{"00000000-aaaa-bbbb-cccc-000000000001"}, "https://login.microsoftonline.com/12345678-1234-1234-1234-123456789abc/discovery/v2.0/keys", "idp", "preferred_username", "x-osmo-user"},
			{"osmo", []string{"osmo"}, "http://osmo-service/api/auth/keys", "osmo-service-jwks", "unique_name", "x-osmo-user"},
		}},
		{"gateway-keycloak.yaml", []jwtRow{
			{keycloak, []string{"osmo-device"}, keycloak + "/protocol/openid-connect/certs", "idp", "preferred_username", "x-osmo-user"},
			{keycloak, []string{"osmo-browser-flow"}, keycloak + "/protocol/openid-connect/certs", "idp", "preferred_username", "x-osmo-user"},
			{"osmo", []string{"osmo"}, "http://osmo-service/api/auth/keys", "osmo-service-jwks", "unique_name", "x-osmo-user"},
		}},
		{"gateway-google.yaml", []jwtRow{
			{"https://accounts.google.com", []string{"1234567890-abc.apps.googleusercontent.com"}, "https://www.googleapis.com/oauth2/v3/certs", "idp", "email", "x-osmo-user"},
			{"osmo", []string{"osmo"}, "http://osmo-service/api/auth/keys", "osmo-service-jwks", "unique_name", "x-osmo-user"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, cfg := gatewayFile(t, tc.file)
			wrapper := unpack[*matchingv3.ExtensionWithMatcher](t, httpFilter(t, hcmOf(t, cfg), "jwt-authn-with-matcher"))
			preds := wrapper.GetXdsMatcher().GetMatcherList().GetMatchers()
			require.Len(t, preds, 1)
			single := preds[0].GetPredicate().GetSinglePredicate()
			assert.Equal(t, "true", single.GetValueMatch().GetExact())
			assert.Equal(t, "skip", preds[0].GetOnMatch().GetAction().GetName())
			assert.Equal(t, "envoy.filters.http.jwt_authn", wrapper.GetExtensionConfig().GetName())
			jwt := unpack[*jwtv3.JwtAuthentication](t, wrapper.GetExtensionConfig().GetTypedConfig())
			var got []jwtRow
			var names []string
			for i := range tc.providers {
				name := "provider_" + string(rune('0'+i))
				names = append(names, name)
				p := jwt.GetProviders()[name]
				require.NotNil(t, p, name)
				assert.True(t, p.GetForward())
				assert.Equal(t, "verified_jwt", p.GetPayloadInMetadata())
				require.Len(t, p.GetFromHeaders(), 2)
				assert.Equal(t, "authorization", p.GetFromHeaders()[0].GetName())
				assert.Equal(t, "Bearer ", p.GetFromHeaders()[0].GetValuePrefix())
				assert.Equal(t, "x-osmo-auth", p.GetFromHeaders()[1].GetName())
				jwks := p.GetRemoteJwks()
				assert.Equal(t, 5*time.Second, jwks.GetHttpUri().GetTimeout().AsDuration())
				assert.Equal(t, 600*time.Second, jwks.GetCacheDuration().AsDuration())
				assert.Equal(t, uint32(3), jwks.GetRetryPolicy().GetNumRetries().GetValue())
				require.Len(t, p.GetClaimToHeaders(), 1)
				got = append(got, jwtRow{p.GetIssuer(), p.GetAudiences(), jwks.GetHttpUri().GetUri(), jwks.GetHttpUri().GetCluster(), p.GetClaimToHeaders()[0].GetClaimName(), p.GetClaimToHeaders()[0].GetHeaderName()})
				assert.NotNil(t, cfg.Cluster(jwks.GetHttpUri().GetCluster()), "the JWKS cluster exists")
			}
			assert.Equal(t, tc.providers, got)
			assert.Len(t, jwt.GetProviders(), len(tc.providers))
			require.Len(t, jwt.GetRules(), 1)
			assert.Equal(t, "/", jwt.GetRules()[0].GetMatch().GetPrefix())
			var required []string
			for _, r := range jwt.GetRules()[0].GetRequires().GetRequiresAny().GetRequirements() {
				required = append(required, r.GetProviderName())
			}
			assert.Equal(t, names, required)
		})
	}
	// One provider is required itself: Envoy refuses a requires_any of fewer than two
	// (NVIDIA's chart renders one, a Differences row).
	r := renderChart(t, "service", values(t, `
gateway:
  oauth2Proxy: {enabled: false}
  envoy:
    idp: {host: idp.example.com}
    jwt: {providers: [{issuer: "https://idp.example.com", audience: osmo, jwks_uri: "https://idp.example.com/keys", user_claim: email, cluster: idp}]}`))
	one := unpack[*matchingv3.ExtensionWithMatcher](t, httpFilter(t, hcmOf(t, envoyConfig(t, r)), "jwt-authn-with-matcher"))
	rules := unpack[*jwtv3.JwtAuthentication](t, one.GetExtensionConfig().GetTypedConfig()).GetRules()
	require.Len(t, rules, 1)
	assert.Equal(t, "provider_0", rules[0].GetRequires().GetProviderName())
	// Without providers there is no JWT filter.
	_, cfg := gatewayFile(t, "gateway-minimal.yaml")
	for _, f := range hcmOf(t, cfg).GetHttpFilters() {
		assert.NotEqual(t, "jwt-authn-with-matcher", f.GetName())
	}
}

// ext_authz to OAuth2 Proxy (HTTP, skipped for API clients and skip-auth paths) and to
// authz (gRPC), and the rate limit filter: their targets are the clusters of the Services
// the chart renders for those parts.
func TestGatewayEnvoyExtAuthzAndRateLimit(t *testing.T) {
	r, cfg := gatewayFile(t, "gateway-everything.yaml")
	hcm := hcmOf(t, cfg)

	wrapper := unpack[*matchingv3.ExtensionWithMatcher](t, httpFilter(t, hcm, "ext-authz-oauth2-proxy"))
	var skipWhen []string
	for _, p := range wrapper.GetXdsMatcher().GetMatcherList().GetMatchers()[0].GetPredicate().GetOrMatcher().GetPredicate() {
		single := p.GetSinglePredicate()
		in := unpack[proto.Message](t, single.GetInput().GetTypedConfig())
		header := in.ProtoReflect().Get(in.ProtoReflect().Descriptor().Fields().ByName("header_name")).String()
		m := single.GetValueMatch()
		skipWhen = append(skipWhen, header+" "+m.GetExact()+m.GetPrefix()+m.GetSafeRegex().GetRegex())
	}
	assert.Equal(t, []string{"x-osmo-auth-skip true", "x-osmo-auth .+", "authorization Bearer "}, skipWhen)
	oauth := unpack[*extauthzv3.ExtAuthz](t, wrapper.GetExtensionConfig().GetTypedConfig())
	uri := oauth.GetHttpService().GetServerUri()
	assert.Equal(t, "http://osmo-gateway-oauth2-proxy:4181/oauth2/auth", uri.GetUri())
	assert.Equal(t, "oauth2-proxy", uri.GetCluster())
	assert.Equal(t, 3*time.Second, uri.GetTimeout().AsDuration())
	assert.False(t, oauth.GetFailureModeAllow())
	var upstream []string
	for _, p := range oauth.GetHttpService().GetAuthorizationResponse().GetAllowedUpstreamHeaders().GetPatterns() {
		upstream = append(upstream, p.GetExact())
	}
	assert.Equal(t, []string{"authorization", "x-auth-request-user", "x-auth-request-email", "x-auth-request-preferred-username"}, upstream)

	authz := unpack[*extauthzv3.ExtAuthz](t, httpFilter(t, hcm, "envoy.filters.http.ext_authz"))
	assert.Equal(t, "authz", authz.GetGrpcService().GetEnvoyGrpc().GetClusterName())
	assert.Equal(t, time.Second, authz.GetGrpcService().GetTimeout().AsDuration())
	assert.Equal(t, uint32(8192), authz.GetWithRequestBody().GetMaxRequestBytes())
	assert.Equal(t, []string{"envoy.filters.http.jwt_authn"}, authz.GetMetadataContextNamespaces())

	rl := unpack[*ratelimitv3.RateLimit](t, httpFilter(t, hcm, "envoy.filters.http.ratelimit"))
	assert.Equal(t, "ratelimit", rl.GetDomain())
	assert.Equal(t, "rate-limit", rl.GetRateLimitService().GetGrpcService().GetEnvoyGrpc().GetClusterName())
	assert.Equal(t, ratelimitv3.RateLimit_DRAFT_VERSION_03, rl.GetEnableXRatelimitHeaders())

	// The parts' Services: named as the clusters' hosts, exposing the clusters' ports.
	want := map[string]int32{"osmo-gateway-oauth2-proxy": 4181, "osmo-gateway-authz": 50053, "osmo-gateway-ratelimit": 8092}
	for name, port := range want {
		var svc *corev1.Service
		for _, s := range render.Objects[*corev1.Service](r) {
			if s.Name == name {
				svc = s
			}
		}
		require.NotNil(t, svc, name)
		var ports []int32
		for _, p := range svc.Spec.Ports {
			ports = append(ports, p.Port)
		}
		assert.Contains(t, ports, port, name)
	}
}

func envoyDeployment(t *testing.T, r *render.Result) *appsv1.Deployment {
	t.Helper()
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		if strings.HasSuffix(d.Name, "gateway-envoy") {
			return d
		}
	}
	t.Fatal("no Envoy Deployment")
	return nil
}

// The Envoy Deployment as NVIDIA's chart renders it: image, args, ports, probes, resources,
// mounts and volumes, replicas, placement; security contexts restricted with the values'
// securityContext merged over ours.
func TestGatewayEnvoyDeployment(t *testing.T) {
	probe := func(delay, period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(9901)}}, InitialDelaySeconds: delay, PeriodSeconds: period, TimeoutSeconds: 3}
	}
	configVolume := func(name string) corev1.Volume {
		return corev1.Volume{Name: "envoy-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}
	}
	caVolume := func(secret string) corev1.Volume {
		return corev1.Volume{Name: "gateway-tls-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}}}
	}
	sslVolume := func(secret string) corev1.Volume {
		return corev1.Volume{Name: "ssl-cert", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}
	}
	tmp := corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	mounts := map[string]corev1.VolumeMount{
		"tmp":            {Name: "tmp", MountPath: "/tmp"},
		"envoy-config":   {Name: "envoy-config", MountPath: "/var/config", ReadOnly: true},
		"gateway-tls-ca": {Name: "gateway-tls-ca", MountPath: "/etc/gateway-tls", ReadOnly: true},
		"ssl-cert":       {Name: "ssl-cert", MountPath: "/etc/ssl/envoy-certs", ReadOnly: true},
	}
	cases := []struct {
		file         string
		name         string
		image        string
		pullPolicy   corev1.PullPolicy
		args         []string
		port         int32
		replicas     int32
		mounts       []string
		volumes      []corev1.Volume
		resources    corev1.ResourceRequirements
		nodeSelector map[string]string
		tolerations  int
		annotations  map[string]string
	}{
		{
			file: "gateway-minimal.yaml", name: "osmo-service-gateway-envoy", image: "envoyproxy/envoy:v1.29.0", pullPolicy: corev1.PullIfNotPresent,
			args: []string{"-c", "/var/config/bootstrap.yaml", "--log-level", "info"}, port: 8080, replicas: 1,
			mounts: []string{"tmp", "envoy-config"}, volumes: []corev1.Volume{tmp, configVolume("osmo-service-gateway-envoy-config")},
			resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
		},
		{
			file: "gateway-tls.yaml", name: "osmo-service-gateway-envoy", image: "envoyproxy/envoy:v1.29.0", pullPolicy: corev1.PullIfNotPresent,
			args: []string{"-c", "/var/config/bootstrap.yaml", "--log-level", "info"}, port: 443, replicas: 2,
			mounts:  []string{"tmp", "envoy-config", "gateway-tls-ca", "ssl-cert"},
			volumes: []corev1.Volume{tmp, configVolume("osmo-service-gateway-envoy-config"), caVolume("osmo-service-gateway-ca-tls"), sslVolume("osmo-gateway-cert")},
			resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
		},
		{
			file: "gateway-everything.yaml", name: "osmo-gateway-envoy", image: "envoyproxy/envoy:v1.29.4", pullPolicy: corev1.PullAlways,
			args: []string{"-c", "/var/config/bootstrap.yaml", "--log-level", "debug"}, port: 443, replicas: 3,
			mounts:  []string{"tmp", "envoy-config", "gateway-tls-ca", "ssl-cert"},
			volumes: []corev1.Volume{tmp, configVolume("osmo-gateway-envoy-config"), caVolume("osmo-gateway-ca-tls"), sslVolume("envoy-ssl-cert")},
			resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("300m"), corev1.ResourceMemory: resource.MustParse("192Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("384Mi")},
			},
			nodeSelector: map[string]string{"node-role.example.com/edge": "true"}, tolerations: 1,
			annotations: map[string]string{"example.com/scrape": "true"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, _ := gatewayFile(t, tc.file)
			d := envoyDeployment(t, r)
			assert.Equal(t, tc.name, d.Name)
			require.NotNil(t, d.Spec.Replicas)
			assert.Equal(t, tc.replicas, *d.Spec.Replicas)
			spec := d.Spec.Template.Spec
			require.Len(t, spec.Containers, 1)
			c := spec.Containers[0]
			assert.Equal(t, "envoy", c.Name)
			assert.Equal(t, tc.image, c.Image)
			assert.Equal(t, tc.pullPolicy, c.ImagePullPolicy)
			assert.Empty(t, c.Command, "the image's entrypoint, as NVIDIA's")
			assert.Equal(t, tc.args, c.Args)
			assert.Equal(t, []corev1.ContainerPort{{Name: "envoy-http", ContainerPort: tc.port}, {Name: "envoy-admin", ContainerPort: 9901}}, c.Ports)
			assert.Equal(t, probe(10, 10), c.LivenessProbe)
			assert.Equal(t, probe(5, 5), c.ReadinessProbe)
			assert.Equal(t, probe(15, 5), c.StartupProbe)
			assert.Empty(t, c.Env)
			var wantMounts []corev1.VolumeMount
			for _, m := range tc.mounts {
				wantMounts = append(wantMounts, mounts[m])
			}
			assert.Equal(t, wantMounts, c.VolumeMounts)
			assert.Equal(t, tc.volumes, spec.Volumes)
			assert.True(t, tc.resources.Requests.Cpu().Equal(*c.Resources.Requests.Cpu()))
			assert.True(t, tc.resources.Requests.Memory().Equal(*c.Resources.Requests.Memory()))
			assert.True(t, tc.resources.Limits.Memory().Equal(*c.Resources.Limits.Memory()))
			_, cpuLimit := c.Resources.Limits[corev1.ResourceCPU]
			assert.False(t, cpuLimit, "no CPU limit")
			if tc.nodeSelector == nil {
				assert.Empty(t, spec.NodeSelector)
			} else {
				assert.Equal(t, tc.nodeSelector, spec.NodeSelector)
			}
			assert.Len(t, spec.Tolerations, tc.tolerations)
			for k, v := range tc.annotations {
				assert.Equal(t, v, d.Spec.Template.Annotations[k])
			}
			sc := c.SecurityContext
			require.NotNil(t, sc)
			assert.Equal(t, ptr(false), sc.AllowPrivilegeEscalation)
			assert.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem)
			assert.Equal(t, ptr(true), sc.RunAsNonRoot)
			assert.Equal(t, ptr(int64(1001)), sc.RunAsUser)
			assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
		})
	}
	// gateway.envoy.securityContext is merged over ours.
	r := renderChart(t, "service", values(t, `
gateway:
  oauth2Proxy: {enabled: false}
  envoy: {securityContext: {runAsUser: 101, capabilities: {add: [NET_BIND_SERVICE]}}}`))
	sc := envoyDeployment(t, r).Spec.Template.Spec.Containers[0].SecurityContext
	assert.Equal(t, ptr(int64(101)), sc.RunAsUser)
	assert.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem, "ours stays")
	assert.Equal(t, []corev1.Capability{"NET_BIND_SERVICE"}, sc.Capabilities.Add)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
}

// The Service: LoadBalancer by default with 80 and 443, type/annotations/NodePort/https
// port from the values, targeting the listener port by name.
func TestGatewayEnvoyService(t *testing.T) {
	http := func(nodePort int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("envoy-http"), Protocol: corev1.ProtocolTCP, NodePort: nodePort}
	}
	https := func(port int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "https", Port: port, TargetPort: intstr.FromString("envoy-http"), Protocol: corev1.ProtocolTCP}
	}
	cases := []struct {
		file        string
		name        string
		typ         corev1.ServiceType
		ports       []corev1.ServicePort
		annotations map[string]string
	}{
		{"gateway-minimal.yaml", "osmo-service-gateway", corev1.ServiceTypeLoadBalancer, []corev1.ServicePort{http(0)}, map[string]string{}},
		{"gateway-entra.yaml", "osmo-service-gateway", corev1.ServiceTypeLoadBalancer, []corev1.ServicePort{http(0), https(443)}, map[string]string{}},
		{"gateway-ingress.yaml", "osmo-service-gateway", corev1.ServiceTypeClusterIP, []corev1.ServicePort{http(0), https(443)}, map[string]string{"example.com/owner": "platform"}},
		{"gateway-everything.yaml", "osmo-gateway", corev1.ServiceTypeNodePort, []corev1.ServicePort{http(30080), https(8443)}, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, _ := gatewayFile(t, tc.file)
			var svc *corev1.Service
			for _, s := range render.Objects[*corev1.Service](r) {
				if s.Name == tc.name {
					svc = s
				}
			}
			require.NotNil(t, svc)
			assert.Equal(t, tc.typ, svc.Spec.Type)
			assert.Equal(t, tc.ports, svc.Spec.Ports)
			assert.Equal(t, tc.annotations, nonNil(svc.Annotations))
			d := envoyDeployment(t, r)
			assert.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)), "the Service selects the Envoy pods")
			assert.Equal(t, map[string]string{"app.kubernetes.io/name": "service", "app.kubernetes.io/instance": "osmo", "app.kubernetes.io/component": "gateway-envoy"}, svc.Spec.Selector)
		})
	}
}

// The Ingress (shared ALB mode): ALB annotations and the user's, the class, the host and
// its TLS Secret, the gateway Service on port 80.
func TestGatewayEnvoyIngress(t *testing.T) {
	r, _ := gatewayFile(t, "gateway-ingress.yaml")
	ings := render.Objects[*networkingv1.Ingress](r)
	require.Len(t, ings, 1)
	ing := ings[0]
	assert.Equal(t, "osmo-service-gateway", ing.Name)
	assert.Equal(t, map[string]string{
		"alb.ingress.kubernetes.io/target-type":     "ip",
		"alb.ingress.kubernetes.io/group.name":      "shared",
		"alb.ingress.kubernetes.io/group.order":     "20",
		"alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
		"alb.ingress.kubernetes.io/scheme":          "internet-facing",
	}, ing.Annotations)
	assert.Equal(t, ptr("alb"), ing.Spec.IngressClassName)
	prefix := networkingv1.PathTypePrefix
	assert.Equal(t, []networkingv1.IngressRule{{Host: "osmo.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
		Path: "/", PathType: &prefix,
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "osmo-service-gateway", Port: networkingv1.ServiceBackendPort{Number: 80}}},
	}}}}}}, ing.Spec.Rules)
	assert.Equal(t, []networkingv1.IngressTLS{{Hosts: []string{"osmo.example.com"}, SecretName: "osmo-example-tls"}}, ing.Spec.TLS)

	// Off by default.
	r, _ = gatewayFile(t, "gateway-minimal.yaml")
	assert.Empty(t, render.Objects[*networkingv1.Ingress](r))
}

// The HPA: the Envoy Deployment between min and max replicas on the envoy container's CPU
// then memory, then the custom metrics.
func TestGatewayEnvoyHPA(t *testing.T) {
	cases := []struct {
		file          string
		name          string
		min, max      int32
		cpu, memory   int32
		customMetrics int
	}{
		{"gateway-minimal.yaml", "osmo-service-gateway-envoy", 1, 1, 80, 80, 0},
		{"gateway-entra.yaml", "osmo-service-gateway-envoy", 2, 6, 80, 80, 0},
		{"gateway-everything.yaml", "osmo-gateway-envoy", 3, 9, 70, 75, 1},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, _ := gatewayFile(t, tc.file)
			var hpa *autoscalingv2.HorizontalPodAutoscaler
			for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
				if h.Name == tc.name {
					hpa = h
				}
			}
			require.NotNil(t, hpa)
			assert.Equal(t, autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: tc.name}, hpa.Spec.ScaleTargetRef)
			assert.Equal(t, ptr(tc.min), hpa.Spec.MinReplicas)
			assert.Equal(t, tc.max, hpa.Spec.MaxReplicas)
			require.Len(t, hpa.Spec.Metrics, 2+tc.customMetrics)
			for i, m := range []struct {
				name   corev1.ResourceName
				target int32
			}{{corev1.ResourceCPU, tc.cpu}, {corev1.ResourceMemory, tc.memory}} {
				cr := hpa.Spec.Metrics[i].ContainerResource
				require.NotNil(t, cr)
				assert.Equal(t, m.name, cr.Name)
				assert.Equal(t, "envoy", cr.Container)
				assert.Equal(t, ptr(m.target), cr.Target.AverageUtilization)
			}
		})
	}
}

// NetworkPolicies: one per upstream entry, each selecting the pods it protects (for this
// release's components: exactly the pods this release renders for them) and letting in only
// this release's Envoy pods on the entry's port.
func TestGatewayEnvoyNetworkPolicies(t *testing.T) {
	r, _ := gatewayFile(t, "gateway-network-policies.yaml")
	envoy := envoyDeployment(t, r)
	deployments := map[string]*appsv1.Deployment{}
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		deployments[d.Name] = d
	}
	cases := []struct {
		policy  string
		port    int32
		selects []string          // this release's Deployments whose pods it selects
		labels  map[string]string // its podSelector, for entries outside this release
	}{
		{"osmo-service-gateway-allow-envoy-to-osmo-service", 8000, []string{"osmo-service"}, nil},
		{"osmo-service-gateway-allow-envoy-to-osmo-router", 8000, nil, map[string]string{"app.kubernetes.io/name": "router", "app.kubernetes.io/component": "router"}},
		{"osmo-service-gateway-allow-envoy-to-osmo-ui", 8000, nil, map[string]string{"app.kubernetes.io/name": "web-ui", "app.kubernetes.io/component": "web-ui"}},
		{"osmo-service-gateway-allow-envoy-to-osmo-agent", 8000, []string{"osmo-service-agent"}, nil},
		{"osmo-service-gateway-allow-envoy-to-osmo-logger", 8000, nil, nil}, // component + a label the logger pods lack: selects none of ours
	}
	policies := render.Objects[*networkingv1.NetworkPolicy](r)
	require.Len(t, policies, len(cases))
	for i, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			np := policies[i]
			assert.Equal(t, tc.policy, np.Name)
			assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes)
			require.NotEmpty(t, np.Spec.PodSelector.MatchLabels, "never every pod of the namespace")
			sel := labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels)
			var selected []string
			for name, d := range deployments {
				if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					selected = append(selected, name)
				}
			}
			sort.Strings(selected)
			assert.Equal(t, tc.selects, selected)
			if tc.labels != nil {
				assert.Equal(t, tc.labels, np.Spec.PodSelector.MatchLabels)
			}
			require.Len(t, np.Spec.Ingress, 1)
			from := np.Spec.Ingress[0].From
			require.Len(t, from, 1)
			assert.True(t, labels.SelectorFromSet(from[0].PodSelector.MatchLabels).Matches(labels.Set(envoy.Spec.Template.Labels)), "lets the Envoy pods in")
			for name, d := range deployments {
				if name != envoy.Name {
					assert.False(t, labels.SelectorFromSet(from[0].PodSelector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)), "and no other pod (%s)", name)
				}
			}
			tcp := corev1.ProtocolTCP
			port := intstr.FromInt32(tc.port)
			assert.Equal(t, []networkingv1.NetworkPolicyPort{{Port: &port, Protocol: &tcp}}, np.Spec.Ingress[0].Ports)
		})
	}
	// The logger entry adds its podSelector labels to the component's selector.
	assert.Equal(t, "logs", policies[4].Spec.PodSelector.MatchLabels["example.com/tier"])
	assert.Equal(t, "logger", policies[4].Spec.PodSelector.MatchLabels["app.kubernetes.io/component"])
	// The defaults (gateway-everything: networkPolicies on with NVIDIA's three entries).
	r, _ = gatewayFile(t, "gateway-everything.yaml")
	var names []string
	for _, np := range render.Objects[*networkingv1.NetworkPolicy](r) {
		names = append(names, np.Name)
	}
	assert.Equal(t, []string{"osmo-gateway-allow-envoy-to-osmo-service", "osmo-gateway-allow-envoy-to-osmo-router", "osmo-gateway-allow-envoy-to-osmo-ui"}, names)
	// Off by default.
	r, _ = gatewayFile(t, "gateway-minimal.yaml")
	assert.Empty(t, render.Objects[*networkingv1.NetworkPolicy](r))
}

// The values contract on the Envoy pods: the one account (gateway.envoy.serviceAccountName
// joins the rule), labels and annotations merged global -> chart -> component, pull
// secrets, Pod Security restricted; two releases' gateways never collide.
func TestGatewayEnvoyContract(t *testing.T) {
	r := renderChart(t, "service", values(t, `
global:
  extraPodLabels: {team: platform, tier: global}
  extraPodAnnotations: {a: global, b: global}
  imagePullSecrets: [regcred]
extraPodLabels: {tier: chart}
extraPodAnnotations: {b: chart}
gateway:
  oauth2Proxy: {enabled: false}
  authz: {enabled: false}
  envoy:
    serviceAccountName: osmo-gateway
    extraPodAnnotations: {c: envoy}
    extraPodLabels: {tier: envoy}
`))
	d := envoyDeployment(t, r)
	spec := d.Spec.Template.Spec
	assert.Equal(t, "osmo-gateway", spec.ServiceAccountName, "gateway.envoy.serviceAccountName is the chart's one account")
	for _, p := range workloadPods(r) {
		assert.Equal(t, "osmo-gateway", p.Spec.ServiceAccountName, "%s runs under the same account", p.Owner)
	}
	assert.Equal(t, "platform", d.Spec.Template.Labels["team"])
	assert.Equal(t, "envoy", d.Spec.Template.Labels["tier"])
	assert.Equal(t, map[string]string{"a": "global", "b": "chart", "c": "envoy"}, d.Spec.Template.Annotations)
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}}, spec.ImagePullSecrets)
	assert.Equal(t, map[string]string{"app.kubernetes.io/name": "service", "app.kubernetes.io/instance": "osmo", "app.kubernetes.io/component": "gateway-envoy"}, d.Spec.Selector.MatchLabels)
	assert.Empty(t, svcPodSecurity(t, "restricted", &d.Spec.Template.ObjectMeta, &spec))

	// Two releases in one namespace: every gateway object name differs.
	names := func(rel string) map[string]bool {
		res, err := renderE("service", values(t, `
gateway:
  oauth2Proxy: {enabled: false}
  networkPolicies: {enabled: true}
  envoy: {ingress: {enabled: true}}`), render.Release{Name: rel, Namespace: "osmo"})
		require.NoError(t, err)
		out := map[string]bool{}
		for _, m := range res.Manifests {
			if key := objectKey(t, m.Object, "osmo"); strings.Contains(key, "gateway") {
				out[key] = true
			}
		}
		return out
	}
	a, b := names("one"), names("two")
	require.NotEmpty(t, a)
	for k := range a {
		assert.False(t, b[k], "%s in both releases", k)
	}
}

// gateway.envoy.enabled false renders no Envoy object.
func TestGatewayEnvoyDisabled(t *testing.T) {
	r := renderChart(t, "service", values(t, `gateway: {envoy: {enabled: false}, oauth2Proxy: {enabled: false}, authz: {enabled: false}}`))
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		assert.NotContains(t, cm.Name, "envoy")
	}
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		assert.NotContains(t, d.Name, "envoy")
	}
	for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
		assert.NotContains(t, h.Name, "envoy")
	}
}
