{{/*
Pods and the workloads that own them. Every component of every chart is rendered
by these helpers from the same values shape (services.<component>.*), so the
contract holds identically everywhere.
*/}}

{{/*
common.pod.labels: pod labels, merged lowest first: workload identity labels,
global.extraPodLabels, extraPodLabels, services.<component>.extraPodLabels, then the
standard labels (which hold the selector and cannot be overridden).
Usage: {{ include "common.pod.labels" (dict "ctx" $ "key" "worker") | nindent 8 }}
*/}}
{{- define "common.pod.labels" -}}
{{- $component := index .ctx.Values.services .key -}}
{{- $derived := include "common.workloadIdentity.podLabels" .ctx | fromJson -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- $extra := list $derived $global.extraPodLabels .ctx.Values.extraPodLabels $component.extraPodLabels -}}
{{- include "common.labels.render" (dict "ctx" .ctx "key" .key "extra" $extra) -}}
{{- end -}}

{{/*
common.pod.annotations: pod annotations, merged lowest first: global.podAnnotations,
podAnnotations, services.<component>.podAnnotations, then the chart's own (checksums).
Usage: {{ include "common.pod.annotations" (dict "ctx" $ "key" "worker" "annotations" $own) | fromJson }}
*/}}
{{- define "common.pod.annotations" -}}
{{- $component := index .ctx.Values.services .key -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- include "common.labels.merge" (list $global.podAnnotations .ctx.Values.podAnnotations $component.podAnnotations (default dict .annotations)) -}}
{{- end -}}

{{/*
common.pod.env: the workload identity env, then services.<component>.extraEnv; a
user entry with the same name replaces the derived one (no duplicate names).
Usage: {{ include "common.pod.env" (dict "ctx" $ "key" "worker") | fromJsonArray }}
*/}}
{{- define "common.pod.env" -}}
{{- $component := index .ctx.Values.services .key -}}
{{- $userNames := list -}}
{{- range $component.extraEnv -}}{{- $userNames = append $userNames .name -}}{{- end -}}
{{- $env := list -}}
{{- range include "common.workloadIdentity.gcpEnv" .ctx | fromJsonArray -}}
{{- if not (has .name $userNames) -}}{{- $env = append $env . -}}{{- end -}}
{{- end -}}
{{- toJson (concat $env $component.extraEnv) -}}
{{- end -}}

{{/*
common.deployment: a Deployment for services.<key>, running under the resolved
ServiceAccount, secure by default (the chart's podSecurityContext and
containerSecurityContext, a writable /tmp on a read-only root filesystem).
Optional: "volumes", "volumeMounts" (lists) and "annotations" (map) the chart adds.
Usage: {{ include "common.deployment" (dict "ctx" $ "key" "worker") }}
*/}}
{{- define "common.deployment" -}}
{{- $ctx := .ctx -}}
{{- $component := index $ctx.Values.services .key -}}
{{- $gcpVolumes := include "common.workloadIdentity.gcpVolumes" $ctx | fromJsonArray -}}
{{- $gcpMounts := include "common.workloadIdentity.gcpVolumeMounts" $ctx | fromJsonArray -}}
{{- $tmp := list (dict "name" "tmp" "emptyDir" dict) -}}
{{- $tmpMount := list (dict "name" "tmp" "mountPath" "/tmp") -}}
{{- $volumes := concat $tmp (default list .volumes) $gcpVolumes $component.extraVolumes -}}
{{- $mounts := concat $tmpMount (default list .volumeMounts) $gcpMounts $component.extraVolumeMounts -}}
{{- $env := include "common.pod.env" . | fromJsonArray -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.names.componentFullname" . }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" $ctx "key" .key) | nindent 4 }}
spec:
  replicas: {{ $component.replicas }}
  revisionHistoryLimit: {{ $ctx.Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "common.labels.selector" (dict "ctx" $ctx "key" .key) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.pod.labels" . | nindent 8 }}
      {{- with include "common.pod.annotations" . | fromJson }}
      annotations:
        {{- include "common.labels.stringMap" . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "common.serviceAccount.name" $ctx }}
      automountServiceAccountToken: {{ $ctx.Values.serviceAccount.automountServiceAccountToken }}
      {{- with include "common.images.pullSecrets" $ctx }}{{ . | nindent 6 }}{{ end }}
      securityContext:
        {{- toYaml $ctx.Values.podSecurityContext | nindent 8 }}
      {{- with $component.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $component.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $component.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ include "common.names.component" .key }}
          image: {{ include "common.images.image" (dict "ctx" $ctx "image" $component.image) | quote }}
          imagePullPolicy: {{ include "common.images.pullPolicy" (dict "ctx" $ctx "image" $component.image) }}
          {{- with $component.extraArgs }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if $component.port }}
          ports:
            - name: http
              containerPort: {{ $component.port }}
              protocol: TCP
          {{- end }}
          {{- with $component.livenessProbe }}
          livenessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $component.readinessProbe }}
          readinessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $component.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml $ctx.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            {{- toYaml $mounts | nindent 12 }}
      volumes:
        {{- toYaml $volumes | nindent 8 }}
{{- end -}}

{{/*
common.service: a ClusterIP Service for services.<key>, when the component has a port.
Usage: {{ include "common.service" (dict "ctx" $ "key" "router") }}
*/}}
{{- define "common.service" -}}
{{- $component := index .ctx.Values.services .key -}}
{{- if $component.port }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "common.names.componentFullname" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.render" (dict "ctx" .ctx "key" .key) | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "common.labels.selector" (dict "ctx" .ctx "key" .key) | nindent 4 }}
  ports:
    - name: http
      port: {{ $component.port }}
      targetPort: http
      protocol: TCP
{{- end }}
{{- end -}}

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
common.testPod.httpScript: shell lines fetching path from the component's Service,
or nothing when the component has no port.
Usage: {{ include "common.testPod.httpScript" (dict "ctx" $ "key" "router" "path" "/health") }}
*/}}
{{- define "common.testPod.httpScript" -}}
{{- $component := index .ctx.Values.services .key -}}
{{- if $component.port -}}
wget -q -O /dev/null -T 10 http://{{ include "common.names.componentFullname" . }}:{{ $component.port }}{{ .path }}
{{- else -}}
true
{{- end -}}
{{- end -}}

{{/*
common.testPod: the `helm test` hook pod. It runs under the chart's resolved
ServiceAccount (so it fails when the account is missing), with the chart's pod labels
and pull secrets, and runs the given shell script in tests.image.
Usage: {{ include "common.testPod" (dict "ctx" $ "key" "router" "script" $script) }}
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
    {{- include "common.labels.render" (dict "ctx" $ctx "key" "test" "extra" (list (include "common.workloadIdentity.podLabels" $ctx | fromJson) (include "common.globals" $ctx | fromJson).extraPodLabels $ctx.Values.extraPodLabels)) | nindent 4 }}
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
