{{/*
Workload identity shortcut: global.workloadIdentity derives the ServiceAccount
annotations and pod labels each cloud expects. Explicit serviceAccount.annotations
and extraPodLabels keep working and win over what is derived here.
*/}}

{{/*
common.workloadIdentity.settings: global.workloadIdentity, every key present.
Usage: {{ $wi := include "common.workloadIdentity.settings" . | fromJson }}
*/}}
{{- define "common.workloadIdentity.settings" -}}
{{- include "common.memo" (dict "ctx" . "name" "common.workloadIdentity.settings.compute") -}}
{{- end -}}

{{- define "common.workloadIdentity.settings.compute" -}}
{{- toJson (include "common.globals" . | fromJson).workloadIdentity -}}
{{- end -}}

{{/*
common.workloadIdentity.serviceAccountAnnotations: annotations for the account, as JSON.
Usage: {{ include "common.workloadIdentity.serviceAccountAnnotations" . | fromJson }}
*/}}
{{- define "common.workloadIdentity.serviceAccountAnnotations" -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- $annotations := dict -}}
{{- if eq $wi.provider "azure" -}}
{{- $_ := set $annotations "azure.workload.identity/client-id" $wi.azure.clientId -}}
{{- with $wi.azure.tenantId -}}{{- $_ := set $annotations "azure.workload.identity/tenant-id" . -}}{{- end -}}
{{- else if eq $wi.provider "aws" -}}
{{- $_ := set $annotations "eks.amazonaws.com/role-arn" $wi.aws.roleArn -}}
{{- else if and (eq $wi.provider "gcp") $wi.gcp.serviceAccount -}}
{{- $_ := set $annotations "iam.gke.io/gcp-service-account" $wi.gcp.serviceAccount -}}
{{- end -}}
{{- toJson $annotations -}}
{{- end -}}

{{/*
common.workloadIdentity.podLabels: labels every pod needs for the provider, as JSON
(Azure's webhook only mutates pods labelled azure.workload.identity/use).
Usage: {{ include "common.workloadIdentity.podLabels" . | fromJson }}
*/}}
{{- define "common.workloadIdentity.podLabels" -}}
{{- include "common.memo" (dict "ctx" . "name" "common.workloadIdentity.podLabels.compute") -}}
{{- end -}}

{{- define "common.workloadIdentity.podLabels.compute" -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- if eq $wi.provider "azure" -}}
{"azure.workload.identity/use": "true"}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
GCP outside GKE (gcp.workloadIdentityProvider set): no webhook exists, so every pod
mounts a projected ServiceAccount token whose audience is the provider, and an
external_account credential file from a ConfigMap, in one read-only volume.
*/}}

{{/* common.workloadIdentity.gcpDirectory: where the token and credential file are mounted. */}}
{{- define "common.workloadIdentity.gcpDirectory" -}}/var/run/secrets/tokens/gcp-ksa{{- end -}}

{{/*
common.workloadIdentity.gcpEnabled: "true" when pods need the external-account files, else "".
Usage: {{ if include "common.workloadIdentity.gcpEnabled" . }}
*/}}
{{- define "common.workloadIdentity.gcpEnabled" -}}
{{- include "common.memo" (dict "ctx" . "name" "common.workloadIdentity.gcpEnabled.compute") -}}
{{- end -}}

{{- define "common.workloadIdentity.gcpEnabled.compute" -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- if and (eq $wi.provider "gcp") $wi.gcp.workloadIdentityProvider -}}true{{- end -}}
{{- end -}}

{{/*
common.workloadIdentity.gcpConfigMapName: the ConfigMap holding the credential file.
Usage: {{ include "common.workloadIdentity.gcpConfigMapName" . }}
*/}}
{{- define "common.workloadIdentity.gcpConfigMapName" -}}
{{- printf "%s-gcp-credentials" (include "common.names.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.workloadIdentity.gcpCredentialConfiguration: the external_account JSON
(what `gcloud iam workload-identity-pools create-cred-config` writes).
Usage: {{ include "common.workloadIdentity.gcpCredentialConfiguration" . }}
*/}}
{{- define "common.workloadIdentity.gcpCredentialConfiguration" -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- $config := dict
  "type" "external_account"
  "audience" $wi.gcp.workloadIdentityProvider
  "subject_token_type" "urn:ietf:params:oauth:token-type:jwt"
  "token_url" "https://sts.googleapis.com/v1/token"
  "credential_source" (dict "file" (printf "%s/token" (include "common.workloadIdentity.gcpDirectory" .)) "format" (dict "type" "text"))
-}}
{{- with $wi.gcp.serviceAccount -}}
{{- $_ := set $config "service_account_impersonation_url" (printf "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/%s:generateAccessToken" .) -}}
{{- end -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{/*
common.workloadIdentity.gcpConfigMap: the ConfigMap manifest, only when GCP federation is on.
Usage: {{ include "common.workloadIdentity.gcpConfigMap" . }}
*/}}
{{- define "common.workloadIdentity.gcpConfigMap" -}}
{{- if include "common.workloadIdentity.gcpEnabled" . }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "common.workloadIdentity.gcpConfigMapName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" .) | nindent 4 }}
data:
  credential-configuration.json: |
    {{- include "common.workloadIdentity.gcpCredentialConfiguration" . | nindent 4 }}
{{- end }}
{{- end -}}

{{/*
common.workloadIdentity.gcpVolumes / gcpVolumeMounts / gcpEnv: the pod parts, as JSON
lists (empty when GCP federation is off).
Usage: {{ include "common.workloadIdentity.gcpVolumes" . | fromJsonArray }}
*/}}
{{- define "common.workloadIdentity.gcpVolumes" -}}
{{- if include "common.workloadIdentity.gcpEnabled" . -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- $token := dict "audience" $wi.gcp.workloadIdentityProvider "expirationSeconds" 3600 "path" "token" -}}
{{- $file := dict "key" "credential-configuration.json" "path" "credential-configuration.json" -}}
{{- $configMap := dict "name" (include "common.workloadIdentity.gcpConfigMapName" .) "items" (list $file) -}}
{{- toJson (list (dict "name" "gcp-ksa" "projected" (dict "defaultMode" 292 "sources" (list (dict "serviceAccountToken" $token) (dict "configMap" $configMap))))) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{- define "common.workloadIdentity.gcpVolumeMounts" -}}
{{- if include "common.workloadIdentity.gcpEnabled" . -}}
{{- toJson (list (dict "name" "gcp-ksa" "mountPath" (include "common.workloadIdentity.gcpDirectory" .) "readOnly" true)) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{- define "common.workloadIdentity.gcpEnv" -}}
{{- if include "common.workloadIdentity.gcpEnabled" . -}}
{{- toJson (list (dict "name" "GOOGLE_APPLICATION_CREDENTIALS" "value" (printf "%s/credential-configuration.json" (include "common.workloadIdentity.gcpDirectory" .)))) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}
