{{/*
The configs ConfigMap: services.configs.* in the format OSMO's config loader reads
(src/service/core/config/configmap_loader.py, _EXPECTED_CONFIG_KEYS). Values are data,
so runtime placeholders such as {{USER_CPU}} pass through Helm untouched.
*/}}

{{/*
service.configs.sections: values key -> loader key, for the sections copied as they are.
*/}}
{{- define "service.configs.sections" -}}
{{- toJson (dict
  "workflow" "workflow"
  "dataset" "dataset"
  "pools" "pools"
  "podTemplates" "pod_templates"
  "resourceValidations" "resource_validations"
  "backends" "backends"
  "backendTests" "backend_tests"
  "groupTemplates" "group_templates"
  "roles" "roles") -}}
{{- end -}}

{{/*
service.configs.data: config.yaml, as NVIDIA's chart writes it: each non-empty section
under the loader's key; `service` gets service_base_url https://<services.service.hostname>
unless it sets one.
*/}}
{{- define "service.configs.data" -}}
{{- $configs := .Values.services.configs -}}
{{- $out := dict -}}
{{- if $configs.service -}}
{{- $service := deepCopy $configs.service -}}
{{- if and (not (index $service "service_base_url")) .Values.services.service.hostname -}}
{{- $_ := set $service "service_base_url" (printf "https://%s" .Values.services.service.hostname) -}}
{{- end -}}
{{- $_ := set $out "service" $service -}}
{{- end -}}
{{- range $key, $loaderKey := include "service.configs.sections" . | fromJson -}}
{{- with index $configs $key -}}{{- $_ := set $out $loaderKey . -}}{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
service.configs.errors: every pod template a pool (common_pod_template) or one of its
platforms (override_pod_template) names that services.configs.podTemplates does not
define, as a JSON list of messages for common.validate. OSMO's loader would only log a
warning and run the pool without it. Resource validations and group templates keep the
loader's behaviour (NVIDIA's docs name `default_storage`, which its chart does not ship).
Checked only when services.configs.enabled.
*/}}
{{- define "service.configs.errors" -}}
{{- $configs := .Values.services.configs -}}
{{- $errors := list -}}
{{- if $configs.enabled -}}
{{- $known := keys (default dict $configs.podTemplates) | sortAlpha -}}
{{- $uses := list -}}
{{- range $pool := keys (default dict $configs.pools) | sortAlpha -}}
{{- $spec := index $configs.pools $pool -}}
{{- $uses = append $uses (list (printf "services.configs.pools.%s.common_pod_template" $pool) (dig "common_pod_template" list $spec)) -}}
{{- $platforms := dig "platforms" dict $spec | default dict -}}
{{- range $platform := keys $platforms | sortAlpha -}}
{{- $uses = append $uses (list (printf "services.configs.pools.%s.platforms.%s.override_pod_template" $pool $platform) (dig "override_pod_template" list (index $platforms $platform))) -}}
{{- end -}}
{{- end -}}
{{- range $uses -}}
{{- $key := index . 0 -}}
{{- range $name := index . 1 | default list -}}
{{- if not (has (toString $name) $known) -}}
{{- $errors = append $errors (printf "%s: %q is not a pod template (known: %s)" $key (toString $name) (join ", " $known | default "none")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
