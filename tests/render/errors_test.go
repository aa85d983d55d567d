package render_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad values fail at render with the exact message a user sees from `helm install`:
// the key, the value and what is expected, never a template stack trace alone.
func TestBadValuesFailWithAClearMessage(t *testing.T) {
	// Messages from the charts' own validation, wrapped the way Helm reports a `fail`.
	validation := func(chart string, lines ...string) string {
		return "execution error at (" + chart + "/templates/validate.yaml:2:4): \n" + chart + ": invalid values:\n- " + strings.Join(lines, "\n- ")
	}
	// Messages from values.schema.json, as Helm formats them.
	schema := func(chart string, lines ...string) string {
		return "values don't meet the specifications of the schema(s) in the following chart(s):\n" + chart + ":\n- " + strings.Join(lines, "\n- ") + "\n"
	}
	// The account message every chart gives when no account can be resolved.
	const noAccount = "serviceAccount.name: required when serviceAccount.create is false (set it, or a component's own account key, or global.serviceAccountName, to the pre-provisioned ServiceAccount the pods run under)"
	cases := []struct {
		name   string
		chart  string
		values string
		want   string
	}{
		// The values contract, on every chart.
		{"create false without a name", "service", `serviceAccount: {create: false}`, validation("service", noAccount)},
		{"create false with an empty name", "router", `serviceAccount: {create: false, name: ""}`, validation("router", noAccount)},
		{"components naming different accounts", "service", `services: {worker: {serviceAccountName: team-a}, logger: {serviceAccountName: team-b}}`,
			validation("service", `services.logger.serviceAccountName="team-b", services.worker.serviceAccountName="team-a": name different ServiceAccounts, but every pod of this chart runs under one account (set serviceAccount.name, or give them one name)`)},
		{"listener and worker naming different accounts", "backend-operator", `services: {backendListener: {serviceAccount: a}, backendWorker: {serviceAccount: b}}`,
			validation("backend-operator", `services.backendListener.serviceAccount="a", services.backendWorker.serviceAccount="b": name different ServiceAccounts, but every pod of this chart runs under one account (set serviceAccount.name, or give them one name)`)},
		{"typo in a top-level key", "router", `serviceAcount: {create: false}`,
			schema("router", "at '': additional properties 'serviceAcount' not allowed")},
		{"typo inside serviceAccount", "web-ui", `serviceAccount: {annotation: {a: b}}`,
			schema("web-ui", "at '/serviceAccount': additional properties 'annotation' not allowed")},
		{"typo inside a component", "service", `services: {worker: {extraPodLabel: {a: b}}}`,
			schema("service", "at '/services/worker': additional properties 'extraPodLabel' not allowed")},
		{"unknown component", "router", `services: {routr: {replicas: 2}}`,
			schema("router", "at '/services': additional properties 'routr' not allowed")},
		{"labels as a list", "router", `extraPodLabels: [azure.workload.identity/use]`,
			schema("router", "at '/extraPodLabels': got array, want object")},
		{"label value as a map", "backend-operator", `services: {backendListener: {extraPodLabels: {team: {name: a}}}}`,
			schema("backend-operator", "at '/services/backendListener/extraPodLabels/team': got object, want boolean or number or string")},
		{"annotations as a string", "service", `serviceAccount: {annotations: "azure.workload.identity/client-id=abc"}`,
			schema("service", "at '/serviceAccount/annotations': got string, want object")},
		{"global labels as a list", "web-ui", `global: {extraPodLabels: [a]}`,
			schema("web-ui", "at '/global/extraPodLabels': got array, want object")},
		{"pull secrets as a string", "router", `imagePullSecrets: regcred`,
			schema("router", "at '/imagePullSecrets': got string, want array")},
		{"pull secret entry without a name", "router", `imagePullSecrets: [{secret: regcred}]`,
			schema("router", "at '/imagePullSecrets/0': 'oneOf' failed, none matched\n  - at '/imagePullSecrets/0': got object, want string\n  - at '/imagePullSecrets/0': validation failed\n    - at '/imagePullSecrets/0': missing property 'name'\n    - at '/imagePullSecrets/0': additional properties 'secret' not allowed")},
		{"create as a string", "backend-operator", `serviceAccount: {create: "false"}`,
			schema("backend-operator", "at '/serviceAccount/create': got string, want boolean")},
		{"invalid label value", "router", `extraPodLabels: {team: "data science"}`,
			validation("router", `extraPodLabels.team: "data science" is not a valid label value (expected at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit)`)},
		{"invalid label name under OSMO's podLabels", "web-ui", `services: {ui: {podLabels: {"-team": a}}}`,
			validation("web-ui", `services.ui.podLabels: "-team" is not a valid label name (expected [prefix/]name, the name at most 63 characters of letters, digits, '-', '_' and '.')`)},
		{"duplicate env var (router, top level)", "router", `extraEnvs: [{name: A, value: "1"}, {name: A, value: "2"}]`,
			validation("router", `extraEnvs: "A" is set twice (each variable name once)`)},
		{"duplicate env var (service component)", "service", `services: {service: {extraEnv: [{name: A, value: "1"}, {name: A, value: "2"}]}}`,
			validation("service", `services.service.extraEnv: "A" is set twice (each variable name once)`)},
		{"env entry without a name", "router", `extraEnvs: [{value: x}]`,
			schema("router", "at '/extraEnvs/0': missing property 'name'")},
		{"env valueFrom as a string", "web-ui", `services: {ui: {extraEnvs: [{name: A, valueFrom: "x"}]}}`,
			schema("web-ui", "at '/services/ui/extraEnvs/0/valueFrom': got string, want object")},

		// Images (NVIDIA's keys and ours).
		{"image tag as a map", "router", `global: {osmoImageTag: {v: 1}}`,
			schema("router", "at '/global/osmoImageTag': got object, want number or string")},
		{"unknown pull policy", "router", `services: {service: {imagePullPolicy: Sometimes}}`,
			schema("router", "at '/services/service/imagePullPolicy': value must be one of '', 'Always', 'IfNotPresent', 'Never'")},
		{"malformed digest", "router", `services: {service: {imageDigest: "sha256:abc"}}`,
			schema("router", "at '/services/service/imageDigest': 'sha256:abc' does not match pattern '^(sha256:[a-f0-9]{64})?$'")},

		// The database password (OSMO's postgres_password has no default: without it every OSMO
		// program exits at start) and the router's --config file.
		{"no database password (NVIDIA's defaults)", "service", `services: {configFile: {enabled: false}}`,
			validation("service", `services.postgres.password: "" with services.configFile.enabled false: services.service, services.worker, services.logger, services.agent and services.delayedJobMonitor would start without a database password (OSMO's postgres_password has no default) and exit: set services.configFile.enabled: true to read it from Secret db-secret (key db-password), as the deploy guide does (it also mounts the master encryption key the programs read next), or set services.postgres.password, or give each of them OSMO_POSTGRES_PASSWORD in its extraEnv`)},
		{"no database password for the components without their own, and the migration", "service", `services:
  configFile: {enabled: false}
  postgres: {passwordSecretName: pg, passwordSecretKey: pw}
  service: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: pg, key: pw}}}]}
  worker: {extraArgs: ["--postgres_password=x"]}
  logger: {extraArgs: [--config, /etc/osmo/osmo.yaml]}
  agent: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, value: x}]}
  migration: {enabled: true, filesConfigMapName: m}`,
			validation("service", `services.postgres.password: "" with services.configFile.enabled false: services.delayedJobMonitor and services.migration would start without a database password (OSMO's postgres_password has no default) and exit: set services.configFile.enabled: true to read it from Secret pg (key pw), as the deploy guide does (it also mounts the master encryption key the programs read next), or set services.postgres.password, or give each of them OSMO_POSTGRES_PASSWORD in its extraEnv`)},
		{"no database password for one component", "service", `services:
  configFile: {enabled: false}
  service: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, value: x}]}
  worker: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, value: x}]}
  logger: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, value: x}]}
  agent: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, value: x}]}`,
			validation("service", `services.postgres.password: "" with services.configFile.enabled false: services.delayedJobMonitor would start without a database password (OSMO's postgres_password has no default) and exit: set services.configFile.enabled: true to read it from Secret db-secret (key db-password), as the deploy guide does (it also mounts the master encryption key the programs read next), or set services.postgres.password, or give it OSMO_POSTGRES_PASSWORD in its extraEnv`)},
		{"router --config file not mounted (NVIDIA's defaults)", "router", `services: {configFile: {enabled: false}}`,
			validation("router", `services.configFile.enabled: false starts the router with --config /opt/osmo/config.yaml (services.configFile.path) and nothing is mounted there: OSMO's loader opens every --config file at start, so the router would exit (that file is where it would read postgres_password, which has no default, and mek_file): set services.configFile.enabled: true to mount the MEK file from ConfigMap mek-config and read the database password from Secret db-secret (key db-password), as the deploy guide does, or mount your OSMO config file at /opt/osmo/config.yaml with extraVolumes and extraVolumeMounts`)},
		{"router --config file beside a mount", "router", `services: {configFile: {enabled: false, path: /etc/osmo/config.yaml}, postgres: {password: x}}
extraVolumes: [{name: c, emptyDir: {}}]
extraVolumeMounts: [{name: c, mountPath: /etc/osmo/other}]`,
			validation("router", `services.configFile.enabled: false starts the router with --config /etc/osmo/config.yaml (services.configFile.path) and nothing is mounted there: OSMO's loader opens every --config file at start, so the router would exit (that file is where it would read postgres_password, which has no default, and mek_file): set services.configFile.enabled: true to mount the MEK file from ConfigMap mek-config and read the database password from Secret db-secret (key db-password), as the deploy guide does, or mount your OSMO config file at /etc/osmo/config.yaml with extraVolumes and extraVolumeMounts`)},

		// Workload identity.
		{"malformed Azure client id", "router", `global: {workloadIdentity: {provider: azure, azure: {clientId: my-client}}}`,
			validation("router", `global.workloadIdentity.azure.clientId: "my-client" is not a GUID (expected the managed identity's client ID, like 00000000-0000-0000-0000-000000000000)`)},
		{"Azure without a client id", "web-ui", `global: {workloadIdentity: {provider: azure}}`,
			validation("web-ui", "global.workloadIdentity.azure.clientId: required when global.workloadIdentity.provider is azure (the managed identity's client ID, a GUID)")},
		{"malformed Azure tenant id", "router", `global: {workloadIdentity: {provider: azure, azure: {clientId: 6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b, tenantId: contoso.onmicrosoft.com}}}`,
			validation("router", `global.workloadIdentity.azure.tenantId: "contoso.onmicrosoft.com" is not a GUID (expected the Entra ID tenant ID, like 00000000-0000-0000-0000-000000000000)`)},
		{"malformed AWS role ARN", "backend-operator", `global: {workloadIdentity: {provider: aws, aws: {roleArn: "arn:aws:iam::1234:role/osmo"}}}`,
			validation("backend-operator", `global.workloadIdentity.aws.roleArn: "arn:aws:iam::1234:role/osmo" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`)},
		{"AWS user ARN instead of a role", "router", `global: {workloadIdentity: {provider: aws, aws: {roleArn: "arn:aws:iam::111122223333:user/osmo"}}}`,
			validation("router", `global.workloadIdentity.aws.roleArn: "arn:aws:iam::111122223333:user/osmo" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`)},
		{"malformed GCP service account", "service", `global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: osmo@gmail.com}}}`,
			validation("service", `global.workloadIdentity.gcp.serviceAccount: "osmo@gmail.com" is not a Google service account address (expected <name>@<project>.iam.gserviceaccount.com)`)},
		{"GCP account name too short for Google", "service", `global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: abcd@proj-1.iam.gserviceaccount.com}}}`,
			validation("service", `global.workloadIdentity.gcp.serviceAccount: "abcd@proj-1.iam.gserviceaccount.com": the account name "abcd" breaks Google's rule (6 to 30 characters of lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen)`)},
		{"malformed GCP provider", "router", `global: {workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/k"}}}`,
			validation("router", `global.workloadIdentity.gcp.workloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/k" is not a workload identity pool provider (expected //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)`)},
		{"GCP with neither account nor provider", "web-ui", `global: {workloadIdentity: {provider: gcp}}`,
			validation("web-ui", "global.workloadIdentity.gcp: serviceAccount or workloadIdentityProvider is required when global.workloadIdentity.provider is gcp")},
		{"unknown provider", "router", `global: {workloadIdentity: {provider: Azure}}`,
			schema("router", "at '/global/workloadIdentity/provider': value must be one of '', 'azure', 'aws', 'gcp'")},

		// OSMO's keys, chart by chart.
		{"extra args as a map", "router", `extraArgs: {debug: true}`,
			schema("router", "at '/extraArgs': got object, want array")},
		{"replicas as a word", "router", `services: {service: {scaling: {minReplicas: three}}}`,
			schema("router", "at '/services/service/scaling/minReplicas': got string, want integer")},
		{"extra ConfigMap without data", "router", `extraConfigMaps: [{name: x}]`,
			schema("router", "at '/extraConfigMaps/0': missing property 'data'")},
		{"extra object without kind", "web-ui", `extraObjects: [{apiVersion: v1, metadata: {name: x}}]`,
			schema("web-ui", "at '/extraObjects/0': 'anyOf' failed\n  - at '/extraObjects/0': missing property 'kind'\n  - at '/extraObjects/0': got object, want string")},
		{"topology spread without a key", "router", `services: {service: {topologySpreadConstraints: [{maxSkew: 1}]}}`,
			schema("router", "at '/services/service/topologySpreadConstraints/0': missing property 'topologyKey'")},
		{"probe as a path", "router", `services: {service: {livenessProbe: "/health"}}`,
			schema("router", "at '/services/service/livenessProbe': got string, want object")},
		{"volume mount without a path", "router", `extraVolumeMounts: [{name: x}]`,
			schema("router", "at '/extraVolumeMounts/0': missing property 'mountPath'")},
		{"MEK switch as a word", "router", `services: {configFile: {enabled: "yes"}}`,
			schema("router", "at '/services/configFile/enabled': got string, want boolean")},
		{"database user as a number", "router", `services: {postgres: {user: 7}}`,
			schema("router", "at '/services/postgres/user': got number, want string")},
		{"log switch as a word", "web-ui", `global: {logs: {enabled: "no"}}`,
			schema("web-ui", "at '/global/logs/enabled': got string, want boolean")},
		{"probe without a handler", "web-ui", `services: {ui: {livenessProbe: {periodSeconds: 5, httpGet: null}}}`,
			validation("web-ui", `services.ui.livenessProbe: {"failureThreshold":2,"periodSeconds":5,"timeoutSeconds":3} has no handler (expected httpGet, tcpSocket, exec or grpc; null disables the probe)`)},
		{"HPA minimum above its maximum", "web-ui", `services: {ui: {scaling: {enabled: true, minReplicas: 5, maxReplicas: 2}}}`,
			validation("web-ui", "services.ui.scaling.minReplicas: 5 is greater than services.ui.scaling.maxReplicas (2); the HPA needs min <= max")},
		{"database port as a word", "service", `services: {postgres: {port: "5432x"}}`,
			schema("service", "at '/services/postgres/port': got string, want integer")},
		{"pool naming a missing pod template", "service", `services: {configs: {enabled: true, pools: {gpu: {common_pod_template: [default_user, workflow_identity]}}}}`,
			validation("service", `services.configs.pools.gpu.common_pod_template: "workflow_identity" is not a pod template (known: default_ctrl, default_user)`)},
		{"migration without its files", "service", `services: {migration: {enabled: true}}`,
			validation("service", "services.migration.enabled: true needs the migration files (run_migrations.sh and the pgroll JSON files of NVIDIA's chart): set services.migration.files (file name: content) or services.migration.filesConfigMapName (a ConfigMap you created with them)")},
		{"default admin without a user name", "service", `services: {defaultAdmin: {enabled: true, username: ""}}`,
			validation("service", "services.defaultAdmin.username: required when services.defaultAdmin.enabled is true")},
		{"gateway switch as a word", "service", `gateway: {envoy: {enabled: "true"}}`,
			schema("service", "at '/gateway/envoy/enabled': got string, want boolean")},
		{"PodMonitor switch as a word", "service", `podMonitor: {enabled: maybe}`,
			schema("service", "at '/podMonitor/enabled': got string, want boolean")},
		{"unknown login method", "backend-operator", `global: {loginMethod: magic}`,
			validation("backend-operator", `global.loginMethod: "magic" is not supported (expected password or token)`)},
		{"no backend namespace", "backend-operator", `global: {backendNamespace: ""}`,
			validation("backend-operator", "global.backendNamespace: required (the namespace workflow pods run in, passed as --namespace)")},
		{"network policy CIDR that is not one", "backend-operator", `global: {networkPolicy: {enabled: true, clusterCIDRs: [not-a-cidr]}}`,
			validation("backend-operator", `global.networkPolicy.clusterCIDRs[0]: "not-a-cidr" is not a CIDR (expected an address and prefix length, like 10.0.0.0/8)`)},
		{"priority class with an invalid name", "backend-operator", `global: {priorityClasses: {classes: [{name: Bad_Name, value: 1}]}}`,
			validation("backend-operator", `global.priorityClasses.classes[0].name: "Bad_Name" is not a valid name (expected lowercase letters, digits, '-' and '.')`)},
		{"test runner switch as a word", "backend-operator", `backendTestRunner: {enabled: "false"}`,
			schema("backend-operator", "at '/backendTestRunner/enabled': got string, want boolean")},

		// gateway: envoy
		{"gateway API upstream on a port our API Service does not expose", "service", `gateway: {oauth2Proxy: {enabled: false}, upstreams: {service: {port: 8000}}}`,
			validation("service", "gateway.upstreams.service.port: 8000 is not a port of this release's API Service osmo-service (it exposes 80): set 80, or set gateway.upstreams.service.host to the Service that serves 8000")},
		{"gateway agent upstream on a port our agent Service does not expose", "service", `gateway: {oauth2Proxy: {enabled: false}, upstreams: {agent: {port: 8000}}}`,
			validation("service", "gateway.upstreams.agent.port: 8000 is not a port of this release's agent Service osmo-service-agent (it exposes 80): set 80, or set gateway.upstreams.agent.host to the Service that serves 8000")},
		{"gateway internal JWKS on a port our API Service does not expose", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {internalJwks: {port: 8000}}}`,
			validation("service", "gateway.envoy.internalJwks.port: 8000 is not a port of this release's API Service osmo-service (it exposes 80): set 80, or set gateway.envoy.internalJwks.host to the Service that serves 8000")},
		{"gateway JWT provider without issuer", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {jwt: {providers: [{audience: osmo, jwks_uri: "http://osmo-service/api/auth/keys", user_claim: unique_name, cluster: osmo-service-jwks}]}}}`,
			validation("service", "gateway.envoy.jwt.providers[0].issuer: required (the iss claim tokens must carry); every provider needs issuer, audience, jwks_uri, cluster and user_claim")},
		{"gateway JWT provider without jwks_uri or cluster", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {jwt: {providers: [{issuer: osmo, audience: osmo, user_claim: unique_name}]}}}`,
			validation("service",
				"gateway.envoy.jwt.providers[0].cluster: required (the Envoy cluster that serves jwks_uri); every provider needs issuer, audience, jwks_uri, cluster and user_claim",
				"gateway.envoy.jwt.providers[0].jwks_uri: required (where Envoy fetches the signing keys); every provider needs issuer, audience, jwks_uri, cluster and user_claim")},
		{"gateway JWT provider on the idp cluster without idp.host", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {jwt: {providers: [{issuer: "https://idp.example.com", audience: osmo, jwks_uri: "https://idp.example.com/keys", user_claim: email, cluster: idp}]}}}`,
			validation("service", `gateway.envoy.jwt.providers[0].cluster: "idp" is not a cluster this gateway renders (known: osmo-service, osmo-router, osmo-ui, osmo-agent, osmo-logger, authz, osmo-service-jwks; `+"`idp`"+` needs gateway.envoy.idp.host, the internal JWKS cluster gateway.envoy.internalJwks.enabled)`)},
		{"gateway JWT providers without a user header", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {jwt: {user_header: "", providers: [{issuer: osmo, audience: osmo, jwks_uri: "http://osmo-service/api/auth/keys", user_claim: unique_name, cluster: osmo-service-jwks}]}}}`,
			validation("service", "gateway.envoy.jwt.user_header: required when gateway.envoy.jwt.providers are set (the header Envoy writes each token's user claim to)")},
		{"gateway blocked IP that is a range", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {blockedIPs: [203.0.113.7, 10.0.0.0/8]}}`,
			validation("service", `gateway.envoy.blockedIPs[1]: "10.0.0.0/8" is not an IP address (the gateway compares each client address to these exactly, so a range or a name never matches)`)},
		{"gateway skip-auth path with a quote", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {skipAuthPaths: ["/api/version", "/it's"]}}`,
			validation("service", `gateway.envoy.skipAuthPaths[1]: "/it's" is not a path prefix (it must start with / and hold no quote, backslash or line break)`)},
		{"gateway Ingress TLS without a hostname", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {ingress: {enabled: true, sslEnabled: true}}}`,
			validation("service", "gateway.envoy.hostname: required when gateway.envoy.ingress.sslEnabled is true (the host of the Ingress's TLS certificate)")},
		{"gateway Ingress hostname written as a URL", "service", `gateway: {oauth2Proxy: {enabled: false}, envoy: {hostname: "https://osmo.example.com", ingress: {enabled: true}}}`,
			validation("service", `gateway.envoy.hostname: "https://osmo.example.com" is not a host name the Ingress accepts (a lowercase DNS name such as osmo.example.com: no scheme, port or path)`)},
		{"gateway network policy selecting no labels", "service", `gateway: {oauth2Proxy: {enabled: false}, networkPolicies: {enabled: true, upstreams: [{name: osmo-service, port: 8000}]}}`,
			validation("service", `gateway.networkPolicies.upstreams[0]: "osmo-service" selects no pods by label, so its policy would cover every pod of the namespace: set podSelector (pod labels) or component (this release's pods of that component)`)},
		{"gateway network policy naming an unknown component", "service", `gateway: {oauth2Proxy: {enabled: false}, networkPolicies: {enabled: true, upstreams: [{name: api, component: api}]}}`,
			validation("service", `gateway.networkPolicies.upstreams[0].component: "api" is not a component of this chart (known: agent, delayedJobMonitor, logger, service, worker)`)},
		{"gateway network policy entry with a typo", "service", `gateway: {networkPolicies: {upstreams: [{name: a, podSelectr: {app: a}}]}}`,
			schema("service", "at '/gateway/networkPolicies/upstreams/0': additional properties 'podSelectr' not allowed")},

		// gateway: oauth2-proxy, authz, ratelimit
		{"gateway authz probes on another port than the sidecar's", "service", `gateway: {oauth2Proxy: {enabled: false}, authz: {enabled: true, grpcPort: 50053}}`,
			validation("service", "gateway.authz.livenessProbe.grpc.port: 50052 is not gateway.authz.grpcPort 50053 (the sidecar serves gRPC health only on --grpc-port, so the probe would fail: set both to the same port)",
				"gateway.authz.readinessProbe.grpc.port: 50052 is not gateway.authz.grpcPort 50053 (the sidecar serves gRPC health only on --grpc-port, so the probe would fail: set both to the same port)")},
		{"gateway OAuth2 Proxy on (NVIDIA's default) without an IdP", "service", `gateway: {oauth2Proxy: {enabled: true}}`,
			validation("service", `gateway.oauth2Proxy.clientId and gateway.oauth2Proxy.oidcIssuerUrl: "" with gateway.oauth2Proxy.enabled true (NVIDIA's default), and the proxy refuses to start without them: set your IdP's client id and OIDC issuer URL, or set gateway.oauth2Proxy.enabled: false and gateway.authz.enabled: false when there is no IdP, as run/minimal does`)},
		{"gateway OAuth2 Proxy without its issuer", "service", `gateway: {envoy: {hostname: osmo.example.com}, oauth2Proxy: {clientId: osmo}}`,
			validation("service", `gateway.oauth2Proxy.oidcIssuerUrl: "" with gateway.oauth2Proxy.enabled true (NVIDIA's default), and the proxy refuses to start without it: set your IdP's client id and OIDC issuer URL, or set gateway.oauth2Proxy.enabled: false and gateway.authz.enabled: false when there is no IdP, as run/minimal does`)},
		{"gateway OAuth2 Proxy without the gateway's hostname", "service", `gateway: {oauth2Proxy: {clientId: osmo, oidcIssuerUrl: "https://idp.example.com"}}`,
			validation("service", `gateway.envoy.hostname: "" with gateway.oauth2Proxy.enabled true: the proxy's --redirect-url would be https:///oauth2/callback, where no login can return (set the gateway's external hostname)`)},
		{"gateway OAuth2 Proxy config file on a relative path", "service", `gateway: {envoy: {hostname: osmo.example.com}, oauth2Proxy: {clientId: osmo, oidcIssuerUrl: "https://idp.example.com", secretPaths: {cookieSecret: oauth2-proxy.cfg}}}`,
			validation("service", `gateway.oauth2Proxy.secretPaths.cookieSecret: "oauth2-proxy.cfg" is not an absolute path (with useKubernetesSecrets false the proxy starts with --config=<this file>, the OAuth2 Proxy config file holding client_secret and cookie_secret that your own volume mounts there; or set gateway.oauth2Proxy.useKubernetesSecrets: true)`)},
		{"gateway OAuth2 Proxy Redis sessions without a Redis host", "service", `{services: {redis: {serviceName: ""}}, gateway: {envoy: {hostname: osmo.example.com}, oauth2Proxy: {clientId: osmo, oidcIssuerUrl: "https://idp.example.com"}}}`,
			validation("service", `gateway.oauth2Proxy.redis.serviceName: "" with services.redis.serviceName "" leaves the session store without a host (redisSessionStore is true: set either to your Redis host, or set gateway.oauth2Proxy.redisSessionStore: false to keep sessions in cookies)`)},
		{"gateway OAuth2 Proxy metrics on its HTTP port", "service", `gateway: {envoy: {hostname: osmo.example.com}, oauth2Proxy: {clientId: osmo, oidcIssuerUrl: "https://idp.example.com", metricsPort: 4180}}`,
			validation("service", `gateway.oauth2Proxy.metricsPort: 4180 is also gateway.oauth2Proxy.httpPort (the proxy cannot listen twice on one port: give them different ports)`)},
		{"gateway rate limit without a Redis host", "service", `{services: {redis: {serviceName: ""}}, gateway: {oauth2Proxy: {enabled: false}, rateLimit: {enabled: true}}}`,
			validation("service", `gateway.rateLimit.redis.serviceName: "" with services.redis.serviceName "" leaves the rate limit service without a Redis (REDIS_URL would be ":<port>"): set either to your Redis host`)},
		{"gateway rate limit HTTP on its gRPC port", "service", `gateway: {oauth2Proxy: {enabled: false}, rateLimit: {enabled: true, httpPort: 8091}}`,
			validation("service", `gateway.rateLimit.httpPort: 8091 is also gateway.rateLimit.grpcPort (the service cannot listen twice on one port: give them different ports)`)},
		{"gateway part naming another account", "service", `{services: {worker: {serviceAccountName: osmo}}, gateway: {oauth2Proxy: {enabled: false}, authz: {serviceAccountName: gateway}}}`,
			validation("service", `gateway.authz.serviceAccountName="gateway", services.worker.serviceAccountName="osmo": name different ServiceAccounts, but every pod of this chart runs under one account (set serviceAccount.name, or give them one name)`)},

		{"every problem reported at once", "router", `
serviceAccount: {create: false}
global: {workloadIdentity: {provider: aws, aws: {roleArn: nope}}}
extraPodLabels: {team: "a b"}`,
			validation("router",
				noAccount,
				`global.workloadIdentity.aws.roleArn: "nope" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`,
				`extraPodLabels.team: "a b" is not a valid label value (expected at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit)`)},
	}
	require.GreaterOrEqual(t, len(cases), 40, "the table covers OSMO's keys")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderE(tc.chart, values(t, tc.values), release)
			require.Error(t, err, "values must be refused:\n%s", tc.values)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
