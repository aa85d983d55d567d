{{/*
router.name: the name of the router's Deployment, Services, HPA and container:
services.service.serviceName when set, else the release-scoped fullname.
Usage: {{ include "router.name" . }}
*/}}
{{- define "router.name" -}}
{{- include "common.names.object" (dict "ctx" . "serviceName" .Values.services.service.serviceName) -}}
{{- end -}}
