{{/*
web-ui.name: the name of the UI's Deployment, Service, HPA and container:
services.ui.serviceName when set, else the release-scoped fullname.
Usage: {{ include "web-ui.name" . }}
*/}}
{{- define "web-ui.name" -}}
{{- include "common.names.object" (dict "ctx" . "serviceName" .Values.services.ui.serviceName) -}}
{{- end -}}

{{/*
web-ui.probe: a probe as NVIDIA's ui.yaml renders it, as JSON ({} for none): the first
handler of httpGet (path default "/", port default containerPort, scheme, httpHeaders),
tcpSocket (port default containerPort), exec, grpc (ours; NVIDIA's drops it); then
failureThreshold, periodSeconds, timeoutSeconds, initialDelaySeconds, successThreshold
when set (0 means Kubernetes' default, as in NVIDIA's chart).
Usage: {{ include "web-ui.probe" (dict "probe" $values.livenessProbe "port" $values.containerPort) | fromJson }}
*/}}
{{- define "web-ui.probe" -}}
{{- $probe := .probe -}}
{{- $out := dict -}}
{{- if and $probe (kindIs "map" $probe) -}}
{{- if $probe.httpGet -}}
{{- $http := dict "path" ($probe.httpGet.path | default "/") "port" ($probe.httpGet.port | default .port) -}}
{{- with $probe.httpGet.scheme -}}{{- $_ := set $http "scheme" . -}}{{- end -}}
{{- with $probe.httpGet.httpHeaders -}}{{- $_ := set $http "httpHeaders" . -}}{{- end -}}
{{- $_ := set $out "httpGet" $http -}}
{{- else if $probe.tcpSocket -}}
{{- $_ := set $out "tcpSocket" (dict "port" ($probe.tcpSocket.port | default .port)) -}}
{{- else if $probe.exec -}}
{{- $_ := set $out "exec" $probe.exec -}}
{{- else if $probe.grpc -}}
{{- $_ := set $out "grpc" $probe.grpc -}}
{{- end -}}
{{- range $field := list "failureThreshold" "periodSeconds" "timeoutSeconds" "initialDelaySeconds" "successThreshold" -}}
{{- with index $probe $field -}}{{- $_ := set $out $field . -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
web-ui.errors: the chart's own findings for common.validate, as a JSON list of
messages naming the key, the value and the rule.
Usage: {{ include "common.validate" (dict "ctx" . "errors" (include "web-ui.errors" . | fromJsonArray)) }}
*/}}
{{- define "web-ui.errors" -}}
{{- $values := .Values.services.ui -}}
{{- $global := include "common.globals" . | fromJson -}}
{{- $errors := list -}}
{{- range $key := list "livenessProbe" "startupProbe" "readinessProbe" -}}
{{- $probe := index $values $key -}}
{{- $rendered := include "web-ui.probe" (dict "probe" $probe "port" $values.containerPort) | fromJson -}}
{{- if and $probe (kindIs "map" $probe) (not (pick $rendered "httpGet" "tcpSocket" "exec" "grpc")) -}}
{{- $errors = append $errors (printf "services.ui.%s: %s has no handler (expected httpGet, tcpSocket, exec or grpc; null disables the probe)" $key (toJson $probe)) -}}
{{- end -}}
{{- end -}}
{{- $paths := dict "/tmp" "the chart's writable /tmp" -}}
{{- with $values.nextCacheDir -}}{{- $_ := set $paths (toString .) "services.ui.nextCacheDir" -}}{{- end -}}
{{- range $values.extraVolumeMounts -}}
{{- $path := toString (default "" .mountPath) -}}
{{- if hasKey $paths $path -}}
{{- $errors = append $errors (printf "services.ui.extraVolumeMounts: mountPath %q is already mounted by %s (mount elsewhere, or set services.ui.nextCacheDir: \"\" to mount your own cache)" $path (index $paths $path)) -}}
{{- end -}}
{{- end -}}
{{- $names := list "tmp" -}}
{{- if $global.logs.enabled -}}{{- $names = append $names "logs" -}}{{- end -}}
{{- if $values.nextCacheDir -}}{{- $names = append $names "next-cache" -}}{{- end -}}
{{- range $values.extraVolumes -}}
{{- if has (toString .name) $names -}}
{{- $errors = append $errors (printf "services.ui.extraVolumes: volume name %q is one the chart renders (its own: %s); choose another name" (toString .name) (join ", " $names)) -}}
{{- end -}}
{{- end -}}
{{- if and $values.scaling.enabled (gt (int64 $values.scaling.minReplicas) (int64 $values.scaling.maxReplicas)) -}}
{{- $errors = append $errors (printf "services.ui.scaling.minReplicas: %s is greater than services.ui.scaling.maxReplicas (%s); the HPA needs min <= max" (include "common.strings.scalar" $values.scaling.minReplicas) (include "common.strings.scalar" $values.scaling.maxReplicas)) -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
