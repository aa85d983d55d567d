{{/*
common.notes: the NOTES.txt body every chart prints: which ServiceAccount the pods
run under, the workload identity detected, the federated-credential subject to
register in the cloud, and the next step for that cloud.
Usage: {{ include "common.notes" . }}
*/}}
{{- define "common.notes" -}}
{{- $sa := include "common.serviceAccount.name" . -}}
{{- $subject := printf "system:serviceaccount:%s:%s" .Release.Namespace $sa -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- $annotations := include "common.serviceAccount.annotations" (dict "ctx" . "annotations" .Values.serviceAccount.annotations) | fromJson -}}
{{- $provider := include "common.notes.provider" (dict "wi" $wi "annotations" $annotations) -}}
OSMO {{ .Chart.Name }} {{ .Chart.AppVersion }} is installed as release "{{ .Release.Name }}" in namespace "{{ .Release.Namespace }}".

ServiceAccount: every pod runs under "{{ $sa }}".
{{- if .Values.serviceAccount.create }}
  The chart creates and owns it. To hand it over to your own tooling later
  (serviceAccount.create=false), first add the annotation
  helm.sh/resource-policy: keep (see the chart README).
{{- else }}
  It is pre-provisioned: this chart never creates, changes or deletes it, and
  serviceAccount.annotations are not applied to it. It must exist in "{{ .Release.Namespace }}"
  before pods can start{{ if $annotations }}, carrying:
{{- range $key, $value := $annotations }}
    {{ $key }}: {{ $value }}
{{- end }}{{ else }}.{{ end }}
{{- end }}

Workload identity: {{ $provider | default "none configured" }}
{{- if $provider }}
  Federated credential subject: {{ $subject }}
  Issuer: your cluster's OIDC issuer URL (kubectl get --raw /.well-known/openid-configuration)
{{- end }}
{{- if eq $provider "azure" }}
  Next step: add a federated credential to the managed identity{{ with index $annotations "azure.workload.identity/client-id" }} (client ID {{ . }}){{ end }}:
    az identity federated-credential create --name {{ include "common.names.fullname" . }} \
      --identity-name <identity> --resource-group <group> \
      --issuer <issuer> --subject {{ $subject }} --audience api://AzureADTokenExchange
  Pods are mutated by the Azure webhook only when labelled azure.workload.identity/use: "true".
{{- else if eq $provider "aws" }}
  Next step: let the IAM role{{ with index $annotations "eks.amazonaws.com/role-arn" }} {{ . }}{{ end }} trust the cluster:
    trust policy principal: Federated arn:aws:iam::<account>:oidc-provider/<issuer without https://>
    conditions: <issuer>:sub = {{ $subject }}, <issuer>:aud = sts.amazonaws.com
{{- else if eq $provider "gcp" }}
{{- $gsa := index $annotations "iam.gke.io/gcp-service-account" }}
{{- if $wi.gcp.workloadIdentityProvider }}
{{- $principal := printf "principal://iam.googleapis.com/%s/subject/%s" (regexReplaceAll "^//iam.googleapis.com/(.*)/providers/.*$" $wi.gcp.workloadIdentityProvider "${1}") $subject }}
  Outside GKE: pods read {{ include "common.workloadIdentity.gcpDirectory" $ }}/credential-configuration.json
  (GOOGLE_APPLICATION_CREDENTIALS), exchanging their token at the pool provider.
{{- if $gsa }}
  Next step: let the pool principal impersonate {{ $gsa }}:
    gcloud iam service-accounts add-iam-policy-binding {{ $gsa }} \
      --role roles/iam.workloadIdentityUser --member "{{ $principal }}"
{{- else }}
  Next step: grant roles to the pool principal {{ $principal }}
{{- end }}
{{- else if $gsa }}
  Next step: let the Kubernetes account impersonate {{ $gsa }}:
    gcloud iam service-accounts add-iam-policy-binding {{ $gsa }} \
      --role roles/iam.workloadIdentityUser \
      --member "serviceAccount:{{ regexReplaceAll "^.*@([^.]+)\\..*$" $gsa "${1}" }}.svc.id.goog[{{ $.Release.Namespace }}/{{ $sa }}]"
{{- end }}
{{- else }}
  Set global.workloadIdentity.provider (azure, aws or gcp), or annotate the
  ServiceAccount yourself, to run these pods under a cloud identity.
{{- end }}

Check what each pod received (no checkout needed):
  go install github.com/osmo-wi/charts/cmd/identity-check@latest
  identity-check --namespace {{ .Release.Namespace }} --release {{ .Release.Name }}
{{- end -}}

{{/* common.notes.provider: azure, aws or gcp from the shortcut, else from the account's annotations. */}}
{{- define "common.notes.provider" -}}
{{- if .wi.provider -}}{{- .wi.provider -}}
{{- else if hasKey .annotations "azure.workload.identity/client-id" -}}azure
{{- else if hasKey .annotations "eks.amazonaws.com/role-arn" -}}aws
{{- else if hasKey .annotations "iam.gke.io/gcp-service-account" -}}gcp
{{- end -}}
{{- end -}}
