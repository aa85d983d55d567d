{{/*
backend-operator.globals: NVIDIA's backend-operator keys of `global`, every key present and
well-typed (global stays open, so a parent chart may leave any of them out), as JSON.
Usage: {{ $g := include "backend-operator.globals" . | fromJson }}
*/}}
{{- define "backend-operator.globals" -}}
{{- include "common.memo" (dict "ctx" . "name" "backend-operator.globals.compute") -}}
{{- end -}}

{{- define "backend-operator.globals.compute" -}}
{{- $g := .Values.global -}}
{{- if not (kindIs "map" $g) -}}{{- $g = dict -}}{{- end -}}
{{- $networkPolicy := include "common.globals.map" (dig "networkPolicy" dict $g) | fromJson -}}
{{- $priorityClasses := include "common.globals.map" (dig "priorityClasses" dict $g) | fromJson -}}
{{- $string := dict -}}
{{- range $key, $default := dict
  "serviceUrl" "" "accountUsername" "" "accountPasswordSecret" "svc-osmo-admin" "accountPasswordSecretKey" "password"
  "accountTokenSecret" "agent-token" "accountTokenSecretKey" "token" "loginMethod" "password" "backendName" "default"
  "agentNamespace" "osmo" "backendNamespace" "osmo-namespace" "backendTestNamespace" "" "nodeConditionPrefix" "" "includeNamespaceUsage" "osmo-staging,osmo-prod" -}}
{{- $_ := set $string $key (include "common.globals.string" (hasKey $g $key | ternary (index $g $key) $default)) -}}
{{- end -}}
{{- toJson (merge $string (dict
  "enableClusterRoles" (ne (toString (dig "enableClusterRoles" true $g)) "false")
  "enableNonClusterRoles" (ne (toString (dig "enableNonClusterRoles" true $g)) "false")
  "tolerations" (include "common.globals.list" (dig "tolerations" list $g) | fromJsonArray)
  "networkPolicy" (dict
    "enabled" (eq (toString (dig "enabled" false $networkPolicy)) "true")
    "clusterCIDRs" (include "common.globals.list" (dig "clusterCIDRs" list $networkPolicy) | fromJsonArray)
    "dnsNamespace" (include "common.globals.string" (dig "dnsNamespace" "kube-system" $networkPolicy))
    "allowedNamespaces" (include "common.globals.list" (dig "allowedNamespaces" list $networkPolicy) | fromJsonArray)
    "additionalEgressRules" (include "common.globals.list" (dig "additionalEgressRules" list $networkPolicy) | fromJsonArray))
  "priorityClasses" (dict
    "enabled" (ne (toString (dig "enabled" true $priorityClasses)) "false")
    "classes" (include "common.globals.list" (dig "classes" list $priorityClasses) | fromJsonArray))
)) -}}
{{- end -}}

{{/*
backend-operator.nameIn: the name of an object of this release in a namespace:
"<fullname>-<suffix>" in the release namespace, "<release namespace>-<fullname>-<suffix>"
(common.names.qualified) in any other, so two releases that share a workflow or test
namespace never collide there.
Usage: {{ include "backend-operator.nameIn" (dict "ctx" $ "namespace" $ns "suffix" "worker") }}
*/}}
{{- define "backend-operator.nameIn" -}}
{{- if eq .namespace .ctx.Release.Namespace -}}
{{- include "common.names.object" (dict "ctx" .ctx "suffix" .suffix) -}}
{{- else -}}
{{- include "common.names.qualified" (dict "ctx" .ctx "suffix" .suffix) -}}
{{- end -}}
{{- end -}}

{{/*
backend-operator.listener.name / backend-operator.worker.name: the Deployments' names
(services.<c>.serviceName when set, else "<fullname>-listener" / "<fullname>-worker").
*/}}
{{- define "backend-operator.listener.name" -}}
{{- include "common.names.object" (dict "ctx" . "serviceName" .Values.services.backendListener.serviceName "suffix" "listener") -}}
{{- end -}}

{{- define "backend-operator.worker.name" -}}
{{- include "common.names.object" (dict "ctx" . "serviceName" .Values.services.backendWorker.serviceName "suffix" "worker") -}}
{{- end -}}

{{/* backend-operator.testRunner.configMapName: the ConfigMap holding the test CronJob template. */}}
{{- define "backend-operator.testRunner.configMapName" -}}
{{- include "common.names.object" (dict "ctx" . "suffix" "test-runner-template") -}}
{{- end -}}

{{/*
backend-operator.testRunner.serviceAccountName: the account the test pods (created by the
worker in global.backendTestNamespace) run under: backendTestRunner.podTemplate.serviceAccount
or backendTestRunner.serviceAccount as written, else the resolved account.
*/}}
{{- define "backend-operator.testRunner.serviceAccountName" -}}
{{- $runner := .Values.backendTestRunner -}}
{{- include "common.strings.scalar" (dig "podTemplate" "serviceAccount" "" $runner) | default (include "common.strings.scalar" $runner.serviceAccount) | default (include "common.serviceAccount.name" .) -}}
{{- end -}}

{{/*
backend-operator.testRunner.createsAccount: "true" when the chart creates the resolved
account in global.backendTestNamespace as well (a pod can only run under an account of its
own namespace): RBAC on, a test namespace other than the release's, the chart creating its
account, and no test account named explicitly.
*/}}
{{- define "backend-operator.testRunner.createsAccount" -}}
{{- $g := include "backend-operator.globals" . | fromJson -}}
{{- if and $g.enableClusterRoles $g.backendTestNamespace (ne $g.backendTestNamespace .Release.Namespace) .Values.serviceAccount.create (eq (include "backend-operator.testRunner.serviceAccountName" .) (include "common.serviceAccount.name" .)) -}}
true
{{- end -}}
{{- end -}}

{{/* backend-operator.workflowNamespace: where workflow pods run and the workflow account lives. */}}
{{- define "backend-operator.workflowNamespace" -}}
{{- $g := include "backend-operator.globals" . | fromJson -}}
{{- .Values.workflowServiceAccount.namespace | default $g.backendNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* backend-operator.workflowServiceAccountName: workflowServiceAccount.name, else "<fullname>-workflow" named for its namespace. */}}
{{- define "backend-operator.workflowServiceAccountName" -}}
{{- .Values.workflowServiceAccount.name | default (include "backend-operator.nameIn" (dict "ctx" . "namespace" (include "backend-operator.workflowNamespace" .) "suffix" "workflow")) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* backend-operator.priorityClassName: the name this release gives one of global.priorityClasses.classes. */}}
{{- define "backend-operator.priorityClassName" -}}
{{- include "common.names.qualified" (dict "ctx" .ctx "suffix" (include "common.strings.scalar" .name)) -}}
{{- end -}}

{{/*
backend-operator.login: how the listener and worker log in to OSMO, as NVIDIA's chart passes
it, as JSON {args, mount, volume}: with loginMethod password, `--username <user>
--password_file /opt/osmo/secrets/password.txt` and the password Secret's key mounted at that
path; with token, `--token_file /opt/osmo/secrets/token.txt` and the token Secret's key.
*/}}
{{- define "backend-operator.login" -}}
{{- $g := include "backend-operator.globals" . | fromJson -}}
{{- $login := dict "args" list -}}
{{- $file := "" -}}
{{- $secret := dict -}}
{{- if eq $g.loginMethod "password" -}}
{{- $file = "password.txt" -}}
{{- $_ := set $login "args" (list "--username" $g.accountUsername "--password_file" "/opt/osmo/secrets/password.txt") -}}
{{- $secret = dict "secretName" $g.accountPasswordSecret "items" (list (dict "key" $g.accountPasswordSecretKey "path" $file)) -}}
{{- else if eq $g.loginMethod "token" -}}
{{- $file = "token.txt" -}}
{{- $_ := set $login "args" (list "--token_file" "/opt/osmo/secrets/token.txt") -}}
{{- $secret = dict "secretName" $g.accountTokenSecret "items" (list (dict "key" $g.accountTokenSecretKey "path" $file)) -}}
{{- end -}}
{{- if $file -}}
{{- $_ := set $login "mount" (dict "name" "osmo-secret" "mountPath" (printf "/opt/osmo/secrets/%s" $file) "subPath" $file "readOnly" true) -}}
{{- $_ := set $login "volume" (dict "name" "osmo-secret" "secret" $secret) -}}
{{- end -}}
{{- toJson $login -}}
{{- end -}}

{{/*
backend-operator.errors: this chart's findings for common.validate, as a JSON list of
messages naming the key, the value and the rule.
*/}}
{{- define "backend-operator.errors" -}}
{{- $g := include "backend-operator.globals" . | fromJson -}}
{{- $errors := list -}}
{{- if not (has $g.loginMethod (list "password" "token")) -}}
{{- $errors = append $errors (printf "global.loginMethod: %q is not supported (expected password or token)" $g.loginMethod) -}}
{{- end -}}
{{- if not $g.backendNamespace -}}
{{- $errors = append $errors "global.backendNamespace: required (the namespace workflow pods run in, passed as --namespace)" -}}
{{- end -}}
{{- $listener := include "backend-operator.listener.name" . -}}
{{- if eq $listener (include "backend-operator.worker.name" .) -}}
{{- $errors = append $errors (printf "services.backendWorker.serviceName: %q is also the listener's Deployment name (services.backendListener.serviceName); each Deployment needs its own" $listener) -}}
{{- end -}}
{{- $runner := .Values.backendTestRunner -}}
{{- $templateAccount := include "common.strings.scalar" (dig "podTemplate" "serviceAccount" "" $runner) -}}
{{- $runnerAccount := include "common.strings.scalar" $runner.serviceAccount -}}
{{- if and $templateAccount $runnerAccount (ne $templateAccount $runnerAccount) -}}
{{- $errors = append $errors (printf "backendTestRunner.serviceAccount: %q differs from backendTestRunner.podTemplate.serviceAccount %q (both name the test pods' account; set one)" $runnerAccount $templateAccount) -}}
{{- end -}}
{{- range $i, $cidr := $g.networkPolicy.clusterCIDRs -}}
{{- $text := include "common.strings.scalar" $cidr -}}
{{- if not (regexMatch "^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$|^[0-9a-fA-F:]+:[0-9a-fA-F:]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$" $text) -}}
{{- $errors = append $errors (printf "global.networkPolicy.clusterCIDRs[%d]: %q is not a CIDR (expected an address and prefix length, like 10.0.0.0/8)" $i $text) -}}
{{- end -}}
{{- end -}}
{{- if $g.priorityClasses.enabled -}}
{{- $seen := list -}}
{{- range $i, $class := $g.priorityClasses.classes -}}
{{- $name := include "common.strings.scalar" (dig "name" "" (kindIs "map" $class | ternary $class dict)) -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$" $name) -}}
{{- $errors = append $errors (printf "global.priorityClasses.classes[%d].name: %q is not a valid name (expected lowercase letters, digits, '-' and '.')" $i $name) -}}
{{- else if has $name $seen -}}
{{- $errors = append $errors (printf "global.priorityClasses.classes[%d].name: %q is listed twice (each class once)" $i $name) -}}
{{- end -}}
{{- $seen = append $seen $name -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}

{{/*
backend-operator.rbacMeta: metadata of an RBAC object (name, namespace unless cluster-scoped, labels).
Usage: {{ include "backend-operator.rbacMeta" (dict "ctx" $ "name" $name "namespace" $ns "component" "worker") | nindent 2 }}
*/}}
{{- define "backend-operator.rbacMeta" -}}
name: {{ .name }}
{{- with .namespace }}
namespace: {{ . }}
{{- end }}
labels:
  {{- include "common.labels.render" (dict "ctx" .ctx "component" .component) | nindent 2 }}
{{- end -}}

{{/*
backend-operator.binding: a RoleBinding (with "namespace") or ClusterRoleBinding of the role
named "name" to one ServiceAccount: the resolved account in the release namespace unless
"account"/"accountNamespace" say otherwise (the test pods' account in the test namespace).
Usage: {{ include "backend-operator.binding" (dict "ctx" $ "name" $name "namespace" $ns "component" "worker") }}
*/}}
{{- define "backend-operator.binding" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ ternary "RoleBinding" "ClusterRoleBinding" (not (empty .namespace)) }}
metadata:
  {{- include "backend-operator.rbacMeta" . | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ ternary "Role" "ClusterRole" (not (empty .namespace)) }}
  name: {{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ .account | default (include "common.serviceAccount.name" .ctx) }}
    namespace: {{ .accountNamespace | default .ctx.Release.Namespace }}
{{- end -}}

{{/*
backend-operator.workflowGcpConfigMapName: the credential ConfigMap workflow pods mount (GCP
federation): the release's own in the release namespace, else its copy in the workflow namespace.
*/}}
{{- define "backend-operator.workflowGcpConfigMapName" -}}
{{- $namespace := include "backend-operator.workflowNamespace" . -}}
{{- if eq $namespace .Release.Namespace -}}
{{- include "common.workloadIdentity.gcpConfigMapName" . -}}
{{- else -}}
{{- include "common.names.qualified" (dict "ctx" . "suffix" "gcp-credentials") -}}
{{- end -}}
{{- end -}}
