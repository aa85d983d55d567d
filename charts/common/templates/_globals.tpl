{{/*
global.* is read by every chart and stays open in the schema (so a chart works as a
subchart), which means its keys may be missing. Helpers read global only through
common.globals, which always returns every key with the right type.
*/}}

{{/*
common.memo: the output of the named helper for this chart render, computed once.
For helpers that depend only on the chart's values (globals, identity settings, pull
secrets): every component's pod reads them, and recomputing them dominated render
time. The cache lives on the chart's root context, which Helm creates per render.
"args" (default: ctx) are what the helper is called with, and "id" tells calls
with different args apart.
Usage: {{ include "common.memo" (dict "ctx" . "name" "common.globals.compute") }}
*/}}
{{- define "common.memo" -}}
{{- if not (hasKey .ctx "osmoCommonMemo") -}}
{{- $_ := set .ctx "osmoCommonMemo" dict -}}
{{- end -}}
{{- $cache := index .ctx "osmoCommonMemo" -}}
{{- $id := printf "%s/%s" .name (default "" .id) -}}
{{- if not (hasKey $cache $id) -}}
{{- $_ := set $cache $id (include .name (default .ctx .args)) -}}
{{- end -}}
{{- index $cache $id -}}
{{- end -}}

{{/*
common.globals: the global values the charts read, each present and well-typed, as JSON.
Usage: {{ $global := include "common.globals" . | fromJson }}
*/}}
{{- define "common.globals" -}}
{{- include "common.memo" (dict "ctx" . "name" "common.globals.compute") -}}
{{- end -}}

{{- define "common.globals.compute" -}}
{{- $g := .Values.global -}}
{{- if not (kindIs "map" $g) -}}{{- $g = dict -}}{{- end -}}
{{- $logs := include "common.globals.map" (dig "logs" dict $g) | fromJson -}}
{{- $wi := include "common.globals.map" (dig "workloadIdentity" dict $g) | fromJson -}}
{{- $azure := include "common.globals.map" (dig "azure" dict $wi) | fromJson -}}
{{- $aws := include "common.globals.map" (dig "aws" dict $wi) | fromJson -}}
{{- $gcp := include "common.globals.map" (dig "gcp" dict $wi) | fromJson -}}
{{- toJson (dict
  "osmoImageLocation" (include "common.globals.string" (dig "osmoImageLocation" "" $g) | default "nvcr.io/nvidia/osmo")
  "osmoImageTag" (include "common.globals.string" (dig "osmoImageTag" "" $g))
  "serviceAccountName" (include "common.globals.string" (dig "serviceAccountName" "" $g))
  "nodeSelector" (include "common.globals.map" (dig "nodeSelector" dict $g) | fromJson)
  "logs" (dict
    "enabled" (ne (toString (dig "enabled" true $logs)) "false")
    "logLevel" (include "common.globals.string" (dig "logLevel" "" $logs) | default "DEBUG")
    "k8sLogLevel" (include "common.globals.string" (dig "k8sLogLevel" "" $logs) | default "WARNING"))
  "extraPodLabels" (include "common.globals.map" (dig "extraPodLabels" dict $g) | fromJson)
  "extraPodAnnotations" (include "common.globals.map" (dig "extraPodAnnotations" dict $g) | fromJson)
  "imagePullSecrets" (include "common.globals.list" (dig "imagePullSecrets" list $g) | fromJsonArray)
  "imagePullSecret" (include "common.globals.string" (dig "imagePullSecret" "" $g))
  "workloadIdentity" (dict
    "provider" (include "common.globals.string" (dig "provider" "" $wi))
    "azure" (dict
      "clientId" (include "common.globals.string" (dig "clientId" "" $azure))
      "tenantId" (include "common.globals.string" (dig "tenantId" "" $azure)))
    "aws" (dict "roleArn" (include "common.globals.string" (dig "roleArn" "" $aws)))
    "gcp" (dict
      "serviceAccount" (include "common.globals.string" (dig "serviceAccount" "" $gcp))
      "workloadIdentityProvider" (include "common.globals.string" (dig "workloadIdentityProvider" "" $gcp))))
) -}}
{{- end -}}

{{/* common.globals.map: the value as JSON when it is a map, else {}. */}}
{{- define "common.globals.map" -}}
{{- if kindIs "map" . -}}{{- toJson . -}}{{- else -}}{}{{- end -}}
{{- end -}}

{{/* common.globals.list: the value as JSON when it is a list, else []. */}}
{{- define "common.globals.list" -}}
{{- if kindIs "slice" . -}}{{- toJson . -}}{{- else -}}[]{{- end -}}
{{- end -}}

{{/* common.globals.string: the value as a string when it is a scalar (numbers as written), else "". */}}
{{- define "common.globals.string" -}}
{{- if not (or (kindIs "map" .) (kindIs "slice" .)) -}}{{- include "common.strings.scalar" . -}}{{- end -}}
{{- end -}}
