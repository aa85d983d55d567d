{{/*
service.database.password.errors: the database password rule, as a JSON list of messages
(service.validate reports them).

Every OSMO program of this chart (API, worker, logger, agent, delayed job monitor) loads
OSMO's PostgresConfig, whose postgres_password has no default
(src/utils/connectors/postgres.py:137 at NVIDIA/OSMO d59aed3c4): without it the program
prints "No value provided for config postgres_password" and exits 1 at start
(src/utils/static_config.py:110-126). The chart gives it OSMO_POSTGRES_PASSWORD from
services.postgres.password, else from the password Secret when services.configFile.enabled
(service.env.passwords). NVIDIA's chart renders the same env, so its defaults crash-loop;
here the render fails instead, naming the fixes.

A component counts as having a password of its own when its extraEnv names
OSMO_POSTGRES_PASSWORD (a value or a valueFrom), or its extraArgs pass --postgres_password
or --config (an OSMO config file, which may hold postgres_password: the chart cannot see
into it).

The migration Job (services.migration.enabled) runs NVIDIA's run_migrations.sh, which exits
"No postgres password" without OSMO_POSTGRES_PASSWORD or an OSMO_CONFIG_FILE holding one
(deployments/charts/service/migrations/run_migrations.sh:46-52): its extraEnv counts
either. The gateway's authz sidecar is not checked: its --postgres-password defaults to ""
(src/utils/postgres/postgres_client.go:158), so it starts, and with
services.configs.enabled it reads no database at all.
*/}}
{{- define "service.database.password.errors" -}}
{{- $errors := list -}}
{{- $postgres := .Values.services.postgres -}}
{{- if not (or $postgres.password .Values.services.configFile.enabled) -}}
{{- $without := list -}}
{{- range $key := list "service" "worker" "logger" "agent" "delayedJobMonitor" -}}
{{- $values := index $.Values.services $key -}}
{{- if not (include "service.database.password.own" (dict "env" $values.extraEnv "args" $values.extraArgs "names" (list "OSMO_POSTGRES_PASSWORD"))) -}}
{{- $without = append $without (printf "services.%s" $key) -}}
{{- end -}}
{{- end -}}
{{- $migration := .Values.services.migration -}}
{{- if $migration.enabled -}}
{{- if not (include "service.database.password.own" (dict "env" $migration.extraEnv "names" (list "OSMO_POSTGRES_PASSWORD" "OSMO_CONFIG_FILE"))) -}}
{{- $without = append $without "services.migration" -}}
{{- end -}}
{{- end -}}
{{- if $without -}}
{{- $named := join ", " $without -}}
{{- if gt (len $without) 1 -}}
{{- $named = printf "%s and %s" (join ", " (initial $without)) (last $without) -}}
{{- end -}}
{{- $errors = append $errors (printf "services.postgres.password: \"\" with services.configFile.enabled false: %s would start without a database password (OSMO's postgres_password has no default) and exit: set services.configFile.enabled: true to read it from Secret %s (key %s), as the deploy guide does (it also mounts the master encryption key the programs read next), or set services.postgres.password, or give %s OSMO_POSTGRES_PASSWORD in its extraEnv" $named (include "common.strings.scalar" $postgres.passwordSecretName) (include "common.strings.scalar" $postgres.passwordSecretKey) (eq (len $without) 1 | ternary "it" "each of them")) -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}

{{/*
service.database.password.own: "true" when a component's "env" names one of "names", or
its "args" pass --postgres_password or --config (either spelling, "--flag value" or
"--flag=value"); empty otherwise.
*/}}
{{- define "service.database.password.own" -}}
{{- $names := .names -}}
{{- $own := false -}}
{{- range (default list .env) -}}
{{- if has (toString .name) $names -}}{{- $own = true -}}{{- end -}}
{{- end -}}
{{- range (default list .args) -}}
{{- $flag := regexReplaceAll "=.*$" (toString .) "" -}}
{{- if has $flag (list "--postgres_password" "--config") -}}{{- $own = true -}}{{- end -}}
{{- end -}}
{{- if $own -}}true{{- end -}}
{{- end -}}
