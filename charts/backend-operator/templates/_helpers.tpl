{{/*
backend-operator.workflowNamespace: where workflow pods run (default: the release namespace).
Usage: {{ include "backend-operator.workflowNamespace" . }}
*/}}
{{- define "backend-operator.workflowNamespace" -}}
{{- .Values.workflowNamespace | default .Release.Namespace -}}
{{- end -}}

{{/*
backend-operator.workflowServiceAccountName: workflowServiceAccount.name, or "<fullname>-workflow".
Usage: {{ include "backend-operator.workflowServiceAccountName" . }}
*/}}
{{- define "backend-operator.workflowServiceAccountName" -}}
{{- .Values.workflowServiceAccount.name | default (printf "%s-workflow" (include "common.names.fullname" .)) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
