package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/render"
)

// routerWant is how NVIDIA's router chart (d59aed3c4, templates/router-service.yaml)
// starts the router for a values file: the facts our chart must reproduce.
type routerWant struct {
	name, image, pullPolicy string
	replicas                int32
	args                    []string
	env                     []corev1.EnvVar
	ports                   []corev1.ContainerPort
	mounts                  []corev1.VolumeMount // besides our /tmp
	volumes                 []string             // names, besides our tmp
	containers, inits       []string
	hpaMin, hpaMax          int32
	hpaMetrics              int
}

func TestParityRouterStartsTheRouterAsNVIDIADoes(t *testing.T) {
	logs := []string{"--log_level", "DEBUG", "--k8s_log_level", "WARNING", "--log_dir", "/logs", "--log_name", "router_service"}
	cases := []struct {
		name   string
		files  []string
		values string // inline values, instead of files
		want   routerWant
		verify func(t *testing.T, d *appsv1.Deployment, r *render.Result)
	}{
		{
			// NVIDIA's default mode (services.configFile.enabled false) with the operator's own OSMO
			// config file mounted at the --config path; without one the render fails (errors_test.go).
			name:   "configFile off: --config with the default path, the operator's config file mounted there, logs on, no password env",
			values: "services: {configFile: {enabled: false}}\nextraVolumes: [{name: osmo-config, secret: {secretName: osmo-config}}]\nextraVolumeMounts: [{name: osmo-config, mountPath: /opt/osmo}]",
			want: routerWant{
				name: "osmo-router", image: "nvcr.io/nvidia/osmo/router:6.4.0", pullPolicy: "Always", replicas: 3,
				args: append([]string{"--hostname", "", "--postgres_host", "postgres", "--postgres_port", "5432",
					"--postgres_database_name", "osmo", "--postgres_user", "postgres", "--config", "/opt/osmo/config.yaml"}, logs...),
				env:        []corev1.EnvVar{{Name: "OSMO_SCHEMA_VERSION", Value: "public"}},
				ports:      []corev1.ContainerPort{{Name: "http", ContainerPort: 8000, Protocol: "TCP"}},
				mounts:     []corev1.VolumeMount{{Name: "logs", MountPath: "/logs"}, {Name: "osmo-config", MountPath: "/opt/osmo"}},
				volumes:    []string{"logs", "osmo-config"},
				containers: []string{"osmo-router"},
				hpaMin:     3, hpaMax: 5, hpaMetrics: 2,
			},
		},
		{
			name:  "run/minimal: the MEK file mounted from mek-config, the inline password, one replica",
			files: []string{"testdata/osmo/router/minimal.yaml"},
			want: routerWant{
				name: "osmo-router", image: "nvcr.io/nvidia/osmo/router:latest", pullPolicy: "Always", replicas: 1,
				args: append([]string{"--hostname", "osmo-gateway.osmo.svc.cluster.local", "--postgres_host", "postgres",
					"--postgres_port", "5432", "--postgres_database_name", "osmo", "--postgres_user", "postgres",
					"--mek_file", "/home/osmo/config/mek.yaml"}, logs...),
				env:   []corev1.EnvVar{{Name: "OSMO_SCHEMA_VERSION", Value: "public"}, {Name: "OSMO_POSTGRES_PASSWORD", Value: "osmo"}},
				ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000, Protocol: "TCP"}},
				mounts: []corev1.VolumeMount{
					{Name: "mek-volume", MountPath: "/home/osmo/config/mek.yaml", SubPath: "mek.yaml"},
					{Name: "logs", MountPath: "/logs"},
				},
				volumes:    []string{"mek-volume", "logs"},
				containers: []string{"osmo-router"},
				hpaMin:     1, hpaMax: 1, hpaMetrics: 2,
			},
			verify: func(t *testing.T, d *appsv1.Deployment, _ *render.Result) {
				spec := d.Spec.Template.Spec
				assert.Equal(t, map[string]string{"node_group": "service"}, spec.NodeSelector, "global.nodeSelector")
				assert.Equal(t, []corev1.LocalObjectReference{{Name: "imagepullsecret"}}, spec.ImagePullSecrets)
				mek := volumeNamed(t, spec.Volumes, "mek-volume")
				require.NotNil(t, mek.ConfigMap)
				assert.Equal(t, "mek-config", mek.ConfigMap.Name)
				assert.Equal(t, []corev1.KeyToPath{{Key: "mek.yaml", Path: "mek.yaml"}}, mek.ConfigMap.Items)
				assert.Equal(t, int32(420), *mek.ConfigMap.DefaultMode)
			},
		},
		{
			name:  "every key family: logging off, password Secret, extras, a serviceName, numbers as written",
			files: []string{"testdata/osmo/router/every-key.yaml"},
			want: routerWant{
				name: "edge-router", image: "registry.example.com/osmo/router:20240101", pullPolicy: "IfNotPresent", replicas: 2,
				args: []string{"--hostname", "router.example.com", "--postgres_host", "db.example.com", "--postgres_port", "6432",
					"--postgres_database_name", "osmo_prod", "--mek_file", "/opt/osmo/config.yaml", "--debug", "--workers", "4"},
				env: []corev1.EnvVar{
					{Name: "OSMO_SCHEMA_VERSION", Value: "overridden"},
					{Name: "OSMO_POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "my-db"}, Key: "pw"}}},
					{Name: "EXTRA", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "router-extra"}, Key: "extra"}}},
				},
				ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000, Protocol: "TCP"}, {Name: "debug", ContainerPort: 9000, Protocol: "TCP"}},
				mounts: []corev1.VolumeMount{
					{Name: "mek-volume", MountPath: "/opt/osmo/config.yaml", SubPath: "mek.yaml"},
					{Name: "extra", MountPath: "/extra"},
				},
				volumes:    []string{"mek-volume", "extra"},
				containers: []string{"edge-router", "sidecar"},
				inits:      []string{"wait"},
				hpaMin:     2, hpaMax: 4, hpaMetrics: 3,
			},
			verify: func(t *testing.T, d *appsv1.Deployment, r *render.Result) {
				spec := d.Spec.Template.Spec
				router := spec.Containers[0]
				assert.Nil(t, router.LivenessProbe, "livenessProbe: null disables it (a {} would merge with the default, in Helm as in NVIDIA's chart)")
				require.NotNil(t, router.StartupProbe)
				require.NotNil(t, router.ReadinessProbe)
				assert.Equal(t, "12345678", d.Spec.Template.Labels["team"], "a number label renders as written")
				assert.Equal(t, "platform", d.Spec.Template.Annotations["example.com/owner"])
				assert.Equal(t, "my-mek", volumeNamed(t, spec.Volumes, "mek-volume").ConfigMap.Name)
				assert.Equal(t, []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db.example.com"}}}, spec.HostAliases)
				assert.Len(t, spec.Tolerations, 1)
				assert.Equal(t, "500m", router.Resources.Requests.Cpu().String())
				configMaps := map[string]bool{}
				for _, cm := range render.Objects[*corev1.ConfigMap](r) {
					configMaps[cm.Name] = true
				}
				assert.True(t, configMaps["router-extra"], "extraConfigMaps rendered under their own names")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := render.RenderFiles("router", release, tc.files...)
			if tc.values != "" {
				r, err = renderE("router", values(t, tc.values), release)
			}
			require.NoError(t, err)
			deployments := render.Objects[*appsv1.Deployment](r)
			require.Len(t, deployments, 1)
			d := deployments[0]
			spec := d.Spec.Template.Spec
			router := spec.Containers[0]

			assert.Equal(t, tc.want.name, d.Name)
			assert.Equal(t, tc.want.replicas, *d.Spec.Replicas)
			assert.Equal(t, tc.want.name, router.Name)
			assert.Equal(t, tc.want.image, router.Image)
			assert.Equal(t, corev1.PullPolicy(tc.want.pullPolicy), router.ImagePullPolicy)
			assert.Equal(t, []string{"router"}, router.Command)
			assert.Equal(t, tc.want.args, router.Args)
			assert.Equal(t, tc.want.env, router.Env)
			assert.Equal(t, tc.want.ports, router.Ports)
			assert.Equal(t, append([]corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}, tc.want.mounts...), router.VolumeMounts)
			assert.Equal(t, append([]string{"tmp"}, tc.want.volumes...), volumeNames(spec.Volumes))
			assert.Equal(t, tc.want.containers, containerNames(spec.Containers))
			assert.Equal(t, tc.want.inits, containerNames(spec.InitContainers))
			for _, probe := range []*corev1.Probe{router.StartupProbe, router.ReadinessProbe} {
				require.NotNil(t, probe)
				assert.Equal(t, "/api/router/version", probe.HTTPGet.Path, "the router serves no /health")
				assert.Equal(t, 8000, probe.HTTPGet.Port.IntValue())
			}

			services := map[string]*corev1.Service{}
			for _, s := range render.Objects[*corev1.Service](r) {
				services[s.Name] = s
			}
			for _, name := range []string{tc.want.name, tc.want.name + "-headless"} {
				s := services[name]
				require.NotNil(t, s, "Service %s", name)
				require.Len(t, s.Spec.Ports, 1)
				assert.Equal(t, int32(80), s.Spec.Ports[0].Port, "OSMO's clients call port 80")
				assert.Equal(t, 8000, s.Spec.Ports[0].TargetPort.IntValue())
				assert.Equal(t, d.Spec.Selector.MatchLabels, s.Spec.Selector)
			}
			assert.Equal(t, "None", services[tc.want.name+"-headless"].Spec.ClusterIP)

			hpas := render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r)
			require.Len(t, hpas, 1)
			hpa := hpas[0]
			assert.Equal(t, tc.want.name, hpa.Spec.ScaleTargetRef.Name)
			assert.Equal(t, tc.want.hpaMin, *hpa.Spec.MinReplicas)
			assert.Equal(t, tc.want.hpaMax, hpa.Spec.MaxReplicas)
			require.Len(t, hpa.Spec.Metrics, tc.want.hpaMetrics)
			for i, resource := range []corev1.ResourceName{"memory", "cpu"} {
				m := hpa.Spec.Metrics[i].ContainerResource
				require.NotNil(t, m)
				assert.Equal(t, resource, m.Name)
				assert.Equal(t, tc.want.name, m.Container, "the HPA measures the router container")
			}
			if tc.verify != nil {
				tc.verify(t, d, r)
			}
		})
	}
}
