{{/*
ServiceAccount. Every pod of a chart runs under exactly one resolved name:
serviceAccount.name, or the fullname when the chart creates the account.
*/}}

{{/*
common.serviceAccount.name: the resolved ServiceAccount name. With create=false and
no name it returns "" and common.validate fails the render with the key to set.
Usage: serviceAccountName: {{ include "common.serviceAccount.name" . }}
*/}}
{{- define "common.serviceAccount.name" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "common.names.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
common.serviceAccount.annotations: the annotations the chart's account needs: those the
workload identity shortcut derives, then serviceAccount.annotations (explicit wins).
Usage: {{ include "common.serviceAccount.annotations" (dict "ctx" $ "annotations" .Values.serviceAccount.annotations) | fromJson }}
*/}}
{{- define "common.serviceAccount.annotations" -}}
{{- $derived := include "common.workloadIdentity.serviceAccountAnnotations" .ctx | fromJson -}}
{{- include "common.labels.merge" (list $derived .annotations) -}}
{{- end -}}

{{/*
common.serviceAccount.manifest: the chart's ServiceAccount, rendered only when
serviceAccount.create is true; a pre-provisioned account is never touched.
Usage: {{ include "common.serviceAccount.manifest" . }}
*/}}
{{- define "common.serviceAccount.manifest" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "common.serviceAccount.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" . "extra" (list .Values.serviceAccount.labels)) | nindent 4 }}
  {{- with include "common.serviceAccount.annotations" (dict "ctx" . "annotations" .Values.serviceAccount.annotations) | fromJson }}
  annotations:
    {{- include "common.labels.stringMap" . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- end }}
{{- end -}}
