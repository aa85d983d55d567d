package render_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/osmo-wi/charts/harness/render"
)

// The gateway's OAuth2 Proxy, authz and rate limit service, as NVIDIA's chart
// (d59aed3c4 templates/gateway.yaml) renders them for the same values; the expected
// values below were checked against NVIDIA's render of each scenario (the differences
// are the chart README's). tests/gateway starts the real oauth2-proxy and rate limit
// loader with these renders.

// gwFile renders a gateway-sidecars scenario.
func gwFile(t *testing.T, name string) *render.Result {
	t.Helper()
	r, err := render.RenderFiles("service", release, "testdata/osmo/service/gateway-sidecars-"+name+".yaml")
	require.NoError(t, err, name)
	return r
}

// gwDeployment is the Deployment named name, or nil.
func gwDeployment(r *render.Result, name string) *appsv1.Deployment {
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func gwMustDeployment(t *testing.T, r *render.Result, name string) *appsv1.Deployment {
	t.Helper()
	d := gwDeployment(r, name)
	require.NotNil(t, d, "Deployment %s is rendered", name)
	return d
}

// gwMounts are a container's mounts without the chart-wide /tmp.
func gwMounts(c corev1.Container) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, m := range c.VolumeMounts {
		if m.Name != "tmp" {
			out = append(out, m)
		}
	}
	return out
}

// gwVolumes are a pod's volumes without the chart-wide /tmp.
func gwVolumes(d *appsv1.Deployment) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name != "tmp" {
			out = append(out, v)
		}
	}
	return out
}

// gwProxyArgs are NVIDIA's oauth2-proxy arguments after the secret flags, for the common
// case (given issuer, client, cookie domain, Redis URL, hostname), then extra.
func gwProxyArgs(secrets []string, issuer, client, cookieDomain, redisURL, hostname string, extra ...string) []string {
	args := slices.Concat(secrets, []string{
		"--http-address=0.0.0.0:4180", "--metrics-address=0.0.0.0:44180", "--reverse-proxy=true", "--provider=oidc",
		"--oidc-issuer-url=" + issuer, "--client-id=" + client, "--cookie-secure=true", "--cookie-name=_osmo_session"})
	if cookieDomain != "" {
		args = append(args, "--cookie-domain="+cookieDomain)
	}
	args = append(args, "--cookie-expire=168h", "--cookie-refresh=1h", "--scope=openid email profile", "--email-domain=*",
		"--set-xauthrequest=true", "--set-authorization-header=true", "--pass-access-token=false")
	if redisURL != "" {
		args = append(args, "--session-store-type=redis", "--redis-connection-url="+redisURL)
	}
	args = append(args, "--upstream=static://200", "--redirect-url=https://"+hostname+"/oauth2/callback",
		"--silence-ping-logging=true", "--skip-provider-button=true", "--api-route=/api/.+")
	return append(args, extra...)
}

var (
	gwSecretFlags = []string{"--client-secret-file=/etc/oauth2-proxy/client-secret", "--cookie-secret-file=/etc/oauth2-proxy/cookie-secret"}
	gwSecretMount = corev1.VolumeMount{Name: "oauth2-proxy-secrets", MountPath: "/etc/oauth2-proxy", ReadOnly: true}
	gwEntraIssuer = "https://login.microsoftonline.com/12345678-1234-1234-1234-123456789abc/v2.0"
	gwEntraClient = "00000000-aaaa-bbbb-cccc-000000000001"
)

func gwSecretVolume(name, clientKey, cookieKey string) corev1.Volume {
	return corev1.Volume{Name: "oauth2-proxy-secrets", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: name, Items: []corev1.KeyToPath{{Key: clientKey, Path: "client-secret"}, {Key: cookieKey, Path: "cookie-secret"}}}}}
}

func gwHTTPProbe(path string, initial, period int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
		InitialDelaySeconds: initial, PeriodSeconds: period, TimeoutSeconds: 3}
}

// The OAuth2 Proxy's container, per scenario: arguments in NVIDIA's order, env, ports,
// probes, mounts and volumes, image and pull policy.
func TestGatewaySidecarsOAuth2Proxy(t *testing.T) {
	defaultsWithIdP := values(t, `
gateway:
  envoy: {hostname: osmo.example.com}
  oauth2Proxy: {oidcIssuerUrl: "https://idp.example.com/realms/osmo", clientId: osmo-gateway}`)
	for _, tc := range []struct {
		name     string
		render   func(t *testing.T) *render.Result
		deploy   string
		args     []string
		env      []corev1.EnvVar
		ports    []corev1.ContainerPort
		mounts   []corev1.VolumeMount
		volumes  []corev1.Volume
		image    string
		pull     corev1.PullPolicy
		replicas int32
	}{
		{name: "chart defaults with an IdP: secrets from the config file at secretPaths.cookieSecret, Redis sessions over TLS on services.redis",
			render: func(t *testing.T) *render.Result { return renderChart(t, "service", defaultsWithIdP) },
			deploy: "osmo-service-gateway-oauth2-proxy",
			args: gwProxyArgs([]string{"--config=/etc/oauth2-proxy/cookie-secret"}, "https://idp.example.com/realms/osmo", "osmo-gateway", "",
				"rediss://redis:6379/0", "osmo.example.com")},
		{name: "Entra ID (identity_provider_setup.rst): the oauth2-proxy-secrets Secret's two keys",
			render: func(t *testing.T) *render.Result { return gwFile(t, "entra") },
			deploy: "osmo-service-gateway-oauth2-proxy",
			args:   gwProxyArgs(gwSecretFlags, gwEntraIssuer, gwEntraClient, ".osmo.example.com", "rediss://redis:6379/0", "osmo.example.com"),
			mounts: []corev1.VolumeMount{gwSecretMount}, volumes: []corev1.Volume{gwSecretVolume("oauth2-proxy-secrets", "client_secret", "cookie_secret")}},
		{name: "Google with useKubernetesSecrets off: --config on the operator's mounted file, cookie sessions, access token passed",
			render: func(t *testing.T) *render.Result { return gwFile(t, "google") },
			deploy: "osmo-service-gateway-oauth2-proxy",
			args: []string{"--config=/etc/oauth2-proxy/oauth2-proxy.cfg", "--http-address=0.0.0.0:4180", "--metrics-address=0.0.0.0:44180",
				"--reverse-proxy=true", "--provider=google", "--oidc-issuer-url=https://accounts.google.com",
				"--client-id=1234567890-abc.apps.googleusercontent.com", "--cookie-secure=true", "--cookie-name=_osmo_session",
				"--cookie-domain=.osmo.example.com", "--cookie-expire=168h", "--cookie-refresh=1h", "--scope=openid email profile",
				"--email-domain=*", "--set-xauthrequest=true", "--set-authorization-header=true", "--pass-access-token=true",
				"--upstream=static://200", "--redirect-url=https://osmo.example.com/oauth2/callback", "--silence-ping-logging=true",
				"--skip-provider-button=true", "--api-route=/api/.+"},
			mounts: []corev1.VolumeMount{{Name: "oauth2-proxy-config", MountPath: "/etc/oauth2-proxy", ReadOnly: true}},
			volumes: []corev1.Volume{{Name: "oauth2-proxy-config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: "google-oauth2-proxy-config", Items: []corev1.KeyToPath{{Key: "oauth2-proxy.cfg", Path: "oauth2-proxy.cfg"}}}}}}},
		{name: "Keycloak (keycloak_setup.rst): extraArgs last, Redis without TLS in database 3, its password from extraEnv",
			render: func(t *testing.T) *render.Result { return gwFile(t, "keycloak") },
			deploy: "osmo-service-gateway-oauth2-proxy",
			args: gwProxyArgs(gwSecretFlags, "https://auth-osmo.example.com/realms/osmo", "osmo-browser-flow", ".osmo.example.com",
				"redis://keycloak-redis.cache.svc:6380/3", "osmo.example.com", "--insecure-oidc-allow-unverified-email=true"),
			env: []corev1.EnvVar{{Name: "OAUTH2_PROXY_REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "redis-secret"}, Key: "redis-password"}}}},
			mounts: []corev1.VolumeMount{gwSecretMount}, volumes: []corev1.Volume{gwSecretVolume("oauth2-proxy-secrets", "client_secret", "cookie_secret")}},
		{name: "NVIDIA's names (gateway.name) and the default Secret",
			render: func(t *testing.T) *render.Result { return gwFile(t, "ratelimit") },
			deploy: "osmo-gateway-oauth2-proxy",
			args:   gwProxyArgs(gwSecretFlags, gwEntraIssuer, gwEntraClient, "", "rediss://redis:6379/0", "osmo.example.com"),
			mounts: []corev1.VolumeMount{gwSecretMount}, volumes: []corev1.Volume{gwSecretVolume("oauth2-proxy-secrets", "client_secret", "cookie_secret")}},
		{name: "every key of the family: ports, cookie settings, the Secret's name and keys, image, env, extra arguments, two replicas",
			render: func(t *testing.T) *render.Result { return gwFile(t, "scaling") },
			deploy: "osmo-service-gateway-oauth2-proxy",
			args: []string{"--client-secret-file=/etc/oauth2-proxy/client-secret", "--cookie-secret-file=/etc/oauth2-proxy/cookie-secret",
				"--http-address=0.0.0.0:4181", "--metrics-address=0.0.0.0:44181", "--reverse-proxy=true", "--provider=oidc",
				"--oidc-issuer-url=" + gwEntraIssuer, "--client-id=" + gwEntraClient, "--cookie-secure=false", "--cookie-name=_osmo_prod",
				"--cookie-expire=24h", "--cookie-refresh=30m", "--scope=openid email", "--email-domain=*", "--set-xauthrequest=true",
				"--set-authorization-header=true", "--pass-access-token=false", "--session-store-type=redis",
				"--redis-connection-url=rediss://redis:6379/0", "--upstream=static://200", "--redirect-url=https://osmo.example.com/oauth2/callback",
				"--silence-ping-logging=true", "--skip-provider-button=true", "--api-route=/api/.+",
				"--whitelist-domain=.example.com", "--request-logging=false"},
			env:    []corev1.EnvVar{{Name: "OAUTH2_PROXY_SKIP_AUTH_ROUTES", Value: "^/healthz$"}},
			ports:  []corev1.ContainerPort{{Name: "http", ContainerPort: 4181}, {Name: "oauth2-metrics", ContainerPort: 44181}},
			mounts: []corev1.VolumeMount{gwSecretMount}, volumes: []corev1.Volume{gwSecretVolume("osmo-oauth2", "oidc-client-secret", "session-key")},
			image: "registry.example.com/mirror/oauth2-proxy:v7.14.2", pull: corev1.PullAlways, replicas: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := gwMustDeployment(t, tc.render(t), tc.deploy)
			require.Len(t, d.Spec.Template.Spec.Containers, 1)
			c := d.Spec.Template.Spec.Containers[0]
			assert.Equal(t, "oauth2-proxy", c.Name)
			assert.Empty(t, c.Command, "the image's entrypoint runs")
			assert.Equal(t, tc.args, c.Args)
			assert.Equal(t, tc.env, c.Env)
			ports := tc.ports
			if ports == nil {
				ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 4180}, {Name: "oauth2-metrics", ContainerPort: 44180}}
			}
			assert.Equal(t, ports, c.Ports)
			assert.Equal(t, gwHTTPProbe("/ping", 10, 10), c.LivenessProbe)
			assert.Equal(t, gwHTTPProbe("/ready", 5, 5), c.ReadinessProbe)
			assert.Nil(t, c.StartupProbe)
			assert.Equal(t, tc.mounts, gwMounts(c))
			assert.Equal(t, tc.volumes, gwVolumes(d))
			image, pull, replicas := tc.image, tc.pull, tc.replicas
			if image == "" {
				image, pull, replicas = "quay.io/oauth2-proxy/oauth2-proxy:v7.14.2", corev1.PullIfNotPresent, 1
			}
			assert.Equal(t, image, c.Image)
			assert.Equal(t, pull, c.ImagePullPolicy)
			assert.Equal(t, ptr(replicas), d.Spec.Replicas, "NVIDIA's replicas: scaling.minReplicas")
		})
	}
}

// The authz sidecar: the roles file (configs on) or the database flags, cache and log
// flags, env, mounts, probes and image.
func TestGatewaySidecarsAuthz(t *testing.T) {
	grpcProbe := func(port, period, failures int32, initial, timeout int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: port}},
			InitialDelaySeconds: initial, PeriodSeconds: period, TimeoutSeconds: timeout, FailureThreshold: failures}
	}
	logs := corev1.Volume{Name: "logs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	// Every gateway file turns the MEK file on (the database password's source), so authz
	// reads the password from its Secret as the OSMO pods do.
	dbSecretPassword := corev1.EnvVar{Name: "OSMO_POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db-secret"}, Key: "db-password"}}}
	for _, tc := range []struct {
		name, file string
		args       []string
		env        []corev1.EnvVar
		mounts     []corev1.VolumeMount
		volumes    []corev1.Volume
		image      string
		pull       corev1.PullPolicy
		live, read *corev1.Probe
		replicas   int32
	}{
		{name: "defaults: roles from the database (services.postgres), logs on, the MEK-file password", file: "entra",
			args: []string{"--grpc-port=50052", "--postgres-host=postgres", "--postgres-port=5432", "--postgres-database=osmo",
				"--postgres-user=postgres", "--postgres-ssl-mode=prefer", "--postgres-max-conns=10", "--postgres-min-conns=2",
				"--postgres-max-conn-lifetime=5", "--cache-ttl=300", "--cache-max-size=1000", "--log-dir=/logs", "--log-name=authz_sidecar"},
			env:     []corev1.EnvVar{dbSecretPassword},
			mounts:  []corev1.VolumeMount{{Name: "logs", MountPath: "/logs"}},
			volumes: []corev1.Volume{logs},
			image:   "nvcr.io/nvidia/osmo/authz-sidecar:6.4.0", pull: corev1.PullAlways,
			live: grpcProbe(50052, 10, 3, 10, 3), read: grpcProbe(50052, 5, 2, 5, 3), replicas: 1},
		{name: "configs on: the roles file from the configs ConfigMap", file: "secret-files",
			args:   []string{"--grpc-port=50052", "--roles-file=/etc/osmo/configs/config.yaml", "--cache-ttl=300", "--cache-max-size=1000", "--log-dir=/logs", "--log-name=authz_sidecar"},
			env:    []corev1.EnvVar{dbSecretPassword},
			mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/logs"}, {Name: "configs", MountPath: "/etc/osmo/configs", ReadOnly: true}},
			volumes: []corev1.Volume{logs, {Name: "configs", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "osmo-service-configs"}}}}},
			image: "nvcr.io/nvidia/osmo/authz-sidecar:6.4.0", pull: corev1.PullAlways,
			live: grpcProbe(50052, 10, 3, 10, 3), read: grpcProbe(50052, 5, 2, 5, 3), replicas: 1},
		{name: "every key of the family: database and pool settings, cache, schema version, extraEnv, the MEK-file password, image, probes", file: "scaling",
			args: []string{"--grpc-port=50060", "--postgres-host=pg.db.svc", "--postgres-port=6432", "--postgres-database=osmo_prod",
				"--postgres-user=osmo_app", "--postgres-ssl-mode=require", "--postgres-max-conns=20", "--postgres-min-conns=4",
				"--postgres-max-conn-lifetime=15", "--cache-ttl=60", "--cache-max-size=5000", "--log-dir=/logs", "--log-name=authz_sidecar"},
			env:    []corev1.EnvVar{{Name: "OSMO_SCHEMA_VERSION", Value: "v6_4_0"}, {Name: "GOMAXPROCS", Value: "2"}, dbSecretPassword},
			mounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/logs"}, {Name: "policies", MountPath: "/etc/osmo/policies", ReadOnly: true}},
			volumes: []corev1.Volume{logs, {Name: "policies", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "extra-policies"}}}}},
			image: "registry.example.com/osmo/authz:6.4.1-hotfix", pull: corev1.PullIfNotPresent,
			// Helm merges the probes set over the defaults (NVIDIA's chart alike).
			live: grpcProbe(50060, 20, 3, 10, 3), read: grpcProbe(50060, 10, 2, 5, 3), replicas: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := gwMustDeployment(t, gwFile(t, tc.file), "osmo-service-gateway-authz")
			require.Len(t, d.Spec.Template.Spec.Containers, 1)
			c := d.Spec.Template.Spec.Containers[0]
			assert.Equal(t, "authz", c.Name)
			assert.Empty(t, c.Command)
			assert.Equal(t, tc.args, c.Args)
			assert.Equal(t, tc.env, c.Env)
			assert.Empty(t, c.Ports, "NVIDIA's authz container declares no port")
			assert.Equal(t, tc.mounts, gwMounts(c))
			assert.Equal(t, tc.volumes, gwVolumes(d))
			assert.Equal(t, tc.image, c.Image)
			assert.Equal(t, tc.pull, c.ImagePullPolicy)
			assert.Equal(t, tc.live, c.LivenessProbe)
			assert.Equal(t, tc.read, c.ReadinessProbe)
			assert.Equal(t, ptr(tc.replicas), d.Spec.Replicas)
		})
	}
	t.Run("the keycloak scenario turns authz off", func(t *testing.T) {
		assert.Nil(t, gwDeployment(gwFile(t, "keycloak"), "osmo-service-gateway-authz"))
	})
}

// The rate limit service: its ConfigMap as NVIDIA writes it, /bin/ratelimit with its
// env (plus PORT/GRPC_PORT, ours), ports, TCP liveness probe, the config mount and the
// checksum that rolls the pods.
func TestGatewaySidecarsRateLimit(t *testing.T) {
	r := gwFile(t, "ratelimit")
	var cm *corev1.ConfigMap
	for _, c := range render.Objects[*corev1.ConfigMap](r) {
		if c.Name == "osmo-gateway-ratelimit-config" {
			cm = c
		}
	}
	require.NotNil(t, cm, "the rate limit ConfigMap")
	assert.Equal(t, `domain: osmo-gateway
descriptors:
  - key: remote_address
    rate_limit:
      requests_per_unit: 50
      unit: second
  - descriptors:
    - key: path
      rate_limit:
        requests_per_unit: 60
        unit: minute
      value: /api/workflow
    key: x-osmo-user
    rate_limit:
      requests_per_unit: 600
      unit: minute
  - key: internal
    rate_limit:
      unlimited: true
`, cm.Data["config.yaml"])

	d := gwMustDeployment(t, r, "osmo-gateway-ratelimit")
	assert.Equal(t, ptr(int32(2)), d.Spec.Replicas)
	assert.Len(t, d.Spec.Template.Annotations["checksum/ratelimit-config"], 64)
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "ratelimit", c.Name)
	assert.Equal(t, "envoyproxy/ratelimit:9d8d70a8", c.Image)
	assert.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy)
	assert.Equal(t, []string{"/bin/ratelimit"}, c.Command)
	assert.Empty(t, c.Args)
	env := func(pairs ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, corev1.EnvVar{Name: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	assert.Equal(t, env("LOG_LEVEL", "info", "REDIS_SOCKET_TYPE", "tcp", "REDIS_URL", "ratelimit-redis:6380", "REDIS_TLS", "false",
		"USE_STATSD", "false", "RUNTIME_ROOT", "/data", "RUNTIME_SUBDIRECTORY", "ratelimit", "RUNTIME_WATCH_ROOT", "false",
		"RUNTIME_IGNOREDOTFILES", "true", "HOST", "::", "GRPC_HOST", "::", "PORT", "9090", "GRPC_PORT", "9091"), c.Env)
	assert.Equal(t, []corev1.ContainerPort{{Name: "grpc", ContainerPort: 9091}, {Name: "http", ContainerPort: 9090}}, c.Ports)
	assert.Equal(t, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9091)}},
		InitialDelaySeconds: 10, PeriodSeconds: 10}, c.LivenessProbe)
	assert.Nil(t, c.ReadinessProbe)
	assert.Equal(t, []corev1.VolumeMount{{Name: "ratelimit-config", MountPath: "/data/ratelimit/config"}}, gwMounts(c))
	assert.Equal(t, []corev1.Volume{{Name: "ratelimit-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "osmo-gateway-ratelimit-config"}, DefaultMode: ptr(int32(420)),
		Items: []corev1.KeyToPath{{Key: "config.yaml", Path: "config.yaml"}}}}}}, gwVolumes(d))
	for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
		assert.NotEqual(t, "osmo-gateway-ratelimit", h.Name, "no rate limit HPA, as NVIDIA's")
	}

	t.Run("defaults: services.redis over TLS, NVIDIA's ports, the domain ratelimit with no descriptors", func(t *testing.T) {
		r := renderChart(t, "service", values(t, `gateway: {oauth2Proxy: {enabled: false}, authz: {enabled: false}, rateLimit: {enabled: true}}`))
		d := gwMustDeployment(t, r, "osmo-service-gateway-ratelimit")
		c := d.Spec.Template.Spec.Containers[0]
		byName := map[string]string{}
		for _, e := range c.Env {
			byName[e.Name] = e.Value
		}
		assert.Equal(t, "redis:6379", byName["REDIS_URL"])
		assert.Equal(t, "true", byName["REDIS_TLS"])
		assert.Equal(t, "8090", byName["PORT"])
		assert.Equal(t, "8091", byName["GRPC_PORT"])
		for _, cm := range render.Objects[*corev1.ConfigMap](r) {
			if cm.Name == "osmo-service-gateway-ratelimit-config" {
				assert.Equal(t, "domain: ratelimit\ndescriptors:\n  []\n", cm.Data["config.yaml"])
			}
		}
	})
	t.Run("off by default", func(t *testing.T) {
		r := gwFile(t, "entra")
		assert.Nil(t, gwDeployment(r, "osmo-service-gateway-ratelimit"))
	})
}

// The Services Envoy's ext_authz and ratelimit clusters point at (names and ports from
// the same values), and the HPAs: CPU then memory of the part's container, then
// customMetrics.
func TestGatewaySidecarsServicesAndHPAs(t *testing.T) {
	services := func(r *render.Result) map[string][]corev1.ServicePort {
		out := map[string][]corev1.ServicePort{}
		for _, s := range render.Objects[*corev1.Service](r) {
			out[s.Name] = s.Spec.Ports
		}
		return out
	}
	tcp := corev1.ProtocolTCP
	r := gwFile(t, "scaling")
	got := services(r)
	assert.Equal(t, []corev1.ServicePort{
		{Name: "http", Port: 4181, TargetPort: intstr.FromString("http"), Protocol: tcp},
		{Name: "metrics", Port: 44181, TargetPort: intstr.FromString("oauth2-metrics"), Protocol: tcp}}, got["osmo-service-gateway-oauth2-proxy"])
	assert.Equal(t, []corev1.ServicePort{{Name: "grpc", Port: 50060, TargetPort: intstr.FromInt32(50060), Protocol: tcp}}, got["osmo-service-gateway-authz"])
	rl := services(gwFile(t, "ratelimit"))
	assert.Equal(t, []corev1.ServicePort{
		{Name: "grpc", Port: 9091, TargetPort: intstr.FromString("grpc"), Protocol: tcp},
		{Name: "http", Port: 9090, TargetPort: intstr.FromString("http"), Protocol: tcp}}, rl["osmo-gateway-ratelimit"])

	// Envoy's clusters name these Services on these ports.
	var envoyConfig string
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if strings.HasSuffix(cm.Name, "-envoy-config") {
			for _, text := range cm.Data {
				envoyConfig += text
			}
		}
	}
	for _, want := range []string{"osmo-service-gateway-oauth2-proxy", "4181", "osmo-service-gateway-authz", "50060"} {
		assert.Contains(t, envoyConfig, want, "Envoy's config points at the rendered Service")
	}

	hpas := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
	for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
		hpas[h.Name] = h
	}
	metric := func(resource corev1.ResourceName, container string, target int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: resource, Container: container, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(target)}}}
	}
	for _, tc := range []struct {
		name, container string
		min, max        int32
		metrics         []autoscalingv2.MetricSpec
	}{
		{"osmo-service-gateway-oauth2-proxy", "oauth2-proxy", 2, 8, []autoscalingv2.MetricSpec{
			metric(corev1.ResourceCPU, "oauth2-proxy", 70), metric(corev1.ResourceMemory, "oauth2-proxy", 75),
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "http_requests_per_second"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse("100"))}}}}},
		{"osmo-service-gateway-authz", "authz", 3, 9, []autoscalingv2.MetricSpec{
			metric(corev1.ResourceCPU, "authz", 60), metric(corev1.ResourceMemory, "authz", 65)}},
	} {
		h := hpas[tc.name]
		require.NotNil(t, h, tc.name)
		assert.Equal(t, autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: tc.name}, h.Spec.ScaleTargetRef)
		assert.Equal(t, ptr(tc.min), h.Spec.MinReplicas, tc.name)
		assert.Equal(t, tc.max, h.Spec.MaxReplicas, tc.name)
		assert.Equal(t, tc.metrics, h.Spec.Metrics, tc.name)
	}
	_, hasRateLimitHPA := hpas["osmo-gateway-ratelimit"]
	assert.False(t, hasRateLimitHPA)
}

// The values contract on the three parts: the one account (a part's serviceAccountName
// takes part in the rule), labels and annotations merged global → chart → part, pull
// secrets, node selectors merged, tolerations, the part's securityContext merged over the
// chart's (Pod Security restricted), release-scoped names.
func TestGatewaySidecarsContract(t *testing.T) {
	all := `
gateway:
  envoy: {hostname: osmo.example.com}
  oauth2Proxy: {oidcIssuerUrl: "https://idp.example.com", clientId: c, useKubernetesSecrets: true}
  rateLimit: {enabled: true}`
	parts := []string{"gateway-oauth2-proxy", "gateway-authz", "gateway-ratelimit"}
	partPods := func(r *render.Result) map[string]*appsv1.Deployment {
		out := map[string]*appsv1.Deployment{}
		for _, d := range render.Objects[*appsv1.Deployment](r) {
			if component := d.Spec.Template.Labels["app.kubernetes.io/component"]; slices.Contains(parts, component) {
				out[component] = d
			}
		}
		return out
	}

	t.Run("the one account", func(t *testing.T) {
		for _, tc := range []struct{ name, extra, account string }{
			{"the chart's account", ``, "osmo-service"},
			{"a part's serviceAccountName names it for every pod", `gateway: {authz: {serviceAccountName: gw}}`, "gw"},
			{"serviceAccount.name wins", `{serviceAccount: {name: team}, gateway: {oauth2Proxy: {serviceAccountName: gw}}}`, "team"},
			{"global.serviceAccountName", `global: {serviceAccountName: shared}`, "shared"},
		} {
			vals := values(t, all)
			extra := values(t, tc.extra)
			r := renderChart(t, "service", mergeValues(vals, extra))
			for _, p := range workloadPods(r) {
				assert.Equal(t, tc.account, p.Spec.ServiceAccountName, "%s: %s", tc.name, describe(p))
			}
			assert.Len(t, partPods(r), 3, tc.name)
		}
		_, err := renderE("service", mergeValues(values(t, all), values(t, `{gateway: {authz: {serviceAccountName: a}}, services: {worker: {serviceAccountName: b}}}`)), release)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `gateway.authz.serviceAccountName="a", services.worker.serviceAccountName="b": name different ServiceAccounts`)
	})

	t.Run("labels, annotations, pull secrets, placement, security", func(t *testing.T) {
		r := gwFile(t, "scaling")
		want := map[string]struct {
			labels, annotations, nodeSelector map[string]string
			user                              int64
		}{
			"gateway-oauth2-proxy": {map[string]string{"team": "platform", "tier": "edge"}, map[string]string{"owner": "platform", "prometheus.io/scrape": "true"},
				map[string]string{"pool": "system", "gateway": "true"}, 2000},
			"gateway-authz": {map[string]string{"team": "platform", "tier": "authz"}, map[string]string{"owner": "platform", "prometheus.io/scrape": "false"},
				map[string]string{"pool": "system", "gateway": "true"}, 10001},
		}
		got := partPods(r)
		for component, w := range want {
			d := got[component]
			require.NotNil(t, d, component)
			for k, v := range w.labels {
				assert.Equal(t, v, d.Spec.Template.Labels[k], "%s label %s", component, k)
			}
			assert.Equal(t, map[string]string{"app.kubernetes.io/name": "service", "app.kubernetes.io/instance": "osmo", "app.kubernetes.io/component": component},
				d.Spec.Selector.MatchLabels)
			assert.Equal(t, w.annotations, d.Spec.Template.Annotations, component)
			assert.Equal(t, w.nodeSelector, d.Spec.Template.Spec.NodeSelector, component)
			assert.Equal(t, []corev1.Toleration{{Key: "gateway", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, d.Spec.Template.Spec.Tolerations, component)
			sc := d.Spec.Template.Spec.Containers[0].SecurityContext
			require.NotNil(t, sc)
			assert.Equal(t, ptr(w.user), sc.RunAsUser, "%s: the part's securityContext wins", component)
			assert.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem, "%s: the chart's restricted context fills in", component)
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type, component)
			assert.Equal(t, "osmo-gateway-sa", d.Spec.Template.Spec.ServiceAccountName, component)
		}

		r = renderChart(t, "service", mergeValues(values(t, all), values(t, `
global: {imagePullSecret: legacy, imagePullSecrets: [regcred], extraPodLabels: {a: "1"}}
extraPodLabels: {b: "2"}
extraPodAnnotations: {c: "3"}
gateway: {rateLimit: {extraPodLabels: {d: "4"}, extraPodAnnotations: {e: "5"}}}`)))
		for component, d := range partPods(r) {
			spec := d.Spec.Template.Spec
			assert.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "legacy"}}, spec.ImagePullSecrets, component)
			assert.Equal(t, "1", d.Spec.Template.Labels["a"], component)
			assert.Equal(t, "2", d.Spec.Template.Labels["b"], component)
			assert.Equal(t, "3", d.Spec.Template.Annotations["c"], component)
		}
		rl := partPods(r)["gateway-ratelimit"]
		assert.Equal(t, "4", rl.Spec.Template.Labels["d"])
		assert.Equal(t, "5", rl.Spec.Template.Annotations["e"])
		assert.Contains(t, rl.Spec.Template.Annotations, "checksum/ratelimit-config", "the chart's own annotation stays")
	})

	t.Run("Pod Security restricted", func(t *testing.T) {
		evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
		require.NoError(t, err)
		restricted := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
		for _, name := range []string{"entra", "google", "keycloak", "ratelimit", "scaling", "secret-files"} {
			for component, d := range partPods(gwFile(t, name)) {
				for _, result := range evaluator.EvaluatePod(restricted, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec) {
					assert.True(t, result.Allowed, "%s %s: %s: %s", name, component, result.ForbiddenReason, result.ForbiddenDetail)
				}
			}
		}
	})

	t.Run("two releases never share a name", func(t *testing.T) {
		seen := map[string]string{}
		for _, rel := range []render.Release{{Name: "team-a", Namespace: "osmo"}, {Name: "team-b", Namespace: "osmo"}} {
			r, err := renderE("service", values(t, all), rel)
			require.NoError(t, err)
			for _, m := range r.Manifests {
				key := objectKey(t, m.Object, rel.Namespace)
				if strings.Contains(key, "gateway-") {
					if previous, dup := seen[key]; dup {
						t.Errorf("%s rendered by %s and %s", key, previous, rel.Name)
					}
					seen[key] = rel.Name
				}
			}
		}
		assert.Contains(t, seen, "*v1.Service/osmo/team-a-service-gateway-oauth2-proxy")
		assert.Contains(t, seen, "*v1.ConfigMap/osmo/team-b-service-gateway-ratelimit-config")
	})

	t.Run("run/minimal: no IdP, none of the three", func(t *testing.T) {
		assert.Empty(t, partPods(gwFile(t, "off")))
	})
}

// mergeValues overlays b on a (maps merged key by key), as a second -f file does.
func mergeValues(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
