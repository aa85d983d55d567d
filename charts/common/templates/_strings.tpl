{{/*
Strings. Helm hands templates every YAML number as a float64, and toString of
20240101 is "2.0240101e+07"; values the user wrote as numbers must render as written.
*/}}

{{/*
common.strings.scalar: a scalar as the user wrote it: whole numbers without exponent
or decimals (20240101 -> "20240101"), null as "", anything else through toString.
Usage: {{ include "common.strings.scalar" .Values.global.osmoImageTag }}
*/}}
{{- define "common.strings.scalar" -}}
{{- if kindIs "float64" . -}}
{{- if and (eq (float64 (int64 .)) .) (lt (len (toString (int64 .))) 16) -}}{{- int64 . -}}{{- else -}}{{- toString . -}}{{- end -}}
{{- else if not (kindIs "invalid" .) -}}
{{- toString . -}}
{{- end -}}
{{- end -}}
