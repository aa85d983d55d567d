{{/*
Components. A component is an entry of `services` that has an `image`; each gets a
Deployment, and a Service when it has a port. Charts list nothing twice: the
values file is the one place that says which components a chart runs.
*/}}

{{/*
common.components: the component keys of .Values.services, sorted, as a JSON list.
Usage: {{ range include "common.components" . | fromJsonArray }}
*/}}
{{- define "common.components" -}}
{{- $keys := list -}}
{{- range $key, $value := .Values.services -}}
{{- if and (kindIs "map" $value) (hasKey $value "image") -}}
{{- $keys = append $keys $key -}}
{{- end -}}
{{- end -}}
{{- toJson (sortAlpha $keys) -}}
{{- end -}}

{{/*
common.components.manifests: a Deployment (and Service) per component. "extras" maps a
component key to the additions its chart makes ("volumes", "volumeMounts", "annotations").
Usage: {{ include "common.components.manifests" (dict "ctx" $ "extras" (dict "service" $configVolume)) }}
*/}}
{{- define "common.components.manifests" -}}
{{- $ctx := .ctx -}}
{{- $extras := default dict .extras -}}
{{- range $key := include "common.components" $ctx | fromJsonArray }}
{{- $args := merge (dict "ctx" $ctx "key" $key) (default dict (index $extras $key)) }}
---
{{ include "common.deployment" $args }}
{{- with include "common.service" $args }}
---
{{- . }}
{{- end }}
{{- end }}
{{- end -}}
