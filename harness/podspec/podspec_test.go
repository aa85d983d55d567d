package podspec_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/podspec"
)

// gcpPod is the chart's GCP federation wiring: one projected volume holding
// the pool token and the credential file from a ConfigMap, plus a Secret
// volume mounted with a subPath.
func gcpPod() (*corev1.PodSpec, *corev1.Container) {
	spec := &corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "gcp-ksa", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "//iam.googleapis.com/pool", Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"},
					Items: []corev1.KeyToPath{{Key: "credential-configuration.json", Path: "credential-configuration.json"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "extra"}}},
			}}}},
			{Name: "certs", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls"}}},
		},
		Containers: []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{
			{Name: "gcp-ksa", MountPath: "/var/run/secrets/tokens/gcp-ksa"},
			{Name: "certs", MountPath: "/etc/tls", SubPath: "server"},
			{Name: "undefined", MountPath: "/data"},
		}}},
	}
	return spec, &spec.Containers[0]
}

func TestLocate(t *testing.T) {
	spec, c := gcpPod()
	for _, tc := range []struct {
		name     string // what the case proves
		file     string
		inVolume string
		first    podspec.Source
		err      string
	}{
		{name: "a projected token by its path", file: "/var/run/secrets/tokens/gcp-ksa/token", inVolume: "token",
			first: podspec.Source{Token: spec.Volumes[0].Projected.Sources[0].ServiceAccountToken}},
		{name: "a ConfigMap item by its path", file: "/var/run/secrets/tokens/gcp-ksa//credential-configuration.json", inVolume: "credential-configuration.json",
			first: podspec.Source{ConfigMap: "creds", Key: "credential-configuration.json"}},
		{name: "a Secret projected without items holds the file only if it has the key", file: "/var/run/secrets/tokens/gcp-ksa/other", inVolume: "other",
			first: podspec.Source{Secret: "extra", Key: "other", IfPresent: true}},
		{name: "a subPath is prepended", file: "/etc/tls/tls.crt", inVolume: "server/tls.crt",
			err: `no projected token, ConfigMap or Secret item at "server/tls.crt"`},
		{name: "a file under no mount", file: "/elsewhere/token", err: "no volume is mounted where /elsewhere/token lives"},
		{name: "a mount of an undefined volume", file: "/data/x", err: `mounts volume "undefined", which the pod does not define`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := podspec.Locate(spec, c, tc.file)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.inVolume, f.InVolume)
			assert.Equal(t, tc.first, f.Sources[0])
			assert.Equal(t, tc.first.Token, f.Token())
		})
	}
}

func TestEnv(t *testing.T) {
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "AZURE_CLIENT_ID", Value: "id"},
		{Name: "AZURE_TENANT_ID", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "tenant"}}},
	}}
	literal, elsewhere := podspec.Env(c)
	assert.Equal(t, map[string]string{"AZURE_CLIENT_ID": "id"}, literal)
	assert.Equal(t, map[string]string{"AZURE_TENANT_ID": "configmap cm/tenant"}, elsewhere)
	assert.True(t, podspec.HasEnv(&corev1.PodSpec{InitContainers: []corev1.Container{*c}}, "AZURE_TENANT_ID"))
	assert.Equal(t, "default", podspec.ServiceAccount(&corev1.PodSpec{}))
}
