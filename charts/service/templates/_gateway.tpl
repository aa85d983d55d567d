{{/*
The gateway tier's names. NVIDIA names every gateway object "<gateway.name>-<part>"
(osmo-gateway-envoy, ...). Here gateway.name, when set, is used the same way; when
empty the prefix is "<fullname>-gateway", so two releases never collide.
Usage: {{ include "service.gateway.name" (dict "ctx" $ "part" "envoy") }}
*/}}
{{- define "service.gateway.name" -}}
{{- $prefix := .ctx.Values.gateway.name | default (printf "%s-gateway" (include "common.names.fullname" .ctx)) -}}
{{- if .part -}}
{{- printf "%s-%s" $prefix .part | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $prefix | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
service.gateway.component: the app.kubernetes.io/component label of a gateway part
("gateway-envoy", "gateway-oauth2-proxy", "gateway-authz", "gateway-ratelimit").
Usage: {{ include "service.gateway.component" "envoy" }}
*/}}
{{- define "service.gateway.component" -}}
{{- printf "gateway-%s" . -}}
{{- end -}}
