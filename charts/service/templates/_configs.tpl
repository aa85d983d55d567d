{{/*
service.configs.name: the ConfigMap holding the workflow podTemplates and pools.
Usage: {{ include "service.configs.name" . }}
*/}}
{{- define "service.configs.name" -}}
{{- printf "%s-configs" (include "common.names.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
service.configs.data: config.yaml as the service reads it. Values are data, so
runtime placeholders such as {{USER_CPU}} pass through untouched.
*/}}
{{- define "service.configs.data" -}}
{{- toYaml (dict "podTemplates" .Values.services.configs.podTemplates "pools" .Values.services.configs.pools) -}}
{{- end -}}

{{/*
service.configs.errors: every pool entry naming a pod template that does not exist,
as a JSON list of messages for common.validate.
*/}}
{{- define "service.configs.errors" -}}
{{- $templates := .Values.services.configs.podTemplates | default dict -}}
{{- $errors := list -}}
{{- range $pool, $spec := .Values.services.configs.pools -}}
{{- range $index, $name := $spec.common_pod_template -}}
{{- if not (hasKey $templates $name) -}}
{{- $errors = append $errors (printf "services.configs.pools.%s.common_pod_template[%d]: pod template %q is not defined (expected one of: %s under services.configs.podTemplates)" $pool $index $name (keys $templates | sortAlpha | join ", ")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
