package render_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/render"
)

// The facts below are how NVIDIA's service chart (NVIDIA/OSMO d59aed3c4,
// deployments/charts/service/templates/{api-service,worker,logger-service,agent-service,
// delayed-job-monitor}.yaml) starts each OSMO program for a values file.

// svcComponents are the chart's OSMO components: values key -> component label.
var svcComponents = map[string]string{
	"service": "service", "worker": "worker", "logger": "logger", "agent": "agent", "delayedJobMonitor": "delayed-job-monitor",
}

// NVIDIA's fixed probes.
var (
	svcAPIStartup = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8000), Path: "/api/version"}},
		FailureThreshold: 6, PeriodSeconds: 5, TimeoutSeconds: 3, InitialDelaySeconds: 5,
	}
	svcAPIReadiness = &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8000), Path: "/api/workflow?limit=0&all_pools=true",
			HTTPHeaders: []corev1.HTTPHeader{{Name: "x-osmo-roles", Value: "osmo-admin"}}}},
		PeriodSeconds: 45, FailureThreshold: 3, TimeoutSeconds: 20,
	}
	svcAPILiveness = &corev1.Probe{
		ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8000), Path: "/api/version"}},
		TimeoutSeconds: 20, FailureThreshold: 3, PeriodSeconds: 45,
	}
	svcWorkerLiveness = &corev1.Probe{
		ProbeHandler:     svcProgressCheck("300"),
		FailureThreshold: 1, PeriodSeconds: 60, TimeoutSeconds: 15,
	}
	svcWorkerStartup = &corev1.Probe{
		ProbeHandler:     svcProgressCheck("300"),
		FailureThreshold: 12, PeriodSeconds: 5, TimeoutSeconds: 15, InitialDelaySeconds: 10,
	}
	svcReceiverLiveness = &corev1.Probe{
		ProbeHandler:   svcProgressCheck("300", "--progress_file", "/var/run/osmo/last_progress"),
		TimeoutSeconds: 20, FailureThreshold: 3, PeriodSeconds: 45,
	}
	svcReceiverStartup = &corev1.Probe{
		ProbeHandler:     svcProgressCheck("60", "--progress_file", "/var/run/osmo/last_progress"),
		FailureThreshold: 12, PeriodSeconds: 5, TimeoutSeconds: 15, InitialDelaySeconds: 10,
	}
	svcReceiverReadiness = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8000), Path: "/health"}},
		PeriodSeconds: 45, FailureThreshold: 3, TimeoutSeconds: 20,
	}
	svcMonitorLiveness = &corev1.Probe{
		ProbeHandler:     svcProgressCheck("300"),
		FailureThreshold: 1, PeriodSeconds: 30, TimeoutSeconds: 15,
	}
	svcMonitorStartup = &corev1.Probe{
		ProbeHandler:     svcProgressCheck("30"),
		FailureThreshold: 12, PeriodSeconds: 5, TimeoutSeconds: 15, InitialDelaySeconds: 10,
	}
	svcMetricsPort = []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9464}}
)

func svcProgressCheck(interval string, extra ...string) corev1.ProbeHandler {
	return corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: append([]string{"progress_check", "--progress_interval", interval}, extra...)}}
}

func svcSecretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

// svcArgs concatenates literal argument fragments.
func svcArgs(parts ...[]string) []string { return slices.Concat(parts...) }

// svcComponentWant is one OSMO program as NVIDIA's chart starts it (besides our /tmp).
type svcComponentWant struct {
	name, image, pullPolicy   string
	command, args             []string
	env                       []corev1.EnvVar
	mounts                    []corev1.VolumeMount
	volumes                   []string
	containers, inits         []string
	liveness, ready, startup  *corev1.Probe
	replicas                  *int32 // nil: left to the HPA, as NVIDIA's
	hpaMin, hpaMax, hpaMetric int32  // hpaMax 0: no HPA
	service                   bool   // a Service on 80 -> 8000
}

// Arguments and env NVIDIA's templates give every case below.
var (
	svcLogArgs = func(name string) []string {
		return []string{"--log_level", "DEBUG", "--k8s_log_level", "WARNING", "--log_dir", "/logs", "--log_name", name}
	}
	svcRedis          = []string{"--redis_host", "redis", "--redis_port", "6379", "--redis_db_number", "0", "--redis_tls_enable", "true"}
	svcRedisReceivers = []string{"--redis_host", "redis", "--redis_port", "6379", "--redis_tls_enable", "true", "--redis_db_number", "0"}
	svcPostgres       = []string{"--postgres_host", "postgres", "--postgres_port", "5432", "--postgres_database_name", "osmo", "--postgres_user", "postgres"}
	svcClientURL      = []string{"--client_install_url", "https://raw.githubusercontent.com/NVIDIA/OSMO/refs/heads/main/install.sh"}
	svcLogsMount      = corev1.VolumeMount{Name: "logs", MountPath: "/logs"}
	svcProgressMount  = corev1.VolumeMount{Name: "progress-files", MountPath: "/var/run/osmo"}
	svcS3Env          = []corev1.EnvVar{
		{Name: "AWS_ENDPOINT_URL_S3", Value: "http://localstack-s3:4566"},
		{Name: "AWS_S3_FORCE_PATH_STYLE", Value: "true"},
		{Name: "AWS_DEFAULT_REGION", Value: "us-east-1"},
	}
)

func TestParityServiceStartsEachProgramAsNVIDIADoes(t *testing.T) {
	minimalMek := corev1.VolumeMount{Name: "mek-volume", MountPath: "/home/osmo/config/mek.yaml", SubPath: "mek.yaml"}
	defaultMek := corev1.VolumeMount{Name: "mek-volume", MountPath: "/opt/osmo/config.yaml", SubPath: "mek.yaml"}
	minimalRedis := []string{"--redis_host", "redis", "--redis_port", "6379", "--redis_db_number", "0"}
	minimalPostgres := []string{"--postgres_host", "postgres", "--postgres_port", "5432", "--postgres_database_name", "osmo",
		"--mek_file", "/home/osmo/config/mek.yaml", "--postgres_user", "postgres"}
	minimalPassword := corev1.EnvVar{Name: "OSMO_POSTGRES_PASSWORD", Value: "osmo"}
	deployRedis := []string{"--redis_host", "redis.example.com", "--redis_port", "6379", "--redis_db_number", "0", "--redis_tls_enable", "true"}
	deployPostgres := []string{"--postgres_host", "db.example.com", "--postgres_port", "5432", "--postgres_database_name", "osmo_db",
		"--mek_file", "/opt/osmo/config.yaml", "--postgres_user", "postgres"}
	deploySecrets := []corev1.EnvVar{svcSecretEnv("OSMO_POSTGRES_PASSWORD", "db-secret", "db-password"), svcSecretEnv("OSMO_REDIS_PASSWORD", "redis-secret", "redis-password")}
	auth := []string{
		"--device_endpoint", "https://login.microsoftonline.com/tenant/oauth2/v2.0/devicecode", "--device_client_id", "client-id",
		"--browser_endpoint", "https://login.microsoftonline.com/tenant/oauth2/v2.0/authorize", "--browser_client_id", "client-id",
		"--token_endpoint", "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
		"--logout_endpoint", "https://login.microsoftonline.com/tenant/oauth2/v2.0/logout",
	}
	everyRedis := []string{"--redis_host", "cache.internal", "--redis_port", "6380", "--redis_db_number", "3"}
	everyPostgres := []string{"--postgres_host", "db.internal", "--postgres_port", "6432", "--postgres_database_name", "osmo_prod", "--mek_file", "/opt/osmo/config.yaml"}
	everySecrets := []corev1.EnvVar{svcSecretEnv("OSMO_POSTGRES_PASSWORD", "pg", "pw"), svcSecretEnv("OSMO_REDIS_PASSWORD", "rd", "rpw")}
	everyMek := corev1.VolumeMount{Name: "mek-volume", MountPath: "/opt/osmo/config.yaml", SubPath: "mek.yaml"}

	inlinePassword := corev1.EnvVar{Name: "OSMO_POSTGRES_PASSWORD", Value: "s3cret"}

	cases := []struct {
		name   string
		files  []string
		values string // inline values, merged over the files
		want   map[string]svcComponentWant
	}{
		{
			// NVIDIA's defaults give no password at all, and the render fails (errors_test.go): the
			// defaults here with only services.postgres.password set.
			name:   "chart defaults but an inline password: TLS Redis, logs on, no MEK file, NVIDIA's replicas and HPAs",
			values: `services: {postgres: {password: s3cret}}`,
			want: map[string]svcComponentWant{
				"service": {
					name: "osmo-service", image: "nvcr.io/nvidia/osmo/service:6.4.0", pullPolicy: "Always", command: []string{"service"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service", "--metrics_otel_enable", "true"}, svcRedis, svcPostgres,
						svcClientURL, []string{"--osmo_image_location", "nvcr.io/nvidia/osmo", "--osmo_image_tag", "6.4.0"}, svcLogArgs("api_service")),
					env:    []corev1.EnvVar{{Name: "OSMO_DISABLE_TASK_METRICS", Value: "false"}, inlinePassword},
					mounts: []corev1.VolumeMount{svcLogsMount}, volumes: []string{"logs"}, containers: []string{"osmo-service"},
					liveness: svcAPILiveness, ready: svcAPIReadiness, startup: svcAPIStartup,
					hpaMin: 3, hpaMax: 9, hpaMetric: 2, service: true,
				},
				"worker": {
					name: "osmo-service-worker", image: "nvcr.io/nvidia/osmo/worker:6.4.0", pullPolicy: "Always", command: []string{"worker"},
					args:   svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-worker", "--metrics_otel_enable", "true"}, svcRedis, svcPostgres, svcLogArgs("worker")),
					env:    []corev1.EnvVar{inlinePassword},
					mounts: []corev1.VolumeMount{svcLogsMount, svcProgressMount}, volumes: []string{"logs", "progress-files"}, containers: []string{"osmo-service-worker"},
					liveness: svcWorkerLiveness, startup: svcWorkerStartup,
					hpaMin: 2, hpaMax: 10, hpaMetric: 2,
				},
				"logger": {
					name: "osmo-service-logger", image: "nvcr.io/nvidia/osmo/logger:6.4.0", pullPolicy: "Always", command: []string{"logger"},
					args:   svcArgs(svcRedisReceivers, svcPostgres, svcLogArgs("logger_service")),
					env:    []corev1.EnvVar{inlinePassword},
					mounts: []corev1.VolumeMount{svcLogsMount, svcProgressMount}, volumes: []string{"logs", "progress-files"}, containers: []string{"osmo-service-logger"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 3, hpaMax: 9, hpaMetric: 2, service: true,
				},
				"agent": {
					name: "osmo-service-agent", image: "nvcr.io/nvidia/osmo/agent:6.4.0", pullPolicy: "Always", command: []string{"agent_service"},
					args:   svcArgs(svcRedisReceivers, svcPostgres, svcLogArgs("agent_service")),
					env:    []corev1.EnvVar{inlinePassword},
					mounts: []corev1.VolumeMount{svcLogsMount, svcProgressMount}, volumes: []string{"logs", "progress-files"}, containers: []string{"osmo-service-agent"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 1, hpaMax: 9, hpaMetric: 2, service: true,
				},
				"delayedJobMonitor": {
					name: "osmo-service-delayed-job-monitor", image: "nvcr.io/nvidia/osmo/delayed-job-monitor:6.4.0", pullPolicy: "Always", command: []string{"delayed_job_monitor"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-delayed-job-monitor", "--metrics_otel_enable", "true"}, svcRedis, svcPostgres,
						svcLogArgs("delayed_job_monitor"), []string{"--enable_metrics"}),
					env:    []corev1.EnvVar{inlinePassword},
					mounts: []corev1.VolumeMount{svcLogsMount, svcProgressMount}, volumes: []string{"logs", "progress-files"}, containers: []string{"osmo-service-delayed-job-monitor"},
					liveness: svcMonitorLiveness, startup: svcMonitorStartup, replicas: ptr[int32](1),
				},
			},
		},
		{
			name:  "run/minimal: MEK file at its path, inline password, Redis without TLS (the receivers drop the db number), S3 env, one replica",
			files: []string{"testdata/osmo/service/minimal.yaml"},
			want: map[string]svcComponentWant{
				"service": {
					name: "osmo-service", image: "nvcr.io/nvidia/osmo/service:latest", pullPolicy: "Always", command: []string{"service"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service", "--metrics_otel_enable", "true"}, minimalRedis, minimalPostgres,
						[]string{"--service_hostname", "osmo-gateway.osmo.svc.cluster.local"}, svcClientURL,
						[]string{"--osmo_image_location", "nvcr.io/nvidia/osmo", "--osmo_image_tag", "latest"}, svcLogArgs("api_service")),
					env:    slices.Concat([]corev1.EnvVar{{Name: "OSMO_DISABLE_TASK_METRICS", Value: "false"}}, svcS3Env, []corev1.EnvVar{minimalPassword}),
					mounts: []corev1.VolumeMount{minimalMek, svcLogsMount}, volumes: []string{"logs", "mek-volume"}, containers: []string{"osmo-service"},
					liveness: svcAPILiveness, ready: svcAPIReadiness, startup: svcAPIStartup,
					hpaMin: 1, hpaMax: 1, hpaMetric: 2, service: true,
				},
				"worker": {
					name: "osmo-service-worker", image: "nvcr.io/nvidia/osmo/worker:latest", pullPolicy: "Always", command: []string{"worker"},
					args:   svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-worker", "--metrics_otel_enable", "true"}, minimalRedis, minimalPostgres, svcLogArgs("worker")),
					env:    slices.Concat(svcS3Env, []corev1.EnvVar{minimalPassword}),
					mounts: []corev1.VolumeMount{minimalMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-worker"},
					liveness: svcWorkerLiveness, startup: svcWorkerStartup,
					hpaMin: 1, hpaMax: 1, hpaMetric: 2,
				},
				"logger": {
					name: "osmo-service-logger", image: "nvcr.io/nvidia/osmo/logger:latest", pullPolicy: "Always", command: []string{"logger"},
					args:   svcArgs([]string{"--redis_host", "redis", "--redis_port", "6379"}, minimalPostgres, svcLogArgs("logger_service")),
					env:    slices.Concat(svcS3Env, []corev1.EnvVar{minimalPassword}),
					mounts: []corev1.VolumeMount{minimalMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-logger"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 1, hpaMax: 1, hpaMetric: 2, service: true,
				},
				"agent": {
					name: "osmo-service-agent", image: "nvcr.io/nvidia/osmo/agent:latest", pullPolicy: "Always", command: []string{"agent_service"},
					args: svcArgs([]string{"--redis_host", "redis", "--redis_port", "6379", "--service_hostname", "osmo-gateway.osmo.svc.cluster.local"},
						minimalPostgres, svcLogArgs("agent_service")),
					env:    slices.Concat(svcS3Env, []corev1.EnvVar{minimalPassword}),
					mounts: []corev1.VolumeMount{minimalMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-agent"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 1, hpaMax: 1, hpaMetric: 2, service: true,
				},
				"delayedJobMonitor": {
					name: "osmo-service-delayed-job-monitor", image: "nvcr.io/nvidia/osmo/delayed-job-monitor:latest", pullPolicy: "Always", command: []string{"delayed_job_monitor"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-delayed-job-monitor", "--metrics_otel_enable", "true"}, minimalRedis, minimalPostgres,
						svcLogArgs("delayed_job_monitor"), []string{"--enable_metrics"}),
					env:    []corev1.EnvVar{minimalPassword},
					mounts: []corev1.VolumeMount{minimalMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-delayed-job-monitor"},
					liveness: svcMonitorLiveness, startup: svcMonitorStartup, replicas: ptr[int32](1),
				},
			},
		},
		{
			name:  "deploy_service.rst: external database, password Secrets, auth endpoints, configs with secretRefs",
			files: []string{"testdata/osmo/service/deploy-service.yaml"},
			want: map[string]svcComponentWant{
				"service": {
					name: "osmo-service", image: "nvcr.io/nvidia/osmo/service:6.4.0", pullPolicy: "Always", command: []string{"service"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service", "--metrics_otel_enable", "true"}, deployRedis, deployPostgres, auth,
						[]string{"--service_hostname", "osmo.example.com"}, svcClientURL,
						[]string{"--osmo_image_location", "nvcr.io/nvidia/osmo", "--osmo_image_tag", "6.4.0"}, svcLogArgs("api_service"),
						[]string{"--config_file", "/etc/osmo/configs/config.yaml"}),
					env: slices.Concat([]corev1.EnvVar{
						{Name: "OSMO_DISABLE_TASK_METRICS", Value: "false"},
						{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
						{Name: "OSMO_CONFIGMAP_NAME", Value: "osmo-service-configs"},
					}, deploySecrets),
					mounts: []corev1.VolumeMount{
						defaultMek,
						{Name: "configs", MountPath: "/etc/osmo/configs", ReadOnly: true},
						{Name: "secret-osmo-workflow-log-cred", MountPath: "/etc/osmo/secrets/osmo-workflow-log-cred", ReadOnly: true},
						{Name: "secret-osmo-workflow-data-cred", MountPath: "/etc/osmo/secrets/osmo-workflow-data-cred", ReadOnly: true},
						svcLogsMount,
					},
					volumes:    []string{"logs", "mek-volume", "configs", "secret-osmo-workflow-log-cred", "secret-osmo-workflow-data-cred"},
					containers: []string{"osmo-service"},
					liveness:   svcAPILiveness, ready: svcAPIReadiness, startup: svcAPIStartup,
					hpaMin: 1, hpaMax: 3, hpaMetric: 2, service: true,
				},
				"worker": {
					name: "osmo-service-worker", image: "nvcr.io/nvidia/osmo/worker:6.4.0", pullPolicy: "Always", command: []string{"worker"},
					args:   svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-worker", "--metrics_otel_enable", "true"}, deployRedis, deployPostgres, svcLogArgs("worker")),
					env:    deploySecrets,
					mounts: []corev1.VolumeMount{defaultMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-worker"},
					liveness: svcWorkerLiveness, startup: svcWorkerStartup,
					hpaMin: 1, hpaMax: 3, hpaMetric: 2,
				},
				"logger": {
					name: "osmo-service-logger", image: "nvcr.io/nvidia/osmo/logger:6.4.0", pullPolicy: "Always", command: []string{"logger"},
					args:   svcArgs([]string{"--redis_host", "redis.example.com", "--redis_port", "6379", "--redis_tls_enable", "true", "--redis_db_number", "0"}, deployPostgres, svcLogArgs("logger_service")),
					env:    deploySecrets,
					mounts: []corev1.VolumeMount{defaultMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-logger"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 1, hpaMax: 3, hpaMetric: 2, service: true,
				},
				"agent": {
					name: "osmo-service-agent", image: "nvcr.io/nvidia/osmo/agent:6.4.0", pullPolicy: "Always", command: []string{"agent_service"},
					args: svcArgs([]string{"--redis_host", "redis.example.com", "--redis_port", "6379", "--redis_tls_enable", "true", "--redis_db_number", "0",
						"--service_hostname", "osmo.example.com"}, deployPostgres, svcLogArgs("agent_service")),
					env:    deploySecrets,
					mounts: []corev1.VolumeMount{defaultMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-agent"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 1, hpaMax: 1, hpaMetric: 2, service: true,
				},
				"delayedJobMonitor": {
					name: "osmo-service-delayed-job-monitor", image: "nvcr.io/nvidia/osmo/delayed-job-monitor:6.4.0", pullPolicy: "Always", command: []string{"delayed_job_monitor"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-delayed-job-monitor", "--metrics_otel_enable", "true"}, deployRedis, deployPostgres,
						svcLogArgs("delayed_job_monitor"), []string{"--enable_metrics"}),
					env:    deploySecrets,
					mounts: []corev1.VolumeMount{defaultMek, svcLogsMount, svcProgressMount}, volumes: []string{"logs", "mek-volume", "progress-files"}, containers: []string{"osmo-service-delayed-job-monitor"},
					liveness: svcMonitorLiveness, startup: svcMonitorStartup, replicas: ptr[int32](1),
				},
			},
		},
		{
			name:  "every key family: logs off, named Secrets and ConfigMap, default admin, extras, numbers as written, image overrides",
			files: []string{"testdata/osmo/service/every-key.yaml"},
			want: map[string]svcComponentWant{
				"service": {
					name: "osmo-api", image: "registry.example.com/osmo/service@sha256:5daf812b4cad7b20870fd9040a42ee6895547dc467a2b65a193b5e8eb66b1dc5",
					pullPolicy: "IfNotPresent", command: []string{"service"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-api", "--metrics_otel_enable", "true"}, everyRedis, everyPostgres,
						[]string{"--service_hostname", "api.example.com", "--osmo_image_location", "registry.example.com/osmo", "--osmo_image_tag", "20240101",
							"--default_admin_username", "root", "--debug", "100"}),
					env: slices.Concat([]corev1.EnvVar{
						{Name: "OSMO_DISABLE_TASK_METRICS", Value: "false"},
						{Name: "EXTRA", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: "api-extra"}, Key: "extra"}}},
					}, everySecrets, []corev1.EnvVar{svcSecretEnv("OSMO_DEFAULT_ADMIN_PASSWORD", "admin-pw", "pw")}),
					mounts:     []corev1.VolumeMount{everyMek, {Name: "extra", MountPath: "/extra"}},
					volumes:    []string{"extra", "mek-volume"},
					containers: []string{"osmo-api", "sidecar"}, inits: []string{"wait"},
					ready: svcAPIReadiness, startup: svcAPIStartup,
					hpaMin: 2, hpaMax: 4, hpaMetric: 3, service: true,
				},
				"worker": {
					name: "osmo-service-worker", image: "mirror.example.com/osmo/worker:6.4.1", pullPolicy: "Always", command: []string{"worker"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "osmo-service-worker", "--metrics_otel_enable", "true"}, everyRedis, everyPostgres,
						[]string{"--concurrency", "10"}),
					env:    []corev1.EnvVar{{Name: "OSMO_POSTGRES_PASSWORD", Value: "override"}, svcSecretEnv("OSMO_REDIS_PASSWORD", "rd", "rpw")},
					mounts: []corev1.VolumeMount{everyMek, svcProgressMount}, volumes: []string{"mek-volume", "progress-files"}, containers: []string{"osmo-service-worker"},
					liveness: svcWorkerLiveness, startup: svcWorkerStartup,
					hpaMin: 2, hpaMax: 10, hpaMetric: 2,
				},
				"logger": {
					name: "osmo-service-logger", image: "registry.example.com/osmo/logger:20240101", pullPolicy: "Always", command: []string{"logger"},
					args:   svcArgs([]string{"--redis_host", "cache.internal", "--redis_port", "6380"}, everyPostgres, []string{"--verbose"}),
					env:    everySecrets,
					mounts: []corev1.VolumeMount{everyMek, svcProgressMount}, volumes: []string{"mek-volume", "progress-files"}, containers: []string{"osmo-service-logger"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 3, hpaMax: 9, hpaMetric: 2, service: true,
				},
				"agent": {
					name: "osmo-service-agent", image: "registry.example.com/osmo/agent:20240101", pullPolicy: "Always", command: []string{"agent_service"},
					args:   svcArgs([]string{"--redis_host", "cache.internal", "--redis_port", "6380", "--service_hostname", "api.example.com"}, everyPostgres, []string{"--verbose"}),
					env:    everySecrets,
					mounts: []corev1.VolumeMount{everyMek, svcProgressMount}, volumes: []string{"mek-volume", "progress-files"}, containers: []string{"osmo-service-agent"},
					liveness: svcReceiverLiveness, ready: svcReceiverReadiness, startup: svcReceiverStartup,
					hpaMin: 2, hpaMax: 3, hpaMetric: 2, service: true,
				},
				"delayedJobMonitor": {
					name: "djm", image: "registry.example.com/osmo/delayed-job-monitor:20240101", pullPolicy: "Always", command: []string{"delayed_job_monitor"},
					args: svcArgs([]string{"--metrics_otel_collector_component", "djm", "--metrics_otel_enable", "true"}, everyRedis, everyPostgres,
						[]string{"--enable_metrics"}),
					env:    everySecrets,
					mounts: []corev1.VolumeMount{everyMek, {Name: "cache", MountPath: "/cache"}, svcProgressMount}, volumes: []string{"cache", "mek-volume", "progress-files"},
					containers: []string{"djm"},
					liveness:   svcMonitorLiveness, startup: svcMonitorStartup, replicas: ptr[int32](2),
				},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vals, err := render.ReadValues(tc.files...)
			require.NoError(t, err)
			if tc.values != "" {
				vals = chartutil.MergeTables(values(t, tc.values), vals)
			}
			r, err := renderE("service", vals, release)
			require.NoError(t, err)
			deployments := svcDeployments(r)
			hpas := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
			for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
				hpas[h.Name] = h
			}
			services := map[string]*corev1.Service{}
			for _, s := range render.Objects[*corev1.Service](r) {
				services[s.Name] = s
			}
			for key, want := range tc.want {
				t.Run(key, func(t *testing.T) {
					d := deployments[want.name]
					require.NotNil(t, d, "Deployment %s", want.name)
					spec := d.Spec.Template.Spec
					c := spec.Containers[0]
					assert.Equal(t, want.replicas, d.Spec.Replicas, "replicas")
					assert.Equal(t, want.name, c.Name)
					assert.Equal(t, want.image, c.Image)
					assert.Equal(t, corev1.PullPolicy(want.pullPolicy), c.ImagePullPolicy)
					assert.Equal(t, want.command, c.Command)
					assert.Equal(t, want.args, c.Args)
					assert.Equal(t, want.env, c.Env)
					assert.Equal(t, svcMetricsPort, c.Ports)
					assert.Equal(t, append([]corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}, want.mounts...), c.VolumeMounts)
					assert.Equal(t, append([]string{"tmp"}, want.volumes...), volumeNames(spec.Volumes))
					assert.Equal(t, want.containers, containerNames(spec.Containers))
					assert.Equal(t, want.inits, containerNames(spec.InitContainers))
					assert.Equal(t, want.liveness, c.LivenessProbe, "liveness")
					assert.Equal(t, want.ready, c.ReadinessProbe, "readiness")
					assert.Equal(t, want.startup, c.StartupProbe, "startup")
					assert.Equal(t, map[string]string{
						"app.kubernetes.io/name": "service", "app.kubernetes.io/instance": "osmo", "app.kubernetes.io/component": svcComponents[key],
					}, d.Spec.Selector.MatchLabels, "selector: name, instance, component only")

					hpa := hpas[want.name]
					if want.hpaMax == 0 {
						assert.Nil(t, hpa, "no HPA")
					} else {
						require.NotNil(t, hpa, "HPA %s", want.name)
						assert.Equal(t, want.name, hpa.Spec.ScaleTargetRef.Name)
						assert.Equal(t, want.hpaMin, *hpa.Spec.MinReplicas)
						assert.Equal(t, want.hpaMax, hpa.Spec.MaxReplicas)
						require.Len(t, hpa.Spec.Metrics, int(want.hpaMetric))
						for i, resource := range []corev1.ResourceName{"memory", "cpu"} {
							m := hpa.Spec.Metrics[i].ContainerResource
							require.NotNil(t, m)
							assert.Equal(t, resource, m.Name, "NVIDIA's order: memory, then CPU")
							assert.Equal(t, want.name, m.Container)
						}
					}
					s := services[want.name]
					if !want.service {
						assert.Nil(t, s, "no Service")
						return
					}
					require.NotNil(t, s, "Service %s", want.name)
					assert.Equal(t, []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8000), Protocol: "TCP"}}, s.Spec.Ports)
					assert.Equal(t, d.Spec.Selector.MatchLabels, s.Spec.Selector)
				})
			}
			var osmo []string
			for name, d := range deployments {
				if slices.Contains(slices.Collect(maps.Values(svcComponents)), d.Labels["app.kubernetes.io/component"]) {
					osmo = append(osmo, name)
				}
			}
			assert.Len(t, osmo, len(tc.want), "one Deployment per OSMO component: %v", osmo)
		})
	}
}

// The every-key file's pod-level keys, as NVIDIA's templates place them.
func TestParityServicePodKeys(t *testing.T) {
	r, err := render.RenderFiles("service", release, "testdata/osmo/service/every-key.yaml")
	require.NoError(t, err)
	d := svcDeployments(r)
	api := d["osmo-api"].Spec.Template
	assert.Equal(t, map[string]string{"pool": "osmo", "tier": "api"}, api.Spec.NodeSelector, "global.nodeSelector merged with the component's")
	assert.Equal(t, []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db.internal"}}}, api.Spec.HostAliases)
	assert.Equal(t, []corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "osmo", Effect: "NoSchedule"}}, api.Spec.Tolerations)
	require.Len(t, api.Spec.TopologySpreadConstraints, 1)
	spread := api.Spec.TopologySpreadConstraints[0]
	assert.Equal(t, "kubernetes.io/hostname", spread.TopologyKey)
	assert.Equal(t, int32(2), spread.MaxSkew)
	assert.Equal(t, corev1.UnsatisfiableConstraintAction("DoNotSchedule"), spread.WhenUnsatisfiable)
	assert.Equal(t, d["osmo-api"].Spec.Selector.MatchLabels, spread.LabelSelector.MatchLabels, "spread over the API's own pods")
	assert.Equal(t, "500m", api.Spec.Containers[0].Resources.Requests.Cpu().String())
	assert.Equal(t, "12345678", api.Labels["team"], "a number label renders as written")
	assert.Equal(t, "true", api.Labels["azure.workload.identity/use"])
	assert.Equal(t, "api-team", api.Annotations["example.com/owner"], "the component's annotation wins over the chart-wide one")
	assert.Equal(t, "platform", d["djm"].Spec.Template.Annotations["example.com/owner"])
	assert.NotContains(t, d["djm"].Spec.Template.Labels, "azure.workload.identity/use", "component labels stay on their component")
	assert.Equal(t, "256Mi", d["djm"].Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(), "the monitor's own resources (NVIDIA reads services.service.resources)")
	mek := volumeNamed(t, api.Spec.Volumes, "mek-volume")
	require.NotNil(t, mek.ConfigMap)
	assert.Equal(t, "my-mek", mek.ConfigMap.Name)
	assert.Equal(t, []corev1.KeyToPath{{Key: "mek.yaml", Path: "mek.yaml"}}, mek.ConfigMap.Items)
	assert.Equal(t, int32(420), *mek.ConfigMap.DefaultMode)
	assert.Equal(t, corev1.StorageMediumMemory, volumeNamed(t, d["djm"].Spec.Template.Spec.Volumes, "progress-files").EmptyDir.Medium, "the monitor's volumes value replaces the default")
	logger := d["osmo-service-logger"].Spec.Template.Spec
	assert.Equal(t, []corev1.HostAlias{{IP: "10.0.0.2", Hostnames: []string{"logs.internal"}}}, logger.HostAliases, "NVIDIA's template reads the logger's hostAliases")
	worker := d["osmo-service-worker"].Spec.Template.Spec
	require.Len(t, worker.TopologySpreadConstraints, 1, "the worker's own constraints (NVIDIA's template uses the API's)")
	assert.Equal(t, d["osmo-service-worker"].Spec.Selector.MatchLabels, worker.TopologySpreadConstraints[0].LabelSelector.MatchLabels)
	hpa := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
	for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
		hpa[h.Name] = h
	}
	metrics := hpa["osmo-api"].Spec.Metrics
	assert.Equal(t, int32(70), *metrics[0].ContainerResource.Target.AverageUtilization, "hpaMemoryTarget")
	assert.Equal(t, int32(60), *metrics[1].ContainerResource.Target.AverageUtilization, "hpaCpuTarget")
	assert.Equal(t, autoscalingv2.MetricSourceType("Pods"), metrics[2].Type, "customMetrics appended")
	for name, deployment := range d {
		spec := deployment.Spec.Template.Spec
		assert.Equal(t, []corev1.LocalObjectReference{{Name: "registry-extra"}}, spec.ImagePullSecrets, name)
		assert.Equal(t, "osmo-runtime", spec.ServiceAccountName, "%s: a component's serviceAccountName is the one account", name)
	}
	assert.Contains(t, serviceAccounts(r), "osmo-runtime", "the chart creates the account the pods run under")
}

// Every pod, and the configs RoleBinding, run under one account, resolved from NVIDIA's keys;
// every object name derives from the release unless the operator set a serviceName.
func TestParityServiceNamesAndOneAccount(t *testing.T) {
	cases := []struct {
		name, release, values string
		account               string
		names                 []string
	}{
		{"release osmo", "osmo", `{services: {configs: {enabled: true}}}`, "osmo-service",
			[]string{"osmo-service", "osmo-service-worker", "osmo-service-logger", "osmo-service-agent", "osmo-service-delayed-job-monitor"}},
		{"a release holding the chart name", "osmo-service", `{services: {configs: {enabled: true}}}`, "osmo-service",
			[]string{"osmo-service", "osmo-service-worker", "osmo-service-logger", "osmo-service-agent", "osmo-service-delayed-job-monitor"}},
		{"another team's release", "team-a", `{services: {configs: {enabled: true}}}`, "team-a-service",
			[]string{"team-a-service", "team-a-service-worker", "team-a-service-logger", "team-a-service-agent", "team-a-service-delayed-job-monitor"}},
		{"NVIDIA's names, set verbatim, and NVIDIA's global account", "osmo", `
global: {serviceAccountName: osmo}
services:
  configs: {enabled: true}
  service: {serviceName: osmo-service}
  worker: {serviceName: osmo-worker}
  logger: {serviceName: osmo-logger}
  agent: {serviceName: osmo-agent}
  delayedJobMonitor: {serviceName: osmo-delayed-job-monitor}`, "osmo",
			[]string{"osmo-service", "osmo-worker", "osmo-logger", "osmo-agent", "osmo-delayed-job-monitor"}},
		{"serviceAccount.name wins over the component and global keys", "osmo", `
global: {serviceAccountName: osmo}
serviceAccount: {name: renamed}
services: {configs: {enabled: true}, service: {serviceAccountName: osmo-api}}`, "renamed",
			[]string{"osmo-service", "osmo-service-worker", "osmo-service-logger", "osmo-service-agent", "osmo-service-delayed-job-monitor"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := renderE("service", values(t, tc.values), render.Release{Name: tc.release, Namespace: "osmo"})
			require.NoError(t, err)
			d := svcDeployments(r)
			for _, name := range tc.names {
				assert.Contains(t, d, name)
			}
			for _, p := range pods(r) {
				assert.Equal(t, tc.account, p.Spec.ServiceAccountName, describe(p))
			}
			assert.Contains(t, serviceAccounts(r), tc.account)
			bindings := render.Objects[*rbacv1.RoleBinding](r)
			require.Len(t, bindings, 1)
			assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: tc.account, Namespace: "osmo"}}, bindings[0].Subjects)
		})
	}
}

func svcDeployments(r *render.Result) map[string]*appsv1.Deployment {
	out := map[string]*appsv1.Deployment{}
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		out[d.Name] = d
	}
	return out
}

// Bad values fail the render with a message naming the key, the value and the rule.
func TestParityServiceRejectsBadValues(t *testing.T) {
	cases := []struct{ name, values, want string }{
		{"a pool names an unknown pod template", `
services:
  configs:
    enabled: true
    pools:
      gpu:
        common_pod_template: [default_user, nope]`,
			`services.configs.pools.gpu.common_pod_template: "nope" is not a pod template (known: default_ctrl, default_user)`},
		{"a platform names an unknown pod template", `
services:
  configs:
    enabled: true
    pools:
      default:
        platforms:
          a100: {override_pod_template: [a100]}`,
			`services.configs.pools.default.platforms.a100.override_pod_template: "a100" is not a pod template (known: default_ctrl, default_user)`},
		{"a removed default template is no longer known", `
services:
  configs:
    enabled: true
    podTemplates: {default_ctrl: null}`,
			`services.configs.pools.default.common_pod_template: "default_ctrl" is not a pod template (known: default_user)`},
		{"two components name different accounts", `
services:
  worker: {serviceAccountName: a}
  logger: {serviceAccountName: b}`,
			`services.logger.serviceAccountName="b", services.worker.serviceAccountName="a": name different ServiceAccounts`},
		{"the migration without its files", `services: {migration: {enabled: true}}`,
			"services.migration.enabled: true needs the migration files (run_migrations.sh and the pgroll JSON files of NVIDIA's chart): set services.migration.files (file name: content) or services.migration.filesConfigMapName (a ConfigMap you created with them)"},
		{"the default admin without a Secret", `services: {defaultAdmin: {enabled: true, passwordSecretName: ""}}`,
			"services.defaultAdmin.passwordSecretName: required when services.defaultAdmin.enabled is true"},
		{"an env variable set twice", `
services:
  worker:
    extraEnv: [{name: A, value: "1"}, {name: A, value: "2"}]`,
			`services.worker.extraEnv: "A" is set twice (each variable name once)`},
		{"create false without any account name", `serviceAccount: {create: false}`,
			"serviceAccount.name: required when serviceAccount.create is false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderE("service", values(t, tc.values), release)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("configs off: pools are not checked (nothing is rendered from them)", func(t *testing.T) {
		renderChart(t, "service", values(t, `services: {configs: {pools: {gpu: {common_pod_template: [nope]}}}}`))
	})
}

// svcLoaderKeys is _EXPECTED_CONFIG_KEYS of OSMO's config loader
// (NVIDIA/OSMO d59aed3c4, src/service/core/config/configmap_loader.py): a top-level key of
// config.yaml outside this set is logged and ignored by the service.
var svcLoaderKeys = []string{
	"service", "workflow", "dataset", "resource_validations", "pod_templates",
	"group_templates", "backends", "backend_tests", "pools", "roles",
}

// svcConfig returns the configs ConfigMap and its parsed config.yaml.
func svcConfig(t *testing.T, r *render.Result, name string) (*corev1.ConfigMap, map[string]any) {
	t.Helper()
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if cm.Name == name {
			config := map[string]any{}
			require.NoError(t, yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &config), "config.yaml parses")
			assert.Len(t, cm.Data, 1, "config.yaml only")
			return cm, config
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return nil, nil
}

// OSMO's default pod templates, as NVIDIA's values.yaml ships them.
var svcDefaultTemplates = map[string]any{
	"default_ctrl": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
		"name": "osmo-ctrl",
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "1", "memory": "1Gi"},
			"limits":   map[string]any{"memory": "1Gi"},
		},
	}}}},
	"default_user": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
		"name": "{{USER_CONTAINER_NAME}}",
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "{{USER_CPU}}", "memory": "{{USER_MEMORY}}", "nvidia.com/gpu": "{{USER_GPU}}", "ephemeral-storage": "{{USER_STORAGE}}"},
			"limits":   map[string]any{"memory": "{{USER_MEMORY}}", "nvidia.com/gpu": "{{USER_GPU}}", "ephemeral-storage": "{{USER_STORAGE}}"},
		},
	}}}},
}

// The seed scenario: the workflow identity template, listed last in the default pool,
// reaches config.yaml under the loader's keys, and nothing else is added.
func TestParityServiceConfigsSeedScenario(t *testing.T) {
	r, err := render.RenderFiles("service", release, "testdata/osmo/service/workflow-pod-identity.yaml")
	require.NoError(t, err)
	_, config := svcConfig(t, r, "osmo-service-configs")
	for key := range config {
		assert.Contains(t, svcLoaderKeys, key, "config.yaml key %q is one the loader reads", key)
	}
	assert.ElementsMatch(t, []string{"workflow", "pod_templates", "resource_validations", "roles", "backends", "pools"}, slices.Collect(maps.Keys(config)),
		"NVIDIA's non-empty sections; empty ones (service, dataset, backend_tests, group_templates) are left out")

	templates := maps.Clone(svcDefaultTemplates)
	templates["workflow_workload_identity"] = map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"azure.workload.identity/use": "true"}},
		"spec":     map[string]any{"serviceAccountName": "osmo-workflow"},
	}
	assert.Equal(t, templates, config["pod_templates"], "exactly OSMO's two defaults and the workflow identity template")
	assert.Equal(t, map[string]any{
		"default": map[string]any{
			"description":         "Default pool",
			"backend":             "default",
			"default_platform":    "default",
			"common_pod_template": []any{"default_user", "default_ctrl", "workflow_workload_identity"},
			"platforms":           map[string]any{"default": map[string]any{}},
		},
	}, config["pools"], "exactly the default pool, merging the identity template last")
	assert.Equal(t, map[string]any{"max_num_tasks": float64(100), "max_exec_timeout": "30d", "default_exec_timeout": "7d"}, config["workflow"])
	assert.Equal(t, map[string]any{"default": map[string]any{"description": "Default backend",
		"scheduler_settings": map[string]any{"scheduler_type": "kai", "scheduler_name": "kai-scheduler", "scheduler_timeout": float64(30)}}}, config["backends"])
	assert.ElementsMatch(t, []string{"osmo-admin", "osmo-user", "osmo-default", "osmo-ctrl", "osmo-backend"}, slices.Collect(maps.Keys(config["roles"].(map[string]any))))
	assert.ElementsMatch(t, []string{"default_cpu", "default_memory"}, slices.Collect(maps.Keys(config["resource_validations"].(map[string]any))))
}

// With configs on, the API runs from the file exactly as NVIDIA's chart wires it; with them
// off (NVIDIA's default) nothing of it is rendered.
func TestParityServiceConfigsWiring(t *testing.T) {
	on, err := render.RenderFiles("service", release, "testdata/osmo/service/workflow-pod-identity.yaml")
	require.NoError(t, err)
	api := svcDeployments(on)["osmo-service"].Spec.Template
	c := api.Spec.Containers[0]
	assert.Equal(t, []string{"--config_file", "/etc/osmo/configs/config.yaml"}, c.Args[len(c.Args)-2:], "last before extraArgs")
	assert.Contains(t, c.Env, corev1.EnvVar{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}})
	assert.Contains(t, c.Env, corev1.EnvVar{Name: "OSMO_CONFIGMAP_NAME", Value: "osmo-service-configs"})
	assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "configs", MountPath: "/etc/osmo/configs", ReadOnly: true})
	assert.Equal(t, "osmo-service-configs", volumeNamed(t, api.Spec.Volumes, "configs").ConfigMap.Name)
	assert.Len(t, api.Annotations["checksum/configs"], 64)
	require.NotNil(t, api.Spec.AutomountServiceAccountToken)
	assert.True(t, *api.Spec.AutomountServiceAccountToken, "the API records Events through the Kubernetes API")
	for name, d := range svcDeployments(on) {
		if name != "osmo-service" {
			assert.False(t, *d.Spec.Template.Spec.AutomountServiceAccountToken, "%s needs no token", name)
			assert.NotContains(t, d.Spec.Template.Annotations, "checksum/configs", name)
		}
	}

	roles := render.Objects[*rbacv1.Role](on)
	require.Len(t, roles, 1)
	assert.Equal(t, "osmo-service-configmap-events", roles[0].Name)
	assert.Equal(t, []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "get", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"osmo-service-configs"}, Verbs: []string{"get"}},
	}, roles[0].Rules, "NVIDIA's rules")
	binding := render.Objects[*rbacv1.RoleBinding](on)[0]
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "osmo-service-configmap-events"}, binding.RoleRef)

	checksum := func(extra string) string {
		vals, err := render.ReadValues("testdata/osmo/service/workflow-pod-identity.yaml")
		require.NoError(t, err)
		r := renderChart(t, "service", chartutil.MergeTables(values(t, extra), vals))
		return svcDeployments(r)["osmo-service"].Spec.Template.Annotations["checksum/configs"]
	}
	base := checksum(`{}`)
	assert.NotEqual(t, base, checksum(`services: {configs: {pools: {default: {description: changed}}}}`), "a config change rolls the API")
	assert.Equal(t, base, checksum(`services: {worker: {extraArgs: [--x]}}`), "other values do not")

	off := renderChart(t, "service", nil)
	for _, cm := range render.Objects[*corev1.ConfigMap](off) {
		assert.NotEqual(t, "osmo-service-configs", cm.Name, "no configs ConfigMap by default")
	}
	assert.Empty(t, render.Objects[*rbacv1.Role](off))
	assert.Empty(t, render.Objects[*rbacv1.RoleBinding](off))
	api = svcDeployments(off)["osmo-service"].Spec.Template
	assert.NotContains(t, api.Spec.Containers[0].Args, "--config_file")
	assert.Equal(t, []corev1.EnvVar{{Name: "OSMO_DISABLE_TASK_METRICS", Value: "false"},
		// the passwords of withDatabasePassword's MEK file; no POD_NAMESPACE, no OSMO_CONFIGMAP_NAME
		svcSecretEnv("OSMO_POSTGRES_PASSWORD", "db-secret", "db-password"), svcSecretEnv("OSMO_REDIS_PASSWORD", "redis-secret", "redis-password")},
		api.Spec.Containers[0].Env)
	assert.NotContains(t, api.Annotations, "checksum/configs")
	assert.False(t, *api.Spec.AutomountServiceAccountToken)
}

// NVIDIA's advanced_config pages: every section lands under its loader key, placeholders
// pass through, service_base_url is derived from the hostname, secretRefs are mounted.
func TestParityServiceConfigsAdvanced(t *testing.T) {
	r, err := render.RenderFiles("service", release, "testdata/osmo/service/advanced-config.yaml")
	require.NoError(t, err)
	_, config := svcConfig(t, r, "osmo-service-configs")
	assert.ElementsMatch(t, svcLoaderKeys, slices.Collect(maps.Keys(config)), "every section is set, under exactly the loader's keys")
	assert.Equal(t, map[string]any{"max_pod_restart_limit": float64(3), "service_base_url": "https://osmo.example.com"}, config["service"])
	assert.Equal(t, "prod-bucket-cred", dig(config, "dataset", "buckets", "production", "default_credential", "secretName"))
	assert.Equal(t, float64(2621440), dig(config, "workflow", "plugins_config", "rsync", "read_bandwidth_limit"), "numbers as written")
	assert.Equal(t, float64(100), dig(config, "workflow", "max_num_tasks"), "the defaults stay beside the user's workflow keys")
	assert.Equal(t, "compute-domain-{{WF_GROUP_UUID}}", dig(config, "group_templates", "compute-domain", "metadata", "name"), "placeholders pass through")
	assert.Equal(t, "compute-domain-{{WF_GROUP_UUID}}-rct", dig(config, "pod_templates", "use-compute-domain", "spec", "resourceClaims").([]any)[0].(map[string]any)["resourceClaimTemplateName"])
	assert.Equal(t, "NCCL all-reduce smoke test", dig(config, "backend_tests", "nccl", "description"))
	assert.ElementsMatch(t, []string{"default_cpu", "default_memory", "default_storage"}, slices.Collect(maps.Keys(config["resource_validations"].(map[string]any))))
	assert.Equal(t, "{{USER_CPU}}", dig(config, "resource_validations", "default_cpu").([]any)[0].(map[string]any)["left_operand"], "a list value replaces the default's")
	assert.Equal(t, []any{"l40s"}, dig(config, "pools", "heterogeneous_pool", "platforms", "l40s_platform", "override_pod_template"))
	assert.ElementsMatch(t, []string{"default", "heterogeneous_pool", "my-pool"}, slices.Collect(maps.Keys(config["pools"].(map[string]any))), "user pools beside the default")
	assert.Contains(t, config["roles"], "osmo-heterogeneous_pool")
	assert.Contains(t, config["roles"], "osmo-admin", "the default roles stay")

	api := svcDeployments(r)["osmo-service"].Spec.Template.Spec
	assert.Contains(t, api.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "secret-prod-bucket-cred", MountPath: "/etc/osmo/secrets/prod-bucket-cred", ReadOnly: true})
	assert.Equal(t, "prod-bucket-cred", volumeNamed(t, api.Volumes, "secret-prod-bucket-cred").Secret.SecretName)
}

// svcJobs returns the rendered Jobs by name.
func svcJobs(r *render.Result) map[string]*batchv1.Job {
	out := map[string]*batchv1.Job{}
	for _, j := range render.Objects[*batchv1.Job](r) {
		out[j.Name] = j
	}
	return out
}

// svcPodSecurity evaluates a pod against a Pod Security level with the admission plugin's checks.
func svcPodSecurity(t *testing.T, level psapi.Level, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	var forbidden []string
	for _, result := range evaluator.EvaluatePod(psapi.LevelVersion{Level: level, Version: psapi.LatestVersion()}, meta, spec) {
		if !result.Allowed {
			forbidden = append(forbidden, result.ForbiddenReason+": "+result.ForbiddenDetail)
		}
	}
	return forbidden
}

// run/minimal's development datastores, as NVIDIA's postgres.yaml, redis.yaml and
// localstack-s3.yaml run them; their Services keep the names other charts connect to.
func TestParityServiceDevelopmentDatastores(t *testing.T) {
	r, err := render.RenderFiles("service", release, "testdata/osmo/service/minimal.yaml")
	require.NoError(t, err)
	d := svcDeployments(r)
	services := map[string]*corev1.Service{}
	for _, s := range render.Objects[*corev1.Service](r) {
		services[s.Name] = s
	}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	for _, c := range render.Objects[*corev1.PersistentVolumeClaim](r) {
		claims[c.Name] = c
	}
	standard := "standard"
	empty := ""
	cases := []struct {
		deployment, service, image, pullPolicy string
		args                                   []string
		env                                    []corev1.EnvVar
		ports                                  []corev1.ContainerPort
		mounts                                 []corev1.VolumeMount
		servicePort                            corev1.ServicePort
		claim, size                            string
		storageClass                           *string
		restricted                             bool
	}{
		{
			deployment: "osmo-service-postgres", service: "postgres", image: "postgres:15.1", pullPolicy: "Always",
			env:   []corev1.EnvVar{{Name: "POSTGRES_PASSWORD", Value: "osmo"}, {Name: "POSTGRES_DB", Value: "osmo"}, {Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"}},
			ports: []corev1.ContainerPort{{Name: "postgres", ContainerPort: 5432, Protocol: "TCP"}},
			mounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "pv-storage", MountPath: "/var/lib/postgresql/data"},
				{Name: "run", MountPath: "/var/run/postgresql"}},
			servicePort: corev1.ServicePort{Name: "http", Port: 5432, NodePort: 30033, TargetPort: intstr.FromString("postgres"), Protocol: "TCP"},
			claim:       "osmo-service-postgres", size: "20Gi", storageClass: &standard, restricted: true,
		},
		{
			deployment: "osmo-service-redis", service: "redis", image: "redis:7.0", pullPolicy: "Always",
			args:        []string{"--appendonly", "yes", "--appendfsync", "always", "--loglevel", "debug"},
			ports:       []corev1.ContainerPort{{Name: "redis", ContainerPort: 6379, Protocol: "TCP"}},
			mounts:      []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "pv-storage", MountPath: "/data"}},
			servicePort: corev1.ServicePort{Name: "http", Port: 6379, NodePort: 30034, TargetPort: intstr.FromString("redis"), Protocol: "TCP"},
			claim:       "osmo-service-redis", size: "20Gi", storageClass: &standard, restricted: true,
		},
		{
			deployment: "osmo-service-localstack-s3", service: "localstack-s3", image: "gresau/localstack-persist:latest", pullPolicy: "Always",
			env: []corev1.EnvVar{{Name: "SERVICES", Value: "s3"}, {Name: "DEBUG", Value: "1"}, {Name: "PERSIST_DEFAULT", Value: "0"}, {Name: "PERSIST_S3", Value: "1"},
				{Name: "AWS_DEFAULT_REGION", Value: "us-east-1"}, {Name: "LOCALSTACK_HOST", Value: "0.0.0.0"}, {Name: "EDGE_BIND_HOST", Value: "0.0.0.0"}},
			ports:       []corev1.ContainerPort{{Name: "localstack-s3", ContainerPort: 4566, Protocol: "TCP"}},
			mounts:      []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "data", MountPath: "/persisted-data"}},
			servicePort: corev1.ServicePort{Name: "http", Port: 4566, NodePort: 30035, TargetPort: intstr.FromString("localstack-s3"), Protocol: "TCP"},
			claim:       "osmo-service-localstack-s3", size: "5Gi", storageClass: &empty,
		},
	}
	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			deployment := d[tc.deployment]
			require.NotNil(t, deployment, tc.deployment)
			assert.Equal(t, int32(1), *deployment.Spec.Replicas)
			spec := deployment.Spec.Template.Spec
			c := spec.Containers[0]
			assert.Equal(t, tc.image, c.Image)
			assert.Equal(t, corev1.PullPolicy(tc.pullPolicy), c.ImagePullPolicy)
			assert.Nil(t, c.Command, "the image's entrypoint")
			assert.Equal(t, tc.args, c.Args)
			assert.Equal(t, tc.env, c.Env)
			assert.Equal(t, tc.ports, c.Ports)
			assert.Equal(t, tc.mounts, c.VolumeMounts)
			assert.Equal(t, tc.claim, volumeNamed(t, spec.Volumes, tc.mounts[1].Name).PersistentVolumeClaim.ClaimName)
			assert.Equal(t, map[string]string{"node_group": "service"}, spec.NodeSelector)

			s := services[tc.service]
			require.NotNil(t, s, "the Service keeps NVIDIA's name %s: other charts connect to it", tc.service)
			assert.Equal(t, corev1.ServiceTypeNodePort, s.Spec.Type)
			assert.Equal(t, []corev1.ServicePort{tc.servicePort}, s.Spec.Ports)
			assert.Equal(t, deployment.Spec.Selector.MatchLabels, s.Spec.Selector)

			claim := claims[tc.claim]
			require.NotNil(t, claim)
			assert.Equal(t, "keep", claim.Annotations["helm.sh/resource-policy"], "uninstall never deletes the data")
			assert.Equal(t, []corev1.PersistentVolumeAccessMode{"ReadWriteOnce"}, claim.Spec.AccessModes)
			assert.Equal(t, tc.size, claim.Spec.Resources.Requests.Storage().String())
			assert.Equal(t, tc.storageClass, claim.Spec.StorageClassName)

			forbidden := svcPodSecurity(t, psapi.LevelRestricted, &deployment.Spec.Template.ObjectMeta, &spec)
			if tc.restricted {
				assert.Empty(t, forbidden, "runs under the image's own user, Pod Security restricted")
			} else {
				assert.NotEmpty(t, forbidden, "the LocalStack image needs root: not restricted (documented)")
				assert.Empty(t, svcPodSecurity(t, psapi.LevelBaseline, &deployment.Spec.Template.ObjectMeta, &spec), "but baseline")
			}
		})
	}
	t.Run("probes", func(t *testing.T) {
		c := d["osmo-service-localstack-s3"].Spec.Template.Spec.Containers[0]
		assert.Equal(t, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(4566)}}, InitialDelaySeconds: 3, PeriodSeconds: 3}, c.ReadinessProbe)
		assert.Equal(t, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(4566)}}, InitialDelaySeconds: 10, PeriodSeconds: 10}, c.LivenessProbe)
		postgres := d["osmo-service-postgres"].Spec.Template.Spec.Containers[0]
		assert.Equal(t, "250m", postgres.Resources.Limits.Cpu().String(), "NVIDIA's fixed resources are the default")
		assert.Equal(t, "512Mi", postgres.Resources.Requests.Memory().String())
	})
	t.Run("hostPath volume", func(t *testing.T) {
		volumes := render.Objects[*corev1.PersistentVolume](r)
		require.Len(t, volumes, 1)
		pv := volumes[0]
		assert.Equal(t, "osmo-osmo-service-localstack-s3", pv.Name, "cluster-scoped: carries the namespace")
		assert.Equal(t, "/var/lib/localstack", pv.Spec.HostPath.Path)
		assert.Equal(t, "5Gi", pv.Spec.Capacity.Storage().String())
		assert.Equal(t, corev1.PersistentVolumeReclaimRetain, pv.Spec.PersistentVolumeReclaimPolicy)
		assert.Equal(t, "", pv.Spec.StorageClassName)
		assert.Equal(t, pv.Name, claims["osmo-service-localstack-s3"].Spec.VolumeName)
	})
	t.Run("bucket Job", func(t *testing.T) {
		job := svcJobs(r)["osmo-service-localstack-s3-create-buckets"]
		require.NotNil(t, job)
		assert.Equal(t, int32(30), *job.Spec.TTLSecondsAfterFinished)
		assert.Equal(t, int32(6), *job.Spec.BackoffLimit)
		spec := job.Spec.Template.Spec
		assert.Equal(t, corev1.RestartPolicyOnFailure, spec.RestartPolicy)
		env := []corev1.EnvVar{{Name: "AWS_ENDPOINT_URL", Value: "http://localstack-s3:4566"}, {Name: "AWS_ACCESS_KEY_ID", Value: "test"},
			{Name: "AWS_SECRET_ACCESS_KEY", Value: "test"}, {Name: "AWS_DEFAULT_REGION", Value: "us-east-1"}}
		require.Len(t, spec.InitContainers, 1)
		wait := spec.InitContainers[0]
		assert.Equal(t, "wait-for-localstack-s3", wait.Name)
		assert.Equal(t, "amazon/aws-cli:2.15.33", wait.Image)
		assert.Equal(t, env, wait.Env)
		assert.Equal(t, []string{"sh", "-c", "until aws s3 ls >/dev/null 2>&1; do\n  echo \"Waiting for localstack-s3...\"\n  sleep 2\ndone\necho \"Localstack S3 is ready\"\n"}, wait.Command)
		create := spec.Containers[0]
		assert.Equal(t, "aws-cli", create.Name)
		assert.Equal(t, "amazon/aws-cli:2.15.33", create.Image)
		assert.Equal(t, corev1.PullIfNotPresent, create.ImagePullPolicy)
		assert.Equal(t, env, create.Env)
		assert.Equal(t, []string{"/bin/sh", "-lc"}, create.Command)
		assert.Equal(t, []string{"set -e\n\necho \"Creating buckets...\"\naws s3 mb s3://osmo || true\n\necho \"Setup complete!\"\n"}, create.Args)
		assert.Empty(t, svcPodSecurity(t, psapi.LevelRestricted, &job.Spec.Template.ObjectMeta, &spec))
	})
	t.Run("off by default; an external database's name is passed, not served", func(t *testing.T) {
		off := renderChart(t, "service", nil)
		assert.Empty(t, render.Objects[*corev1.PersistentVolumeClaim](off))
		assert.Empty(t, render.Objects[*corev1.PersistentVolume](off))
		assert.Empty(t, render.Objects[*batchv1.Job](off))
		for _, s := range render.Objects[*corev1.Service](off) {
			assert.NotContains(t, []string{"postgres", "redis", "localstack-s3"}, s.Name)
		}
	})
	t.Run("an empty storage class means the default class; no inline password reads the Secret; no NodePort", func(t *testing.T) {
		r := renderChart(t, "service", values(t, `
services:
  postgres: {enabled: true, enableNodePort: false, passwordSecretName: pg, passwordSecretKey: pw}
  redis: {enabled: true, serviceName: cache, port: 6380}`))
		for _, c := range render.Objects[*corev1.PersistentVolumeClaim](r) {
			assert.Nil(t, c.Spec.StorageClassName, "%s: NVIDIA renders \"\", which disables dynamic provisioning", c.Name)
		}
		postgres := svcDeployments(r)["osmo-service-postgres"].Spec.Template.Spec.Containers[0]
		assert.Equal(t, svcSecretEnv("POSTGRES_PASSWORD", "pg", "pw"), postgres.Env[0])
		services := map[string]*corev1.Service{}
		for _, s := range render.Objects[*corev1.Service](r) {
			services[s.Name] = s
		}
		assert.Equal(t, corev1.ServiceType(""), services["postgres"].Spec.Type)
		assert.Equal(t, []corev1.ServicePort{{Name: "http", Port: 5432, TargetPort: intstr.FromString("postgres"), Protocol: "TCP"}}, services["postgres"].Spec.Ports)
		assert.Equal(t, int32(6380), services["cache"].Spec.Ports[0].Port, "serviceName verbatim; Redis listens on 6379 as in NVIDIA's template")
		assert.Equal(t, intstr.FromString("redis"), services["cache"].Spec.Ports[0].TargetPort)
	})
}

// The migration hook Job, as NVIDIA's migration-job.yaml runs it, with the files from the values.
func TestParityServiceMigration(t *testing.T) {
	r, err := render.RenderFiles("service", release, "testdata/osmo/service/migration.yaml")
	require.NoError(t, err)
	job := svcJobs(r)["osmo-service-migrate-1"]
	require.NotNil(t, job, "named after the release and its revision")
	assert.Equal(t, map[string]string{
		"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation",
		"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
	}, job.Annotations, "NVIDIA's hooks (the account is pre-provisioned) and extraAnnotations")
	assert.Equal(t, int32(0), *job.Spec.BackoffLimit)
	assert.Equal(t, int32(300), *job.Spec.TTLSecondsAfterFinished)
	spec := job.Spec.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)
	assert.Equal(t, "osmo-preprovisioned", spec.ServiceAccountName)
	assert.Equal(t, "dba", job.Spec.Template.Annotations["example.com/owner"])
	assert.Equal(t, map[string]string{"pool": "jobs"}, spec.NodeSelector)
	assert.Equal(t, []corev1.Toleration{{Key: "jobs", Operator: "Exists"}}, spec.Tolerations)
	assert.Equal(t, []string{"wait-for-db"}, containerNames(spec.InitContainers))
	c := spec.Containers[0]
	assert.Equal(t, "pgroll-migrate", c.Name)
	assert.Equal(t, "registry.example.com/postgres:15-alpine", c.Image)
	assert.Equal(t, []string{"bash", "-c", "apk add --no-cache curl > /dev/null 2>&1\n" +
		"curl -sL https://github.com/xataio/pgroll/releases/download/v0.16.2/pgroll.linux.amd64 -o /usr/local/bin/pgroll\n" +
		"chmod +x /usr/local/bin/pgroll\n" +
		"bash /pgroll/run_migrations.sh public_v6_2_0\n"}, c.Command)
	assert.Equal(t, []corev1.EnvVar{
		{Name: "OSMO_POSTGRES_HOST", Value: "postgres"},
		{Name: "OSMO_POSTGRES_PORT", Value: "5432"},
		{Name: "OSMO_POSTGRES_DATABASE_NAME", Value: "osmo"},
		{Name: "OSMO_POSTGRES_USER", Value: "postgres"},
		svcSecretEnv("OSMO_POSTGRES_PASSWORD", "pg-secret", "pg-password"),
		{Name: "PGCONNECT_TIMEOUT", Value: "10"},
	}, c.Env)
	assert.Equal(t, "256Mi", c.Resources.Limits.Memory().String())
	assert.Equal(t, []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "pgroll-migrations", MountPath: "/pgroll"}, {Name: "ca", MountPath: "/etc/ssl/db"}}, c.VolumeMounts)
	assert.Equal(t, []string{"tmp", "pgroll-migrations", "ca"}, volumeNames(spec.Volumes))
	assert.Equal(t, "osmo-service-migration-files", volumeNamed(t, spec.Volumes, "pgroll-migrations").ConfigMap.Name)
	assert.Empty(t, svcPodSecurity(t, psapi.LevelBaseline, &job.Spec.Template.ObjectMeta, &spec), "NVIDIA's command needs root: baseline")

	var files *corev1.ConfigMap
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if cm.Name == "osmo-service-migration-files" {
			files = cm
		}
	}
	require.NotNil(t, files, "the files of services.migration.files")
	assert.Equal(t, "pre-install,pre-upgrade", files.Annotations["helm.sh/hook"])
	assert.Equal(t, "-5", files.Annotations["helm.sh/hook-weight"], "before the Job")
	assert.Equal(t, "PreSync", files.Annotations["argocd.argoproj.io/hook"])
	assert.Equal(t, map[string]string{
		"run_migrations.sh": "#!/usr/bin/env bash\necho \"stand-in for NVIDIA's run_migrations.sh\"\n",
		"001_example.json":  `{"name": "001_example", "operations": []}`,
	}, files.Data)

	schema := corev1.EnvVar{Name: "OSMO_SCHEMA_VERSION", Value: "public_v6_2_0"}
	d := svcDeployments(r)
	assert.Equal(t, schema, d["osmo-service"].Spec.Template.Spec.Containers[0].Env[1], "after OSMO_DISABLE_TASK_METRICS")
	assert.Equal(t, schema, d["osmo-service-worker"].Spec.Template.Spec.Containers[0].Env[0])
	assert.Equal(t, schema, d["osmo-service-agent"].Spec.Template.Spec.Containers[0].Env[0])
	for _, name := range []string{"osmo-service-logger", "osmo-service-delayed-job-monitor"} {
		assert.NotContains(t, d[name].Spec.Template.Spec.Containers[0].Env, schema, "%s: NVIDIA's template sets none", name)
	}

	t.Run("a created account does not exist before install: post-install", func(t *testing.T) {
		r := renderChart(t, "service", values(t, `services: {migration: {enabled: true, filesConfigMapName: osmo-migrations}}`))
		job := svcJobs(r)["osmo-service-migrate-1"]
		require.NotNil(t, job)
		assert.Equal(t, "post-install,pre-upgrade", job.Annotations["helm.sh/hook"])
		assert.Equal(t, "osmo-migrations", volumeNamed(t, job.Spec.Template.Spec.Volumes, "pgroll-migrations").ConfigMap.Name, "the operator's ConfigMap")
		for _, cm := range render.Objects[*corev1.ConfigMap](r) {
			assert.NotContains(t, cm.Name, "migration-files", "no files ConfigMap without services.migration.files")
		}
		env := job.Spec.Template.Spec.Containers[0].Env
		require.Len(t, env, 5)
		assert.Equal(t, svcSecretEnv("OSMO_POSTGRES_PASSWORD", "db-secret", "db-password"), env[4], "the password from its Secret with the MEK file on (withDatabasePassword); without any source the render fails (errors_test.go)")
	})
}

// The PodMonitor renders only when the cluster serves its API (NVIDIA's default fails the
// install without the Prometheus Operator's CRD); NOTES.txt says when it is left out.
func TestParityServicePodMonitor(t *testing.T) {
	renderWith := func(t *testing.T, vals map[string]any, apis ...string) (map[string]string, string) {
		t.Helper()
		vals = withDatabasePassword("service", withoutIdP(vals))
		ch, err := render.Chart("service")
		require.NoError(t, err)
		require.NoError(t, chartutil.ProcessDependenciesWithMerge(ch, vals))
		caps := render.Capabilities()
		caps.APIVersions = append(slices.Clone(caps.APIVersions), apis...)
		top, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "osmo", Namespace: "osmo", IsInstall: true, Revision: 1}, caps)
		require.NoError(t, err)
		files, err := engine.Render(ch, top)
		require.NoError(t, err)
		return files, files["service/templates/NOTES.txt"]
	}
	files, notes := renderWith(t, map[string]any{}, "monitoring.coreos.com/v1", "monitoring.coreos.com/v1/PodMonitor")
	monitor := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(files["service/templates/api-monitor.yaml"]), &monitor))
	assert.Equal(t, "PodMonitor", monitor["kind"])
	assert.Equal(t, "monitoring.coreos.com/v1", monitor["apiVersion"])
	assert.Equal(t, "osmo-service-otel-monitor", dig(monitor, "metadata", "name"))
	assert.Equal(t, []any{map[string]any{"interval": "15s", "port": "metrics", "path": "/metrics"}}, dig(monitor, "spec", "podMetricsEndpoints"))
	assert.Equal(t, map[string]any{
		"matchLabels": map[string]any{"app.kubernetes.io/name": "service", "app.kubernetes.io/instance": "osmo"},
		"matchExpressions": []any{map[string]any{"key": "app.kubernetes.io/component", "operator": "In",
			"values": []any{"service", "worker", "logger", "agent", "delayed-job-monitor"}}},
	}, dig(monitor, "spec", "selector"), "every OSMO component of this release")
	assert.NotContains(t, notes, "PodMonitor: not rendered")

	files, notes = renderWith(t, map[string]any{})
	assert.Empty(t, strings.TrimSpace(files["service/templates/api-monitor.yaml"]), "no CRD, no PodMonitor")
	assert.Contains(t, notes, "PodMonitor: not rendered: podMonitor.enabled is true but the cluster does not serve\n  monitoring.coreos.com/v1 PodMonitor")

	files, notes = renderWith(t, map[string]any{"podMonitor": map[string]any{"enabled": false}}, "monitoring.coreos.com/v1/PodMonitor")
	assert.Empty(t, strings.TrimSpace(files["service/templates/api-monitor.yaml"]))
	assert.NotContains(t, notes, "PodMonitor")
}

// NOTES.txt never hides an NVIDIA feature the values switch on that this chart does not render.
func TestParityServiceNotes(t *testing.T) {
	cases := []struct {
		name, values string
		files        []string
		want         []string
		absent       []string
	}{
		{name: "NVIDIA's defaults switch on Envoy (the tests' login off: no IdP)", values: `{}`,
			want: []string{"API: http://osmo-service.osmo.svc:80",
				"Gateway: Service osmo-service-gateway (LoadBalancer) routes to the API, router and UI.\n  Envoy's config: ConfigMap osmo-service-gateway-envoy-config.",
				"No login at the gateway (gateway.oauth2Proxy and gateway.authz are off)"}},
		{name: "run/minimal keeps Envoy on", files: []string{"testdata/osmo/service/minimal.yaml"},
			want: []string{"Gateway: Service osmo-service-gateway"}, absent: []string{"PodMonitor"}},
		{name: "an IdP", values: `gateway: {name: osmo-gateway, envoy: {hostname: osmo.example.com}, oauth2Proxy: {oidcIssuerUrl: "https://idp.example.com", clientId: osmo, useKubernetesSecrets: true, secretName: idp-secrets}}`,
			want: []string{"Gateway: Service osmo-gateway (LoadBalancer) routes to the API, router and UI (https://osmo.example.com).",
				"Browser logins: OAuth2 Proxy, client osmo of https://idp.example.com.",
				"Its client and cookie secrets come from Secret idp-secrets: create it before the pods start."},
			absent: []string{"No login at the gateway"}},
		{name: "gateway off", values: `gateway: {envoy: {enabled: false}, oauth2Proxy: {enabled: false}, authz: {enabled: false}}`,
			absent: []string{"Gateway:"}},
		{name: "configs on", files: []string{"testdata/osmo/service/workflow-pod-identity.yaml"},
			want: []string{"configs from ConfigMap osmo-service-configs (config.yaml)"}},
		{name: "per-service envoy overrides", values: `services: {logger: {envoy: {maxRequests: 50}}}`,
			want: []string{"services.logger.envoy: accepted but not used (NVIDIA's chart renders nothing for it either)."}, absent: []string{"services.agent.envoy"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vals, err := render.ReadValues(tc.files...)
			require.NoError(t, err)
			r, err := renderE("service", chartutil.MergeTables(values(t, tc.values), vals), release)
			require.NoError(t, err)
			for _, want := range tc.want {
				assert.Contains(t, r.Notes, want)
			}
			for _, absent := range tc.absent {
				assert.NotContains(t, r.Notes, absent)
			}
		})
	}
}

// `helm test` GETs the API's /api/version through its Service, and through the
// gateway's Envoy while that path needs no login, under the one account.
func TestParityServiceHelmTest(t *testing.T) {
	for _, tc := range []struct {
		values string
		urls   []string // fetched, in order
		absent string   // not fetched
	}{
		{`{}`, []string{"http://osmo-service:80/api/version", "http://osmo-service-gateway:80/api/version"}, ""},
		{`{services: {service: {serviceName: osmo-api}}, gateway: {name: osmo-gateway}}`, []string{"http://osmo-api:80/api/version", "http://osmo-gateway:80/api/version"}, ""},
		{`gateway: {envoy: {enabled: false}}`, []string{"http://osmo-service:80/api/version"}, "gateway"},
		{`gateway: {envoy: {skipAuthPaths: [/api/auth/login]}}`, []string{"http://osmo-service:80/api/version"}, "gateway"},
	} {
		r := renderChart(t, "service", values(t, tc.values))
		var test *corev1.Pod
		for _, p := range render.Objects[*corev1.Pod](r) {
			test = p
		}
		require.NotNil(t, test)
		assert.Equal(t, "test", test.Annotations["helm.sh/hook"])
		assert.Equal(t, "osmo-service", test.Spec.ServiceAccountName)
		script := test.Spec.Containers[0].Args[0]
		var fetched []string
		for _, line := range strings.Split(script, "\n") {
			if url, ok := strings.CutPrefix(line, "wget -q -O /dev/null -T 10 "); ok {
				fetched = append(fetched, url)
			}
		}
		assert.Equal(t, tc.urls, fetched, "%s: %s", tc.values, script)
		if tc.absent != "" {
			assert.NotContains(t, script, tc.absent, tc.values)
		}
	}
}

// Every OSMO pod passes Pod Security "restricted" for each operator file, with the
// writable directories the programs use (/tmp, /logs, /var/run/osmo).
func TestParityServicePodsAreRestricted(t *testing.T) {
	for _, file := range []string{"minimal.yaml", "deploy-service.yaml", "every-key.yaml", "workflow-pod-identity.yaml", "advanced-config.yaml"} {
		r, err := render.RenderFiles("service", release, "testdata/osmo/service/"+file)
		require.NoError(t, err)
		for name, d := range svcDeployments(r) {
			if !slices.Contains(slices.Collect(maps.Values(svcComponents)), d.Spec.Template.Labels["app.kubernetes.io/component"]) {
				continue // the development datastores: TestParityServiceDevelopmentDatastores
			}
			spec := d.Spec.Template.Spec
			assert.Empty(t, svcPodSecurity(t, psapi.LevelRestricted, &d.Spec.Template.ObjectMeta, &spec), "%s: %s", file, name)
			c := spec.Containers[0]
			assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, name)
			assert.Equal(t, int64(1001), *c.SecurityContext.RunAsUser, "%s: UID 1001, as NVIDIA runs OSMO", name)
		}
	}
}

// extraConfigMaps render under their own names, as NVIDIA's extra-configmaps.yaml.
func TestParityServiceExtraConfigMaps(t *testing.T) {
	r := renderChart(t, "service", values(t, `extraConfigMaps: [{name: custom-config, data: {config.yaml: "key: value\n", port: 8080}}]`))
	var found *corev1.ConfigMap
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if cm.Name == "custom-config" {
			found = cm
		}
	}
	require.NotNil(t, found)
	assert.Equal(t, map[string]string{"config.yaml": "key: value\n", "port": "8080"}, found.Data)
}
