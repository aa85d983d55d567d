{{/*
global.* is read by every chart and stays open in the schema (so a chart works as a
subchart), which means its keys may be missing or of the wrong type. Helpers read
global only through common.globals, which always returns every key with the right
type (the schema rejects wrong types; this keeps helpers total even without it).
*/}}

{{/*
common.globals: the global values the charts read, each present and well-typed.
Usage: {{ $global := include "common.globals" . | fromYaml }}
*/}}
{{- define "common.globals" -}}
{{- $g := .Values.global -}}
{{- if not (kindIs "map" $g) -}}{{- $g = dict -}}{{- end -}}
{{- $image := include "common.globals.map" (dig "image" dict $g) | fromYaml -}}
{{- $wi := include "common.globals.map" (dig "workloadIdentity" dict $g) | fromYaml -}}
{{- $azure := include "common.globals.map" (dig "azure" dict $wi) | fromYaml -}}
{{- $aws := include "common.globals.map" (dig "aws" dict $wi) | fromYaml -}}
{{- $gcp := include "common.globals.map" (dig "gcp" dict $wi) | fromYaml -}}
extraPodLabels: {{ include "common.globals.map" (dig "extraPodLabels" dict $g) }}
podAnnotations: {{ include "common.globals.map" (dig "podAnnotations" dict $g) }}
imagePullSecrets: {{ include "common.globals.list" (dig "imagePullSecrets" list $g) }}
imagePullSecret: {{ include "common.globals.string" (dig "imagePullSecret" "" $g) }}
image:
  registry: {{ include "common.globals.string" (dig "registry" "" $image) }}
  tag: {{ include "common.globals.string" (dig "tag" "" $image) }}
  pullPolicy: {{ include "common.globals.string" (dig "pullPolicy" "" $image) }}
workloadIdentity:
  provider: {{ include "common.globals.string" (dig "provider" "" $wi) }}
  azure:
    clientId: {{ include "common.globals.string" (dig "clientId" "" $azure) }}
    tenantId: {{ include "common.globals.string" (dig "tenantId" "" $azure) }}
  aws:
    roleArn: {{ include "common.globals.string" (dig "roleArn" "" $aws) }}
  gcp:
    serviceAccount: {{ include "common.globals.string" (dig "serviceAccount" "" $gcp) }}
    workloadIdentityProvider: {{ include "common.globals.string" (dig "workloadIdentityProvider" "" $gcp) }}
{{- end -}}

{{/* common.globals.map: the value as flow YAML when it is a map, else {}. */}}
{{- define "common.globals.map" -}}
{{- if kindIs "map" . -}}{{- toJson . -}}{{- else -}}{}{{- end -}}
{{- end -}}

{{/* common.globals.list: the value as flow YAML when it is a list, else []. */}}
{{- define "common.globals.list" -}}
{{- if kindIs "slice" . -}}{{- toJson . -}}{{- else -}}[]{{- end -}}
{{- end -}}

{{/* common.globals.string: the value quoted when it is a scalar, else "". */}}
{{- define "common.globals.string" -}}
{{- if or (kindIs "map" .) (kindIs "slice" .) -}}""{{- else -}}{{- toString (default "" .) | quote -}}{{- end -}}
{{- end -}}
