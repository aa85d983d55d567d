{{/*
Images, as OSMO publishes them: nvcr.io/nvidia/osmo/<name>:<appVersion>.
Registry and tag fall back component -> global.image -> built-in default; a digest
pins the image and replaces the tag.
*/}}

{{/*
common.images.image: the full image reference of a component.
Usage: image: {{ include "common.images.image" (dict "ctx" $ "image" $component.image) }}
*/}}
{{- define "common.images.image" -}}
{{- $global := (include "common.globals" .ctx | fromJson).image -}}
{{- $registry := .image.registry | default $global.registry | default "nvcr.io/nvidia/osmo" -}}
{{- $reference := printf "%s/%s" (trimSuffix "/" $registry) .image.repository -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $reference .image.digest -}}
{{- else -}}
{{- $tag := .image.tag | default $global.tag | default .ctx.Chart.AppVersion -}}
{{- printf "%s:%s" $reference (toString $tag) -}}
{{- end -}}
{{- end -}}

{{/*
common.images.pullPolicy: component pullPolicy, else global.image.pullPolicy, else IfNotPresent.
Usage: imagePullPolicy: {{ include "common.images.pullPolicy" (dict "ctx" $ "image" $component.image) }}
*/}}
{{- define "common.images.pullPolicy" -}}
{{- .image.pullPolicy | default (include "common.globals" .ctx | fromJson).image.pullPolicy | default "IfNotPresent" -}}
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
