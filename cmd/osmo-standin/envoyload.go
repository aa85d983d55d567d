//lint:file-ignore SA1019 Envoy 1.29 still honours these deprecated fields, so the stand-in reads them as it does.

package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"

	"github.com/osmo-wi/charts/harness/envoyconfig"
)

// envoyGateway is what an Envoy bootstrap and the xDS files it names configure,
// as far as the stand-in serves it: the admin address, each listener's HTTP
// connection manager with its route table, and each cluster's first endpoint.
// HTTP filters other than the router (Lua, ext_authz, JWT, rate limit, ...) are
// decoded and validated but not run: the stand-in routes every request as if
// they had let it through, and says so in its start line.
type envoyGateway struct {
	options   envoyOptions
	log       io.Writer
	debug     bool
	node      *corev3.Node
	admin     string // host:port, "" when the bootstrap has no admin
	listeners []*envoyListener
	clusters  map[string]*envoyCluster
	// clusterNames are the clusters in load order.
	clusterNames []string
	// notRun are the HTTP filters configured but not run, "<listener>: <name> (<type>)".
	notRun []string
	// files are the xDS files read after the bootstrap, in order.
	files []string
	// readFile reads every file the configuration names.
	readFile func(string) ([]byte, error)
}

// envoyListener is one listener: its address, TLS and HTTP connection manager.
type envoyListener struct {
	gw      *envoyGateway
	name    string
	address string
	tls     *tls.Config
	hcm     *hcmv3.HttpConnectionManager
	routes  *routev3.RouteConfiguration
	// regexes are the route table's patterns compiled, as written and anchored
	// (Envoy's safe_regex matches the whole value).
	regexes, anchored map[string]*regexp.Regexp
	logs              []*envoyAccessLog
	// upgrades are the upgrade types the connection manager allows (lower case).
	upgrades map[string]bool
}

// envoyCluster is one cluster: the first endpoint of its load assignment and
// how to reach it.
type envoyCluster struct {
	name      string
	endpoint  string // host:port, "" when the cluster has none
	scheme    string // http or https
	transport http.RoundTripper
}

// loadEnvoy reads the bootstrap at path (access logs to /dev/stdout write to stdout) and the LDS, CDS and SDS files it
// names, decodes each strictly and validates it (harness/envoyconfig), and
// checks what Envoy checks across them (every cluster a route names exists, the
// router is the last HTTP filter). It refuses, naming the feature, what the
// stand-in cannot serve (xDS over gRPC, RDS, filter chain matching, ...).
// Stricter than Envoy on one point: an LDS or CDS file that is missing or
// invalid at start is an error here, where Envoy would log the rejected update
// and run without those listeners or clusters; a gateway without its listener
// is what a test must see fail.
func loadEnvoy(path string, readFile func(string) ([]byte, error), stdout io.Writer) (*envoyGateway, error) {
	switch ext := filepath.Ext(path); ext {
	case ".yaml", ".yml", ".json":
	default:
		return nil, fmt.Errorf("the stand-in reads YAML and JSON bootstraps only (.yaml, .yml, .json), not %q", ext)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read file: %s", path)
	}
	b, err := envoyconfig.Bootstrap(data)
	if err != nil {
		return nil, err
	}
	gw := &envoyGateway{node: b.GetNode(), clusters: map[string]*envoyCluster{}, readFile: readFile, log: stdout}
	if a := b.GetAdmin(); a != nil && a.GetAddress() != nil {
		if gw.admin, err = socketAddress(a.GetAddress()); err != nil {
			return nil, fmt.Errorf("admin: %w", err)
		}
	}
	static := b.GetStaticResources()
	clusters := append([]*clusterv3.Cluster{}, static.GetClusters()...)
	listeners := append([]*listenerv3.Listener{}, static.GetListeners()...)
	dyn := b.GetDynamicResources()
	if dyn.GetAdsConfig() != nil {
		return nil, errors.New("dynamic_resources.ads_config: the stand-in reads xDS from files only (path_config_source)")
	}
	if cs := dyn.GetCdsConfig(); cs != nil {
		msgs, err := gw.xdsFile("dynamic_resources.cds_config", cs)
		if err != nil {
			return nil, err
		}
		for i, m := range msgs {
			c, ok := m.(*clusterv3.Cluster)
			if !ok {
				return nil, fmt.Errorf("%s: resources[%d] is a %s, not a Cluster", gw.files[len(gw.files)-1], i, m.ProtoReflect().Descriptor().FullName())
			}
			clusters = append(clusters, c)
		}
	}
	if cs := dyn.GetLdsConfig(); cs != nil {
		msgs, err := gw.xdsFile("dynamic_resources.lds_config", cs)
		if err != nil {
			return nil, err
		}
		for i, m := range msgs {
			l, ok := m.(*listenerv3.Listener)
			if !ok {
				return nil, fmt.Errorf("%s: resources[%d] is a %s, not a Listener", gw.files[len(gw.files)-1], i, m.ProtoReflect().Descriptor().FullName())
			}
			listeners = append(listeners, l)
		}
	}
	for _, c := range clusters {
		if _, dup := gw.clusters[c.GetName()]; dup {
			return nil, fmt.Errorf("cluster manager: duplicate cluster '%s'", c.GetName())
		}
		ec, err := gw.cluster(c, static)
		if err != nil {
			return nil, fmt.Errorf("cluster '%s': %w", c.GetName(), err)
		}
		gw.clusters[c.GetName()] = ec
		gw.clusterNames = append(gw.clusterNames, c.GetName())
	}
	names := map[string]bool{}
	for _, l := range listeners {
		if names[l.GetName()] {
			return nil, fmt.Errorf("error adding listener: duplicate listener '%s'", l.GetName())
		}
		names[l.GetName()] = true
		el, err := gw.listener(l, static)
		if err != nil {
			return nil, fmt.Errorf("listener '%s': %w", l.GetName(), err)
		}
		gw.listeners = append(gw.listeners, el)
	}
	return gw, nil
}

// configPath is the file a ConfigSource names (path_config_source, or the
// deprecated path), or an error for a source the stand-in does not read.
func configPath(what string, cs *corev3.ConfigSource) (string, error) {
	switch {
	case cs.GetPathConfigSource() != nil:
		return cs.GetPathConfigSource().GetPath(), nil
	case cs.GetPath() != "":
		return cs.GetPath(), nil
	case cs.GetApiConfigSource() != nil:
		return "", fmt.Errorf("%s: api_config_source: the stand-in reads xDS from files only (path_config_source)", what)
	case cs.GetAds() != nil:
		return "", fmt.Errorf("%s: ads: the stand-in reads xDS from files only (path_config_source)", what)
	default:
		return "", fmt.Errorf("%s: the stand-in reads xDS from files only (path_config_source)", what)
	}
}

// xdsFile reads and decodes the xDS file a ConfigSource names.
func (gw *envoyGateway) xdsFile(what string, cs *corev3.ConfigSource) ([]proto.Message, error) {
	path, err := configPath(what, cs)
	if err != nil {
		return nil, err
	}
	gw.files = append(gw.files, path)
	data, err := gw.readFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: unable to read file: %s", what, path)
	}
	msgs, err := envoyconfig.Resources(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return msgs, nil
}

// socketAddress is an Address's host:port.
func socketAddress(a *corev3.Address) (string, error) {
	sa := a.GetSocketAddress()
	if sa == nil {
		return "", errors.New("only socket_address is served by the stand-in (no pipe or internal addresses)")
	}
	if sa.GetProtocol() != corev3.SocketAddress_TCP {
		return "", fmt.Errorf("socket_address protocol %s: the stand-in serves TCP only", sa.GetProtocol())
	}
	if sa.GetNamedPort() != "" {
		return "", fmt.Errorf("socket_address named_port %q: the stand-in needs port_value", sa.GetNamedPort())
	}
	return net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))), nil
}

func (gw *envoyGateway) cluster(c *clusterv3.Cluster, static *bootstrapv3.Bootstrap_StaticResources) (*envoyCluster, error) {
	switch c.GetType() {
	case clusterv3.Cluster_STATIC, clusterv3.Cluster_STRICT_DNS, clusterv3.Cluster_LOGICAL_DNS:
	default:
		if c.GetClusterType() != nil {
			return nil, fmt.Errorf("cluster_type %s: not served by the stand-in", c.GetClusterType().GetName())
		}
		return nil, fmt.Errorf("type %s: the stand-in serves STATIC, STRICT_DNS and LOGICAL_DNS clusters", c.GetType())
	}
	ec := &envoyCluster{name: c.GetName(), scheme: "http"}
	for _, le := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range le.GetLbEndpoints() {
			if addr := lb.GetEndpoint().GetAddress(); addr != nil && ec.endpoint == "" {
				ep, err := socketAddress(addr)
				if err != nil {
					return nil, fmt.Errorf("load_assignment: %w", err)
				}
				ec.endpoint = ep
			}
		}
	}
	http2 := c.GetHttp2ProtocolOptions() != nil
	if a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok {
		m, err := envoyconfig.Unpack(a)
		if err != nil {
			return nil, err
		}
		if o, ok := m.(*upstreamhttpv3.HttpProtocolOptions); ok && o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
			http2 = true
		}
	}
	t := &http.Transport{Proxy: nil, ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 16}
	if c.GetConnectTimeout() != nil {
		t.DialContext = (&net.Dialer{Timeout: c.GetConnectTimeout().AsDuration()}).DialContext
	}
	if ts := c.GetTransportSocket(); ts != nil {
		cfg, err := gw.upstreamTLS(ts, static)
		if err != nil {
			return nil, fmt.Errorf("transport_socket: %w", err)
		}
		t.TLSClientConfig = cfg
		ec.scheme = "https"
	}
	if http2 {
		t.Protocols = new(http.Protocols)
		if ec.scheme == "https" {
			t.Protocols.SetHTTP2(true)
		} else {
			t.Protocols.SetUnencryptedHTTP2(true)
		}
	}
	ec.transport = t
	return ec, nil
}

func (gw *envoyGateway) listener(l *listenerv3.Listener, static *bootstrapv3.Bootstrap_StaticResources) (*envoyListener, error) {
	addr, err := socketAddress(l.GetAddress())
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	chains := l.GetFilterChains()
	if len(chains) != 1 || l.GetDefaultFilterChain() != nil || chains[0].GetFilterChainMatch() != nil {
		return nil, errors.New("the stand-in serves one filter chain without filter_chain_match")
	}
	if len(l.GetListenerFilters()) > 0 {
		return nil, errors.New("listener_filters: not run by the stand-in")
	}
	chain := chains[0]
	filters := chain.GetFilters()
	if len(filters) != 1 {
		return nil, fmt.Errorf("the stand-in serves a filter chain of one http_connection_manager (this one has %d filters)", len(filters))
	}
	m, err := envoyconfig.Unpack(filters[0].GetTypedConfig())
	if err != nil {
		return nil, err
	}
	hcm, ok := m.(*hcmv3.HttpConnectionManager)
	if !ok {
		return nil, fmt.Errorf("filter %s is a %s: the stand-in serves only the http_connection_manager", filters[0].GetName(), m.ProtoReflect().Descriptor().FullName())
	}
	el := &envoyListener{gw: gw, name: l.GetName(), address: addr, hcm: hcm, regexes: map[string]*regexp.Regexp{}, anchored: map[string]*regexp.Regexp{}, upgrades: map[string]bool{}}
	if ts := chain.GetTransportSocket(); ts != nil {
		if el.tls, err = gw.downstreamTLS(ts, static); err != nil {
			return nil, fmt.Errorf("transport_socket: %w", err)
		}
	}
	switch {
	case hcm.GetRouteConfig() != nil:
		el.routes = hcm.GetRouteConfig()
	case hcm.GetRds() != nil:
		return nil, errors.New("rds: the stand-in serves an inline route_config only")
	default:
		return nil, errors.New("scoped_routes: the stand-in serves an inline route_config only")
	}
	if err := el.checkHTTPFilters(); err != nil {
		return nil, err
	}
	for _, u := range hcm.GetUpgradeConfigs() {
		if u.GetEnabled() == nil || u.GetEnabled().GetValue() {
			el.upgrades[strings.ToLower(u.GetUpgradeType())] = true
		}
	}
	if err := el.checkRoutes(); err != nil {
		return nil, err
	}
	for i, a := range hcm.GetAccessLog() {
		log, err := gw.accessLog(a)
		if err != nil {
			return nil, fmt.Errorf("access_log[%d]: %w", i, err)
		}
		el.logs = append(el.logs, log)
	}
	return el, nil
}

// checkHTTPFilters checks the filter chain as Envoy does (the router, a
// terminal filter, last and only last) and records the filters not run.
func (el *envoyListener) checkHTTPFilters() error {
	filters := el.hcm.GetHttpFilters()
	if len(filters) == 0 {
		return errors.New("http_filters: empty (Envoy needs the router as the last filter)")
	}
	for i, f := range filters {
		if f.GetConfigDiscovery() != nil {
			return fmt.Errorf("http_filters[%d] %s: config_discovery: not served by the stand-in", i, f.GetName())
		}
		if f.GetTypedConfig() == nil {
			return fmt.Errorf("http_filters[%d] %s: no typed_config", i, f.GetName())
		}
		m, err := envoyconfig.Unpack(f.GetTypedConfig())
		if err != nil {
			return fmt.Errorf("http_filters[%d] %s: %w", i, f.GetName(), err)
		}
		_, router := m.(*routerv3.Router)
		last := i == len(filters)-1
		switch {
		case router && !last:
			return envoySays(fmt.Sprintf("Error: terminal filter named %s of type envoy.filters.http.router must be the last filter in a http filter chain.", f.GetName()))
		case !router && last:
			return envoySays(fmt.Sprintf("Error: non-terminal filter named %s of type %s is the last filter in a http filter chain.", f.GetName(), m.ProtoReflect().Descriptor().FullName()))
		case !router:
			el.gw.notRun = append(el.gw.notRun, fmt.Sprintf("%s: %s (%s)", el.name, f.GetName(), m.ProtoReflect().Descriptor().FullName()))
		}
	}
	return nil
}
