package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/render"
)

// Every source of the database password that OSMO's programs read is accepted, so a
// values file that works with NVIDIA's chart keeps rendering; errors_test.go has the
// refusals. The service chart: services.postgres.password, services.configFile.enabled,
// or per component OSMO_POSTGRES_PASSWORD in extraEnv or --postgres_password / --config
// in extraArgs. The router with services.configFile.enabled false: something mounted at
// its --config path, or the Vault agent injector's annotation.
func TestDatabasePasswordSources(t *testing.T) {
	for _, tc := range []struct{ name, chart, values string }{
		{"the password inline, MEK file off", "service", `services: {configFile: {enabled: false}, postgres: {password: x}}`},
		{"the MEK file on (the password from its Secret)", "service", `services: {configFile: {enabled: true}}`},
		{"each component its own", "service", `services:
  configFile: {enabled: false}
  service: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: pg, key: pw}}}]}
  worker: {extraArgs: [--postgres_password, x]}
  logger: {extraArgs: ["--config=/vault/secrets/osmo.yaml"]}
  agent: {extraEnv: [{name: OSMO_POSTGRES_PASSWORD, value: ""}]}
  delayedJobMonitor: {extraArgs: [--config, /vault/secrets/osmo.yaml]}
  migration: {enabled: true, filesConfigMapName: m, extraEnv: [{name: OSMO_CONFIG_FILE, value: /vault/secrets/osmo.yaml}]}`},
		{"router: the config file mounted at its path", "router", `services: {configFile: {enabled: false}}
extraVolumes: [{name: c, secret: {secretName: osmo-config}}]
extraVolumeMounts: [{name: c, mountPath: /opt/osmo/config.yaml, subPath: config.yaml}]`},
		{"router: a directory above it mounted", "router", `services: {configFile: {enabled: false}}
extraVolumes: [{name: c, secret: {secretName: osmo-config}}]
extraVolumeMounts: [{name: c, mountPath: /opt/osmo/}]`},
		{"router: the Vault agent injector puts it there", "router", `services: {configFile: {enabled: false}}
extraPodAnnotations: {vault.hashicorp.com/agent-inject: "true", vault.hashicorp.com/secret-volume-path: /opt/osmo}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderE(tc.chart, values(t, tc.values), release)
			require.NoError(t, err)
		})
	}

	// With the MEK file on every OSMO pod reads the password from Secret db-secret and mounts
	// the MEK file from ConfigMap mek-config: what an operator creates before installing.
	r := renderChart(t, "service", values(t, `services: {configFile: {enabled: true}}`))
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		c := d.Spec.Template.Spec.Containers[0]
		if d.Labels["app.kubernetes.io/component"] == "gateway-envoy" {
			continue
		}
		assert.Contains(t, c.Env, corev1.EnvVar{Name: "OSMO_POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "db-secret"}, Key: "db-password"}}}, d.Name)
		assert.Contains(t, c.Env, corev1.EnvVar{Name: "OSMO_REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "redis-secret"}, Key: "redis-password"}}}, d.Name)
		assert.Equal(t, "mek-config", volumeNamed(t, d.Spec.Template.Spec.Volumes, "mek-volume").ConfigMap.Name, d.Name)
		assert.Contains(t, c.Args, "--mek_file", d.Name)
	}
}
