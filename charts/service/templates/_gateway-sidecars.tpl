{{/*
Helpers of the gateway's OAuth2 Proxy, authz and rate limit parts
(gateway-oauth2-proxy.yaml, gateway-authz.yaml, gateway-ratelimit.yaml).
*/}}

{{/*
service.gateway.securityContext: a gateway container's security context, as JSON: the
part's own securityContext (NVIDIA's key, e.g. authz's runAsUser 10001) merged over the
chart's containerSecurityContext, so the container stays Pod Security "restricted"
(read-only root, RuntimeDefault seccomp) unless the part's key says otherwise.
Usage: {{ include "service.gateway.securityContext" (dict "ctx" $ "values" $values) | fromJson }}
*/}}
{{- define "service.gateway.securityContext" -}}
{{- toJson (merge (deepCopy (default dict .values.securityContext)) (deepCopy (default dict .ctx.Values.containerSecurityContext))) -}}
{{- end -}}

{{/*
service.gateway.hpa: the HPA NVIDIA's chart renders for a gateway part: CPU, then
memory utilization of its container, then scaling.customMetrics.
Usage: {{ include "service.gateway.hpa" (dict "ctx" $ "part" "authz" "container" "authz" "values" $values) }}
*/}}
{{- define "service.gateway.hpa" -}}
{{- $scaling := .values.scaling -}}
{{- $metrics := list
  (include "common.hpa.containerMetric" (dict "resource" "cpu" "container" .container "target" $scaling.hpaCpuTarget) | fromJson)
  (include "common.hpa.containerMetric" (dict "resource" "memory" "container" .container "target" $scaling.hpaMemoryTarget) | fromJson)
-}}
{{- include "common.hpa" (dict
  "ctx" .ctx
  "name" (include "service.gateway.name" (dict "ctx" .ctx "part" .part))
  "component" (include "service.gateway.component" .part)
  "min" $scaling.minReplicas "max" $scaling.maxReplicas
  "metrics" (concat $metrics (default list $scaling.customMetrics))) -}}
{{- end -}}

{{/*
service.gateway.redisHost: the Redis host of a gateway part: its own redis.serviceName,
else services.redis.serviceName (the Redis the OSMO programs use).
Usage: {{ include "service.gateway.redisHost" (dict "ctx" $ "values" $values) }}
*/}}
{{- define "service.gateway.redisHost" -}}
{{- .values.redis.serviceName | default .ctx.Values.services.redis.serviceName -}}
{{- end -}}

{{/*
service.gateway.sidecars.errors: the bad values of the OAuth2 Proxy, authz and rate limit
parts, as a JSON list of messages (service.validate reports them). Each would render a
proxy or limiter that crash-loops at NVIDIA's chart.
*/}}
{{- define "service.gateway.sidecars.errors" -}}
{{- $errors := list -}}
{{- $proxy := .Values.gateway.oauth2Proxy -}}
{{- $key := "gateway.oauth2Proxy" -}}
{{- if $proxy.enabled -}}
{{- $missing := list -}}
{{- range $field := list "clientId" "oidcIssuerUrl" -}}
{{- if not (include "common.strings.scalar" (index $proxy $field)) -}}{{- $missing = append $missing (printf "%s.%s" $key $field) -}}{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- $errors = append $errors (printf "%s: \"\" with %s.enabled true (NVIDIA's default), and the proxy refuses to start without %s: set your IdP's client id and OIDC issuer URL, or set %s.enabled: false and gateway.authz.enabled: false when there is no IdP, as run/minimal does" (join " and " $missing) $key (eq (len $missing) 2 | ternary "them" "it") $key) -}}
{{- else if not (include "common.strings.scalar" $.Values.gateway.envoy.hostname) -}}
{{- $errors = append $errors (printf "gateway.envoy.hostname: \"\" with %s.enabled true: the proxy's --redirect-url would be https:///oauth2/callback, where no login can return (set the gateway's external hostname)" $key) -}}
{{- end -}}
{{- if not $proxy.useKubernetesSecrets -}}
{{- $path := include "common.strings.scalar" $proxy.secretPaths.cookieSecret -}}
{{- if not (hasPrefix "/" $path) -}}
{{- $errors = append $errors (printf "%s.secretPaths.cookieSecret: %q is not an absolute path (with useKubernetesSecrets false the proxy starts with --config=<this file>, the OAuth2 Proxy config file holding client_secret and cookie_secret that your own volume mounts there; or set %s.useKubernetesSecrets: true)" $key $path $key) -}}
{{- end -}}
{{- end -}}
{{- if and $proxy.redisSessionStore (not (include "service.gateway.redisHost" (dict "ctx" . "values" $proxy))) -}}
{{- $errors = append $errors (printf "%s.redis.serviceName: \"\" with services.redis.serviceName \"\" leaves the session store without a host (redisSessionStore is true: set either to your Redis host, or set %s.redisSessionStore: false to keep sessions in cookies)" $key $key) -}}
{{- end -}}
{{- if eq (toString $proxy.httpPort) (toString $proxy.metricsPort) -}}
{{- $errors = append $errors (printf "%s.metricsPort: %s is also %s.httpPort (the proxy cannot listen twice on one port: give them different ports)" $key (include "common.strings.scalar" $proxy.metricsPort) $key) -}}
{{- end -}}
{{- end -}}
{{- $authz := .Values.gateway.authz -}}
{{- if $authz.enabled -}}
{{- range $probe := list "livenessProbe" "readinessProbe" -}}
{{- $port := dig "grpc" "port" "" (index $authz $probe | default dict) -}}
{{- if and $port (ne (toString $port) (toString $authz.grpcPort)) -}}
{{- $errors = append $errors (printf "gateway.authz.%s.grpc.port: %s is not gateway.authz.grpcPort %s (the sidecar serves gRPC health only on --grpc-port, so the probe would fail: set both to the same port)" $probe (include "common.strings.scalar" $port) (include "common.strings.scalar" $authz.grpcPort)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $limit := .Values.gateway.rateLimit -}}
{{- if $limit.enabled -}}
{{- if not (include "service.gateway.redisHost" (dict "ctx" . "values" $limit)) -}}
{{- $errors = append $errors "gateway.rateLimit.redis.serviceName: \"\" with services.redis.serviceName \"\" leaves the rate limit service without a Redis (REDIS_URL would be \":<port>\"): set either to your Redis host" -}}
{{- end -}}
{{- if eq (toString $limit.grpcPort) (toString $limit.httpPort) -}}
{{- $errors = append $errors (printf "gateway.rateLimit.httpPort: %s is also gateway.rateLimit.grpcPort (the service cannot listen twice on one port: give them different ports)" (include "common.strings.scalar" $limit.httpPort)) -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
