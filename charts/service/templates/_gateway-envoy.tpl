{{/*
The gateway's Envoy, configured from files as NVIDIA's chart configures it: a
ConfigMap holding bootstrap.yaml (admin on 9901, LDS and CDS read from /var/config and
reloaded when Kubernetes swaps the ConfigMap's directory), lds.yaml (one listener:
access log, route table, Lua filters, OAuth2 Proxy ext_authz, JWT checks, roles, authz,
rate limit, router), cds.yaml (a cluster per upstream and per gateway part) and, with
TLS, the SDS secret files. Every scalar from the values is written as a JSON string or
number, so no value can change the documents' structure.
*/}}

{{/*
service.gateway.envoy.inChart: the upstreams served by this release's own Services, as
JSON {upstream key: component key}.
*/}}
{{- define "service.gateway.envoy.inChart" -}}
{{- toJson (dict "service" "service" "agent" "agent" "logger" "logger") -}}
{{- end -}}

{{/*
service.gateway.envoy.upstreams: every gateway.upstreams entry with its host resolved,
as JSON {key: {enabled, host, port, inChart}}: an empty host of the API, agent or logger
is this release's Service of that component; any host set is used verbatim.
*/}}
{{- define "service.gateway.envoy.upstreams" -}}
{{- $ctx := . -}}
{{- $inChart := include "service.gateway.envoy.inChart" . | fromJson -}}
{{- $out := dict -}}
{{- range $key, $upstream := .Values.gateway.upstreams -}}
{{- $host := include "common.strings.scalar" $upstream.host -}}
{{- $own := and (not $host) (hasKey $inChart $key) -}}
{{- if $own -}}{{- $host = include "service.name" (dict "ctx" $ctx "key" (index $inChart $key)) -}}{{- end -}}
{{- $_ := set $out $key (dict "enabled" $upstream.enabled "host" $host "port" $upstream.port "inChart" $own) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
service.gateway.envoy.internalJwks: host and port of the internal JWKS cluster (default:
the API upstream), as JSON.
*/}}
{{- define "service.gateway.envoy.internalJwks" -}}
{{- $jwks := .Values.gateway.envoy.internalJwks -}}
{{- $api := (include "service.gateway.envoy.upstreams" . | fromJson).service -}}
{{- $host := include "common.strings.scalar" $jwks.host -}}
{{- $port := include "common.strings.scalar" $jwks.port -}}
{{- toJson (dict "host" ($host | default $api.host) "port" ($port | default (include "common.strings.scalar" $api.port)) "inChart" (and (not $host) $api.inChart)) -}}
{{- end -}}

{{/*
service.gateway.envoy.clusterNames: the names of the clusters cds.yaml renders, as JSON.
*/}}
{{- define "service.gateway.envoy.clusterNames" -}}
{{- $gw := .Values.gateway -}}
{{- $names := list "osmo-service" -}}
{{- range $key := list "router" "ui" "agent" "logger" -}}
{{- if (index $gw.upstreams $key).enabled -}}{{- $names = append $names (printf "osmo-%s" $key) -}}{{- end -}}
{{- end -}}
{{- if $gw.oauth2Proxy.enabled -}}{{- $names = append $names "oauth2-proxy" -}}{{- end -}}
{{- if $gw.authz.enabled -}}{{- $names = append $names "authz" -}}{{- end -}}
{{- if $gw.rateLimit.enabled -}}{{- $names = append $names "rate-limit" -}}{{- end -}}
{{- if $gw.envoy.idp.host -}}{{- $names = append $names "idp" -}}{{- end -}}
{{- if $gw.envoy.internalJwks.enabled -}}{{- $names = append $names (include "common.strings.scalar" $gw.envoy.internalJwks.cluster) -}}{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/*
service.gateway.envoy.authOn: "true" when OAuth2 Proxy or authz owns the identity
headers (then clients may not send them), else "".
*/}}
{{- define "service.gateway.envoy.authOn" -}}
{{- if or .Values.gateway.oauth2Proxy.enabled .Values.gateway.authz.enabled -}}true{{- end -}}
{{- end -}}

{{/* ---- Lua programs of the listener's filters (NVIDIA's, to the byte) ---- */}}

{{- define "service.gateway.envoy.lua.blockIPs" -}}
{{- $entries := list -}}
{{- range .Values.gateway.envoy.blockedIPs -}}{{- $entries = append $entries (printf "    [%s] = true" (toJson (toString .))) -}}{{- end -}}
function envoy_on_request(request_handle)
  local blocked_ips = {
{{- with $entries }}
{{ join ",\n" . }}
{{- end }}
  }

  -- Check all IPs in x-forwarded-for (covers spoofed and real entries)
  local xff = request_handle:headers():get("x-forwarded-for")
  if xff ~= nil then
    for ip in string.gmatch(xff, "([^,]+)") do
      ip = ip:match("^%s*(.-)%s*$")
      if blocked_ips[ip] then
        request_handle:logInfo("Blocking request from IP (xff): " .. ip)
        request_handle:respond(
          {[":status"] = "403"},
          "Access denied: IP address blocked due to excessive requests"
        )
        return
      end
    end
  end

  -- Also check the direct peer address
  local peer = request_handle:streamInfo():downstreamRemoteAddress()
  local peer_ip = string.match(peer, "([^:]+)")
  if blocked_ips[peer_ip] then
    request_handle:logInfo("Blocking request from IP (peer): " .. peer_ip)
    request_handle:respond(
      {[":status"] = "403"},
      "Access denied: IP address blocked due to excessive requests"
    )
    return
  end
end
{{ end -}}

{{- define "service.gateway.envoy.lua.strip" -}}
{{- $headers := list "x-osmo-auth-skip" -}}
{{- if include "service.gateway.envoy.authOn" . -}}{{- $headers = concat $headers (list "x-osmo-user" "x-osmo-roles" "x-osmo-allowed-pools") -}}{{- end -}}
{{- $headers = concat $headers (list "x-osmo-token-name" "x-osmo-workflow-id" "x-envoy-internal" "x-forwarded-host") -}}
function envoy_on_request(request_handle)
{{- range $headers }}
  request_handle:headers():remove("{{ . }}")
{{- end }}
end
{{ end -}}

{{- define "service.gateway.envoy.lua.skip" -}}
function starts_with(str, start)
   return str:sub(1, #start) == start
end

function envoy_on_request(request_handle)
  skip = false
{{- range .Values.gateway.envoy.skipAuthPaths }}
  if (starts_with(request_handle:headers():get(':path'), '{{ . }}')) then
    skip = true
  end
{{- end }}
  if (skip) then
    request_handle:headers():add("x-osmo-auth-skip", "true")
  end
end
{{ end -}}

{{- define "service.gateway.envoy.lua.forwardedHost" -}}
function envoy_on_request(request_handle)
  local authority = request_handle:headers():get(":authority")
  if authority ~= nil then
    request_handle:headers():replace("x-forwarded-host", authority)
  end
end
{{ end -}}

{{- define "service.gateway.envoy.lua.roles" -}}
function envoy_on_request(request_handle)
  local meta = request_handle:streamInfo():dynamicMetadata():get('envoy.filters.http.jwt_authn')
  if (meta == nil or meta.verified_jwt == nil) then
    return
  end
  local roles = meta.verified_jwt.roles
  if (roles ~= nil and type(roles) == 'table') then
    request_handle:headers():replace('x-osmo-roles', table.concat(roles, ','))
  end
  if (meta.verified_jwt.osmo_token_name ~= nil) then
    request_handle:headers():replace('x-osmo-token-name', tostring(meta.verified_jwt.osmo_token_name))
  end
  if (meta.verified_jwt.osmo_workflow_id ~= nil) then
    request_handle:headers():replace('x-osmo-workflow-id', tostring(meta.verified_jwt.osmo_workflow_id))
  end
end
{{ end -}}

{{/* ---- The documents ---- */}}

{{/*
service.gateway.envoy.bootstrap: bootstrap.yaml.
*/}}
{{- define "service.gateway.envoy.bootstrap" -}}
{{- $node := include "service.gateway.name" (dict "ctx" . "part" "") -}}
admin:
  access_log_path: /dev/null
  address:
    socket_address: {address: 0.0.0.0, port_value: 9901}
node:
  cluster: {{ $node | toJson }}
  id: {{ $node | toJson }}
dynamic_resources:
  lds_config:
    path_config_source:
      path: /var/config/lds.yaml
      watched_directory: {path: /var/config}
  cds_config:
    path_config_source:
      path: /var/config/cds.yaml
      watched_directory: {path: /var/config}
{{ end -}}

{{/*
service.gateway.envoy.sdsSource: an SDS config source reading a file of /var/config.
*/}}
{{- define "service.gateway.envoy.sdsSource" -}}
path_config_source:
  path: /var/config/{{ . }}
  watched_directory: {path: /var/config}
{{- end -}}

{{/*
service.gateway.envoy.skipMatcher: the predicate of an ExtensionWithMatcher that skips
the wrapped filter when x-osmo-auth-skip is "true"; with "oauth2" also when the request
carries an x-osmo-auth header or a Bearer authorization (API clients).
*/}}
{{- define "service.gateway.envoy.headerPredicate" -}}
single_predicate:
  input:
    name: request-headers
    typed_config:
      "@type": type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput
      header_name: {{ .header }}
  value_match:
    {{- toYaml .match | nindent 4 }}
{{- end -}}

{{- define "service.gateway.envoy.skipAction" -}}
on_match:
  action:
    name: skip
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter
{{- end -}}

{{/*
service.gateway.envoy.lua: a Lua HTTP filter named .name running .source.
*/}}
{{- define "service.gateway.envoy.luaFilter" -}}
- name: {{ .name }}
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
    default_source_code:
      inline_string: {{ .source | toJson }}
{{- end -}}

{{/*
service.gateway.envoy.httpFilters: the listener's HTTP filters, in NVIDIA's order.
*/}}
{{- define "service.gateway.envoy.httpFilters" -}}
{{- $gw := .Values.gateway -}}
{{- $envoy := $gw.envoy -}}
{{- $oauth2 := include "service.gateway.name" (dict "ctx" . "part" "oauth2-proxy") -}}
{{ include "service.gateway.envoy.luaFilter" (dict "name" "block-spam-ips" "source" (include "service.gateway.envoy.lua.blockIPs" .)) }}
{{ include "service.gateway.envoy.luaFilter" (dict "name" "strip-unauthorized-headers" "source" (include "service.gateway.envoy.lua.strip" .)) }}
{{ include "service.gateway.envoy.luaFilter" (dict "name" "add-auth-skip" "source" (include "service.gateway.envoy.lua.skip" .)) }}
{{ include "service.gateway.envoy.luaFilter" (dict "name" "add-forwarded-host" "source" (include "service.gateway.envoy.lua.forwardedHost" .)) }}
{{- if $gw.oauth2Proxy.enabled }}
- name: ext-authz-oauth2-proxy
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher
    xds_matcher:
      matcher_list:
        matchers:
        - predicate:
            or_matcher:
              predicate:
              - {{- include "service.gateway.envoy.headerPredicate" (dict "header" "x-osmo-auth-skip" "match" (dict "exact" "true")) | nindent 16 }}
              - {{- include "service.gateway.envoy.headerPredicate" (dict "header" "x-osmo-auth" "match" (dict "safe_regex" (dict "google_re2" dict "regex" ".+"))) | nindent 16 }}
              - {{- include "service.gateway.envoy.headerPredicate" (dict "header" "authorization" "match" (dict "prefix" "Bearer ")) | nindent 16 }}
          {{- include "service.gateway.envoy.skipAction" . | nindent 10 }}
    extension_config:
      name: envoy.filters.http.ext_authz
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
        http_service:
          server_uri:
            uri: {{ printf "http://%s:%s/oauth2/auth" $oauth2 (include "common.strings.scalar" $gw.oauth2Proxy.httpPort) | toJson }}
            cluster: oauth2-proxy
            timeout: 3s
          authorization_request:
            allowed_headers:
              patterns: [{exact: cookie}]
          authorization_response:
            allowed_upstream_headers:
              patterns: [{exact: authorization}, {exact: x-auth-request-user}, {exact: x-auth-request-email}, {exact: x-auth-request-preferred-username}]
            allowed_client_headers_on_success:
              patterns: [{exact: set-cookie}]
        failure_mode_allow: false
{{- end }}
{{- with $envoy.jwt.providers }}
- name: jwt-authn-with-matcher
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher
    xds_matcher:
      matcher_list:
        matchers:
        - predicate:
            {{- include "service.gateway.envoy.headerPredicate" (dict "header" "x-osmo-auth-skip" "match" (dict "exact" "true")) | nindent 12 }}
          {{- include "service.gateway.envoy.skipAction" . | nindent 10 }}
    extension_config:
      name: envoy.filters.http.jwt_authn
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
        providers:
          {{- range $i, $p := . }}
          provider_{{ $i }}:
            issuer: {{ include "common.strings.scalar" $p.issuer | toJson }}
            audiences: [{{ include "common.strings.scalar" $p.audience | toJson }}]
            forward: true
            payload_in_metadata: verified_jwt
            from_headers:
            - {name: authorization, value_prefix: "Bearer "}
            - {name: x-osmo-auth}
            remote_jwks:
              http_uri:
                uri: {{ include "common.strings.scalar" $p.jwks_uri | toJson }}
                cluster: {{ include "common.strings.scalar" $p.cluster | toJson }}
                timeout: 5s
              cache_duration: 600s
              async_fetch: {failed_refetch_duration: 1s}
              retry_policy:
                num_retries: 3
                retry_back_off: {base_interval: 0.01s, max_interval: 3s}
            claim_to_headers:
            - claim_name: {{ include "common.strings.scalar" $p.user_claim | toJson }}
              header_name: {{ include "common.strings.scalar" $envoy.jwt.user_header | toJson }}
          {{- end }}
        rules:
        - match: {prefix: /}
          requires:
            {{- if eq (len .) 1 }}
            {{- /* NVIDIA's requires_any of one provider is refused by Envoy (at least 2 items): the one provider is required itself. */}}
            provider_name: provider_0
            {{- else }}
            requires_any:
              requirements:
              {{- range $i, $p := . }}
              - provider_name: provider_{{ $i }}
              {{- end }}
            {{- end }}
{{- end }}
{{ include "service.gateway.envoy.luaFilter" (dict "name" "envoy.filters.http.lua.roles" "source" (include "service.gateway.envoy.lua.roles" .)) }}
{{- if $gw.authz.enabled }}
- name: envoy.filters.http.ext_authz
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
    transport_api_version: V3
    with_request_body: {max_request_bytes: 8192, allow_partial_message: true}
    failure_mode_allow: false
    grpc_service:
      envoy_grpc: {cluster_name: authz}
      timeout: 1s
    metadata_context_namespaces: [envoy.filters.http.jwt_authn]
{{- end }}
{{- if $gw.rateLimit.enabled }}
- name: envoy.filters.http.ratelimit
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
    domain: ratelimit
    enable_x_ratelimit_headers: DRAFT_VERSION_03
    rate_limit_service:
      transport_api_version: V3
      grpc_service:
        envoy_grpc: {cluster_name: rate-limit}
{{- end }}
- name: envoy.filters.http.router
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
{{- end -}}

{{/*
service.gateway.envoy.routes: the virtual host's routes, first match wins: OAuth2
Proxy's /oauth2/, the router, agent and logger, the API (serviceRoutes or /api/ and
/client/), the UI last (/).
*/}}
{{- define "service.gateway.envoy.routes" -}}
{{- $gw := .Values.gateway -}}
{{- $envoy := $gw.envoy -}}
{{- $route := $envoy.routerRoute -}}
{{- if $gw.oauth2Proxy.enabled }}
- match: {prefix: /oauth2/}
  route: {cluster: oauth2-proxy}
{{- end }}
{{- if $gw.upstreams.router.enabled }}
- match:
    prefix: {{ include "common.strings.scalar" $route.prefix | default "/api/router" | toJson }}
  route:
    cluster: osmo-router
    timeout: {{ include "common.strings.scalar" $route.timeout | default "0s" | toJson }}
    hash_policy:
    - cookie:
        name: {{ include "common.strings.scalar" $route.cookie.name | default "_osmo_router_affinity" | toJson }}
        ttl: {{ include "common.strings.scalar" $route.cookie.ttl | default "60s" | toJson }}
{{- end }}
{{- if $gw.upstreams.agent.enabled }}
- match: {prefix: /api/agent/}
  route: {cluster: osmo-agent, timeout: 0s}
{{- end }}
{{- if $gw.upstreams.logger.enabled }}
- match: {prefix: /api/logger/}
  route: {cluster: osmo-logger, timeout: 0s}
{{- end }}
{{- with $envoy.serviceRoutes }}
{{ toYaml . }}
{{- else }}
- match: {prefix: /api/}
  route: {cluster: osmo-service}
- match: {prefix: /client/}
  route: {cluster: osmo-service}
{{- end }}
{{- if $gw.upstreams.ui.enabled }}
- match: {prefix: /}
  route: {cluster: osmo-ui}
{{- end }}
{{- end -}}

{{/*
service.gateway.envoy.lds: lds.yaml.
*/}}
{{- define "service.gateway.envoy.lds" -}}
{{- $gw := .Values.gateway -}}
{{- $envoy := $gw.envoy -}}
{{- $identity := $envoy.defaultIdentity | default dict -}}
{{- $internal := list "x-osmo-auth-skip" -}}
{{- if include "service.gateway.envoy.authOn" . -}}{{- $internal = concat $internal (list "x-osmo-user" "x-osmo-roles" "x-osmo-allowed-pools") -}}{{- end -}}
{{- $internal = concat $internal (list "x-osmo-token-name" "x-osmo-workflow-id") -}}
{{- $headersToAdd := list -}}
{{- if $identity.user -}}
{{- range $pair := list (list "x-osmo-user" "user") (list "x-osmo-roles" "roles") (list "x-osmo-allowed-pools" "allowedPools") -}}
{{- with include "common.strings.scalar" (index $identity (index $pair 1)) -}}
{{- $headersToAdd = append $headersToAdd (dict "header" (dict "key" (index $pair 0) "value" .) "append_action" "ADD_IF_ABSENT") -}}
{{- end -}}
{{- end -}}
{{- end -}}
resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: gateway_listener
  address:
    socket_address:
      address: 0.0.0.0
      port_value: {{ $envoy.ssl.enabled | ternary 443 (include "common.strings.scalar" $envoy.listenerPort) }}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: ingress_http
        codec_type: AUTO
        access_log:
        - name: envoy.access_loggers.file
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
            path: /dev/stdout
            log_format:
              json_format:
                {{- range $field, $operator := dict
                  "start_time" "START_TIME" "method" "REQ(:METHOD)" "path" "REQ(X-ENVOY-ORIGINAL-PATH?:PATH)"
                  "protocol" "PROTOCOL" "response_code" "RESPONSE_CODE" "response_code_details" "RESPONSE_CODE_DETAILS"
                  "response_flags" "RESPONSE_FLAGS" "connection_termination_details" "CONNECTION_TERMINATION_DETAILS"
                  "bytes_received" "BYTES_RECEIVED" "bytes_sent" "BYTES_SENT" "duration" "DURATION"
                  "request_duration" "REQUEST_DURATION" "response_duration" "RESPONSE_DURATION"
                  "response_tx_duration" "RESPONSE_TX_DURATION" "upstream_host" "UPSTREAM_HOST"
                  "upstream_cluster" "UPSTREAM_CLUSTER" "upstream_local_address" "UPSTREAM_LOCAL_ADDRESS"
                  "upstream_transport_failure_reason" "UPSTREAM_TRANSPORT_FAILURE_REASON"
                  "upstream_request_attempt_count" "UPSTREAM_REQUEST_ATTEMPT_COUNT"
                  "downstream_remote_address" "DOWNSTREAM_REMOTE_ADDRESS" "downstream_local_address" "DOWNSTREAM_LOCAL_ADDRESS"
                  "requested_server_name" "REQUESTED_SERVER_NAME" "route_name" "ROUTE_NAME" "connection_id" "CONNECTION_ID"
                  "user_agent" "REQ(USER-AGENT)" "request_id" "REQ(X-REQUEST-ID)" "authority" "REQ(:AUTHORITY)"
                  "x_forwarded_for" "REQ(X-FORWARDED-FOR)" "osmo_user" "REQ(X-OSMO-USER)"
                  "osmo_token_name" "REQ(X-OSMO-TOKEN-NAME)" "osmo_workflow_id" "REQ(X-OSMO-WORKFLOW-ID)" }}
                {{ $field }}: "%{{ $operator }}%"
                {{- end }}
                level: info
        route_config:
          name: gateway_routes
          internal_only_headers: {{ toJson $internal }}
          virtual_hosts:
          - name: gateway
            domains: ["*"]
            {{- with $headersToAdd }}
            request_headers_to_add:
              {{- toYaml . | nindent 14 }}
            {{- end }}
            routes:
              {{- include "service.gateway.envoy.routes" . | nindent 14 }}
        upgrade_configs:
        - {upgrade_type: websocket, enabled: true}
        max_request_headers_kb: {{ include "common.strings.scalar" $envoy.maxHeadersSizeKb }}
        http_filters:
          {{- include "service.gateway.envoy.httpFilters" . | nindent 10 }}
    {{- if $envoy.ssl.enabled }}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
        common_tls_context:
          tls_certificate_sds_secret_configs:
          - name: downstream_cert
            sds_config:
              {{- include "service.gateway.envoy.sdsSource" "sds_downstream_tls.yaml" | nindent 14 }}
    {{- end }}
{{ end -}}

{{/*
service.gateway.envoy.cluster: one STRICT_DNS cluster. Keys: name, host, port, and
optional lb ("ROUND_ROBIN"), ringHash, v4 (dns_lookup_family V4_ONLY), connectTimeout
("3s"), maxRequests, http2 (gRPC upstream), upstreamCa (verify with the upstream CA),
idp (TLS with SNI, DNS refresh).
*/}}
{{- define "service.gateway.envoy.cluster" -}}
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: {{ .name | toJson }}
  connect_timeout: {{ .connectTimeout | default "3s" }}
  type: STRICT_DNS
  {{- if .idp }}
  dns_refresh_rate: 5s
  respect_dns_ttl: true
  {{- end }}
  {{- if .v4 }}
  dns_lookup_family: V4_ONLY
  {{- end }}
  lb_policy: {{ if .ringHash }}RING_HASH{{ else }}ROUND_ROBIN{{ end }}
  {{- if .ringHash }}
  ring_hash_lb_config: {minimum_ring_size: 64}
  {{- end }}
  {{- with .maxRequests }}
  circuit_breakers:
    thresholds:
    - {priority: DEFAULT, max_requests: {{ . }}}
  {{- end }}
  {{- if .http2 }}
  typed_extension_protocol_options:
    envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
      "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
      explicit_http_config: {http2_protocol_options: {}}
  {{- end }}
  load_assignment:
    cluster_name: {{ .name | toJson }}
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address:
              address: {{ .host | toJson }}
              port_value: {{ .port }}
  {{- if .upstreamCa }}
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
      common_tls_context:
        validation_context_sds_secret_config:
          name: upstream_ca
          sds_config:
            {{- include "service.gateway.envoy.sdsSource" "sds_upstream_ca.yaml" | nindent 12 }}
  {{- else if .idp }}
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
      sni: {{ .host | toJson }}
  {{- end }}
{{- end -}}

{{/*
service.gateway.envoy.cds: cds.yaml.
*/}}
{{- define "service.gateway.envoy.cds" -}}
{{- $gw := .Values.gateway -}}
{{- $envoy := $gw.envoy -}}
{{- $upstreams := include "service.gateway.envoy.upstreams" . | fromJson -}}
{{- $tls := $gw.tls.enabled -}}
resources:
{{- $api := $upstreams.service }}
{{ include "service.gateway.envoy.cluster" (dict "name" "osmo-service" "host" $api.host "port" (include "common.strings.scalar" $api.port) "v4" true "maxRequests" (include "common.strings.scalar" $envoy.maxRequests) "upstreamCa" $tls) }}
{{- range $key := list "router" "ui" "agent" "logger" }}
{{- $upstream := index $upstreams $key }}
{{- if $upstream.enabled }}
{{ include "service.gateway.envoy.cluster" (dict "name" (printf "osmo-%s" $key) "host" $upstream.host "port" (include "common.strings.scalar" $upstream.port) "v4" true "ringHash" (eq $key "router") "upstreamCa" $tls) }}
{{- end }}
{{- end }}
{{- if $gw.oauth2Proxy.enabled }}
{{ include "service.gateway.envoy.cluster" (dict "name" "oauth2-proxy" "host" (include "service.gateway.name" (dict "ctx" . "part" "oauth2-proxy")) "port" (include "common.strings.scalar" $gw.oauth2Proxy.httpPort) "connectTimeout" "0.25s") }}
{{- end }}
{{- if $gw.authz.enabled }}
{{ include "service.gateway.envoy.cluster" (dict "name" "authz" "host" (include "service.gateway.name" (dict "ctx" . "part" "authz")) "port" (include "common.strings.scalar" $gw.authz.grpcPort) "connectTimeout" "0.25s" "http2" true) }}
{{- end }}
{{- if $gw.rateLimit.enabled }}
{{ include "service.gateway.envoy.cluster" (dict "name" "rate-limit" "host" (include "service.gateway.name" (dict "ctx" . "part" "ratelimit")) "port" (include "common.strings.scalar" $gw.rateLimit.grpcPort) "connectTimeout" "0.25s" "http2" true) }}
{{- end }}
{{- with include "common.strings.scalar" $envoy.idp.host }}
{{ include "service.gateway.envoy.cluster" (dict "name" "idp" "host" . "port" 443 "v4" true "idp" true) }}
{{- end }}
{{- if $envoy.internalJwks.enabled }}
{{- $jwks := include "service.gateway.envoy.internalJwks" . | fromJson }}
{{ include "service.gateway.envoy.cluster" (dict "name" (include "common.strings.scalar" $envoy.internalJwks.cluster) "host" $jwks.host "port" $jwks.port "v4" true) }}
{{- end }}
{{ end -}}

{{/*
service.gateway.envoy.configMap: the Envoy ConfigMap.
*/}}
{{- define "service.gateway.envoy.configMap" -}}
{{- $data := dict
  "bootstrap.yaml" (include "service.gateway.envoy.bootstrap" .)
  "lds.yaml" (include "service.gateway.envoy.lds" .)
  "cds.yaml" (include "service.gateway.envoy.cds" .) -}}
{{- if .Values.gateway.envoy.ssl.enabled -}}
{{- $_ := set $data "sds_downstream_tls.yaml" (printf "resources:\n- \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret\n  name: downstream_cert\n  tls_certificate:\n    certificate_chain: {filename: /etc/ssl/envoy-certs/tls.crt}\n    private_key: {filename: /etc/ssl/envoy-certs/tls.key}\n") -}}
{{- end -}}
{{- if .Values.gateway.tls.enabled -}}
{{- $_ := set $data "sds_upstream_ca.yaml" (printf "resources:\n- \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret\n  name: upstream_ca\n  validation_context:\n    trusted_ca: {filename: /etc/gateway-tls/ca.crt}\n") -}}
{{- end -}}
{{- range $doc, $text := $data -}}
{{- $_ := set $data $doc (regexReplaceAll "(?m)[ \t]+$" (regexReplaceAll "\n[ \t]*\n" $text "\n") "") -}}
{{- end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "service.gateway.name" (dict "ctx" . "part" "envoy-config") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" . "component" (include "service.gateway.component" "envoy")) | nindent 4 }}
data:
  {{- toYaml $data | nindent 2 }}
{{- end -}}

{{/*
service.gateway.envoy.caSecret: the Secret holding the upstream CA (ca.crt) Envoy
verifies the upstreams with: gateway.tls.caSecretName, else NVIDIA's
"<gateway name>-ca-tls".
*/}}
{{- define "service.gateway.envoy.caSecret" -}}
{{- include "common.strings.scalar" .Values.gateway.tls.caSecretName | default (include "service.gateway.name" (dict "ctx" . "part" "ca-tls")) -}}
{{- end -}}

{{/*
service.gateway.envoy.policySelector: the pod labels a gateway.networkPolicies.upstreams
entry selects, as JSON: this release's selector labels of its `component` (ours), then
its `podSelector` labels.
Usage: {{ include "service.gateway.envoy.policySelector" (dict "ctx" $ "upstream" $entry) | fromJson }}
*/}}
{{- define "service.gateway.envoy.policySelector" -}}
{{- $own := dict -}}
{{- with .upstream.component -}}
{{- $own = include "common.labels.selector" (dict "ctx" $.ctx "component" (include "service.label" (dict "key" .))) | fromYaml -}}
{{- end -}}
{{- include "common.labels.merge" (list $own .upstream.podSelector) -}}
{{- end -}}

{{/*
service.gateway.envoy.errors: what is wrong in the Envoy tier's values, as a JSON list of
messages for common.validate (key, value, rule): in-chart upstream ports our Services do
not expose, incomplete JWT providers or ones naming no rendered cluster, blocked IPs that
are not addresses, skip-auth paths that would break the Lua filter, Ingress hosts that
Kubernetes refuses, NetworkPolicy entries that select nothing or everything.
*/}}
{{- define "service.gateway.envoy.errors" -}}
{{- $ctx := . -}}
{{- $gw := .Values.gateway -}}
{{- $envoy := $gw.envoy -}}
{{- $errors := list -}}
{{- if $envoy.enabled -}}
{{- $upstreams := include "service.gateway.envoy.upstreams" . | fromJson -}}
{{- range $key := list "service" "agent" "logger" -}}
{{- $upstream := index $upstreams $key -}}
{{- $port := include "common.strings.scalar" $upstream.port -}}
{{- if and (or $upstream.enabled (eq $key "service")) $upstream.inChart (ne $port "80") -}}
{{- $errors = append $errors (printf "gateway.upstreams.%s.port: %s is not a port of this release's %s Service %s (it exposes 80): set 80, or set gateway.upstreams.%s.host to the Service that serves %s" $key $port (eq $key "service" | ternary "API" $key) $upstream.host $key $port) -}}
{{- end -}}
{{- end -}}
{{- if $envoy.internalJwks.enabled -}}
{{- $jwks := include "service.gateway.envoy.internalJwks" . | fromJson -}}
{{- if and $jwks.inChart (include "common.strings.scalar" $envoy.internalJwks.port) (ne $jwks.port "80") -}}
{{- $errors = append $errors (printf "gateway.envoy.internalJwks.port: %s is not a port of this release's API Service %s (it exposes 80): set 80, or set gateway.envoy.internalJwks.host to the Service that serves %s" $jwks.port $jwks.host $jwks.port) -}}
{{- end -}}
{{- end -}}
{{- with $envoy.jwt.providers -}}
{{- if not (include "common.strings.scalar" $envoy.jwt.user_header) -}}
{{- $errors = append $errors "gateway.envoy.jwt.user_header: required when gateway.envoy.jwt.providers are set (the header Envoy writes each token's user claim to)" -}}
{{- end -}}
{{- $clusters := include "service.gateway.envoy.clusterNames" $ctx | fromJsonArray -}}
{{- range $i, $p := . -}}
{{- $p = default dict $p -}}
{{- range $field, $what := dict "issuer" "the iss claim tokens must carry" "audience" "the aud claim tokens must carry" "jwks_uri" "where Envoy fetches the signing keys" "cluster" "the Envoy cluster that serves jwks_uri" "user_claim" "the claim naming the user" -}}
{{- if not (include "common.strings.scalar" (index $p $field)) -}}
{{- $errors = append $errors (printf "gateway.envoy.jwt.providers[%d].%s: required (%s); every provider needs issuer, audience, jwks_uri, cluster and user_claim" $i $field $what) -}}
{{- end -}}
{{- end -}}
{{- with include "common.strings.scalar" $p.cluster -}}
{{- if not (has . $clusters) -}}
{{- $errors = append $errors (printf "gateway.envoy.jwt.providers[%d].cluster: %q is not a cluster this gateway renders (known: %s; `idp` needs gateway.envoy.idp.host, the internal JWKS cluster gateway.envoy.internalJwks.enabled)" $i . (join ", " $clusters)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $ipv4 := "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$" -}}
{{- $ipv6 := "^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$" -}}
{{- range $i, $ip := $envoy.blockedIPs -}}
{{- $text := toString $ip -}}
{{- if not (or (regexMatch $ipv4 $text) (regexMatch $ipv6 $text)) -}}
{{- $errors = append $errors (printf "gateway.envoy.blockedIPs[%d]: %q is not an IP address (the gateway compares each client address to these exactly, so a range or a name never matches)" $i $text) -}}
{{- end -}}
{{- end -}}
{{- range $i, $path := $envoy.skipAuthPaths -}}
{{- $text := toString $path -}}
{{- if or (not (hasPrefix "/" $text)) (regexMatch "['\\\\\\n\\r]" $text) -}}
{{- $errors = append $errors (printf "gateway.envoy.skipAuthPaths[%d]: %q is not a path prefix (it must start with / and hold no quote, backslash or line break)" $i $text) -}}
{{- end -}}
{{- end -}}
{{- $ingress := $envoy.ingress -}}
{{- if $ingress.enabled -}}
{{- $hostname := include "common.strings.scalar" $envoy.hostname -}}
{{- if and $ingress.sslEnabled (not $hostname) -}}
{{- $errors = append $errors "gateway.envoy.hostname: required when gateway.envoy.ingress.sslEnabled is true (the host of the Ingress's TLS certificate)" -}}
{{- else if and $hostname (not (regexMatch "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $hostname)) -}}
{{- $errors = append $errors (printf "gateway.envoy.hostname: %q is not a host name the Ingress accepts (a lowercase DNS name such as osmo.example.com: no scheme, port or path)" $hostname) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $gw.networkPolicies.enabled -}}
{{- $components := include "service.components" . | fromJson -}}
{{- range $i, $entry := $gw.networkPolicies.upstreams -}}
{{- $entry = default dict $entry -}}
{{- with $entry.component -}}
{{- if not (hasKey $components (toString .)) -}}
{{- $errors = append $errors (printf "gateway.networkPolicies.upstreams[%d].component: %q is not a component of this chart (known: %s)" $i (toString .) (join ", " (keys $components | sortAlpha))) -}}
{{- end -}}
{{- else -}}
{{- if not $entry.podSelector -}}
{{- $errors = append $errors (printf "gateway.networkPolicies.upstreams[%d]: %s selects no pods by label, so its policy would cover every pod of the namespace: set podSelector (pod labels) or component (this release's pods of that component)" $i (include "common.strings.scalar" $entry.name | default "(no name)" | quote)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
