{{/*
Names. Every object name derives from the release, so two releases of a chart
never collide; cluster-scoped names also carry the release namespace.
*/}}

{{/*
common.names.name: the chart name, or nameOverride.
Usage: {{ include "common.names.name" . }}
*/}}
{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.names.fullname: "<release>-<chart name>", or just the release name when it
already contains the chart name (release "osmo-router" gives "osmo-router", not
"osmo-router-router"), or fullnameOverride; at most 63 characters.
Usage: {{ include "common.names.fullname" . }}
*/}}
{{- define "common.names.fullname" -}}
{{- $name := include "common.names.name" . -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
common.names.object: the name of a workload and its Service: the values' serviceName
when the operator set one (NVIDIA's key), else "<fullname>-<suffix>", or the fullname
alone when suffix is empty (the chart's main workload). Release-scoped by default,
so two releases never collide.
Usage: {{ include "common.names.object" (dict "ctx" $ "serviceName" $values.serviceName "suffix" "worker") }}
*/}}
{{- define "common.names.object" -}}
{{- if .serviceName -}}
{{- .serviceName | trunc 63 | trimSuffix "-" -}}
{{- else if .suffix -}}
{{- printf "%s-%s" (include "common.names.fullname" .ctx) .suffix | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "common.names.fullname" .ctx -}}
{{- end -}}
{{- end -}}

{{/*
common.names.qualified: "<release namespace>-<fullname>[-<suffix>]", for cluster-scoped
objects (ClusterRole, ...) and objects placed outside the release namespace, so
releases in different namespaces coexist.
Usage: {{ include "common.names.qualified" (dict "ctx" $ "suffix" "nodes") }}
*/}}
{{- define "common.names.qualified" -}}
{{- $name := printf "%s-%s" .ctx.Release.Namespace (include "common.names.fullname" .ctx) -}}
{{- if .suffix -}}{{- $name = printf "%s-%s" $name .suffix -}}{{- end -}}
{{- $name | trunc 253 | trimSuffix "-" -}}
{{- end -}}
