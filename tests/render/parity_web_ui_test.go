package render_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/osmo-wi/charts/harness/render"
)

// The facts below are how NVIDIA's web-ui chart (NVIDIA/OSMO d59aed3c4,
// deployments/charts/web-ui/templates/ui.yaml) starts the UI for the same values,
// read from that template and checked against its render: env in its order, the
// probes after its port/path defaults, the Service ports, the memory HPA.

// webUIEnv is the env NVIDIA's ui.yaml sets, in its order.
type webUIEnv struct {
	port, nodeOptions, apiHost, portForward, ssl, docs, cli string
}

func (e webUIEnv) vars() []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "PORT", Value: e.port},
		{Name: "NODE_OPTIONS", Value: e.nodeOptions},
		{Name: "NEXT_PUBLIC_OSMO_API_HOSTNAME", Value: e.apiHost},
		{Name: "NEXT_PUBLIC_OSMO_PORT_FORWARD_ENABLED", Value: e.portForward},
		{Name: "NEXT_PUBLIC_OSMO_SSL_ENABLED", Value: e.ssl},
		{Name: "DOCS_BASE_URL", Value: e.docs},
		{Name: "CLI_INSTALL_SCRIPT_URL", Value: e.cli},
	}
}

// webUIDefaultEnv is the env for NVIDIA's defaults with the given API host.
func webUIDefaultEnv(apiHost string) webUIEnv {
	return webUIEnv{
		port: "8000", nodeOptions: "--max-http-header-size=131072", apiHost: apiHost, portForward: "false", ssl: "false",
		docs: "https://nvidia.github.io/OSMO/main/user_guide/",
		cli:  "https://raw.githubusercontent.com/NVIDIA/OSMO/refs/heads/main/install.sh",
	}
}

// webUIHealthProbe is an httpGet probe on /health as NVIDIA's values.yaml defines them.
func webUIHealthProbe(failure, period, timeout, initialDelay int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(8000)}},
		FailureThreshold: failure, PeriodSeconds: period, TimeoutSeconds: timeout, InitialDelaySeconds: initialDelay,
	}
}

var (
	webUIDefaultLiveness  = webUIHealthProbe(2, 5, 3, 0)
	webUIDefaultStartup   = webUIHealthProbe(6, 5, 3, 5)
	webUIDefaultReadiness = webUIHealthProbe(2, 5, 3, 0)
	webUIHTTPPort         = corev1.ContainerPort{Name: "http", ContainerPort: 8000, Protocol: corev1.ProtocolTCP}
	webUITmpMount         = corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}
	webUICacheMount       = corev1.VolumeMount{Name: "next-cache", MountPath: "/app/.next/cache"}
	webUIDefaultService   = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8000), Protocol: corev1.ProtocolTCP}}
	webUIDefaultSpread    = []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
)

// webUIWant is what a values file must produce.
type webUIWant struct {
	name, image, pullPolicy, account string
	replicas                         int32
	command, args                    []string
	env                              []corev1.EnvVar
	envFrom                          []corev1.EnvFromSource
	ports                            []corev1.ContainerPort
	mounts                           []corev1.VolumeMount
	volumes                          []string
	containers, inits                []string
	liveness, startup, readiness     *corev1.Probe
	nodeSelector                     map[string]string
	pullSecrets                      []string
	spreadKeys                       []string
	serviceType                      corev1.ServiceType
	servicePorts                     []corev1.ServicePort
	hpa                              *autoscalingv2.HorizontalPodAutoscalerSpec // nil: no HPA
}

func TestParityWebUIStartsTheUIAsNVIDIADoes(t *testing.T) {
	cases := []struct {
		name   string
		files  []string
		want   webUIWant
		verify func(t *testing.T, d *appsv1.Deployment, r *render.Result)
	}{
		{
			name: "chart defaults: the image's entrypoint, NVIDIA's env and /health probes, port 80 to 8000, no HPA",
			want: webUIWant{
				name: "osmo-web-ui", image: "nvcr.io/nvidia/osmo/web-ui:6.4.0", pullPolicy: "Always", account: "osmo-web-ui", replicas: 1,
				env:   webUIDefaultEnv("osmo-gateway:80").vars(),
				ports: []corev1.ContainerPort{webUIHTTPPort},
				// NVIDIA renders the logs emptyDir without mounting it; operators may mount it by name.
				mounts:     []corev1.VolumeMount{webUITmpMount, webUICacheMount},
				volumes:    []string{"tmp", "logs", "next-cache"},
				containers: []string{"osmo-web-ui"},
				liveness:   webUIDefaultLiveness, startup: webUIDefaultStartup, readiness: webUIDefaultReadiness,
				spreadKeys:   webUIDefaultSpread,
				servicePorts: webUIDefaultService,
			},
		},
		{
			name:  "run/minimal: the gateway's in-cluster host, the legacy pull secret, extraEnvs re-setting SSL to an unquoted false",
			files: []string{"testdata/osmo/web-ui/minimal.yaml"},
			want: webUIWant{
				name: "osmo-web-ui", image: "nvcr.io/nvidia/osmo/web-ui:latest", pullPolicy: "Always", account: "osmo-web-ui", replicas: 1,
				// NVIDIA appends the extraEnvs entry as a second NEXT_PUBLIC_OSMO_SSL_ENABLED ("false", the
				// later one wins in the kubelet); ours replaces the chart's entry in place: same value, one name.
				env:        webUIDefaultEnv("osmo-gateway.osmo.svc.cluster.local:80").vars(),
				ports:      []corev1.ContainerPort{webUIHTTPPort},
				mounts:     []corev1.VolumeMount{webUITmpMount, webUICacheMount},
				volumes:    []string{"tmp", "logs", "next-cache"},
				containers: []string{"osmo-web-ui"},
				liveness:   webUIDefaultLiveness, startup: webUIDefaultStartup, readiness: webUIDefaultReadiness,
				nodeSelector: map[string]string{"node_group": "service"},
				pullSecrets:  []string{"imagepullsecret"},
				spreadKeys:   webUIDefaultSpread,
				servicePorts: webUIDefaultService,
			},
		},
		{
			name:  "deploy_service.rst: the documented tag, hostname and resources",
			files: []string{"testdata/osmo/web-ui/deploy-service.yaml"},
			want: webUIWant{
				name: "osmo-web-ui", image: "nvcr.io/nvidia/osmo/web-ui:6.4.0", pullPolicy: "Always", account: "osmo-web-ui", replicas: 1,
				env:        webUIDefaultEnv("osmo-gateway:80").vars(),
				ports:      []corev1.ContainerPort{webUIHTTPPort},
				mounts:     []corev1.VolumeMount{webUITmpMount, webUICacheMount},
				volumes:    []string{"tmp", "logs", "next-cache"},
				containers: []string{"osmo-web-ui"},
				liveness:   webUIDefaultLiveness, startup: webUIDefaultStartup, readiness: webUIDefaultReadiness,
				spreadKeys:   webUIDefaultSpread,
				servicePorts: webUIDefaultService,
			},
			verify: func(t *testing.T, d *appsv1.Deployment, _ *render.Result) {
				resources := d.Spec.Template.Spec.Containers[0].Resources
				assert.Equal(t, "500m", resources.Requests.Cpu().String())
				assert.Equal(t, "512Mi", resources.Requests.Memory().String())
				assert.Equal(t, "512Mi", resources.Limits.Memory().String())
			},
		},
		{
			name:  "deploy_minimal.rst: the gateway's FQDN, an unquoted numeric tag rendered as written (NVIDIA: 2.0240101e+07)",
			files: []string{"testdata/osmo/web-ui/deploy-minimal.yaml"},
			want: webUIWant{
				name: "osmo-web-ui", image: "registry.example.com/osmo/web-ui:20240101", pullPolicy: "Always", account: "osmo-web-ui", replicas: 1,
				env:        webUIDefaultEnv("osmo-gateway.osmo-minimal.svc.cluster.local:80").vars(),
				ports:      []corev1.ContainerPort{webUIHTTPPort},
				mounts:     []corev1.VolumeMount{webUITmpMount, webUICacheMount},
				volumes:    []string{"tmp", "logs", "next-cache"},
				containers: []string{"osmo-web-ui"},
				liveness:   webUIDefaultLiveness, startup: webUIDefaultStartup, readiness: webUIDefaultReadiness,
				spreadKeys:   webUIDefaultSpread,
				servicePorts: webUIDefaultService,
			},
		},
		{
			name:  "every key family: command/args, env sources, ports, volumes, three probe handlers with NVIDIA's defaults, HPA, Service keys",
			files: []string{"testdata/osmo/web-ui/every-key.yaml"},
			want: webUIWant{
				name: "portal", image: "registry.example.com/osmo/osmo-web-ui:20240101", pullPolicy: "IfNotPresent", account: "ui-runner",
				replicas: 2, // scaling.enabled: minReplicas, not replicas (4)
				command:  []string{"node"},
				args:     []string{"server.js", "--keep-alive", "65"},
				env: append((webUIEnv{
					port: "3000", nodeOptions: "--max-http-header-size=65536", apiHost: "api.example.com:443", portForward: "true", ssl: "true",
					docs: "https://override.example.com/docs/", // extraEnvs replaces docsBaseUrl's value in place
					cli:  "https://example.com/install.sh",
				}).vars(),
					corev1.EnvVar{Name: "NEXT_PUBLIC_USE_MOCK_DATA", Value: "true"},
					corev1.EnvVar{Name: "UI_WORKERS", Value: "8"},
					corev1.EnvVar{Name: "SESSION_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "ui-secrets"}, Key: "session"}}},
				),
				envFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ui-settings"}}},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ui-secrets"}}},
				},
				ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 3000, Protocol: corev1.ProtocolTCP},
					{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
					{Name: "admin", ContainerPort: 3443, Protocol: corev1.ProtocolTCP},
				},
				mounts: []corev1.VolumeMount{
					webUITmpMount,
					{Name: "next-cache", MountPath: "/srv/ui/.next/cache"},
					{Name: "settings", MountPath: "/app/config", ReadOnly: true},
				},
				volumes:    []string{"tmp", "next-cache", "settings"}, // logs off: no logs volume
				containers: []string{"portal", "proxy"},
				inits:      []string{"wait-for-gateway"},
				liveness: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
					FailureThreshold: 3, PeriodSeconds: 10, TimeoutSeconds: 3,
				},
				startup: &corev1.Probe{
					// path and port nulled: NVIDIA's defaults "/" and containerPort.
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/", Port: intstr.FromInt32(3000), Scheme: corev1.URISchemeHTTP,
						HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "startup"}},
					}},
					FailureThreshold: 30, PeriodSeconds: 2, TimeoutSeconds: 3, InitialDelaySeconds: 5, SuccessThreshold: 1,
				},
				readiness: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"node", "-e", "process.exit(0)"}}},
					FailureThreshold: 2, PeriodSeconds: 5, TimeoutSeconds: 4,
				},
				nodeSelector: map[string]string{"kubernetes.io/os": "linux", "node-type": "compute"},
				pullSecrets:  []string{"shared-pull", "legacy-pull", "ui-pull"},
				spreadKeys:   webUIDefaultSpread,
				serviceType:  corev1.ServiceTypeLoadBalancer,
				servicePorts: []corev1.ServicePort{
					{Name: "web", Port: 8080, TargetPort: intstr.FromInt32(3000), Protocol: corev1.ProtocolTCP},
					{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP},
					{Name: "admin", Port: 9443, TargetPort: intstr.FromInt32(3443), Protocol: corev1.ProtocolTCP, NodePort: 30443},
				},
				hpa: &autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "portal"},
					MinReplicas:    ptr(int32(2)), MaxReplicas: 6,
					Metrics: []autoscalingv2.MetricSpec{
						{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
							Name: "memory", Container: "portal",
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))},
						}},
						{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
							Metric: autoscalingv2.MetricIdentifier{Name: "http_requests"},
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: webUIQuantity("100")},
						}},
					},
				},
			},
			verify: func(t *testing.T, d *appsv1.Deployment, r *render.Result) {
				spec := d.Spec.Template.Spec
				assert.Equal(t, []corev1.HostAlias{{IP: "192.168.1.100", Hostnames: []string{"api.example.com"}}}, spec.HostAliases)
				assert.Equal(t, []corev1.Toleration{{Key: "node-type", Operator: "Equal", Value: "ui", Effect: "NoSchedule"}}, spec.Tolerations)
				assert.Equal(t, "250m", spec.Containers[0].Resources.Requests.Cpu().String())
				assert.Equal(t, "512Mi", spec.Containers[0].Resources.Limits.Memory().String())
				assert.Equal(t, []string{"sh", "-c", "until nc -z api.example.com 443; do sleep 2; done"}, spec.InitContainers[0].Command)
				assert.Equal(t, "envoyproxy/envoy:v1.31.0", spec.Containers[1].Image)
				assert.Equal(t, "ui-settings", volumeNamed(t, spec.Volumes, "settings").ConfigMap.Name)

				// Topology spread: the user's own labelSelector is kept; the other selects these pods.
				require.Len(t, spec.TopologySpreadConstraints, 2)
				hostname, zone := spec.TopologySpreadConstraints[0], spec.TopologySpreadConstraints[1]
				assert.Equal(t, int32(2), hostname.MaxSkew)
				assert.Equal(t, corev1.DoNotSchedule, hostname.WhenUnsatisfiable)
				assert.Equal(t, d.Spec.Selector.MatchLabels, hostname.LabelSelector.MatchLabels)
				assert.Equal(t, map[string]string{"tier": "web"}, zone.LabelSelector.MatchLabels)

				var service *corev1.Service
				for _, s := range render.Objects[*corev1.Service](r) {
					if s.Name == "portal" {
						service = s
					}
				}
				require.NotNil(t, service)
				assert.Equal(t, "public", service.Labels["exposure"])
				assert.Equal(t, map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}, service.Annotations,
					"an empty annotation value renders nothing")
				assert.Equal(t, "web", service.Spec.Selector["tier"], "services.ui.service.selector is added to the selector")

				configMaps := map[string]*corev1.ConfigMap{}
				for _, cm := range render.Objects[*corev1.ConfigMap](r) {
					configMaps[cm.Name] = cm
				}
				require.Contains(t, configMaps, "ui-settings", "extraConfigMaps rendered under their own names")
				assert.Equal(t, map[string]string{"THEME": "dark", "PAGE_SIZE": "50"}, configMaps["ui-settings"].Data,
					"a number in a ConfigMap renders as a string, as written")
				assert.Regexp(t, "^[0-9a-f]{64}$", d.Spec.Template.Annotations["checksum/extra-configmaps"])
			},
		},
		{
			name:  "our image and switch-off keys: a per-component registry and digest, replicas, probes off, no cache mount, global account",
			files: []string{"testdata/osmo/web-ui/image-keys.yaml"},
			want: webUIWant{
				name:       "osmo-web-ui",
				image:      "mirror.example.com/nvidia/osmo/web-ui@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				pullPolicy: "Always", account: "shared-osmo", replicas: 2,
				env:          webUIDefaultEnv("osmo-gateway:80").vars(),
				ports:        []corev1.ContainerPort{webUIHTTPPort},
				mounts:       []corev1.VolumeMount{webUITmpMount},
				volumes:      []string{"tmp", "logs"},
				containers:   []string{"osmo-web-ui"},
				spreadKeys:   webUIDefaultSpread,
				servicePorts: webUIDefaultService,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := render.RenderFiles("web-ui", release, tc.files...)
			require.NoError(t, err)
			deployments := render.Objects[*appsv1.Deployment](r)
			require.Len(t, deployments, 1)
			d := deployments[0]
			spec := d.Spec.Template.Spec
			ui := spec.Containers[0]
			want := tc.want

			assert.Equal(t, want.name, d.Name)
			assert.Equal(t, want.replicas, *d.Spec.Replicas)
			assert.Equal(t, want.name, ui.Name, "the container is named like the Deployment, as in NVIDIA's chart")
			assert.Equal(t, want.image, ui.Image)
			assert.Equal(t, corev1.PullPolicy(want.pullPolicy), ui.ImagePullPolicy)
			assert.Equal(t, want.command, ui.Command, "empty: the image's entrypoint")
			assert.Equal(t, want.args, ui.Args, "empty: the image's default arguments")
			assert.Equal(t, want.env, ui.Env)
			assert.Equal(t, want.envFrom, ui.EnvFrom)
			assert.Equal(t, want.ports, ui.Ports)
			assert.Equal(t, want.mounts, ui.VolumeMounts)
			assert.Equal(t, want.volumes, volumeNames(spec.Volumes))
			for _, v := range spec.Volumes {
				if v.Name == "tmp" || v.Name == "logs" || v.Name == "next-cache" {
					assert.NotNil(t, v.EmptyDir, "volume %s is an emptyDir", v.Name)
				}
			}
			assert.Equal(t, want.containers, containerNames(spec.Containers))
			assert.Equal(t, want.inits, containerNames(spec.InitContainers))
			assert.Equal(t, want.liveness, ui.LivenessProbe, "livenessProbe")
			assert.Equal(t, want.startup, ui.StartupProbe, "startupProbe")
			assert.Equal(t, want.readiness, ui.ReadinessProbe, "readinessProbe")
			assert.Equal(t, want.nodeSelector, spec.NodeSelector)
			var secrets []string
			for _, s := range spec.ImagePullSecrets {
				secrets = append(secrets, s.Name)
			}
			assert.Equal(t, want.pullSecrets, secrets)
			var spreadKeys []string
			for _, c := range spec.TopologySpreadConstraints {
				spreadKeys = append(spreadKeys, c.TopologyKey)
			}
			assert.Equal(t, want.spreadKeys, spreadKeys)
			assert.Equal(t, want.account, spec.ServiceAccountName)

			// Read-only root filesystem: the cache dir NVIDIA's image writes is an emptyDir (see the README).
			require.NotNil(t, ui.SecurityContext)
			assert.True(t, *ui.SecurityContext.ReadOnlyRootFilesystem)
			assert.Equal(t, int64(1000), *ui.SecurityContext.RunAsUser, "UID 1000, as NVIDIA's chart runs the UI")

			services := render.Objects[*corev1.Service](r)
			require.Len(t, services, 1)
			service := services[0]
			assert.Equal(t, want.name, service.Name)
			assert.Equal(t, want.serviceType, service.Spec.Type)
			assert.Equal(t, want.servicePorts, service.Spec.Ports)
			for key, value := range d.Spec.Selector.MatchLabels {
				assert.Equal(t, value, service.Spec.Selector[key], "the Service selects the Deployment's pods")
			}

			hpas := render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r)
			if want.hpa == nil {
				assert.Empty(t, hpas, "no HPA unless services.ui.scaling.enabled")
			} else {
				require.Len(t, hpas, 1)
				assert.Equal(t, want.name, hpas[0].Name)
				assert.Equal(t, *want.hpa, hpas[0].Spec)
			}
			if tc.verify != nil {
				tc.verify(t, d, r)
			}
		})
	}
}

// The HPA exists only with scaling.enabled and then measures the UI container's memory,
// as NVIDIA's chart does (not CPU, whatever its values comment says).
func TestParityWebUIScaling(t *testing.T) {
	cases := []struct {
		name     string
		values   string
		replicas int32
		hpa      *autoscalingv2.HorizontalPodAutoscalerSpec
	}{
		{"disabled: replicas as written, no HPA", `services: {ui: {replicas: 3}}`, 3, nil},
		{"enabled with NVIDIA's defaults: minReplicas 1, max 3, memory at 85%", `services: {ui: {replicas: 3, scaling: {enabled: true}}}`, 1,
			&autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "osmo-web-ui"},
				MinReplicas:    ptr(int32(1)), MaxReplicas: 3,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: "memory", Container: "osmo-web-ui",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(85))},
				}}},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, "web-ui", values(t, tc.values))
			d := render.Objects[*appsv1.Deployment](r)
			require.Len(t, d, 1)
			assert.Equal(t, tc.replicas, *d[0].Spec.Replicas)
			hpas := render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r)
			if tc.hpa == nil {
				assert.Empty(t, hpas)
				return
			}
			require.Len(t, hpas, 1)
			assert.Equal(t, *tc.hpa, hpas[0].Spec)
		})
	}
}

// Names are release-scoped (NVIDIA: fixed osmo-ui), an operator's serviceName is used
// verbatim, and every pod (the UI and the helm test pod) runs under the one account.
func TestParityWebUINamesAndTheOneAccount(t *testing.T) {
	cases := []struct {
		name          string
		release       string
		values        string
		object        string // Deployment, Service and container name
		account       string
		createAccount bool
	}{
		{"default: <release>-web-ui for objects and the account", "osmo", ``, "osmo-web-ui", "osmo-web-ui", true},
		{"a release containing the chart name is the name", "team-web-ui", ``, "team-web-ui", "team-web-ui", true},
		{"a second release gets its own names", "staging", ``, "staging-web-ui", "staging-web-ui", true},
		{"fullnameOverride", "osmo", `fullnameOverride: portal`, "portal", "portal", true},
		{"NVIDIA's serviceName is used verbatim", "osmo", `services: {ui: {serviceName: osmo-ui}}`, "osmo-ui", "osmo-web-ui", true},
		{"NVIDIA's services.ui.serviceAccountName names the account the chart creates", "osmo", `services: {ui: {serviceAccountName: osmo}}`, "osmo-web-ui", "osmo", true},
		{"global.serviceAccountName when the component sets none", "osmo", `global: {serviceAccountName: shared}`, "osmo-web-ui", "shared", true},
		{"serviceAccount.name wins over the component's and the global name", "osmo",
			`{serviceAccount: {name: ui-wi}, global: {serviceAccountName: shared}, services: {ui: {serviceAccountName: osmo}}}`, "osmo-web-ui", "ui-wi", true},
		{"a pre-provisioned account is used and never rendered", "osmo", `serviceAccount: {create: false, name: my-wi-sa}`, "osmo-web-ui", "my-wi-sa", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := renderE("web-ui", values(t, tc.values), render.Release{Name: tc.release, Namespace: "ui-ns"})
			require.NoError(t, err)
			d := render.Objects[*appsv1.Deployment](r)
			require.Len(t, d, 1)
			assert.Equal(t, tc.object, d[0].Name)
			assert.Equal(t, tc.object, d[0].Spec.Template.Spec.Containers[0].Name)
			services := render.Objects[*corev1.Service](r)
			require.Len(t, services, 1)
			assert.Equal(t, tc.object, services[0].Name)
			all := pods(r)
			require.Len(t, all, 2, "the UI and the helm test pod")
			for _, p := range all {
				assert.Equal(t, tc.account, p.Spec.ServiceAccountName, describe(p))
			}
			accounts := serviceAccounts(r)
			if tc.createAccount {
				assert.Contains(t, accounts, tc.account)
				assert.Len(t, accounts, 1)
			} else {
				assert.Empty(t, accounts)
			}
		})
	}
}

// Pod labels merge lowest first: global.extraPodLabels, extraPodLabels,
// services.ui.podLabels (NVIDIA's key), services.ui.extraPodLabels (ours); the
// component label is web-ui and no user label reaches a selector.
func TestParityWebUILabelsAndAnnotations(t *testing.T) {
	r := renderChart(t, "web-ui", values(t, `
global:
  extraPodLabels: {level: global, only-global: "1"}
  extraPodAnnotations: {level: global, only-global: "1"}
extraPodLabels: {level: chart, only-chart: "2"}
extraPodAnnotations: {level: chart, only-chart: "2"}
services:
  ui:
    podLabels: {level: podLabels, azure.workload.identity/use: true, dropped: ""}
    extraPodLabels: {level: component}
    extraPodAnnotations: {level: component}
`))
	d := render.Objects[*appsv1.Deployment](r)
	require.Len(t, d, 1)
	labels := d[0].Spec.Template.Labels
	assert.Equal(t, "component", labels["level"], "services.ui.extraPodLabels win over podLabels")
	assert.Equal(t, "1", labels["only-global"])
	assert.Equal(t, "2", labels["only-chart"])
	assert.Equal(t, "true", labels["azure.workload.identity/use"], "an unquoted true renders as a string")
	assert.NotContains(t, labels, "dropped", "an empty label value renders nothing")
	assert.Equal(t, "web-ui", labels["app.kubernetes.io/component"])
	assert.Equal(t, map[string]string{
		"app.kubernetes.io/name": "web-ui", "app.kubernetes.io/instance": "osmo", "app.kubernetes.io/component": "web-ui",
	}, d[0].Spec.Selector.MatchLabels)
	annotations := d[0].Spec.Template.Annotations
	assert.Equal(t, "component", annotations["level"])
	assert.Equal(t, "1", annotations["only-global"])
	assert.Equal(t, "2", annotations["only-chart"])
	assert.NotContains(t, annotations, "checksum/extra-configmaps", "no extraConfigMaps, no checksum")
}

// The helm test pod fetches the UI's /health through its Service, and checks the
// injected identity when the shortcut is on.
func TestParityWebUITestPod(t *testing.T) {
	cases := []struct {
		name, values, script string
	}{
		{"default Service name and port", ``, "wget -q -O /dev/null -T 10 http://osmo-web-ui:80/health\ntrue"},
		{"NVIDIA's serviceName and another Service port", `services: {ui: {serviceName: osmo-ui, service: {port: 8080}}}`,
			"wget -q -O /dev/null -T 10 http://osmo-ui:8080/health\ntrue"},
		{"Azure: the webhook's env must be injected", `global: {workloadIdentity: {provider: azure, azure: {clientId: 6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b}}}`,
			"wget -q -O /dev/null -T 10 http://osmo-web-ui:80/health\n" +
				`test -n "${AZURE_CLIENT_ID:-}" || { echo "AZURE_CLIENT_ID not injected: is the Azure Workload Identity webhook installed?"; exit 1; }; test -s "$AZURE_FEDERATED_TOKEN_FILE"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, "web-ui", values(t, tc.values))
			testPods := render.Objects[*corev1.Pod](r)
			require.Len(t, testPods, 1)
			p := testPods[0]
			assert.Equal(t, "test", p.Annotations["helm.sh/hook"])
			require.Len(t, p.Spec.Containers, 1)
			assert.Equal(t, []string{"sh", "-ec"}, p.Spec.Containers[0].Command)
			assert.Equal(t, []string{tc.script}, p.Spec.Containers[0].Args)
		})
	}
}

// Bad values fail the render with every finding at once, each naming the key,
// the value and the rule.
func TestParityWebUIRejectsBadValues(t *testing.T) {
	cases := []struct {
		name, values string
		want         []string
	}{
		{"a probe with no handler (NVIDIA renders one the API server rejects)", `services: {ui: {livenessProbe: {httpGet: null, tcpSocket: {}}}}`,
			[]string{`services.ui.livenessProbe: {"failureThreshold":2,"periodSeconds":5,"tcpSocket":{},"timeoutSeconds":3} has no handler (expected httpGet, tcpSocket, exec or grpc; null disables the probe)`}},
		{"a mount on the chart's /tmp or Next.js cache",
			`services: {ui: {extraVolumeMounts: [{name: a, mountPath: /tmp}, {name: b, mountPath: /app/.next/cache}], extraVolumes: [{name: a, emptyDir: {}}, {name: b, emptyDir: {}}]}}`,
			[]string{
				`services.ui.extraVolumeMounts: mountPath "/tmp" is already mounted by the chart's writable /tmp (mount elsewhere, or set services.ui.nextCacheDir: "" to mount your own cache)`,
				`services.ui.extraVolumeMounts: mountPath "/app/.next/cache" is already mounted by services.ui.nextCacheDir (mount elsewhere, or set services.ui.nextCacheDir: "" to mount your own cache)`,
			}},
		{"a volume named like one the chart renders", `services: {ui: {extraVolumes: [{name: logs, emptyDir: {}}, {name: next-cache, emptyDir: {}}]}}`,
			[]string{
				`services.ui.extraVolumes: volume name "logs" is one the chart renders (its own: tmp, logs, next-cache); choose another name`,
				`services.ui.extraVolumes: volume name "next-cache" is one the chart renders (its own: tmp, logs, next-cache); choose another name`,
			}},
		{"scaling with min above max", `services: {ui: {scaling: {enabled: true, minReplicas: 5, maxReplicas: 3}}}`,
			[]string{`services.ui.scaling.minReplicas: 5 is greater than services.ui.scaling.maxReplicas (3); the HPA needs min <= max`}},
		{"an invalid label name in NVIDIA's podLabels", `services: {ui: {podLabels: {"-team": a}}}`,
			[]string{`services.ui.podLabels: "-team" is not a valid label name (expected [prefix/]name, the name at most 63 characters of letters, digits, '-', '_' and '.')`}},
		{"a variable set twice in extraEnvs", `services: {ui: {extraEnvs: [{name: A, value: "1"}, {name: A, value: "2"}]}}`,
			[]string{`services.ui.extraEnvs: "A" is set twice (each variable name once)`}},
		{"a pre-provisioned account without a name", `serviceAccount: {create: false}`,
			[]string{`serviceAccount.name: required when serviceAccount.create is false (set it, or a component's own account key, or global.serviceAccountName, to the pre-provisioned ServiceAccount the pods run under)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderE("web-ui", values(t, tc.values), release)
			require.Error(t, err)
			want := "\nweb-ui: invalid values:\n- " + strings.Join(tc.want, "\n- ")
			assert.True(t, strings.HasSuffix(err.Error(), want), "got:\n%s\nwant suffix:\n%s", err.Error(), want)
		})
	}
}

func webUIQuantity(text string) *resource.Quantity {
	q := resource.MustParse(text)
	return &q
}
