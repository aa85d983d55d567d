{{/*
Pods and the workloads that own them. A chart builds what is its own (the OSMO
program's command, arguments, env, ports, probes, volumes, as NVIDIA's chart starts
it) and these helpers add what every pod of every chart shares: the one resolved
ServiceAccount, merged labels and annotations, pull secrets, node placement,
Pod Security "restricted" contexts, a writable /tmp, and the GCP federation files.

The component's values map ("values") is read for the keys NVIDIA's charts use on
every component: imageName, imagePullPolicy, extraPodLabels (and the UI's podLabels),
extraPodAnnotations, nodeSelector, tolerations, topologySpreadConstraints, hostAliases,
resources, initContainers.
*/}}

{{/*
common.pod.labels: pod labels, merged lowest first: workload identity labels,
global.extraPodLabels, extraPodLabels, the component's podLabels then extraPodLabels,
then the standard labels (which hold the selector and cannot be overridden).
Usage: {{ include "common.pod.labels" (dict "ctx" $ "component" "worker" "values" $values) | nindent 8 }}
*/}}
{{- define "common.pod.labels" -}}
{{- $derived := include "common.workloadIdentity.podLabels" .ctx | fromJson -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- $values := default dict .values -}}
{{- $extra := list $derived $global.extraPodLabels .ctx.Values.extraPodLabels $values.podLabels $values.extraPodLabels -}}
{{- include "common.labels.render" (dict "ctx" .ctx "component" .component "extra" $extra) -}}
{{- end -}}

{{/*
common.pod.annotations: pod annotations as JSON, merged lowest first:
global.extraPodAnnotations, extraPodAnnotations, the component's extraPodAnnotations,
then the chart's own ("annotations", e.g. checksums).
Usage: {{ include "common.pod.annotations" (dict "ctx" $ "values" $values "annotations" $own) | fromJson }}
*/}}
{{- define "common.pod.annotations" -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- $values := default dict .values -}}
{{- include "common.labels.merge" (list $global.extraPodAnnotations .ctx.Values.extraPodAnnotations $values.extraPodAnnotations (default dict .annotations)) -}}
{{- end -}}

{{/*
common.pod.env: the chart's env for a container, then the workload identity env a
pod needs (GOOGLE_APPLICATION_CREDENTIALS outside GKE) unless the chart's list already
names it: no duplicate names (server-side apply rejects them).
Usage: {{ include "common.pod.env" (dict "ctx" $ "env" $env) | fromJsonArray }}
*/}}
{{- define "common.pod.env" -}}
{{- $names := list -}}
{{- range .env -}}{{- $names = append $names .name -}}{{- end -}}
{{- $env := default list .env -}}
{{- range include "common.workloadIdentity.gcpEnv" .ctx | fromJsonArray -}}
{{- if not (has .name $names) -}}{{- $env = append $env . -}}{{- end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/*
common.pod.nodeSelector: global.nodeSelector merged with the component's, as JSON
(NVIDIA's charts render both).
*/}}
{{- define "common.pod.nodeSelector" -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- include "common.labels.merge" (list $global.nodeSelector (default dict .values).nodeSelector) -}}
{{- end -}}

{{/*
common.pod.topologySpread: the component's topologySpreadConstraints, each selecting
this workload's pods by its selector labels unless the user gave a labelSelector.
Usage: {{ include "common.pod.topologySpread" (dict "ctx" $ "component" "worker" "constraints" $list) | fromJsonArray }}
*/}}
{{- define "common.pod.topologySpread" -}}
{{- $selector := include "common.labels.selector" (dict "ctx" .ctx "component" .component) | fromYaml -}}
{{- $out := list -}}
{{- range .constraints -}}
{{- $constraint := deepCopy . -}}
{{- if not (hasKey $constraint "labelSelector") -}}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" $selector) -}}
{{- end -}}
{{- $out = append $out $constraint -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
common.pod.spec: a pod spec (as YAML, at column 0) for a component.
Keys:
  ctx, component (label), values (the component's values map)
  container: the main container's own fields (name, command, args, env, envFrom, ports,
    livenessProbe, readinessProbe, startupProbe, volumeMounts, resources); image,
    pull policy and securityContext are added here. A container that brings its own
    "image" (a third-party image such as Envoy's, written in full in the values) keeps it.
  volumes, initContainers, sidecars: lists the chart adds (the component's own
    initContainers are appended after the chart's)
  pod: extra pod spec fields (hostAliases, terminationGracePeriodSeconds, restartPolicy, ...)
  tolerations: overrides values.tolerations when given
Usage: {{ include "common.pod.spec" $args | nindent 6 }}
*/}}
{{- define "common.pod.spec" -}}
{{- $ctx := .ctx -}}
{{- $values := default dict .values -}}
{{- $container := deepCopy (default dict .container) -}}
{{- if not $container.image -}}
{{- $_ := set $container "image" (include "common.images.image" (dict "ctx" $ctx "values" $values)) -}}
{{- end -}}
{{- $_ := set $container "imagePullPolicy" (include "common.images.pullPolicy" $values) -}}
{{- $env := include "common.pod.env" (dict "ctx" $ctx "env" (default list $container.env)) | fromJsonArray -}}
{{- if $env -}}{{- $_ := set $container "env" $env -}}{{- else -}}{{- $_ := unset $container "env" -}}{{- end -}}
{{- $mounts := concat (list (dict "name" "tmp" "mountPath" "/tmp")) (default list $container.volumeMounts) (include "common.workloadIdentity.gcpVolumeMounts" $ctx | fromJsonArray) -}}
{{- $_ := set $container "volumeMounts" $mounts -}}
{{- $_ := set $container "securityContext" $ctx.Values.containerSecurityContext -}}
{{- range $field := list "command" "args" "envFrom" "ports" "livenessProbe" "readinessProbe" "startupProbe" "resources" -}}
{{- if not (index $container $field) -}}{{- $_ := unset $container $field -}}{{- end -}}
{{- end -}}
{{- $volumes := concat (list (dict "name" "tmp" "emptyDir" dict)) (default list .volumes) (include "common.workloadIdentity.gcpVolumes" $ctx | fromJsonArray) -}}
{{- $initContainers := concat (default list .initContainers) (default list $values.initContainers) -}}
{{- $spec := deepCopy (default dict .pod) -}}
{{- $_ := set $spec "serviceAccountName" (include "common.serviceAccount.name" $ctx) -}}
{{- $_ := set $spec "automountServiceAccountToken" $ctx.Values.serviceAccount.automountServiceAccountToken -}}
{{- $_ := set $spec "securityContext" $ctx.Values.podSecurityContext -}}
{{- with include "common.pod.nodeSelector" (dict "ctx" $ctx "values" $values) | fromJson -}}{{- $_ := set $spec "nodeSelector" . -}}{{- end -}}
{{- with (hasKey . "tolerations" | ternary .tolerations $values.tolerations) -}}{{- $_ := set $spec "tolerations" . -}}{{- end -}}
{{- with include "common.pod.topologySpread" (dict "ctx" $ctx "component" .component "constraints" $values.topologySpreadConstraints) | fromJsonArray -}}{{- $_ := set $spec "topologySpreadConstraints" . -}}{{- end -}}
{{- with $values.hostAliases -}}{{- $_ := set $spec "hostAliases" . -}}{{- end -}}
{{- with $initContainers -}}{{- $_ := set $spec "initContainers" . -}}{{- end -}}
{{- $_ := set $spec "containers" (concat (list $container) (default list .sidecars)) -}}
{{- $_ := set $spec "volumes" $volumes -}}
{{- toYaml $spec -}}
{{- with include "common.images.pullSecrets" $ctx }}
{{ . }}
{{- end }}
{{- end -}}

{{/*
common.deployment: a Deployment whose pods are common.pod.spec; "name" is its name
(common.names.object), "replicas" its replica count, "annotations" the chart's own pod
annotations. Selector: name, instance and component only.
Usage: {{ include "common.deployment" (dict "ctx" $ "name" $name "component" "worker" "values" $values "replicas" 2 "container" $container) }}
*/}}
{{- define "common.deployment" -}}
{{- $ctx := .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  replicas: {{ include "common.strings.scalar" .replicas }}
  revisionHistoryLimit: {{ $ctx.Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "common.labels.selector" (dict "ctx" $ctx "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.pod.labels" . | nindent 8 }}
      {{- with include "common.pod.annotations" . | fromJson }}
      annotations:
        {{- include "common.labels.stringMap" . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "common.pod.spec" . | nindent 6 }}
{{- end -}}

{{/*
common.service: a Service selecting a component's pods. "ports" are ServicePorts;
"type", "headless", "labels", "annotations", "selector" (extra selector labels) optional.
Usage: {{ include "common.service" (dict "ctx" $ "name" $name "component" "router" "ports" (list (dict "name" "http" "port" 80 "targetPort" 8000))) }}
*/}}
{{- define "common.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" .ctx "component" .component "extra" (list .labels)) | nindent 4 }}
  {{- with include "common.labels.merge" (list .annotations) | fromJson }}
  annotations:
    {{- include "common.labels.stringMap" . | nindent 4 }}
  {{- end }}
spec:
  {{- if .headless }}
  clusterIP: None
  {{- else if .type }}
  type: {{ .type }}
  {{- end }}
  selector:
    {{- include "common.labels.selector" (dict "ctx" .ctx "component" .component) | nindent 4 }}
    {{- with .selector }}
    {{- include "common.labels.stringMap" . | nindent 4 }}
    {{- end }}
  ports:
    {{- toYaml .ports | nindent 4 }}
{{- end -}}

{{/*
common.hpa: an autoscaling/v2 HorizontalPodAutoscaler for a Deployment.
Keys: ctx, name (of the Deployment and the HPA), component, min, max, metrics (list).
Usage: {{ include "common.hpa" (dict "ctx" $ "name" $name "component" "worker" "min" 2 "max" 10 "metrics" $metrics) }}
*/}}
{{- define "common.hpa" -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ include "common.strings.scalar" .min }}
  maxReplicas: {{ include "common.strings.scalar" .max }}
  {{- with .metrics }}
  metrics:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
common.hpa.containerMetric: an autoscaling/v2 ContainerResource metric, as JSON.
Usage: {{ include "common.hpa.containerMetric" (dict "resource" "memory" "container" $name "target" 80) | fromJson }}
*/}}
{{- define "common.hpa.containerMetric" -}}
{{- toJson (dict "type" "ContainerResource" "containerResource" (dict "name" .resource "container" .container "target" (dict "type" "Utilization" "averageUtilization" (int64 .target)))) -}}
{{- end -}}

{{/*
common.env.merge: the chart's env list with the user's entries merged in, as JSON: a
user entry named like a chart entry replaces it in place, others are appended (a
variable is never set twice).
Usage: {{ $env := include "common.env.merge" (list $chartEnv .Values.extraEnvs) | fromJsonArray }}
*/}}
{{- define "common.env.merge" -}}
{{- $base := default list (index . 0) -}}
{{- $extra := default list (index . 1) -}}
{{- $byName := dict -}}
{{- $normalized := list -}}
{{- range $extra -}}
{{- $entry := deepCopy . -}}
{{- if hasKey $entry "value" -}}{{- $_ := set $entry "value" (include "common.strings.scalar" $entry.value) -}}{{- end -}}
{{- $_ := set $byName (toString .name) $entry -}}
{{- $normalized = append $normalized $entry -}}
{{- end -}}
{{- $extra = $normalized -}}
{{- $out := list -}}
{{- $used := dict -}}
{{- range $base -}}
{{- if hasKey $byName .name -}}
{{- $out = append $out (index $byName .name) -}}{{- $_ := set $used .name true -}}
{{- else -}}
{{- $out = append $out . -}}
{{- end -}}
{{- end -}}
{{- range $extra -}}
{{- if not (hasKey $used (toString .name)) -}}{{- $out = append $out . -}}{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
common.args: command-line arguments as strings, numbers as written (NVIDIA's charts
quote ports; an unquoted extra argument such as 100 must not become 1e+02).
Usage: {{ $args := include "common.args" $list | fromJsonArray }}
*/}}
{{- define "common.args" -}}
{{- $out := list -}}
{{- range . -}}{{- $out = append $out (include "common.strings.scalar" .) -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
common.extraConfigMaps: the ConfigMaps listed in a values list of {name, data}, named
as given (operators reference them by that name in their own volumes).
Usage: {{ include "common.extraConfigMaps" (dict "ctx" $ "configMaps" .Values.extraConfigMaps) }}
*/}}
{{- define "common.extraConfigMaps" -}}
{{- range .configMaps }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  namespace: {{ $.ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" $.ctx) | nindent 4 }}
data:
  {{- range $key, $value := .data }}
  {{ $key }}: {{ include "common.strings.scalar" $value | quote }}
  {{- end }}
{{- end }}
{{- end -}}
