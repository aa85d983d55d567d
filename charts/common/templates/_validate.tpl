{{/*
Validation. common.validate is the only helper that fails: it collects every
problem in the values, then fails once with all of them, each naming the key,
the value and what is expected. Every other helper is total, so a bad value
never yields a broken manifest or a template stack trace.
*/}}

{{/*
common.validate: fail the render when the values break the contract. "errors" holds
the chart's own findings (strings), reported after the shared ones.
Usage: {{ include "common.validate" (dict "ctx" $ "errors" $chartErrors) }}
*/}}
{{- define "common.validate" -}}
{{- $ctx := .ctx -}}
{{- $state := dict "errors" list -}}
{{- include "common.validate.serviceAccount" (dict "ctx" $ctx "state" $state) -}}
{{- include "common.validate.workloadIdentity" (dict "ctx" $ctx "state" $state) -}}
{{- include "common.validate.labels" (dict "ctx" $ctx "state" $state) -}}
{{- include "common.validate.env" (dict "ctx" $ctx "state" $state) -}}
{{- $errors := concat $state.errors (default list .errors) -}}
{{- if $errors -}}
{{- fail (printf "\n%s: invalid values:\n- %s" $ctx.Chart.Name (join "\n- " $errors)) -}}
{{- end -}}
{{- end -}}

{{/* common.validate.add: appends one message to state.errors. */}}
{{- define "common.validate.add" -}}
{{- $_ := set .state "errors" (append .state.errors .message) -}}
{{- end -}}

{{- define "common.validate.serviceAccount" -}}
{{- $ctx := .ctx -}}
{{- if not (include "common.serviceAccount.name" $ctx) -}}
{{- include "common.validate.add" (dict "state" .state "message" "serviceAccount.name: required when serviceAccount.create is false (set it, or a component's own account key, or global.serviceAccountName, to the pre-provisioned ServiceAccount the pods run under)") -}}
{{- end -}}
{{- if not $ctx.Values.serviceAccount.name -}}
{{- $components := include "common.serviceAccount.componentNames" $ctx | fromJson -}}
{{- if gt (len (uniq (values $components))) 1 -}}
{{- $named := list -}}
{{- range $key := sortAlpha (keys $components) -}}{{- $named = append $named (printf "%s=%q" $key (index $components $key)) -}}{{- end -}}
{{- include "common.validate.add" (dict "state" .state "message" (printf "%s: name different ServiceAccounts, but every pod of this chart runs under one account (set serviceAccount.name, or give them one name)" (join ", " $named))) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "common.validate.workloadIdentity" -}}
{{- $wi := include "common.workloadIdentity.settings" .ctx | fromJson -}}
{{- $key := "global.workloadIdentity" -}}
{{- $guid := "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" -}}
{{- $messages := list -}}
{{- if not (has $wi.provider (list "" "azure" "aws" "gcp")) -}}
{{- $messages = append $messages (printf "%s.provider: %q is not supported (expected \"\", azure, aws or gcp)" $key $wi.provider) -}}
{{- else if eq $wi.provider "azure" -}}
{{- if not $wi.azure.clientId -}}
{{- $messages = append $messages (printf "%s.azure.clientId: required when %s.provider is azure (the managed identity's client ID, a GUID)" $key $key) -}}
{{- else if not (regexMatch $guid $wi.azure.clientId) -}}
{{- $messages = append $messages (printf "%s.azure.clientId: %q is not a GUID (expected the managed identity's client ID, like 00000000-0000-0000-0000-000000000000)" $key $wi.azure.clientId) -}}
{{- end -}}
{{- if and $wi.azure.tenantId (not (regexMatch $guid $wi.azure.tenantId)) -}}
{{- $messages = append $messages (printf "%s.azure.tenantId: %q is not a GUID (expected the Entra ID tenant ID, like 00000000-0000-0000-0000-000000000000)" $key $wi.azure.tenantId) -}}
{{- end -}}
{{- else if eq $wi.provider "aws" -}}
{{- if not $wi.aws.roleArn -}}
{{- $messages = append $messages (printf "%s.aws.roleArn: required when %s.provider is aws (expected arn:aws:iam::<12-digit account>:role/<name>)" $key $key) -}}
{{- else if not (regexMatch "^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$" $wi.aws.roleArn) -}}
{{- $messages = append $messages (printf "%s.aws.roleArn: %q is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)" $key $wi.aws.roleArn) -}}
{{- end -}}
{{- else if eq $wi.provider "gcp" -}}
{{- if and (not $wi.gcp.serviceAccount) (not $wi.gcp.workloadIdentityProvider) -}}
{{- $messages = append $messages (printf "%s.gcp: serviceAccount or workloadIdentityProvider is required when %s.provider is gcp" $key $key) -}}
{{- end -}}
{{- with $wi.gcp.serviceAccount -}}
{{- if not (regexMatch "^[^@]+@[a-z0-9][a-z0-9.-]*\\.iam\\.gserviceaccount\\.com$" .) -}}
{{- $messages = append $messages (printf "%s.gcp.serviceAccount: %q is not a Google service account address (expected <name>@<project>.iam.gserviceaccount.com)" $key .) -}}
{{- else if not (regexMatch "^[a-z][a-z0-9-]{4,28}[a-z0-9]@" .) -}}
{{- $messages = append $messages (printf "%s.gcp.serviceAccount: %q: the account name %q breaks Google's rule (6 to 30 characters of lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen)" $key . (first (splitList "@" .))) -}}
{{- end -}}
{{- end -}}
{{- if and $wi.gcp.workloadIdentityProvider (not (regexMatch "^//iam\\.googleapis\\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$" $wi.gcp.workloadIdentityProvider)) -}}
{{- $messages = append $messages (printf "%s.gcp.workloadIdentityProvider: %q is not a workload identity pool provider (expected //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)" $key $wi.gcp.workloadIdentityProvider) -}}
{{- end -}}
{{- end -}}
{{- range $messages -}}
{{- include "common.validate.add" (dict "state" $.state "message" .) -}}
{{- end -}}
{{- end -}}

{{/* common.validate.podLabelSources: every user label map, as JSON [[key, map], ...]. */}}
{{- define "common.validate.podLabelSources" -}}
{{- $ctx := . -}}
{{- $sources := list (list "global.extraPodLabels" (include "common.globals" $ctx | fromJson).extraPodLabels) (list "extraPodLabels" $ctx.Values.extraPodLabels) (list "serviceAccount.labels" $ctx.Values.serviceAccount.labels) -}}
{{- range $key, $values := $ctx.Values.services -}}
{{- if kindIs "map" $values -}}
{{- range $field := list "extraPodLabels" "podLabels" -}}
{{- with index $values $field -}}
{{- $sources = append $sources (list (printf "services.%s.%s" $key $field) .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $sources -}}
{{- end -}}

{{/* Label names and values, wherever the user supplies them. */}}
{{- define "common.validate.labels" -}}
{{- range $source := include "common.validate.podLabelSources" .ctx | fromJsonArray -}}
{{- range $name, $value := index $source 1 -}}
{{- $text := include "common.strings.scalar" $value -}}
{{- if not (regexMatch "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" $name) -}}
{{- include "common.validate.add" (dict "state" $.state "message" (printf "%s: %q is not a valid label name (expected [prefix/]name, the name at most 63 characters of letters, digits, '-', '_' and '.')" (index $source 0) $name)) -}}
{{- else if or (gt (len $text) 63) (not (regexMatch "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$" $text)) -}}
{{- include "common.validate.add" (dict "state" $.state "message" (printf "%s.%s: %q is not a valid label value (expected at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit)" (index $source 0) $name $text)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Environment variable names must be unique per container (server-side apply rejects duplicates). */}}
{{- define "common.validate.env" -}}
{{- $lists := dict "extraEnvs" .ctx.Values.extraEnvs -}}
{{- range $key, $values := .ctx.Values.services -}}
{{- if kindIs "map" $values -}}
{{- range $field := list "extraEnv" "extraEnvs" -}}
{{- $_ := set $lists (printf "services.%s.%s" $key $field) (index $values $field) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $path := sortAlpha (keys $lists) -}}
{{- $seen := list -}}
{{- range (index $lists $path) -}}
{{- if has .name $seen -}}
{{- include "common.validate.add" (dict "state" $.state "message" (printf "%s: %q is set twice (each variable name once)" $path .name)) -}}
{{- end -}}
{{- $seen = append $seen .name -}}
{{- end -}}
{{- end -}}
{{- end -}}
