package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/render"
)

// configsOn turns on the configs ConfigMap (NVIDIA's default is off).
const configsOn = `services: {configs: {enabled: true}}`

// The service chart ships OSMO's default templates and pool; runtime placeholders
// pass through Helm untouched.
func TestDefaultPodTemplatesAndPool(t *testing.T) {
	r := renderChart(t, "service", values(t, configsOn))
	config := serviceConfig(t, r)
	assert.Equal(t, []any{"default_user", "default_ctrl"}, dig(config, "pools", "default", "common_pod_template"))
	user := dig(config, "pod_templates", "default_user", "spec", "containers").([]any)[0]
	assert.Equal(t, "{{USER_CONTAINER_NAME}}", dig(user, "name"))
	assert.Equal(t, "{{USER_CPU}}", dig(user, "resources", "requests", "cpu"))
	assert.Equal(t, "{{USER_GPU}}", dig(user, "resources", "requests", "nvidia.com/gpu"))
	assert.NotNil(t, dig(config, "pod_templates", "default_ctrl"))
}

// User templates and pools merge over the defaults instead of replacing them.
func TestUserTemplatesAndPoolsMergeOverDefaults(t *testing.T) {
	r := renderChart(t, "service", values(t, `
services:
  configs:
    enabled: true
    podTemplates:
      gpu_nodes:
        spec: {nodeSelector: {nvidia.com/gpu.present: "true"}, tolerations: [{key: nvidia.com/gpu, operator: Exists}]}
    pools:
      gpu:
        description: GPU pool
        common_pod_template: [default_user, default_ctrl, gpu_nodes]`))
	config := serviceConfig(t, r)
	for _, name := range []string{"default_user", "default_ctrl", "gpu_nodes"} {
		assert.NotNil(t, dig(config, "pod_templates", name), "template %s", name)
	}
	assert.Equal(t, []any{"default_user", "default_ctrl"}, dig(config, "pools", "default", "common_pod_template"), "the default pool stays")
	assert.Equal(t, []any{"default_user", "default_ctrl", "gpu_nodes"}, dig(config, "pools", "gpu", "common_pod_template"))
}

// The service pods mount the configs and roll when they change (checksum annotation).
func TestServiceMountsConfigsAndRollsOnChange(t *testing.T) {
	checksum := func(vals map[string]any) string {
		for _, d := range render.Objects[*appsv1.Deployment](renderChart(t, "service", vals)) {
			if d.Name == "osmo-service" {
				assert.Contains(t, d.Spec.Template.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "configs", MountPath: "/etc/osmo/configs", ReadOnly: true})
				return d.Spec.Template.Annotations["checksum/configs"]
			}
		}
		t.Fatal("no osmo-service Deployment")
		return ""
	}
	before := checksum(values(t, configsOn))
	after := checksum(values(t, `services: {configs: {enabled: true, pools: {default: {common_pod_template: [default_user]}}}}`))
	assert.Len(t, before, 64)
	assert.NotEqual(t, before, after)
}

// Placeholders are never evaluated by Helm, even in user templates.
func TestPlaceholdersInUserTemplatesPassThrough(t *testing.T) {
	r := renderChart(t, "service", values(t, `
services:
  configs:
    enabled: true
    podTemplates:
      shm:
        spec: {volumes: [{name: shm, emptyDir: {medium: Memory, sizeLimit: "{{USER_SHM}}"}}]}`))
	volume := dig(serviceConfig(t, r), "pod_templates", "shm", "spec", "volumes").([]any)[0]
	assert.Equal(t, "{{USER_SHM}}", dig(volume, "emptyDir", "sizeLimit"))
}
