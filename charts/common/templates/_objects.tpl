{{/*
common.extraObjects: the manifests listed in `extraObjects`, rendered with the release.
Each item is an object or a string; either passes through `tpl`, so `{{ .Release.Name }}`
and values work inside. Objects without metadata.namespace land in the release namespace
(Helm's default). For what the chart does not make: the Secret an OSMO program reads
(an ExternalSecret or SealedSecret that creates it, or a CI placeholder), a PodDisruptionBudget.
Usage: {{ include "common.extraObjects" . }}
*/}}
{{- define "common.extraObjects" -}}
{{- range $i, $object := .Values.extraObjects }}
---
{{- if kindIs "string" $object }}
{{ tpl $object $ }}
{{- else }}
{{ tpl (toYaml $object) $ }}
{{- end }}
{{- end }}
{{- end -}}
