{{/*
Labels. Two sets: the standard labels for metadata, and the minimal selector
labels (name, instance, component). User labels never reach a selector, so
adding a pod label can never hit an immutable field on upgrade.
*/}}

{{/*
common.labels.standard: labels for every object's metadata, as JSON; "component" optional.
Usage: {{ include "common.labels.standard" (dict "ctx" $ "component" "worker") | fromJson }}
*/}}
{{- define "common.labels.standard" -}}
{{- $labels := dict
  "app.kubernetes.io/name" (include "common.names.name" .ctx)
  "app.kubernetes.io/instance" .ctx.Release.Name
  "helm.sh/chart" (printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-")
  "app.kubernetes.io/version" .ctx.Chart.AppVersion
  "app.kubernetes.io/managed-by" .ctx.Release.Service
  "app.kubernetes.io/part-of" "osmo"
-}}
{{- with .component -}}{{- $_ := set $labels "app.kubernetes.io/component" . -}}{{- end -}}
{{- toJson $labels -}}
{{- end -}}

{{/*
common.labels.selector: the immutable selector of a workload; "component" optional.
Usage: {{ include "common.labels.selector" (dict "ctx" $ "component" "worker") | nindent 6 }}
*/}}
{{- define "common.labels.selector" -}}
app.kubernetes.io/name: {{ include "common.names.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/*
common.labels.stringMap: renders a map with every value quoted, numbers as written,
and nothing for an empty map or an empty value (a GitOps base file's
`eks.amazonaws.com/role-arn: ""` never reaches the object).
Usage: {{ include "common.labels.stringMap" $labels | nindent 8 }}
*/}}
{{- define "common.labels.stringMap" -}}
{{- $lines := list -}}
{{- range $key, $value := . -}}
{{- $text := include "common.strings.scalar" $value -}}
{{- if ne $text "" -}}
{{- $lines = append $lines (printf "%s: %s" (quote $key) (quote $text)) -}}
{{- end -}}
{{- end -}}
{{- join "\n" $lines -}}
{{- end -}}

{{/*
common.labels.render: the standard labels merged over extra maps, every value quoted.
The chart's own labels win, so no user label can change what a selector matches.
Usage: {{ include "common.labels.render" (dict "ctx" $ "component" "worker" "extra" (list $userLabels)) | nindent 4 }}
*/}}
{{- define "common.labels.render" -}}
{{- $standard := include "common.memo" (dict "ctx" .ctx "name" "common.labels.standard" "args" . "id" (toString .component)) | fromJson -}}
{{- include "common.labels.stringMap" (include "common.labels.merge" (concat (default list .extra) (list $standard)) | fromJson) -}}
{{- end -}}

{{/*
common.labels.merge: merges maps left to right (later wins) into a new map of strings,
as JSON; numbers as written; an empty value removes the key; anything that is not a
map is skipped.
Usage: {{ $labels := include "common.labels.merge" (list $a $b) | fromJson }}
*/}}
{{- define "common.labels.merge" -}}
{{- $merged := dict -}}
{{- range . -}}
{{- if kindIs "map" . -}}
{{- range $key, $value := . -}}
{{- $text := include "common.strings.scalar" $value -}}
{{- if eq $text "" -}}{{- $_ := unset $merged $key -}}{{- else -}}{{- $_ := set $merged $key $text -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $merged -}}
{{- end -}}
