{{/*
common.testPod.identityScript: shell lines for the test pod asserting that the cloud
identity the shortcut configures was injected (by the cloud's webhook).
*/}}
{{- define "common.testPod.identityScript" -}}
{{- $wi := include "common.workloadIdentity.settings" . | fromJson -}}
{{- if eq $wi.provider "azure" -}}
test -n "${AZURE_CLIENT_ID:-}" || { echo "AZURE_CLIENT_ID not injected: is the Azure Workload Identity webhook installed?"; exit 1; }; test -s "$AZURE_FEDERATED_TOKEN_FILE"
{{- else if eq $wi.provider "aws" -}}
test -n "${AWS_ROLE_ARN:-}" || { echo "AWS_ROLE_ARN not injected: is the EKS pod identity webhook installed?"; exit 1; }; test -s "$AWS_WEB_IDENTITY_TOKEN_FILE"
{{- else -}}
true
{{- end -}}
{{- end -}}

{{/*
common.testPod.httpScript: a shell line fetching a URL (a Service of this release).
Usage: {{ include "common.testPod.httpScript" "http://osmo-router:80/api/router/version" }}
*/}}
{{- define "common.testPod.httpScript" -}}
wget -q -O /dev/null -T 10 {{ . }}
{{- end -}}

{{/*
common.testPod: the `helm test` hook pod. It runs under the chart's resolved
ServiceAccount (so it fails when the account is missing), with the chart's pod labels
and pull secrets, and runs the given shell script in tests.image.
Usage: {{ include "common.testPod" (dict "ctx" $ "script" $script) }}
*/}}
{{- define "common.testPod" -}}
{{- $ctx := .ctx -}}
{{- $image := $ctx.Values.tests.image -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ printf "%s-test" (include "common.names.fullname" $ctx) | trunc 63 | trimSuffix "-" }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.pod.labels" (dict "ctx" $ctx "component" "test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "common.serviceAccount.name" $ctx }}
  automountServiceAccountToken: {{ $ctx.Values.serviceAccount.automountServiceAccountToken }}
  {{- with include "common.images.pullSecrets" $ctx }}{{ . | nindent 2 }}{{ end }}
  securityContext:
    {{- toYaml $ctx.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: test
      image: {{ printf "%s/%s:%s" $image.registry $image.repository $image.tag | quote }}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-ec"]
      args:
        - {{ .script | quote }}
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {memory: 64Mi}
      securityContext:
        {{- toYaml $ctx.Values.containerSecurityContext | nindent 8 }}
{{- end -}}
