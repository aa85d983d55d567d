{{/*
Images, as OSMO publishes them and NVIDIA's charts spell them:
{{global.osmoImageLocation}}/{{imageName}}:{{global.osmoImageTag}}. Our additions per
component: imageLocation and imageTag override the global ones, imageDigest pins the
image and replaces the tag. An empty tag means the chart's appVersion.
*/}}

{{/*
common.images.image: the full image reference of a component's values.
Usage: image: {{ include "common.images.image" (dict "ctx" $ "values" .Values.services.worker) | quote }}
*/}}
{{- define "common.images.image" -}}
{{- $global := include "common.globals" .ctx | fromJson -}}
{{- $location := include "common.strings.scalar" .values.imageLocation | default $global.osmoImageLocation -}}
{{- $reference := printf "%s/%s" (trimSuffix "/" $location) (include "common.strings.scalar" .values.imageName) -}}
{{- with .values.imageDigest -}}
{{- printf "%s@%s" $reference . -}}
{{- else -}}
{{- $tag := include "common.strings.scalar" .values.imageTag | default $global.osmoImageTag | default .ctx.Chart.AppVersion -}}
{{- printf "%s:%s" $reference $tag -}}
{{- end -}}
{{- end -}}

{{/*
common.images.pullPolicy: the component's imagePullPolicy, else IfNotPresent.
Usage: imagePullPolicy: {{ include "common.images.pullPolicy" .Values.services.worker }}
*/}}
{{- define "common.images.pullPolicy" -}}
{{- .imagePullPolicy | default "IfNotPresent" -}}
{{- end -}}

{{/*
common.images.pullSecrets: global.imagePullSecrets, the legacy global.imagePullSecret
string and imagePullSecrets, each entry "name" or {name: name}, de-duplicated in order.
Renders nothing at all when there are none.
Usage: {{- with include "common.images.pullSecrets" . }}{{ . | nindent 6 }}{{ end }}
*/}}
{{- define "common.images.pullSecrets" -}}
{{- include "common.memo" (dict "ctx" . "name" "common.images.pullSecrets.compute") -}}
{{- end -}}

{{- define "common.images.pullSecrets.compute" -}}
{{- $names := list -}}
{{- $global := include "common.globals" . | fromJson -}}
{{- $entries := concat $global.imagePullSecrets (list $global.imagePullSecret) (default list .Values.imagePullSecrets) -}}
{{- range $entries -}}
{{- $name := . -}}
{{- if kindIs "map" . -}}{{- $name = dig "name" "" . -}}{{- end -}}
{{- $name = toString (default "" $name) -}}
{{- if and $name (not (has $name $names)) -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- with $names -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}
