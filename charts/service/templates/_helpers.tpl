{{/*
Helpers of the service chart. The five OSMO programs share their database, Redis,
logging and MEK flags, their password env and their MEK and log volumes; NVIDIA's
templates repeat them per component, with small differences per program that the
callers keep (the flag order of each program is NVIDIA's).
*/}}

{{/*
service.components: the OSMO components as JSON {key: suffix}; the suffix names the
objects ("<fullname>-<suffix>", the API none) and is the component label
("service" for the API).
*/}}
{{- define "service.components" -}}
{{- toJson (dict "service" "" "worker" "worker" "logger" "logger" "agent" "agent" "delayedJobMonitor" "delayed-job-monitor") -}}
{{- end -}}

{{/*
service.name: the name of a component's Deployment, Service, HPA and container:
services.<key>.serviceName when set (verbatim), else "<fullname>-<suffix>" (the API:
the fullname).
Usage: {{ include "service.name" (dict "ctx" $ "key" "worker") }}
*/}}
{{- define "service.name" -}}
{{- $suffix := index (include "service.components" . | fromJson) .key -}}
{{- include "common.names.object" (dict "ctx" .ctx "serviceName" (index .ctx.Values.services .key).serviceName "suffix" $suffix) -}}
{{- end -}}

{{/*
service.label: a component's app.kubernetes.io/component label.
*/}}
{{- define "service.label" -}}
{{- index (include "service.components" . | fromJson) .key | default "service" -}}
{{- end -}}

{{/*
service.configs.name: the configs ConfigMap, "<API name>-configs" as in NVIDIA's chart.
*/}}
{{- define "service.configs.name" -}}
{{- printf "%s-configs" (include "service.name" (dict "ctx" . "key" "service")) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
service.args.redis: the Redis flags as JSON. "dbAfterTls" is the logger's and agent's
order, where NVIDIA's templates pass --redis_db_number only with TLS.
Usage: {{ $args := include "service.args.redis" (dict "ctx" $) | fromJsonArray }}
*/}}
{{- define "service.args.redis" -}}
{{- $redis := .ctx.Values.services.redis -}}
{{- $args := list "--redis_host" $redis.serviceName "--redis_port" $redis.port -}}
{{- if .dbAfterTls -}}
{{- if $redis.tlsEnabled -}}{{- $args = concat $args (list "--redis_tls_enable" "true" "--redis_db_number" $redis.dbNumber) -}}{{- end -}}
{{- else -}}
{{- $args = concat $args (list "--redis_db_number" $redis.dbNumber) -}}
{{- if $redis.tlsEnabled -}}{{- $args = concat $args (list "--redis_tls_enable" "true") -}}{{- end -}}
{{- end -}}
{{- include "common.args" $args -}}
{{- end -}}

{{/*
service.args.postgres: the database flags, then --mek_file and --postgres_user, as JSON.
*/}}
{{- define "service.args.postgres" -}}
{{- $postgres := .Values.services.postgres -}}
{{- $args := list "--postgres_host" $postgres.serviceName "--postgres_port" $postgres.port "--postgres_database_name" $postgres.db -}}
{{- if .Values.services.configFile.enabled -}}{{- $args = concat $args (list "--mek_file" .Values.services.configFile.path) -}}{{- end -}}
{{- with $postgres.user -}}{{- $args = concat $args (list "--postgres_user" .) -}}{{- end -}}
{{- include "common.args" $args -}}
{{- end -}}

{{/*
service.args.logs: the logging flags when global.logs.enabled, as JSON.
Usage: {{ include "service.args.logs" (dict "ctx" $ "name" "worker") | fromJsonArray }}
*/}}
{{- define "service.args.logs" -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- if $global.logs.enabled -}}
{{- include "common.args" (list "--log_level" $global.logs.logLevel "--k8s_log_level" $global.logs.k8sLogLevel "--log_dir" "/logs" "--log_name" .name) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/*
service.args.metrics: the OpenTelemetry flags of the API, worker and delayed job monitor.
*/}}
{{- define "service.args.metrics" -}}
{{- toJson (list "--metrics_otel_collector_component" . "--metrics_otel_enable" "true") -}}
{{- end -}}

{{/*
service.env.schema: OSMO_SCHEMA_VERSION when the migration is on, as JSON.
*/}}
{{- define "service.env.schema" -}}
{{- if .Values.services.migration.enabled -}}
{{- toJson (list (dict "name" "OSMO_SCHEMA_VERSION" "value" (include "common.strings.scalar" .Values.services.migration.targetSchema))) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/*
service.env.passwords: the database password (inline, else from its Secret when the
MEK file is on, with the Redis password from its Secret), as JSON.
*/}}
{{- define "service.env.passwords" -}}
{{- $postgres := .Values.services.postgres -}}
{{- $redis := .Values.services.redis -}}
{{- $env := list -}}
{{- if $postgres.password -}}
{{- $env = append $env (dict "name" "OSMO_POSTGRES_PASSWORD" "value" (include "common.strings.scalar" $postgres.password)) -}}
{{- else if .Values.services.configFile.enabled -}}
{{- $env = append $env (dict "name" "OSMO_POSTGRES_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" $postgres.passwordSecretName "key" $postgres.passwordSecretKey))) -}}
{{- $env = append $env (dict "name" "OSMO_REDIS_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" $redis.passwordSecretName "key" $redis.passwordSecretKey))) -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/*
service.env: a container's env in NVIDIA's order, as JSON: the chart's "before" entries,
the user's "extra" entries where NVIDIA's templates put extraEnv, then the chart's
"after" entries. A user entry named like a chart entry replaces it (no name twice).
Usage: {{ include "service.env" (dict "before" $a "extra" $values.extraEnv "after" $b) | fromJsonArray }}
*/}}
{{- define "service.env" -}}
{{- $extra := default list .extra -}}
{{- $names := list -}}
{{- range $extra -}}{{- $names = append $names (toString .name) -}}{{- end -}}
{{- $env := include "common.env.merge" (list .before $extra) | fromJsonArray -}}
{{- range .after -}}
{{- if not (has .name $names) -}}{{- $env = append $env . -}}{{- end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/*
service.mek.mount / service.mek.volume: the MEK file, mounted from the mek.yaml key of
services.configFile.configMapName at services.configFile.path, as JSON lists (empty when
the MEK file is off).
*/}}
{{- define "service.mek.mount" -}}
{{- if .Values.services.configFile.enabled -}}
{{- toJson (list (dict "name" "mek-volume" "mountPath" .Values.services.configFile.path "subPath" "mek.yaml")) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{- define "service.mek.volume" -}}
{{- if .Values.services.configFile.enabled -}}
{{- toJson (list (dict "name" "mek-volume" "configMap" (dict "name" .Values.services.configFile.configMapName "defaultMode" 420 "items" (list (dict "key" "mek.yaml" "path" "mek.yaml"))))) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/*
service.logs.mount / service.logs.volume: the /logs emptyDir when global.logs.enabled.
*/}}
{{- define "service.logs.mount" -}}
{{- if (include "common.globals" . | fromJson).logs.enabled -}}
{{- toJson (list (dict "name" "logs" "mountPath" "/logs")) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{- define "service.logs.volume" -}}
{{- if (include "common.globals" . | fromJson).logs.enabled -}}
{{- toJson (list (dict "name" "logs" "emptyDir" dict)) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/*
service.progress: the progress_check probe command (NVIDIA's), as a probe handler map.
Usage: {{ include "service.progress" (list "300" "/var/run/osmo/last_progress") | fromJson }}
*/}}
{{- define "service.progress" -}}
{{- $command := list "progress_check" "--progress_interval" (index . 0) -}}
{{- if gt (len .) 1 -}}{{- $command = concat $command (list "--progress_file" (index . 1)) -}}{{- end -}}
{{- toJson (dict "exec" (dict "command" $command)) -}}
{{- end -}}

{{/*
service.hpa: the HPA NVIDIA's chart renders for a component: memory, then CPU
utilization of its container, then scaling.customMetrics.
Usage: {{ include "service.hpa" (dict "ctx" $ "key" "worker") }}
*/}}
{{- define "service.hpa" -}}
{{- $values := index .ctx.Values.services .key -}}
{{- $name := include "service.name" . -}}
{{- $metrics := list
  (include "common.hpa.containerMetric" (dict "resource" "memory" "container" $name "target" $values.scaling.hpaMemoryTarget) | fromJson)
  (include "common.hpa.containerMetric" (dict "resource" "cpu" "container" $name "target" $values.scaling.hpaCpuTarget) | fromJson)
-}}
{{- include "common.hpa" (dict "ctx" .ctx "name" $name "component" (include "service.label" .) "min" $values.scaling.minReplicas "max" $values.scaling.maxReplicas "metrics" (concat $metrics (default list $values.scaling.customMetrics))) -}}
{{- end -}}

{{/*
service.http: the Service NVIDIA's chart puts in front of the API, logger and agent:
port 80 to the container's 8000.
*/}}
{{- define "service.http" -}}
{{- include "common.service" (dict "ctx" .ctx "name" (include "service.name" .) "component" (include "service.label" .) "ports" (list (dict "name" "http" "port" 80 "targetPort" 8000 "protocol" "TCP"))) -}}
{{- end -}}

{{/*
service.pod.patch: sets what differs from the chart-wide pod settings on a pod spec map
(from common.pod.spec): "automountServiceAccountToken", "podSecurityContext", and for the
main container "image" and "containerSecurityContext". Used for the API (which calls the
Kubernetes API when configs are on) and for the third-party images (datastores,
migration), which run under their own users.
Usage: {{- $_ := include "service.pod.patch" (dict "spec" $spec "patch" $patch) -}}
*/}}
{{- define "service.pod.patch" -}}
{{- $spec := .spec -}}
{{- $patch := .patch -}}
{{- if hasKey $patch "automountServiceAccountToken" -}}{{- $_ := set $spec "automountServiceAccountToken" $patch.automountServiceAccountToken -}}{{- end -}}
{{- with $patch.podSecurityContext -}}{{- $_ := set $spec "securityContext" . -}}{{- end -}}
{{- $main := index $spec.containers 0 -}}
{{- with $patch.image -}}{{- $_ := set $main "image" . -}}{{- end -}}
{{- with $patch.containerSecurityContext -}}{{- $_ := set $main "securityContext" . -}}{{- end -}}
{{- end -}}

{{/*
service.deployment: common.deployment with service.pod.patch applied ("patch", optional).
Without "replicas" the Deployment has no replica count, as NVIDIA's: its HPA owns it, so
an upgrade never resets the scale.
*/}}
{{- define "service.deployment" -}}
{{- $manifest := include "common.deployment" . -}}
{{- if not (hasKey . "replicas") -}}{{- $manifest = regexReplaceAll "(?m)^  replicas: *\n" $manifest "" -}}{{- end -}}
{{- if .patch -}}
{{- $deployment := $manifest | fromYaml -}}
{{- $_ := include "service.pod.patch" (dict "spec" $deployment.spec.template.spec "patch" .patch) -}}
{{- $manifest = toYaml $deployment -}}
{{- end -}}
{{- $manifest -}}
{{- end -}}

{{/*
service.podSpec: common.pod.spec with service.pod.patch applied, as YAML (for Jobs).
*/}}
{{- define "service.podSpec" -}}
{{- $spec := include "common.pod.spec" . | fromYaml -}}
{{- $_ := include "service.pod.patch" (dict "spec" $spec "patch" (default dict .patch)) -}}
{{- toYaml $spec -}}
{{- end -}}

{{/*
service.validate: this chart's findings for common.validate, as a JSON list of messages.
*/}}
{{- define "service.validate" -}}
{{- $errors := include "service.configs.errors" . | fromJsonArray -}}
{{- $errors = concat $errors (include "service.gateway.sidecars.errors" . | fromJsonArray) -}}
{{- $errors = concat $errors (include "service.gateway.envoy.errors" . | fromJsonArray) -}}
{{- $errors = concat $errors (include "service.database.password.errors" . | fromJsonArray) -}}
{{- $migration := .Values.services.migration -}}
{{- if and $migration.enabled (not $migration.files) (not $migration.filesConfigMapName) -}}
{{- $errors = append $errors "services.migration.enabled: true needs the migration files (run_migrations.sh and the pgroll JSON files of NVIDIA's chart): set services.migration.files (file name: content) or services.migration.filesConfigMapName (a ConfigMap you created with them)" -}}
{{- end -}}
{{- $admin := .Values.services.defaultAdmin -}}
{{- if $admin.enabled -}}
{{- range $key := list "username" "passwordSecretName" "passwordSecretKey" -}}
{{- if not (index $admin $key) -}}
{{- $errors = append $errors (printf "services.defaultAdmin.%s: required when services.defaultAdmin.enabled is true" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}

{{/*
service.receiver: the logger or the agent, which NVIDIA's chart starts alike (the agent
adds --service_hostname after the Redis flags and OSMO_SCHEMA_VERSION), with its Service
and HPA.
Usage: {{ include "service.receiver" (dict "ctx" $ "key" "agent" "command" "agent_service" "logName" "agent_service") }}
*/}}
{{- define "service.receiver" -}}
{{- $ctx := .ctx -}}
{{- $values := index $ctx.Values.services .key -}}
{{- $agent := eq .key "agent" -}}
{{- $name := include "service.name" . -}}
{{- $args := include "service.args.redis" (dict "ctx" $ctx "dbAfterTls" true) | fromJsonArray -}}
{{- if and $agent $ctx.Values.services.service.hostname -}}
{{- $args = concat $args (list "--service_hostname" $ctx.Values.services.service.hostname) -}}
{{- end -}}
{{- $args = concat $args (include "service.args.postgres" $ctx | fromJsonArray) (include "service.args.logs" (dict "ctx" $ctx "name" .logName) | fromJsonArray) (default list $values.extraArgs) -}}
{{- $before := $agent | ternary (include "service.env.schema" $ctx | fromJsonArray) list -}}
{{- $progress := "/var/run/osmo/last_progress" -}}
{{- $container := dict
  "name" $name
  "command" (list .command)
  "args" (include "common.args" $args | fromJsonArray)
  "env" (include "service.env" (dict "before" $before "extra" $values.extraEnv "after" (include "service.env.passwords" $ctx | fromJsonArray)) | fromJsonArray)
  "ports" (list (dict "name" "metrics" "containerPort" 9464))
  "volumeMounts" (concat (include "service.mek.mount" $ctx | fromJsonArray) (include "service.logs.mount" $ctx | fromJsonArray) (default list $values.extraVolumeMounts) (list (dict "name" "progress-files" "mountPath" "/var/run/osmo")))
  "resources" $values.resources
  "livenessProbe" (merge (include "service.progress" (list "300" $progress) | fromJson) (dict "timeoutSeconds" 20 "failureThreshold" 3 "periodSeconds" 45))
  "startupProbe" (merge (include "service.progress" (list "60" $progress) | fromJson) (dict "failureThreshold" 12 "periodSeconds" 5 "timeoutSeconds" 15 "initialDelaySeconds" 10))
  "readinessProbe" (dict "httpGet" (dict "port" 8000 "path" "/health") "periodSeconds" 45 "failureThreshold" 3 "timeoutSeconds" 20)
-}}
{{- $volumes := concat (default list $values.extraVolumes) (include "service.logs.volume" $ctx | fromJsonArray) (include "service.mek.volume" $ctx | fromJsonArray) (list (dict "name" "progress-files" "emptyDir" dict)) -}}
{{- include "service.deployment" (dict
  "ctx" $ctx "name" $name "component" (include "service.label" .) "values" $values
  "container" $container
  "volumes" $volumes
  "sidecars" $values.extraSidecars) }}
---
{{ include "service.http" . }}
---
{{ include "service.hpa" . }}
{{- end -}}

{{/*
service.notes: what this chart adds to NOTES.txt: where the API and the gateway are,
and every feature the values switch on that the cluster cannot serve (never silently).
*/}}
{{- define "service.notes" -}}
{{- $api := include "service.name" (dict "ctx" . "key" "service") }}

API: http://{{ $api }}.{{ .Release.Namespace }}.svc:80 (`/api/version`){{ if .Values.services.configs.enabled }}; configs from ConfigMap {{ include "service.configs.name" . }} (config.yaml){{ end }}.
{{- $gateway := .Values.gateway -}}
{{- if $gateway.envoy.enabled }}

Gateway: Service {{ include "service.gateway.name" (dict "ctx" . "part" "") }} ({{ $gateway.envoy.service.type }}) routes to the API, router and UI
  {{- with $gateway.envoy.hostname }} (https://{{ . }}){{ end }}.
  Envoy's config: ConfigMap {{ include "service.gateway.name" (dict "ctx" . "part" "envoy-config") }}.
  {{- if $gateway.oauth2Proxy.enabled }}
  Browser logins: OAuth2 Proxy, client {{ $gateway.oauth2Proxy.clientId }} of {{ $gateway.oauth2Proxy.oidcIssuerUrl }}.
  {{- if $gateway.oauth2Proxy.useKubernetesSecrets }}
  Its client and cookie secrets come from Secret {{ $gateway.oauth2Proxy.secretName | default "oauth2-proxy-secrets" }}: create it before the pods start.
  {{- end }}
  {{- end }}
  {{- if not (or $gateway.oauth2Proxy.enabled $gateway.authz.enabled) }}
  No login at the gateway (gateway.oauth2Proxy and gateway.authz are off): JWTs only, as configured.
  {{- end }}
{{- end }}
{{- if and .Values.podMonitor.enabled (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PodMonitor")) }}

PodMonitor: not rendered: podMonitor.enabled is true but the cluster does not serve
  monitoring.coreos.com/v1 PodMonitor (install the Prometheus Operator, or set podMonitor.enabled=false).
{{- end }}
{{- range $key := list "logger" "agent" }}
{{- with (index $.Values.services $key).envoy }}

services.{{ $key }}.envoy: accepted but not used (NVIDIA's chart renders nothing for it either).
{{- end }}
{{- end }}
{{- end -}}

{{/*
service.datastore.claim: the kept PersistentVolumeClaim of an in-release datastore
(helm.sh/resource-policy: keep, as NVIDIA's: uninstalling never deletes the data). An
empty storageClassName is left out, so the cluster's default class provisions it.
"volumeName" binds it to a pre-made PersistentVolume.
*/}}
{{- define "service.datastore.claim" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
spec:
  accessModes: [ReadWriteOnce]
  volumeMode: Filesystem
  resources:
    requests:
      storage: {{ include "common.strings.scalar" .size | quote }}
  {{- if hasKey . "volumeName" }}
  volumeName: {{ .volumeName }}
  storageClassName: ""
  {{- else if .storageClassName }}
  storageClassName: {{ .storageClassName | quote }}
  {{- end }}
{{- end -}}

{{/*
service.datastore.service: an in-release datastore's Service, named by its serviceName
value verbatim, on a NodePort when enableNodePort (NVIDIA's port name `http`).
*/}}
{{- define "service.datastore.service" -}}
{{- $values := .values -}}
{{- $port := dict "name" "http" "port" (int64 $values.port) "targetPort" .targetPort "protocol" "TCP" -}}
{{- if $values.enableNodePort -}}{{- $_ := set $port "nodePort" (int64 $values.nodePort) -}}{{- end -}}
{{- include "common.service" (dict "ctx" .ctx "name" $values.serviceName "component" .component "type" ($values.enableNodePort | ternary "NodePort" "") "ports" (list $port)) -}}
{{- end -}}
