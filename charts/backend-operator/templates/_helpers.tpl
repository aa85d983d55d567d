{{/*
backend-operator.workflowNamespace: where workflow pods run (default: the release namespace).
Usage: {{ include "backend-operator.workflowNamespace" . }}
*/}}
{{- define "backend-operator.workflowNamespace" -}}
{{- .Values.workflowNamespace | default .Release.Namespace -}}
{{- end -}}

{{/*
backend-operator.errors: the chart's own findings for common.validate, as a JSON list.
*/}}
{{- define "backend-operator.errors" -}}
{{- $errors := list -}}
{{- if and .Values.workflowServiceAccount.create (not .Values.workflowServiceAccount.name) -}}
{{- $errors = append $errors "workflowServiceAccount.name: required when workflowServiceAccount.create is true (the account named in the service chart's pod templates)" -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
