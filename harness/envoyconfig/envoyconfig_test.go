package envoyconfig_test

import (
	"strings"
	"testing"
	"time"

	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/envoyconfig"
)

const bootstrap = `
admin:
  address:
    socket_address: {address: 0.0.0.0, port_value: 9901}
node: {cluster: gw, id: gw}
dynamic_resources:
  lds_config:
    path_config_source: {path: /var/config/lds.yaml}
`

const lds = `
resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: l
  address:
    socket_address: {address: 0.0.0.0, port_value: 8080}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: ingress_http
        route_config:
          virtual_hosts:
          - name: all
            domains: ["*"]
            routes:
            - match: {prefix: /}
              route: {cluster: c}
        http_filters:
        - name: jwt
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
            providers:
              p:
                issuer: https://issuer
                remote_jwks:
                  http_uri: {uri: https://issuer/jwks, cluster: c, timeout: 5s}
                  cache_duration: {seconds: 600}
        - name: envoy.filters.http.router
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`

const cds = `
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: c
  connect_timeout: 3s
  type: STRICT_DNS
  load_assignment:
    cluster_name: c
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: {address: api, port_value: 80}
`

// TestDecodeValid: a bootstrap, listener and cluster decode; typed configs are
// unpacked, and the {seconds: N} spelling of a Duration is read as Envoy reads it.
func TestDecodeValid(t *testing.T) {
	cfg, err := envoyconfig.ConfigMap(map[string]string{"bootstrap.yaml": bootstrap, "lds.yaml": lds, "cds.yaml": cds})
	require.NoError(t, err)
	require.Equal(t, uint32(9901), cfg.Bootstrap.GetAdmin().GetAddress().GetSocketAddress().GetPortValue())
	require.Equal(t, "api", cfg.Cluster("c").GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
	hcm, err := envoyconfig.Unpack(cfg.Listener("l").GetFilterChains()[0].GetFilters()[0].GetTypedConfig())
	require.NoError(t, err)
	jwt, err := envoyconfig.Unpack(hcm.(*hcmv3.HttpConnectionManager).GetHttpFilters()[0].GetTypedConfig())
	require.NoError(t, err)
	require.Equal(t, 600*time.Second, jwt.(*jwtv3.JwtAuthentication).GetProviders()["p"].GetRemoteJwks().GetCacheDuration().AsDuration())
}

// TestDecodeRefuses: each way a document can be wrong is refused, naming the document
// and what is wrong.
func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		data map[string]string
		want []string
	}{
		{
			name: "a typo'd field of the listener",
			data: map[string]string{"bootstrap.yaml": bootstrap, "lds.yaml": strings.Replace(lds, "filter_chains:", "filter_chain:", 1)},
			want: []string{"lds.yaml", `unknown field "filter_chain"`},
		},
		{
			name: "a typo'd field inside a typed_config (resolved recursively)",
			data: map[string]string{"bootstrap.yaml": bootstrap, "lds.yaml": strings.Replace(lds, "stat_prefix:", "stats_prefix:", 1)},
			want: []string{"lds.yaml", `unknown field "stats_prefix"`},
		},
		{
			name: "a typo'd field of the bootstrap",
			data: map[string]string{"bootstrap.yaml": strings.Replace(bootstrap, "dynamic_resources", "dynamic_resource", 1)},
			want: []string{"bootstrap.yaml", `unknown field "dynamic_resource"`},
		},
		{
			name: "an unknown @type",
			data: map[string]string{"bootstrap.yaml": bootstrap, "lds.yaml": strings.Replace(lds, "router.v3.Router", "router.v3.Routr", 1)},
			want: []string{"lds.yaml", "envoy.extensions.filters.http.router.v3.Routr"},
		},
		{
			name: "a PGV violation (a cluster without a name), with its path",
			data: map[string]string{"bootstrap.yaml": bootstrap, "cds.yaml": strings.Replace(cds, "  name: c\n", "", 1)},
			want: []string{"cds.yaml", "resources[0]", "Cluster.Name", "value length must be at least 1"},
		},
		{
			name: "a PGV violation inside a typed_config (a JWT provider without http_uri's uri)",
			data: map[string]string{"bootstrap.yaml": bootstrap, "lds.yaml": strings.Replace(lds, "uri: https://issuer/jwks, ", "", 1)},
			want: []string{"lds.yaml", "resources[0](l).filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.http_filters[0].typed_config<envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication>", "HttpUri.Uri"},
		},
		{
			name: "a resource in the wrong document",
			data: map[string]string{"bootstrap.yaml": bootstrap, "lds.yaml": cds},
			want: []string{"lds.yaml: resources[0]: a envoy.config.cluster.v3.Cluster does not belong in this document"},
		},
		{
			name: "an unknown document name",
			data: map[string]string{"bootstrap.yaml": bootstrap, "rds.yaml": lds},
			want: []string{"rds.yaml: not an Envoy document this decoder knows"},
		},
		{
			name: "no bootstrap",
			data: map[string]string{"lds.yaml": lds},
			want: []string{"no bootstrap.yaml"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envoyconfig.ConfigMap(tc.data)
			require.Error(t, err)
			t.Log(err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
