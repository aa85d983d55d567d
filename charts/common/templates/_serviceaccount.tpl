{{/*
ServiceAccount. Every pod and every binding of a chart names exactly one account,
resolved by one rule from the keys NVIDIA's charts read (first non-empty wins):
  1. serviceAccount.name
  2. the per-component names (services.<c>.serviceAccountName, or
     services.<c>.serviceAccount in the backend-operator chart); when several are set
     they must agree, or the render fails naming them
  3. global.serviceAccountName
  4. "<release>-<chart>" (only when serviceAccount.create is true)
With create=false and none of 1-3 set the render fails naming the key. NVIDIA's
charts create serviceAccount.name but start pods under the other keys; here a
renamed account can never leave pods behind.
*/}}

{{/*
common.serviceAccount.componentNames: every per-component account name set in the
values (services.<c>.serviceAccountName / serviceAccount, and the service chart's
gateway.<part>.serviceAccountName), as JSON {"services.worker.serviceAccountName": "name", ...}.
*/}}
{{- define "common.serviceAccount.componentNames" -}}
{{- $names := dict -}}
{{- range $key, $values := .Values.services -}}
{{- if kindIs "map" $values -}}
{{- range $field := list "serviceAccountName" "serviceAccount" -}}
{{- $name := index $values $field -}}
{{- if and $name (kindIs "string" $name) -}}
{{- $_ := set $names (printf "services.%s.%s" $key $field) $name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* The service chart's gateway parts carry their own account keys (gateway.<part>.serviceAccountName). */ -}}
{{- $gateway := .Values.gateway -}}
{{- if kindIs "map" $gateway -}}
{{- range $key, $values := $gateway -}}
{{- if and (kindIs "map" $values) $values.serviceAccountName (kindIs "string" $values.serviceAccountName) -}}
{{- $_ := set $names (printf "gateway.%s.serviceAccountName" $key) $values.serviceAccountName -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/*
common.serviceAccount.name: the resolved ServiceAccount name ("" when none can be
resolved; common.validate then fails the render with the key to set).
Usage: serviceAccountName: {{ include "common.serviceAccount.name" . }}
*/}}
{{- define "common.serviceAccount.name" -}}
{{- include "common.memo" (dict "ctx" . "name" "common.serviceAccount.name.compute") -}}
{{- end -}}

{{- define "common.serviceAccount.name.compute" -}}
{{- $components := include "common.serviceAccount.componentNames" . | fromJson -}}
{{- $global := (include "common.globals" . | fromJson).serviceAccountName -}}
{{- if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else if $components -}}
{{- index $components (first (sortAlpha (keys $components))) -}}
{{- else if $global -}}
{{- $global -}}
{{- else if .Values.serviceAccount.create -}}
{{- include "common.names.fullname" . -}}
{{- end -}}
{{- end -}}

{{/*
common.serviceAccount.annotations: the annotations the chart's account needs: those the
workload identity shortcut derives, then serviceAccount.annotations (explicit wins;
an empty value removes the key).
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
