package render_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/render"
)

// The facts below are NVIDIA's backend-operator chart at NVIDIA/OSMO d59aed3c4
// (deployments/charts/backend-operator: values.yaml, backend-listener.yaml,
// backend-worker.yaml, *-rbac.yaml, backend-test-runner-config.yaml, ...), written out
// as literal tables: what that chart renders for the same values files.

const boChart = "backend-operator"

func boFile(name string) string { return "testdata/osmo/backend-operator/" + name + ".yaml" }

var (
	boListenerProgress = []string{"progress_check", "--progress_interval", "300:300:300:300", "--progress_file",
		"/var/run/osmo/last_progress_websocket:/var/run/osmo/last_progress_pod:/var/run/osmo/last_progress_node:/var/run/osmo/last_progress_event"}
	boWorkerProgress = []string{"progress_check", "--progress_interval", "300:300", "--progress_file",
		"/var/run/osmo/last_progress_worker_job:/var/run/osmo/last_progress_worker_heartbeat"}
	boProgressFiles      = corev1.Volume{Name: "progress-files", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	boProgressFilesMount = corev1.VolumeMount{Name: "progress-files", MountPath: "/var/run/osmo"}
	boPasswordMount      = corev1.VolumeMount{Name: "osmo-secret", MountPath: "/opt/osmo/secrets/password.txt", SubPath: "password.txt", ReadOnly: true}
	boTokenMount         = corev1.VolumeMount{Name: "osmo-secret", MountPath: "/opt/osmo/secrets/token.txt", SubPath: "token.txt", ReadOnly: true}
	boTemplateMount      = corev1.VolumeMount{Name: "backend-test-runner-template", MountPath: "/tmp/backend-test-runner", ReadOnly: true}
	boOpsToleration      = []corev1.Toleration{{Key: "ops", Operator: "Exists", Effect: "NoSchedule"}}
)

func boSecretVolume(secret, key, path string) corev1.Volume {
	return corev1.Volume{Name: "osmo-secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: secret, Items: []corev1.KeyToPath{{Key: key, Path: path}}}}}
}

func boTemplateVolume(configMap string) corev1.Volume {
	return corev1.Volume{Name: "backend-test-runner-template", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap}, Items: []corev1.KeyToPath{{Key: "spec.yaml", Path: "spec.yaml"}}}}}
}

// boWant is one component's pod as NVIDIA's chart starts it (our /tmp aside).
type boWant struct {
	deployment, container, image, pullPolicy, account string
	command                                           []string
	args                                              []string
	env                                               []corev1.EnvVar
	mounts                                            []corev1.VolumeMount // after our /tmp
	volumes                                           []corev1.Volume      // after our tmp
	containers, inits                                 []string
	nodeSelector                                      map[string]string
	tolerations                                       []corev1.Toleration
	hostAliases                                       []corev1.HostAlias
	pullSecrets                                       []corev1.LocalObjectReference
	requests, limits                                  map[string]string
}

// The listener's and worker's arguments for the chart's own defaults: password login, empty URL and user.
func boDefaultArgs(component string) []string {
	common := []string{"--host", "", "--username", "", "--password_file", "/opt/osmo/secrets/password.txt", "--login_method", "password",
		"--backend", "default", "--namespace", "osmo-namespace", "--log_level", "DEBUG", "--k8s_log_level", "WARNING",
		"--metrics_otel_collector_component", "osmo-backend-operator-" + component, "--metrics_otel_enable", "true"}
	if component == "listener" {
		return append(common, "--enable_node_label_update", "false", "--node_condition_prefix", "", "--max_unacked_messages", "100",
			"--pod_event_cache_ttl", "15", "--include_namespace_usage", "osmo-staging,osmo-prod", "--api_qps", "20", "--api_burst", "30")
	}
	return append(common, "--node_condition_prefix", "", "--progress_iter_frequency", "15s", "--test_runner_cronjob_spec_file", "/tmp/backend-test-runner/spec.yaml")
}

// tokenArgs are the arguments of NVIDIA's token-login values files (run/minimal, the docs).
func boTokenArgs(component, host, namespace string, worker ...string) []string {
	common := []string{"--host", host, "--token_file", "/opt/osmo/secrets/token.txt", "--login_method", "token",
		"--backend", "default", "--namespace", namespace, "--log_level", "DEBUG", "--k8s_log_level", "WARNING",
		"--metrics_otel_collector_component", "osmo-backend-operator-" + component, "--metrics_otel_enable", "true"}
	if component == "listener" {
		return append(common, "--enable_node_label_update", "false", "--node_condition_prefix", "", "--max_unacked_messages", "100",
			"--pod_event_cache_ttl", "15", "--include_namespace_usage", "osmo-staging,osmo-prod", "--api_qps", "20", "--api_burst", "30")
	}
	return append(append(common, "--node_condition_prefix", "", "--progress_iter_frequency", "15s"), worker...)
}

func TestParityBackendOperatorStartsListenerAndWorkerAsNVIDIADoes(t *testing.T) {
	cases := []struct {
		name     string
		files    []string
		listener boWant
		worker   boWant
	}{
		{
			name: "chart defaults: password login from svc-osmo-admin, the test runner template mounted into the worker",
			listener: boWant{
				deployment: "osmo-backend-operator-listener", container: "backend-listener", image: "nvcr.io/nvidia/osmo/backend-listener:6.4.0",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_listener"}, args: boDefaultArgs("listener"),
				mounts:     []corev1.VolumeMount{boPasswordMount, boProgressFilesMount},
				volumes:    []corev1.Volume{boProgressFiles, boSecretVolume("svc-osmo-admin", "password", "password.txt")},
				containers: []string{"backend-listener"}, tolerations: boOpsToleration,
				requests: map[string]string{"cpu": "1", "memory": "2Gi"}, limits: map[string]string{"memory": "2Gi"},
			},
			worker: boWant{
				deployment: "osmo-backend-operator-worker", container: "backend-worker", image: "nvcr.io/nvidia/osmo/backend-worker:6.4.0",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_worker"}, args: boDefaultArgs("worker"),
				mounts: []corev1.VolumeMount{boPasswordMount, boTemplateMount, boProgressFilesMount},
				volumes: []corev1.Volume{boProgressFiles, boSecretVolume("svc-osmo-admin", "password", "password.txt"),
					boTemplateVolume("osmo-backend-operator-test-runner-template")},
				containers: []string{"backend-worker"}, tolerations: boOpsToleration,
				requests: map[string]string{"cpu": "1", "memory": "1Gi"}, limits: map[string]string{"memory": "1Gi"},
			},
		},
		{
			name:  "run/minimal: token login from agent-token, workflows in default, tests in osmo-test, test runner off",
			files: []string{boFile("minimal")},
			listener: boWant{
				deployment: "osmo-backend-operator-listener", container: "backend-listener", image: "nvcr.io/nvidia/osmo/backend-listener:latest",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_listener"},
				args:       boTokenArgs("listener", "http://osmo-gateway.osmo.svc.cluster.local", "default"),
				mounts:     []corev1.VolumeMount{boTokenMount, boProgressFilesMount},
				volumes:    []corev1.Volume{boProgressFiles, boSecretVolume("agent-token", "token", "token.txt")},
				containers: []string{"backend-listener"}, tolerations: boOpsToleration,
				nodeSelector: map[string]string{"node_group": "service"}, pullSecrets: []corev1.LocalObjectReference{{Name: "imagepullsecret"}},
				requests: map[string]string{"cpu": "125m", "memory": "128Mi"}, limits: map[string]string{"cpu": "250m", "memory": "256Mi"},
			},
			worker: boWant{
				deployment: "osmo-backend-operator-worker", container: "backend-worker", image: "nvcr.io/nvidia/osmo/backend-worker:latest",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_worker"},
				args:       boTokenArgs("worker", "http://osmo-gateway.osmo.svc.cluster.local", "default", "--test_runner_namespace", "osmo-test"),
				mounts:     []corev1.VolumeMount{boTokenMount, boProgressFilesMount},
				volumes:    []corev1.Volume{boProgressFiles, boSecretVolume("agent-token", "token", "token.txt")},
				containers: []string{"backend-worker"}, tolerations: boOpsToleration,
				nodeSelector: map[string]string{"node_group": "service"}, pullSecrets: []corev1.LocalObjectReference{{Name: "imagepullsecret"}},
				requests: map[string]string{"cpu": "125m", "memory": "128Mi"}, limits: map[string]string{"cpu": "250m", "memory": "256Mi"},
			},
		},
		{
			name:  "deploy_backend.rst: token from osmo-operator-token, workflows in osmo-workflows; its services block under global is ignored",
			files: []string{boFile("deploy-backend")},
			listener: boWant{
				deployment: "osmo-backend-operator-listener", container: "backend-listener", image: "nvcr.io/nvidia/osmo/backend-listener:6.4.0",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_listener"},
				args:       boTokenArgs("listener", "https://osmo.example.com", "osmo-workflows"),
				mounts:     []corev1.VolumeMount{boTokenMount, boProgressFilesMount},
				volumes:    []corev1.Volume{boProgressFiles, boSecretVolume("osmo-operator-token", "token", "token.txt")},
				containers: []string{"backend-listener"}, tolerations: boOpsToleration,
				requests: map[string]string{"cpu": "1", "memory": "2Gi"}, limits: map[string]string{"memory": "2Gi"},
			},
			worker: boWant{
				deployment: "osmo-backend-operator-worker", container: "backend-worker", image: "nvcr.io/nvidia/osmo/backend-worker:6.4.0",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_worker"},
				args:   boTokenArgs("worker", "https://osmo.example.com", "osmo-workflows", "--test_runner_cronjob_spec_file", "/tmp/backend-test-runner/spec.yaml"),
				mounts: []corev1.VolumeMount{boTokenMount, boTemplateMount, boProgressFilesMount},
				volumes: []corev1.Volume{boProgressFiles, boSecretVolume("osmo-operator-token", "token", "token.txt"),
					boTemplateVolume("osmo-backend-operator-test-runner-template")},
				containers: []string{"backend-worker"}, tolerations: boOpsToleration,
				requests: map[string]string{"cpu": "1", "memory": "1Gi"}, limits: map[string]string{"memory": "1Gi"},
			},
		},
		{
			name:  "deploy_minimal.rst: a private registry, small resources, the sidecars block accepted",
			files: []string{boFile("deploy-minimal")},
			listener: boWant{
				deployment: "osmo-backend-operator-listener", container: "backend-listener", image: "registry.example.com/osmo/backend-listener:6.4.0",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_listener"},
				args:       boTokenArgs("listener", "http://osmo-gateway.osmo-minimal.svc.cluster.local", "osmo-workflows"),
				mounts:     []corev1.VolumeMount{boTokenMount, boProgressFilesMount},
				volumes:    []corev1.Volume{boProgressFiles, boSecretVolume("osmo-operator-token", "token", "token.txt")},
				containers: []string{"backend-listener"}, tolerations: boOpsToleration,
				requests: map[string]string{"cpu": "125m", "memory": "128Mi"}, limits: map[string]string{"cpu": "250m", "memory": "256Mi"},
			},
			worker: boWant{
				deployment: "osmo-backend-operator-worker", container: "backend-worker", image: "registry.example.com/osmo/backend-worker:6.4.0",
				pullPolicy: "Always", account: "osmo-backend-operator", command: []string{"backend_worker"},
				args: boTokenArgs("worker", "http://osmo-gateway.osmo-minimal.svc.cluster.local", "osmo-workflows",
					"--test_runner_cronjob_spec_file", "/tmp/backend-test-runner/spec.yaml"),
				mounts: []corev1.VolumeMount{boTokenMount, boTemplateMount, boProgressFilesMount},
				volumes: []corev1.Volume{boProgressFiles, boSecretVolume("osmo-operator-token", "token", "token.txt"),
					boTemplateVolume("osmo-backend-operator-test-runner-template")},
				containers: []string{"backend-worker"}, tolerations: boOpsToleration,
				requests: map[string]string{"cpu": "125m", "memory": "128Mi"}, limits: map[string]string{"cpu": "250m", "memory": "256Mi"},
			},
		},
		{
			name:  "every key: password from osmo-login/pw, serviceNames verbatim, numbers as written, extras of every kind",
			files: []string{boFile("every-key")},
			listener: boWant{
				deployment: "edge-listener", container: "backend-listener", image: "registry.example.com/osmo/listener:20240202",
				pullPolicy: "IfNotPresent", account: "osmo-operator", command: []string{"backend_listener"},
				args: []string{"--host", "https://osmo.example.com", "--username", "backend-operator", "--password_file", "/opt/osmo/secrets/password.txt",
					"--login_method", "password", "--backend", "gpu-east", "--namespace", "workflows", "--log_level", "INFO", "--k8s_log_level", "ERROR",
					"--metrics_otel_collector_component", "edge-listener", "--metrics_otel_enable", "true", "--enable_node_label_update", "true",
					"--node_condition_prefix", "osmo.example.com/", "--max_unacked_messages", "250", "--pod_event_cache_ttl", "30",
					"--include_namespace_usage", "team-a,team-b", "--api_qps", "50", "--api_burst", "75", "--debug", "7"},
				env:    []corev1.EnvVar{{Name: "LISTENER_MODE", Value: "fast"}},
				mounts: []corev1.VolumeMount{boPasswordMount, boProgressFilesMount, {Name: "extra", MountPath: "/extra"}},
				volumes: []corev1.Volume{boProgressFiles,
					{Name: "extra", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "osmo-backend-operator-extra"}}}},
					boSecretVolume("osmo-login", "pw", "password.txt")},
				containers: []string{"backend-listener", "proxy"}, inits: []string{"wait"},
				tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "osmo", Effect: "NoSchedule"}},
				nodeSelector: map[string]string{"pool": "system", "role": "listener"},
				hostAliases:  []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"osmo.example.com"}}},
				pullSecrets:  []corev1.LocalObjectReference{{Name: "regcred"}},
				requests:     map[string]string{"cpu": "500m", "memory": "1Gi"}, limits: map[string]string{"memory": "2Gi"},
			},
			worker: boWant{
				deployment: "edge-worker", container: "backend-worker",
				image:      "registry.example.com/osmo/worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				pullPolicy: "Always", account: "osmo-operator", command: []string{"backend_worker"},
				args: []string{"--host", "https://osmo.example.com", "--username", "backend-operator", "--password_file", "/opt/osmo/secrets/password.txt",
					"--login_method", "password", "--backend", "gpu-east", "--namespace", "workflows", "--log_level", "INFO", "--k8s_log_level", "ERROR",
					"--metrics_otel_collector_component", "edge-worker", "--metrics_otel_enable", "true", "--node_condition_prefix", "osmo.example.com/",
					"--progress_iter_frequency", "30s", "--test_runner_namespace", "backend-tests",
					"--test_runner_cronjob_spec_file", "/tmp/backend-test-runner/spec.yaml", "--concurrency", "10"},
				env: []corev1.EnvVar{{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "database-secret"}, Key: "url"}}}},
				mounts: []corev1.VolumeMount{boPasswordMount, boTemplateMount, boProgressFilesMount},
				volumes: []corev1.Volume{boProgressFiles, boSecretVolume("osmo-login", "pw", "password.txt"),
					boTemplateVolume("osmo-backend-operator-test-runner-template")},
				containers:   []string{"backend-worker"},
				tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "osmo", Effect: "NoSchedule"}},
				nodeSelector: map[string]string{"pool": "system", "role": "worker"},
				pullSecrets:  []corev1.LocalObjectReference{{Name: "regcred"}},
				requests:     map[string]string{"cpu": "250m", "memory": "512Mi"}, limits: map[string]string{"memory": "1Gi"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := render.RenderFiles(boChart, release, tc.files...)
			require.NoError(t, err)
			deployments := map[string]*appsv1.Deployment{}
			for _, d := range render.Objects[*appsv1.Deployment](r) {
				deployments[d.Spec.Template.Labels["app.kubernetes.io/component"]] = d
			}
			require.Len(t, deployments, 2)
			for component, want := range map[string]boWant{"listener": tc.listener, "worker": tc.worker} {
				d := deployments[component]
				require.NotNil(t, d, component)
				spec := d.Spec.Template.Spec
				c := spec.Containers[0]
				assert.Equal(t, want.deployment, d.Name, component)
				assert.Equal(t, int32(1), *d.Spec.Replicas, "%s: NVIDIA runs one replica", component)
				assert.Equal(t, release.Namespace, d.Namespace, "%s: in the release namespace", component)
				assert.Equal(t, want.container, c.Name, component)
				assert.Equal(t, want.image, c.Image, component)
				assert.Equal(t, corev1.PullPolicy(want.pullPolicy), c.ImagePullPolicy, component)
				assert.Equal(t, want.command, c.Command, component)
				assert.Equal(t, want.args, c.Args, component)
				assert.Equal(t, want.env, c.Env, component)
				assert.Equal(t, []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9464}}, c.Ports, component)
				progress := boListenerProgress
				if component == "worker" {
					progress = boWorkerProgress
				}
				assert.Equal(t, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: progress}},
					FailureThreshold: 1, PeriodSeconds: 30, TimeoutSeconds: 15}, c.LivenessProbe, component)
				assert.Equal(t, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: progress}},
					FailureThreshold: 12, PeriodSeconds: 5, TimeoutSeconds: 15, InitialDelaySeconds: 10}, c.StartupProbe, component)
				assert.Nil(t, c.ReadinessProbe, "%s: NVIDIA's chart has no readiness probe", component)
				require.NotEmpty(t, c.VolumeMounts)
				assert.Equal(t, corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}, c.VolumeMounts[0], component)
				assert.Equal(t, want.mounts, c.VolumeMounts[1:], component)
				require.NotEmpty(t, spec.Volumes)
				assert.Equal(t, "tmp", spec.Volumes[0].Name, component)
				assert.Equal(t, want.volumes, spec.Volumes[1:], component)
				assert.Equal(t, want.containers, containerNames(spec.Containers), component)
				assert.Equal(t, want.inits, containerNames(spec.InitContainers), component)
				assert.Equal(t, want.account, spec.ServiceAccountName, component)
				assert.True(t, *spec.AutomountServiceAccountToken, "%s calls the Kubernetes API", component)
				assert.Equal(t, want.nodeSelector, spec.NodeSelector, component)
				assert.Equal(t, want.tolerations, spec.Tolerations, component)
				assert.Equal(t, want.hostAliases, spec.HostAliases, component)
				assert.Equal(t, want.pullSecrets, spec.ImagePullSecrets, component)
				assert.Equal(t, want.requests, boQuantities(c.Resources.Requests), component)
				assert.Equal(t, want.limits, boQuantities(c.Resources.Limits), component)
				assert.Equal(t, map[string]string{"app.kubernetes.io/name": "backend-operator", "app.kubernetes.io/instance": "osmo",
					"app.kubernetes.io/component": component}, d.Spec.Selector.MatchLabels, "%s: the selector holds only name, instance and component", component)
			}
		})
	}
}

func boQuantities(list corev1.ResourceList) map[string]string {
	if len(list) == 0 {
		return nil
	}
	out := map[string]string{}
	for name, q := range list {
		out[string(name)] = q.String()
	}
	return out
}

// Pod labels and annotations merge global, chart and component maps; numbers render as written.
func TestParityBackendOperatorPodLabelsAndAnnotations(t *testing.T) {
	r, err := render.RenderFiles(boChart, release, boFile("every-key"))
	require.NoError(t, err)
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		if d.Name == "edge-listener" {
			assert.Equal(t, "12345678", d.Spec.Template.Labels["team"], "services.backendListener.extraPodLabels, a number as written")
			assert.Equal(t, map[string]string{"example.com/owner": "platform"}, d.Spec.Template.Annotations)
		} else {
			assert.NotContains(t, d.Spec.Template.Labels, "team", "the listener's labels stay on the listener")
		}
	}
}

// boJinja fills in the placeholders OSMO's worker substitutes in the test runner
// template ({{ name }} and {{ name | default("x") }}), as it does before parsing the YAML.
var boJinja = regexp.MustCompile(`\{\{\s*(\w+)\s*(?:\|\s*default\(("(?:[^"\\]|\\.)*")\))?\s*\}\}`)

func boFillIn(t *testing.T, text string, vars map[string]string) string {
	return boJinja.ReplaceAllStringFunc(text, func(match string) string {
		parts := boJinja.FindStringSubmatch(match)
		if v, ok := vars[parts[1]]; ok {
			return v
		}
		require.NotEmpty(t, parts[2], "placeholder %s has no value and no default", parts[1])
		v, err := strconv.Unquote(parts[2])
		require.NoError(t, err)
		return v
	})
}

// boDefaultCronJob is the CronJob NVIDIA's template yields for its default values, once OSMO
// fills in resource_name=osmo-nccl, backend_name=gpu-east, test_name=nccl (resources aside).
func boDefaultCronJob() batchv1.CronJob {
	check := func(dir string) string {
		return "echo \"Validating test configuration...\"\nif [ -f " + dir + "/test_config.json ]; then\n  echo \"Configuration file found\"\n  exit 0\nelse\n  echo \"Configuration file missing\"\n  exit 1\nfi\n"
	}
	runAs := func(c *corev1.SecurityContext) *corev1.SecurityContext {
		c.RunAsNonRoot, c.RunAsUser, c.RunAsGroup = ptr(true), ptr(int64(1000)), ptr(int64(1000))
		return c
	}
	configMount := []corev1.VolumeMount{{Name: "test-config", MountPath: "/test-config", ReadOnly: true}}
	return batchv1.CronJob{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        "osmo-nccl",
			Labels:      map[string]string{"component": "backend-test", "backend": "gpu-east", "test": "nccl", "managed-by": "backend-operator"},
			Annotations: map[string]string{"description": "Automated test runner for gpu-east - nccl", "scheduler": "backend-test-scheduler"},
		},
		Spec: batchv1.CronJobSpec{
			Schedule: "0 2 * * *", TimeZone: ptr("UTC"), StartingDeadlineSeconds: ptr(int64(300)),
			ConcurrencyPolicy: "Forbid", Suspend: ptr(false), SuccessfulJobsHistoryLimit: ptr(int32(1)), FailedJobsHistoryLimit: ptr(int32(3)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"component": "backend-test-job", "backend": "gpu-east", "test": "nccl", "job-type": "test-runner"},
					Annotations: map[string]string{"created-by": "backend-operator"},
				},
				Spec: batchv1.JobSpec{
					Parallelism: ptr(int32(1)), Completions: ptr(int32(1)), BackoffLimit: ptr(int32(2)), ActiveDeadlineSeconds: ptr(int64(3600)),
					TTLSecondsAfterFinished: ptr(int32(86400)), CompletionMode: ptr(batchv1.NonIndexedCompletion), Suspend: ptr(false),
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{
							Labels:      map[string]string{"component": "backend-test-pod", "pod-type": "test-runner", "backend": "gpu-east", "test": "nccl"},
							Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"},
						},
						Spec: corev1.PodSpec{
							RestartPolicy: "Never", TerminationGracePeriodSeconds: ptr(int64(30)), ActiveDeadlineSeconds: ptr(int64(3600)),
							ServiceAccountName: "osmo-backend-operator", AutomountServiceAccountToken: ptr(true),
							SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(1000)),
								FSGroup: ptr(int64(1000)), SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}},
							NodeSelector: map[string]string{},
							Tolerations:  boOpsToleration,
							InitContainers: []corev1.Container{{
								Name: "config-validator", Image: "ubuntu:22.04", ImagePullPolicy: "IfNotPresent",
								Command: []string{"/bin/sh"}, Args: []string{"-c", check("/test-config")}, VolumeMounts: configMount,
								SecurityContext: runAs(&corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
									Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, ReadOnlyRootFilesystem: ptr(true)}),
							}},
							Containers: []corev1.Container{{
								Name: "backend-test-runner", Image: "nvcr.io/nvidia/osmo/backend-test-runner:6.4.0", ImagePullPolicy: "Always",
								Command: []string{"backend_test_runner"},
								Args:    []string{"--read_from_osmo", "false", "--read_from_file", "/test-config/test_config.json", "--prefix", "osmo"},
								Env: []corev1.EnvVar{
									{Name: "BACKEND", Value: "gpu-east"},
									{Name: "BACKEND_TEST_NAME", Value: "nccl"},
									{Name: "NODE_CONDITION_PREFIX", Value: ""},
									{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
									{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
									{Name: "SERVICE_ACCOUNT", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
								},
								VolumeMounts: configMount,
								SecurityContext: runAs(&corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
									Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
									ReadOnlyRootFilesystem: ptr(true)}),
							}},
							Volumes: []corev1.Volume{{Name: "test-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: "nccl-config"}, DefaultMode: ptr(int32(420)), Optional: ptr(false)}}}},
						},
					},
				},
			},
		},
	}
}

// The every-key file's CronJob: the default one with every backendTestRunner key changed.
func boEveryKeyCronJob() batchv1.CronJob {
	cj := boDefaultCronJob()
	cj.Labels = map[string]string{"osmo.example.com/component": "backend-test", "osmo.example.com/backend": "gpu-east", "osmo.example.com/test": "nccl", "managed-by": "osmo"}
	cj.Annotations = map[string]string{"description": "Test nccl on gpu-east", "scheduler": "nightly"}
	s := &cj.Spec
	s.Schedule, s.TimeZone, s.StartingDeadlineSeconds = "*/30 * * * *", ptr("Europe/Berlin"), ptr(int64(60))
	s.ConcurrencyPolicy, s.Suspend, s.SuccessfulJobsHistoryLimit, s.FailedJobsHistoryLimit = "Replace", ptr(true), ptr(int32(2)), ptr(int32(5))
	j := &s.JobTemplate.Spec
	j.Parallelism, j.Completions, j.BackoffLimit, j.ActiveDeadlineSeconds = ptr(int32(2)), ptr(int32(2)), ptr(int32(0)), ptr(int64(600))
	j.TTLSecondsAfterFinished, j.CompletionMode, j.Suspend = ptr(int32(3600)), ptr(batchv1.IndexedCompletion), ptr(true)
	j.Template.Labels = map[string]string{"component": "backend-test-pod", "pod-type": "node-check", "backend": "gpu-east", "test": "nccl"}
	j.Template.Annotations["example.com/test"] = "yes"
	p := &j.Template.Spec
	p.RestartPolicy, p.TerminationGracePeriodSeconds, p.ActiveDeadlineSeconds = "OnFailure", ptr(int64(10)), ptr(int64(600))
	p.ServiceAccountName, p.AutomountServiceAccountToken = "osmo-operator", ptr(false)
	p.SecurityContext.RunAsUser, p.SecurityContext.RunAsGroup, p.SecurityContext.FSGroup = ptr(int64(2000)), ptr(int64(2000)), ptr(int64(2000))
	p.NodeSelector = map[string]string{"role": "gpu"}
	p.Tolerations = []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}
	p.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: "Exists"}}}}}}}
	p.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	p.HostAliases = []corev1.HostAlias{{IP: "10.0.0.2", Hostnames: []string{"tests.example.com"}}, {IP: "10.0.0.3", Hostnames: []string{"registry.example.com"}}}
	mount := []corev1.VolumeMount{{Name: "config", MountPath: "/etc/test", ReadOnly: true}}
	init := &p.InitContainers[0]
	init.Image, init.ImagePullPolicy, init.VolumeMounts = "busybox:1.37.0", "Always", mount
	init.Args = []string{"-c", "echo \"Validating test configuration...\"\nif [ -f /etc/test/test_config.json ]; then\n  echo \"Configuration file found\"\n  exit 0\nelse\n  echo \"Configuration file missing\"\n  exit 1\nfi\n"}
	init.SecurityContext.RunAsUser, init.SecurityContext.RunAsGroup = ptr(int64(2000)), ptr(int64(2000))
	c := &p.Containers[0]
	c.Image, c.ImagePullPolicy = "registry.example.com/osmo/backend-test-runner:20240303", "IfNotPresent"
	c.Args = []string{"--read_from_osmo", "true", "--retries", "3"}
	c.Env[2].Value = "osmo.example.com/"
	c.Env = append(c.Env, corev1.EnvVar{Name: "MODE", Value: "strict"}, corev1.EnvVar{Name: "RETRIES", Value: "3"})
	c.VolumeMounts = mount
	c.SecurityContext.RunAsUser, c.SecurityContext.RunAsGroup = ptr(int64(2000)), ptr(int64(2000))
	c.SecurityContext.Capabilities.Add = []corev1.Capability{}
	p.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg-nccl"}, DefaultMode: ptr(int32(0o600)), Optional: ptr(true)}}}}
	return cj
}

// The worker's CronJob template holds NVIDIA's pod template for the same values; OSMO's
// placeholders pass through Helm and fill in to a valid CronJob.
func TestParityBackendOperatorTestRunnerTemplate(t *testing.T) {
	vars := map[string]string{"resource_name": "osmo-nccl", "backend_name": "gpu-east", "test_name": "nccl"}
	cases := []struct {
		name   string
		files  []string
		want   batchv1.CronJob
		res    [4]map[string]string // init requests, init limits, runner requests, runner limits
		labels map[string]string    // of the ConfigMap, besides the standard ones
	}{
		{"chart defaults", nil, boDefaultCronJob(),
			[4]map[string]string{{"cpu": "50m", "memory": "64Mi"}, {"cpu": "100m", "memory": "128Mi"}, {"cpu": "100m", "memory": "512Mi"}, {"cpu": "500m", "memory": "1Gi"}},
			map[string]string{"component": "backend-test-runner", "managed-by": "backend-operator"}},
		{"every backendTestRunner key, the test pods under the resolved account osmo-operator", []string{boFile("every-key")}, boEveryKeyCronJob(),
			[4]map[string]string{{"cpu": "10m", "memory": "16Mi"}, {"cpu": "100m", "memory": "128Mi"}, {"cpu": "200m", "memory": "256Mi"}, {"cpu": "500m", "memory": "1Gi"}},
			map[string]string{"component": "ignored-on-cronjobs", "managed-by": "osmo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := render.RenderFiles(boChart, release, tc.files...)
			require.NoError(t, err)
			var cm *corev1.ConfigMap
			for _, c := range render.Objects[*corev1.ConfigMap](r) {
				if c.Name == "osmo-backend-operator-test-runner-template" {
					cm = c
				}
			}
			require.NotNil(t, cm, "the template ConfigMap the worker mounts")
			assert.Equal(t, release.Namespace, cm.Namespace)
			for k, v := range tc.labels {
				assert.Equal(t, v, cm.Labels[k], "ConfigMap label %s", k)
			}
			text := cm.Data["spec.yaml"]
			require.NotEmpty(t, text)
			assert.Contains(t, text, "{{ cron_schedule | default(", "OSMO's placeholders pass through Helm")
			raw := map[string]any{}
			require.NoError(t, yaml.Unmarshal([]byte(text), &raw), "the template is YAML before OSMO fills it in, too")

			var got batchv1.CronJob
			require.NoError(t, yaml.UnmarshalStrict([]byte(boFillIn(t, text, vars)), &got), "filled in, it is a CronJob with no unknown field")
			pod := &got.Spec.JobTemplate.Spec.Template.Spec
			require.Len(t, pod.InitContainers, 1)
			require.Len(t, pod.Containers, 1)
			assert.Equal(t, tc.res, [4]map[string]string{
				boQuantities(pod.InitContainers[0].Resources.Requests), boQuantities(pod.InitContainers[0].Resources.Limits),
				boQuantities(pod.Containers[0].Resources.Requests), boQuantities(pod.Containers[0].Resources.Limits)})
			pod.InitContainers[0].Resources, pod.Containers[0].Resources = corev1.ResourceRequirements{}, corev1.ResourceRequirements{}
			assert.Equal(t, tc.want, got)
		})
	}
}

// boRules is a role's rules as NVIDIA's chart writes them.
var (
	boListenerEventsRules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list", "watch", "get"}}}
	boListenerRules       = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"list", "watch", "get"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
	}
	boNodeLabelRule      = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"patch"}}
	boWorkerClusterRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
		{APIGroups: []string{"scheduling.run.ai"}, Resources: []string{"queues"}, Verbs: []string{"list", "delete", "create", "update", "get"}},
		{APIGroups: []string{"kai.scheduler"}, Resources: []string{"topologies"}, Verbs: []string{"list", "delete", "create", "update", "get"}},
	}
	boWorkerRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets", "pods", "services"}, Verbs: []string{"list", "delete", "create", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{"scheduling.run.ai"}, Resources: []string{"podgroups"}, Verbs: []string{"list", "delete", "create"}},
	}
	boWorkerTestRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list", "delete", "create", "patch"}},
		{APIGroups: []string{"batch"}, Resources: []string{"cronjobs"}, Verbs: []string{"list", "delete", "create", "patch"}},
	}
	boTestRunnerRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete", "create", "get", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "list", "watch", "create"}},
		{APIGroups: []string{"apps"}, Resources: []string{"daemonsets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	}
	boTestRunnerClusterRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"patch", "get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"nodes/status"}, Verbs: []string{"patch", "update"}},
	}
)

func boWith(rules []rbacv1.PolicyRule, extra ...rbacv1.PolicyRule) []rbacv1.PolicyRule {
	return append(slices.Clone(rules), extra...)
}

// boDefaultRoles are the roles for a backend namespace ns and the release "osmo" in "osmo".
func boDefaultRoles(ns string) map[string][]rbacv1.PolicyRule {
	return map[string][]rbacv1.PolicyRule{
		"Role " + ns + "/osmo-osmo-backend-operator-listener-events": boListenerEventsRules,
		"Role " + ns + "/osmo-osmo-backend-operator-worker":          boWorkerRules,
		"ClusterRole osmo-osmo-backend-operator-listener":            boListenerRules,
		"ClusterRole osmo-osmo-backend-operator-worker":              boWorkerClusterRules,
	}
}

func boMerge(maps ...map[string][]rbacv1.PolicyRule) map[string][]rbacv1.PolicyRule {
	out := map[string][]rbacv1.PolicyRule{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func boTestRoles(ns, prefix string) map[string][]rbacv1.PolicyRule {
	return map[string][]rbacv1.PolicyRule{
		"Role " + ns + "/" + prefix + "-worker-tests":        boWorkerTestRules,
		"Role " + ns + "/" + prefix + "-test-runner":         boTestRunnerRules,
		"ClusterRole osmo-osmo-backend-operator-test-runner": boTestRunnerClusterRules,
	}
}

// RBAC: exactly the rules NVIDIA grants, every binding naming the one account, no wildcard.
func TestParityBackendOperatorRBAC(t *testing.T) {
	type subject struct{ name, namespace string }
	cases := []struct {
		name     string
		values   string
		files    []string
		roles    map[string][]rbacv1.PolicyRule // "Kind [namespace/]name" -> rules
		subjects map[string]subject             // binding "Kind [namespace/]name" -> its one subject (default: the resolved account in "osmo")
		account  string                         // the resolved account
		accounts []string                       // ServiceAccounts rendered, "namespace/name"
	}{
		{name: "chart defaults: listener and worker roles in osmo-namespace", roles: boDefaultRoles("osmo-namespace"),
			account: "osmo-backend-operator", accounts: []string{"osmo/osmo-backend-operator"}},
		{name: "group_template.rst: extraRBACRules appended to the worker's Role", files: []string{boFile("group-template-permissions")},
			roles: boMerge(boDefaultRoles("osmo-namespace"), map[string][]rbacv1.PolicyRule{
				"Role osmo-namespace/osmo-osmo-backend-operator-worker": boWith(boWorkerRules,
					rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list", "create", "delete", "patch"}},
					rbacv1.PolicyRule{APIGroups: []string{"resource.nvidia.com"}, Resources: []string{"computedomains"}, Verbs: []string{"list", "create", "delete", "patch"}}),
			}),
			account: "osmo-backend-operator", accounts: []string{"osmo/osmo-backend-operator"}},
		{name: "run/minimal: a test namespace adds the worker's and test runner's roles there; the account is created there too",
			files: []string{boFile("minimal")},
			roles: boMerge(boDefaultRoles("default"), boTestRoles("osmo-test", "osmo-osmo-backend-operator")),
			subjects: map[string]subject{
				"RoleBinding osmo-test/osmo-osmo-backend-operator-test-runner": {"osmo-backend-operator", "osmo-test"},
				"ClusterRoleBinding osmo-osmo-backend-operator-test-runner":    {"osmo-backend-operator", "osmo-test"},
			},
			account: "osmo-backend-operator", accounts: []string{"osmo/osmo-backend-operator", "osmo-test/osmo-backend-operator"}},
		{name: "every key: node label updates, extra rules, extra roles as written, the components' one account",
			files: []string{boFile("every-key")},
			roles: boMerge(map[string][]rbacv1.PolicyRule{
				"Role workflows/osmo-osmo-backend-operator-listener-events": boListenerEventsRules,
				"Role workflows/osmo-osmo-backend-operator-worker": boWith(boWorkerRules,
					rbacv1.PolicyRule{APIGroups: []string{"resource.nvidia.com"}, Resources: []string{"computedomains"}, Verbs: []string{"list", "create", "delete", "patch"}}),
				"ClusterRole osmo-osmo-backend-operator-listener": boWith(boListenerRules, boNodeLabelRule),
				"ClusterRole osmo-osmo-backend-operator-worker":   boWorkerClusterRules,
				"Role gpu-operator/test-runner-gpu-operator":      {{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "get"}}},
			}, boTestRoles("backend-tests", "osmo-osmo-backend-operator")),
			subjects: map[string]subject{
				"RoleBinding backend-tests/osmo-osmo-backend-operator-test-runner": {"osmo-operator", "backend-tests"},
				"ClusterRoleBinding osmo-osmo-backend-operator-test-runner":        {"osmo-operator", "backend-tests"},
			},
			account:  "osmo-operator",
			accounts: []string{"osmo/osmo-operator", "backend-tests/osmo-operator", "workflows/osmo-osmo-backend-operator-workflow"}},
		{name: "workflow and test namespace are the release namespace: plain names, no collision, every subject in it, one account",
			values: `global: {backendNamespace: osmo, backendTestNamespace: osmo}`,
			roles: map[string][]rbacv1.PolicyRule{
				"Role osmo/osmo-backend-operator-listener-events":    boListenerEventsRules,
				"Role osmo/osmo-backend-operator-worker":             boWorkerRules,
				"Role osmo/osmo-backend-operator-worker-tests":       boWorkerTestRules,
				"ClusterRole osmo-osmo-backend-operator-listener":    boListenerRules,
				"ClusterRole osmo-osmo-backend-operator-worker":      boWorkerClusterRules,
				"Role osmo/osmo-backend-operator-test-runner":        boTestRunnerRules,
				"ClusterRole osmo-osmo-backend-operator-test-runner": boTestRunnerClusterRules,
			},
			account: "osmo-backend-operator", accounts: []string{"osmo/osmo-backend-operator"}},
		{name: "pre-provisioned account: bound everywhere, created nowhere (test pods need it in the test namespace)",
			values: `{serviceAccount: {create: false, name: ops-sa}, global: {backendTestNamespace: tests}}`,
			roles:  boMerge(boDefaultRoles("osmo-namespace"), boTestRoles("tests", "osmo-osmo-backend-operator")),
			subjects: map[string]subject{
				"RoleBinding tests/osmo-osmo-backend-operator-test-runner":  {"ops-sa", "tests"},
				"ClusterRoleBinding osmo-osmo-backend-operator-test-runner": {"ops-sa", "tests"},
			},
			account: "ops-sa"},
		{name: "podTemplate.serviceAccount names the test pods' own account (used as written, not created)",
			values: `{global: {backendTestNamespace: tests}, backendTestRunner: {podTemplate: {serviceAccount: node-tester}}}`,
			roles:  boMerge(boDefaultRoles("osmo-namespace"), boTestRoles("tests", "osmo-osmo-backend-operator")),
			subjects: map[string]subject{
				"RoleBinding tests/osmo-osmo-backend-operator-test-runner":  {"node-tester", "tests"},
				"ClusterRoleBinding osmo-osmo-backend-operator-test-runner": {"node-tester", "tests"},
			},
			account: "osmo-backend-operator", accounts: []string{"osmo/osmo-backend-operator"}},
		{name: "enableClusterRoles false: no RBAC at all, as in NVIDIA's chart", values: `global: {enableClusterRoles: false, backendTestNamespace: tests}`,
			roles: map[string][]rbacv1.PolicyRule{}, account: "osmo-backend-operator", accounts: []string{"osmo/osmo-backend-operator"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vals, err := render.ReadValues(tc.files...)
			require.NoError(t, err)
			if tc.values != "" {
				vals = chartutil.MergeTables(values(t, tc.values), vals)
			}
			r := renderChart(t, boChart, vals)

			roles := map[string][]rbacv1.PolicyRule{}
			for _, role := range render.Objects[*rbacv1.Role](r) {
				key := "Role " + role.Namespace + "/" + role.Name
				require.NotContains(t, roles, key, "rendered twice")
				roles[key] = role.Rules
			}
			for _, role := range render.Objects[*rbacv1.ClusterRole](r) {
				roles["ClusterRole "+role.Name] = role.Rules
			}
			assert.Equal(t, tc.roles, roles, "the rules NVIDIA grants, in NVIDIA's order")
			for key, rules := range roles {
				for _, rule := range rules {
					for _, field := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups} {
						assert.NotContains(t, field, "*", "%s: %v", key, rule)
					}
				}
			}

			bindings := map[string]rbacv1.Subject{}
			roleRefs := map[string]string{}
			for _, b := range render.Objects[*rbacv1.RoleBinding](r) {
				require.Len(t, b.Subjects, 1, b.Name)
				key := "RoleBinding " + b.Namespace + "/" + b.Name
				bindings[key], roleRefs[key] = b.Subjects[0], "Role "+b.Namespace+"/"+b.RoleRef.Name
			}
			for _, b := range render.Objects[*rbacv1.ClusterRoleBinding](r) {
				require.Len(t, b.Subjects, 1, b.Name)
				key := "ClusterRoleBinding " + b.Name
				bindings[key], roleRefs[key] = b.Subjects[0], "ClusterRole "+b.RoleRef.Name
			}
			assert.Len(t, bindings, len(tc.roles)-boExtraRoles(tc.roles), "one binding per role of the chart")
			for key, s := range bindings {
				assert.Contains(t, tc.roles, roleRefs[key], "%s binds a role of the chart", key)
				want, special := tc.subjects[key]
				if !special {
					want = subject{tc.account, release.Namespace}
				}
				assert.Equal(t, rbacv1.Subject{Kind: "ServiceAccount", Name: want.name, Namespace: want.namespace}, s, key)
				if !special {
					assert.Equal(t, tc.account, s.Name, "%s: the resolved account", key)
				}
			}
			for key := range tc.subjects {
				assert.Contains(t, bindings, key)
			}

			var accounts []string
			for _, sa := range render.Objects[*corev1.ServiceAccount](r) {
				accounts = append(accounts, sa.Namespace+"/"+sa.Name)
			}
			assert.ElementsMatch(t, tc.accounts, accounts)
			for _, p := range pods(r) {
				assert.Equal(t, tc.account, p.Spec.ServiceAccountName, describe(p))
			}
		})
	}
}

// boExtraRoles counts the roles the chart renders from backendTestRunner.extraRoles (bound by the user, not by the chart).
func boExtraRoles(roles map[string][]rbacv1.PolicyRule) int {
	n := 0
	for key := range roles {
		if strings.HasPrefix(key, "Role gpu-operator/") {
			n++
		}
	}
	return n
}

// global.enableNonClusterRoles gates the Deployments, as NVIDIA's flag does.
func TestParityBackendOperatorEnableNonClusterRoles(t *testing.T) {
	r := renderChart(t, boChart, values(t, `global: {enableNonClusterRoles: false}`))
	assert.Empty(t, render.Objects[*appsv1.Deployment](r))
	assert.NotEmpty(t, render.Objects[*rbacv1.Role](r), "RBAC is gated by enableClusterRoles only")
	assert.Contains(t, r.Notes, "the listener and worker are not deployed")
}

// Two releases, in one namespace or one each, sharing the workflow namespace: no object collides,
// cluster-scoped ones (ClusterRoles, bindings, PriorityClasses) included.
func TestParityBackendOperatorTwoReleasesCoexist(t *testing.T) {
	const everything = `
global:
  backendNamespace: shared-workflows
  networkPolicy: {enabled: true}
  workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"}}
services: {backendListener: {enableNodeLabelUpdate: true}}
workflowServiceAccount: {create: true}
extraConfigMaps: {extra: {data: {a: b}}}`
	cases := []struct {
		name      string
		a, b      render.Release
		testNS    [2]string // global.backendTestNamespace of each
		collision []string  // objects both render (documented in the README)
	}{
		{name: "two releases in one namespace, one test namespace",
			a: render.Release{Name: "team-a", Namespace: "osmo"}, b: render.Release{Name: "team-b", Namespace: "osmo"},
			testNS: [2]string{"shared-tests", "shared-tests"}},
		{name: "one release name in two namespaces, a test namespace each",
			a: render.Release{Name: "osmo", Namespace: "team-a"}, b: render.Release{Name: "osmo", Namespace: "team-b"},
			testNS: [2]string{"team-a-tests", "team-b-tests"}},
		{name: "one release name in two namespaces sharing a test namespace: only the test account (the resolved name) is shared",
			a: render.Release{Name: "osmo", Namespace: "team-a"}, b: render.Release{Name: "osmo", Namespace: "team-b"},
			testNS:    [2]string{"shared-tests", "shared-tests"},
			collision: []string{"*v1.ServiceAccount/shared-tests/osmo-backend-operator"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]string{}
			var collisions []string
			cluster := 0
			for i, rel := range []render.Release{tc.a, tc.b} {
				vals := values(t, everything)
				vals["global"].(map[string]any)["backendTestNamespace"] = tc.testNS[i]
				r, err := renderE(boChart, vals, rel)
				require.NoError(t, err)
				for _, m := range r.Manifests {
					key := objectKey(t, m.Object, rel.Namespace)
					if strings.Contains(key, "//") {
						cluster++
					}
					owner := rel.Namespace + "/" + rel.Name
					if previous, dup := seen[key]; dup && previous != owner {
						collisions = append(collisions, key)
					}
					seen[key] = owner
				}
			}
			assert.Equal(t, tc.collision, collisions)
			assert.Equal(t, 2*(3+3+3), cluster, "each release: 3 PriorityClasses, 3 ClusterRoles, 3 ClusterRoleBindings")
		})
	}
}

// The workflow namespace's own objects: the workflow account, the GCP credential copy, the
// NetworkPolicy; and PriorityClasses and extraConfigMaps, named for the release.
func TestParityBackendOperatorWorkflowNamespaceObjects(t *testing.T) {
	t.Run("workflow account in global.backendNamespace by default, named for that namespace", func(t *testing.T) {
		t.Parallel()
		r := renderChart(t, boChart, values(t, `
global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: "osmo-runtime@osmo-prod.iam.gserviceaccount.com", workloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"}}}
workflowServiceAccount: {create: true, labels: {purpose: workflow}}`))
		sa := serviceAccounts(r)["osmo-osmo-backend-operator-workflow"]
		require.NotNil(t, sa)
		assert.Equal(t, "osmo-namespace", sa.Namespace)
		assert.Equal(t, "osmo-runtime@osmo-prod.iam.gserviceaccount.com", sa.Annotations["iam.gke.io/gcp-service-account"])
		assert.Equal(t, "workflow", sa.Labels["purpose"])
		configMaps := map[string]*corev1.ConfigMap{}
		for _, cm := range render.Objects[*corev1.ConfigMap](r) {
			configMaps[cm.Namespace+"/"+cm.Name] = cm
		}
		require.Contains(t, configMaps, "osmo/osmo-backend-operator-gcp-credentials", "the chart's own pods' credential file")
		copied := configMaps["osmo-namespace/osmo-osmo-backend-operator-gcp-credentials"]
		require.NotNil(t, copied, "workflow pods mount a ConfigMap of their own namespace")
		assert.Equal(t, configMaps["osmo/osmo-backend-operator-gcp-credentials"].Data, copied.Data)
		assert.Contains(t, r.Notes, `ConfigMap "osmo-osmo-backend-operator-gcp-credentials"`)
	})
	t.Run("workflow account in the release namespace: the old names, no copy", func(t *testing.T) {
		t.Parallel()
		r := renderChart(t, boChart, values(t, `
global: {backendNamespace: osmo, workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"}}}
workflowServiceAccount: {create: true}`))
		sa := serviceAccounts(r)["osmo-backend-operator-workflow"]
		require.NotNil(t, sa)
		assert.Equal(t, "osmo", sa.Namespace)
		var names []string
		for _, cm := range render.Objects[*corev1.ConfigMap](r) {
			names = append(names, cm.Namespace+"/"+cm.Name)
		}
		assert.ElementsMatch(t, []string{"osmo/osmo-backend-operator-gcp-credentials", "osmo/osmo-backend-operator-test-runner-template"}, names)
	})
	t.Run("workflowServiceAccount.namespace wins over global.backendNamespace", func(t *testing.T) {
		t.Parallel()
		r := renderChart(t, boChart, values(t, `workflowServiceAccount: {create: true, namespace: gpu-workflows}`))
		sa := serviceAccounts(r)["osmo-osmo-backend-operator-workflow"]
		require.NotNil(t, sa)
		assert.Equal(t, "gpu-workflows", sa.Namespace)
		assert.Contains(t, r.Notes, `Workflow ServiceAccount: "osmo-osmo-backend-operator-workflow" in "gpu-workflows"`)
	})
	t.Run("every key: NetworkPolicy, PriorityClasses and extraConfigMaps as NVIDIA renders them, named for the release", func(t *testing.T) {
		t.Parallel()
		r, err := render.RenderFiles(boChart, release, boFile("every-key"))
		require.NoError(t, err)
		policies := render.Objects[*networkingv1.NetworkPolicy](r)
		require.Len(t, policies, 1)
		np := policies[0]
		assert.Equal(t, "osmo-osmo-backend-operator-workflow-network-policy", np.Name)
		assert.Equal(t, "workflows", np.Namespace)
		assert.Equal(t, metav1.LabelSelector{}, np.Spec.PodSelector)
		assert.Equal(t, []networkingv1.PolicyType{"Egress"}, np.Spec.PolicyTypes)
		ns := func(name string) []networkingv1.NetworkPolicyPeer {
			return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": name}}}}
		}
		udp, tcp := corev1.Protocol("UDP"), corev1.Protocol("TCP")
		port := func(p int) *intstr.IntOrString { v := intstr.FromInt32(int32(p)); return &v }
		assert.Equal(t, []networkingv1.NetworkPolicyEgressRule{
			{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "10.96.0.0/12"}}}}},
			{To: ns("workflows")},
			{Ports: []networkingv1.NetworkPolicyPort{{Port: port(53), Protocol: &udp}, {Port: port(53), Protocol: &tcp}}, To: ns("dns")},
			{To: ns("osmo")},
			{To: ns("monitoring")},
			{Ports: []networkingv1.NetworkPolicyPort{{Port: port(443), Protocol: &tcp}}, To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24"}}}},
		}, np.Spec.Egress)

		classes := render.Objects[*schedulingv1.PriorityClass](r)
		require.Len(t, classes, 1)
		assert.Equal(t, "osmo-osmo-backend-operator-urgent", classes[0].Name)
		assert.Equal(t, int32(1000), classes[0].Value)
		assert.False(t, classes[0].GlobalDefault)
		assert.Equal(t, "Urgent work.", classes[0].Description)
		assert.Contains(t, r.Notes, "urgent: osmo-osmo-backend-operator-urgent", "NOTES gives OSMO's pod templates the name")

		var extra *corev1.ConfigMap
		for _, cm := range render.Objects[*corev1.ConfigMap](r) {
			if cm.Name == "osmo-backend-operator-extra" {
				extra = cm
			}
		}
		require.NotNil(t, extra, "extraConfigMaps.extra as <fullname>-extra")
		assert.Equal(t, map[string]string{"settings.yaml": "key: value", "retries": "3"}, extra.Data)
		assert.Equal(t, "extra", extra.Labels["purpose"])
		assert.Equal(t, map[string]string{"description": "Custom configuration"}, extra.Annotations)
	})
	t.Run("chart defaults: NVIDIA's three PriorityClasses, no NetworkPolicy", func(t *testing.T) {
		t.Parallel()
		r := renderChart(t, boChart, nil)
		assert.Empty(t, render.Objects[*networkingv1.NetworkPolicy](r))
		got := map[string]int32{}
		for _, c := range render.Objects[*schedulingv1.PriorityClass](r) {
			got[c.Name] = c.Value
			assert.False(t, c.GlobalDefault)
		}
		assert.Equal(t, map[string]int32{"osmo-osmo-backend-operator-osmo-high": 125, "osmo-osmo-backend-operator-osmo-normal": 100,
			"osmo-osmo-backend-operator-osmo-low": 50}, got)
	})
}

// boRenderWithAPIVersions renders the chart as render.Render does, for a cluster that also
// serves the given API versions, and returns the raw files (a PodMonitor has no client-go type).
func boRenderWithAPIVersions(t *testing.T, vals map[string]any, apiVersions ...string) map[string]string {
	t.Helper()
	ch, err := render.Chart(boChart)
	require.NoError(t, err)
	if vals == nil {
		vals = map[string]any{}
	}
	require.NoError(t, chartutil.ProcessDependenciesWithMerge(ch, vals))
	caps := render.Capabilities()
	caps.APIVersions = append(slices.Clone(caps.APIVersions), apiVersions...)
	top, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: release.Name, Namespace: release.Namespace, IsInstall: true}, caps)
	require.NoError(t, err)
	files, err := engine.Render(ch, top)
	require.NoError(t, err)
	return files
}

// The PodMonitor renders only where the Prometheus Operator's CRD is served and podMonitor.enabled.
func TestParityBackendOperatorPodMonitor(t *testing.T) {
	crd := []string{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/PodMonitor"}
	cases := []struct {
		name   string
		values string
		apis   []string
		want   bool
	}{
		{"CRD served, enabled by default", `{}`, crd, true},
		{"CRD served, disabled", `podMonitor: {enabled: false}`, crd, false},
		{"no CRD: skipped, NVIDIA's chart would fail to install", `{}`, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files := boRenderWithAPIVersions(t, values(t, tc.values), tc.apis...)
			text := strings.TrimSpace(files["backend-operator/templates/api-monitor.yaml"])
			if !tc.want {
				assert.Empty(t, text)
				return
			}
			monitor := map[string]any{}
			require.NoError(t, yaml.Unmarshal([]byte(text), &monitor))
			assert.Equal(t, "monitoring.coreos.com/v1", monitor["apiVersion"])
			assert.Equal(t, "PodMonitor", monitor["kind"])
			assert.Equal(t, "osmo-backend-operator-otel-monitor", dig(monitor, "metadata", "name"))
			assert.Equal(t, "osmo", dig(monitor, "metadata", "namespace"))
			assert.Equal(t, []any{map[string]any{"interval": "15s", "port": "metrics", "path": "/metrics"}}, dig(monitor, "spec", "podMetricsEndpoints"))
			assert.Equal(t, map[string]any{"app.kubernetes.io/name": "backend-operator", "app.kubernetes.io/instance": "osmo"}, dig(monitor, "spec", "selector", "matchLabels"))
			assert.Equal(t, []any{map[string]any{"key": "app.kubernetes.io/component", "operator": "In", "values": []any{"listener", "worker"}}},
				dig(monitor, "spec", "selector", "matchExpressions"))
			assert.NotContains(t, files["backend-operator/templates/NOTES.txt"], "PodMonitor: not rendered")
		})
	}
}

// Bad values fail at render, naming the key, the value and the rule.
func TestParityBackendOperatorRejectsBadValues(t *testing.T) {
	validation := func(lines ...string) string {
		return "execution error at (backend-operator/templates/validate.yaml:2:4): \nbackend-operator: invalid values:\n- " + strings.Join(lines, "\n- ")
	}
	cases := []struct{ name, values, want string }{
		{"unknown login method", `global: {loginMethod: oauth}`,
			validation(`global.loginMethod: "oauth" is not supported (expected password or token)`)},
		{"no workflow namespace", `global: {backendNamespace: ""}`,
			validation("global.backendNamespace: required (the namespace workflow pods run in, passed as --namespace)")},
		{"listener and worker given one Deployment name", `services: {backendListener: {serviceName: operator}, backendWorker: {serviceName: operator}}`,
			validation(`services.backendWorker.serviceName: "operator" is also the listener's Deployment name (services.backendListener.serviceName); each Deployment needs its own`)},
		{"listener and worker under different accounts", `services: {backendListener: {serviceAccount: backend-listener}, backendWorker: {serviceAccount: backend-worker}}`,
			validation(`services.backendListener.serviceAccount="backend-listener", services.backendWorker.serviceAccount="backend-worker": name different ServiceAccounts, but every pod of this chart runs under one account (set serviceAccount.name, or give them one name)`)},
		{"two names for the test pods' account", `backendTestRunner: {serviceAccount: a, podTemplate: {serviceAccount: b}}`,
			validation(`backendTestRunner.serviceAccount: "a" differs from backendTestRunner.podTemplate.serviceAccount "b" (both name the test pods' account; set one)`)},
		{"a cluster CIDR without prefix length", `global: {networkPolicy: {enabled: true, clusterCIDRs: ["10.0.0.0/8", "10.96.0.0"]}}`,
			validation(`global.networkPolicy.clusterCIDRs[1]: "10.96.0.0" is not a CIDR (expected an address and prefix length, like 10.0.0.0/8)`)},
		{"priority class names: invalid and repeated", `global: {priorityClasses: {classes: [{name: Osmo_High, value: 1}, {name: low, value: 2}, {name: low, value: 3}]}}`,
			validation(`global.priorityClasses.classes[0].name: "Osmo_High" is not a valid name (expected lowercase letters, digits, '-' and '.')`,
				`global.priorityClasses.classes[2].name: "low" is listed twice (each class once)`)},
		{"a variable set twice", `services: {backendWorker: {extraEnvs: [{name: A, value: "1"}, {name: A, value: "2"}]}}`,
			validation(`services.backendWorker.extraEnvs: "A" is set twice (each variable name once)`)},
		{"create false without a name", `serviceAccount: {create: false}`,
			validation("serviceAccount.name: required when serviceAccount.create is false (set it, or a component's own account key, or global.serviceAccountName, to the pre-provisioned ServiceAccount the pods run under)")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderE(boChart, values(t, tc.values), release)
			require.Error(t, err, "values must be refused:\n%s", tc.values)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// boNVIDIADefaults are the leaves of NVIDIA's backend-operator values.yaml (d59aed3c4), path: JSON default.
const boNVIDIADefaults = `global.name: null
global.osmoImageLocation: "nvcr.io/nvidia/osmo"
global.osmoImageTag: "latest"
global.imagePullSecret: null
global.nodeSelector: {}
global.serviceUrl: ""
global.accountUsername: ""
global.accountPasswordSecret: "svc-osmo-admin"
global.accountPasswordSecretKey: "password"
global.accountTokenSecret: "agent-token"
global.accountTokenSecretKey: "token"
global.loginMethod: "password"
global.agentNamespace: "osmo"
global.backendName: "default"
global.backendNamespace: "osmo-namespace"
global.backendTestNamespace: null
global.nodeConditionPrefix: ""
global.logs.logLevel: "DEBUG"
global.logs.k8sLogLevel: "WARNING"
global.includeNamespaceUsage: "osmo-staging,osmo-prod"
global.enableClusterRoles: true
global.enableNonClusterRoles: true
global.tolerations: [{"key": "ops", "operator": "Exists", "effect": "NoSchedule"}]
global.networkPolicy.enabled: false
global.networkPolicy.clusterCIDRs: []
global.networkPolicy.dnsNamespace: "kube-system"
global.networkPolicy.allowedNamespaces: []
global.networkPolicy.additionalEgressRules: []
global.priorityClasses.enabled: true
global.priorityClasses.classes: [{"name": "osmo-high", "value": 125, "description": "Schedule as soon as possible. Non-preemptible."}, {"name": "osmo-normal", "value": 100, "description": "Standard priority. Non-preemptible."}, {"name": "osmo-low", "value": 50, "description": "Schedule last. Preemptible."}]
podMonitor.enabled: true
services.backendListener.enableNodeLabelUpdate: false
services.backendListener.imageName: "backend-listener"
services.backendListener.imagePullPolicy: "Always"
services.backendListener.serviceName: "osmo-backend-listener"
services.backendListener.initContainers: []
services.backendListener.serviceAccount: "backend-listener"
services.backendListener.max_unacked_messages: 100
services.backendListener.podCacheTtl: 15
services.backendListener.extraArgs: []
services.backendListener.extraEnvs: []
services.backendListener.extraPodAnnotations: {}
services.backendListener.extraPodLabels: {}
services.backendListener.extraSidecarContainers: []
services.backendListener.nodeSelector: {}
services.backendListener.hostAliases: []
services.backendListener.volumes: [{"name": "progress-files", "emptyDir": {}}]
services.backendListener.volumeMounts: [{"name": "progress-files", "mountPath": "/var/run/osmo"}]
services.backendListener.resources.requests.cpu: "1"
services.backendListener.resources.requests.memory: "2Gi"
services.backendListener.resources.limits.memory: "2Gi"
services.backendListener.apiQps: 20
services.backendListener.apiBurst: 30
services.backendWorker.imageName: "backend-worker"
services.backendWorker.imagePullPolicy: "Always"
services.backendWorker.serviceName: "osmo-backend-worker"
services.backendWorker.initContainers: []
services.backendWorker.serviceAccount: "backend-worker"
services.backendWorker.progressIterFrequency: "15s"
services.backendWorker.extraArgs: []
services.backendWorker.extraEnvs: []
services.backendWorker.extraPodAnnotations: {}
services.backendWorker.extraPodLabels: {}
services.backendWorker.extraRBACRules: []
services.backendWorker.extraSidecarContainers: []
services.backendWorker.nodeSelector: {}
services.backendWorker.hostAliases: []
services.backendWorker.volumes: [{"name": "progress-files", "emptyDir": {}}]
services.backendWorker.volumeMounts: [{"name": "progress-files", "mountPath": "/var/run/osmo"}]
services.backendWorker.resources.requests.cpu: "1"
services.backendWorker.resources.requests.memory: "1Gi"
services.backendWorker.resources.limits.memory: "1Gi"
backendTestRunner.enabled: true
backendTestRunner.cronJob.schedule: "0 2 * * *"
backendTestRunner.cronJob.timezone: "UTC"
backendTestRunner.cronJob.startingDeadlineSeconds: 300
backendTestRunner.cronJob.concurrencyPolicy: "Forbid"
backendTestRunner.cronJob.suspend: false
backendTestRunner.cronJob.successfulJobsHistoryLimit: 1
backendTestRunner.cronJob.failedJobsHistoryLimit: 3
backendTestRunner.jobTemplate.parallelism: 1
backendTestRunner.jobTemplate.completions: 1
backendTestRunner.jobTemplate.backoffLimit: 2
backendTestRunner.jobTemplate.activeDeadlineSeconds: 3600
backendTestRunner.jobTemplate.ttlSecondsAfterFinished: 86400
backendTestRunner.jobTemplate.completionMode: "NonIndexed"
backendTestRunner.jobTemplate.suspend: false
backendTestRunner.podTemplate.image.repository: "nvcr.io/nvidia/osmo/backend-test-runner"
backendTestRunner.podTemplate.image.tag: ""
backendTestRunner.podTemplate.image.pullPolicy: "Always"
backendTestRunner.podTemplate.initContainer.image: "ubuntu:22.04"
backendTestRunner.podTemplate.initContainer.imagePullPolicy: "IfNotPresent"
backendTestRunner.podTemplate.initContainer.resources.requests.memory: "64Mi"
backendTestRunner.podTemplate.initContainer.resources.requests.cpu: "50m"
backendTestRunner.podTemplate.initContainer.resources.limits.memory: "128Mi"
backendTestRunner.podTemplate.initContainer.resources.limits.cpu: "100m"
backendTestRunner.podTemplate.container.args: ["--read_from_osmo", "false", "--read_from_file", "/test-config/test_config.json", "--prefix", "osmo"]
backendTestRunner.podTemplate.container.resources.requests.memory: "512Mi"
backendTestRunner.podTemplate.container.resources.requests.cpu: "100m"
backendTestRunner.podTemplate.container.resources.limits.memory: "1Gi"
backendTestRunner.podTemplate.container.resources.limits.cpu: "500m"
backendTestRunner.podTemplate.securityContext.runAsNonRoot: true
backendTestRunner.podTemplate.securityContext.runAsUser: 1000
backendTestRunner.podTemplate.securityContext.runAsGroup: 1000
backendTestRunner.podTemplate.securityContext.fsGroup: 1000
backendTestRunner.podTemplate.securityContext.seccompProfile.type: "RuntimeDefault"
backendTestRunner.podTemplate.containerSecurityContext.allowPrivilegeEscalation: false
backendTestRunner.podTemplate.containerSecurityContext.capabilities.drop: ["ALL"]
backendTestRunner.podTemplate.containerSecurityContext.capabilities.add: ["NET_BIND_SERVICE"]
backendTestRunner.podTemplate.containerSecurityContext.readOnlyRootFilesystem: true
backendTestRunner.podTemplate.serviceAccount: "test-runner"
backendTestRunner.podTemplate.automountServiceAccountToken: true
backendTestRunner.podTemplate.restartPolicy: "Never"
backendTestRunner.podTemplate.terminationGracePeriodSeconds: 30
backendTestRunner.podTemplate.dnsPolicy: "ClusterFirst"
backendTestRunner.podTemplate.dnsConfig: {}
backendTestRunner.podTemplate.hostnameTemplate: "{{.BackendName}}-{{.TestName}}-runner"
backendTestRunner.podTemplate.subdomain: "backend-tests"
backendTestRunner.podTemplate.labels.component: "backend-test-pod"
backendTestRunner.podTemplate.labels.pod-type: "test-runner"
backendTestRunner.podTemplate.annotations.prometheus.io/scrape: "true"
backendTestRunner.podTemplate.annotations.prometheus.io/port: "8080"
backendTestRunner.podTemplate.annotations.prometheus.io/path: "/metrics"
backendTestRunner.podTemplate.nodeSelector: {}
backendTestRunner.podTemplate.tolerations: []
backendTestRunner.podTemplate.hostAliases: []
backendTestRunner.podTemplate.affinity: {}
backendTestRunner.configMap.nameTemplate: "{{.TestName}}-config"
backendTestRunner.configMap.defaultMode: 420
backendTestRunner.configMap.optional: false
backendTestRunner.env.additional: {}
backendTestRunner.volumes.testConfigName: "test-config"
backendTestRunner.volumes.testConfigMountPath: "/test-config"
backendTestRunner.labels.managed-by: "backend-operator"
backendTestRunner.annotations.description: "Automated test runner for {{.BackendName}} - {{.TestName}}"
backendTestRunner.annotations.scheduler: "backend-test-scheduler"
backendTestRunner.extraRoles: []
extraConfigMaps: {}`

func boFlatten(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		for k, child := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			boFlatten(p, child, out)
		}
		return
	}
	out[prefix] = v
}

// Every key of NVIDIA's values.yaml is here, in the same place, with the same default, except
// the rows of the README's Differences table; plus the keys NVIDIA's templates read that its
// values.yaml omits.
func TestParityBackendOperatorAcceptsNVIDIAValuesLayout(t *testing.T) {
	differences := map[string]any{ // key -> our default (README: Differences from NVIDIA's chart)
		"global.osmoImageTag":                          "",
		"services.backendListener.serviceName":         "",
		"services.backendListener.serviceAccount":      "",
		"services.backendWorker.serviceName":           "",
		"services.backendWorker.serviceAccount":        "",
		"backendTestRunner.podTemplate.serviceAccount": "",
	}
	text, err := os.ReadFile("../../charts/backend-operator/values.yaml")
	require.NoError(t, err)
	ours := map[string]any{}
	require.NoError(t, yaml.Unmarshal(text, &ours))
	flat := map[string]any{}
	boFlatten("", ours, flat)
	for _, line := range strings.Split(boNVIDIADefaults, "\n") {
		key, value, ok := strings.Cut(line, ": ")
		require.True(t, ok, line)
		var want any
		require.NoError(t, json.Unmarshal([]byte(value), &want), line)
		if d, differs := differences[key]; differs {
			want = d
		}
		require.Contains(t, flat, key, "NVIDIA's key %s", key)
		got, _ := json.Marshal(flat[key])
		expected, _ := json.Marshal(want)
		assert.JSONEq(t, string(expected), string(got), key)
	}
	for _, key := range []string{"global.name", "backendTestRunner.serviceAccount", "backendTestRunner.hostAliases", "sidecars"} {
		assert.Contains(t, flat, key, "read by NVIDIA's templates or set by NVIDIA's operator values files")
	}
	// NVIDIA's own defaults, written as an operator values file, render here too.
	nvidia := map[string]any{}
	for _, line := range strings.Split(boNVIDIADefaults, "\n") {
		key, value, _ := strings.Cut(line, ": ")
		if strings.Contains(key, "prometheus.io") { // annotation names hold dots; the defaults carry them anyway
			continue
		}
		var v any
		require.NoError(t, json.Unmarshal([]byte(value), &v))
		boSet(nvidia, strings.Split(key, "."), v)
	}
	// NVIDIA's per-component accounts name different ServiceAccounts; here they must agree.
	boSet(nvidia, []string{"services", "backendWorker", "serviceAccount"}, "backend-listener")
	r := renderChart(t, boChart, nvidia)
	names := []string{}
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		names = append(names, d.Name)
		assert.Equal(t, "backend-listener", d.Spec.Template.Spec.ServiceAccountName, "the component's account, verbatim")
	}
	sort.Strings(names)
	assert.Equal(t, []string{"osmo-backend-listener", "osmo-backend-worker"}, names, "serviceName used as written")
}

func boSet(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
