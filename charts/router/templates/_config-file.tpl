{{/*
router.configFile.errors: the router's --config rule, as a JSON list of messages
(router.validate reports them).

With services.configFile.enabled false the router starts with --config
<services.configFile.path> (NVIDIA's router-service.yaml:96-98 does the same), and OSMO's
loader opens every --config file at start (src/utils/static_config.py:77 at NVIDIA/OSMO
d59aed3c4): when nothing is there the router exits. That file is the operator's OSMO config
(postgres_password, which has no default, and mek_file), put there by their own volume or
by an injector. Dropping the flag would not help: the router would then lack the password
(unless given inline) and the MEK file, and exit all the same. So the render fails unless
extraVolumeMounts mounts something at that path (or at a directory above it), or the pod
carries the Vault agent injector's vault.hashicorp.com/agent-inject annotation (the
injector mounts its files where its own annotations say; the chart cannot see them).
*/}}
{{- define "router.configFile.errors" -}}
{{- $errors := list -}}
{{- $configFile := .Values.services.configFile -}}
{{- if ne (toString $configFile.enabled) "true" -}}
{{- $path := include "common.strings.scalar" $configFile.path -}}
{{- $mounted := false -}}
{{- range (default list .Values.extraVolumeMounts) -}}
{{- $at := trimSuffix "/" (toString .mountPath) -}}
{{- if or (eq $at $path) (hasPrefix (printf "%s/" $at) $path) -}}{{- $mounted = true -}}{{- end -}}
{{- end -}}
{{- $global := include "common.globals" . | fromJson -}}
{{- range $annotations := list $global.extraPodAnnotations .Values.extraPodAnnotations .Values.services.service.extraPodAnnotations -}}
{{- if eq (toString (index (default dict $annotations) "vault.hashicorp.com/agent-inject")) "true" -}}{{- $mounted = true -}}{{- end -}}
{{- end -}}
{{- if not $mounted -}}
{{- $postgres := .Values.services.postgres -}}
{{- $errors = append $errors (printf "services.configFile.enabled: false starts the router with --config %s (services.configFile.path) and nothing is mounted there: OSMO's loader opens every --config file at start, so the router would exit (that file is where it would read postgres_password, which has no default, and mek_file): set services.configFile.enabled: true to mount the MEK file from ConfigMap %s and read the database password from Secret %s (key %s), as the deploy guide does, or mount your OSMO config file at %s with extraVolumes and extraVolumeMounts" $path (include "common.strings.scalar" $configFile.configMapName) (include "common.strings.scalar" $postgres.passwordSecretName) (include "common.strings.scalar" $postgres.passwordSecretKey) $path) -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}

{{/*
router.validate: this chart's findings for common.validate, as a JSON list of messages.
*/}}
{{- define "router.validate" -}}
{{- toJson (include "router.configFile.errors" . | fromJsonArray) -}}
{{- end -}}
