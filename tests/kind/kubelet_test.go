package kind_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
)

// busybox is the node image's own busybox (Debian's), present in every node.
const busybox = "osmo-charts.local/busybox:bookworm"

// A liveness probe that fails restarts the container; a readiness probe that
// passes makes it Ready; a startup probe gates both. kwok reports every pod
// Ready without running anything.
func TestProbesAreEvaluated(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	pods := c.Client().CoreV1().Pods(clustertest.Namespace(t, c, "restricted"))
	ctx := context.Background()

	healthy := restrictedPod("healthy", corev1.RestartPolicyAlways, "touch /tmp/started; exec sleep 3600")
	healthy.Spec.Containers[0].StartupProbe = execProbe("test -f /tmp/started")
	healthy.Spec.Containers[0].ReadinessProbe = execProbe("test -f /tmp/started")
	healthy.Spec.Containers[0].LivenessProbe = execProbe("true")
	failing := restrictedPod("failing-liveness", corev1.RestartPolicyAlways, "exec sleep 3600")
	failing.Spec.Containers[0].LivenessProbe = execProbe("false")
	for _, p := range []*corev1.Pod{healthy, failing} {
		_, err := pods.Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	wait(t, 2*time.Minute, "pod healthy Ready", func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "healthy", metav1.GetOptions{})
		return err == nil && podReady(p), err
	})
	wait(t, 2*time.Minute, "pod failing-liveness restarted by its liveness probe", func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "failing-liveness", metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return false, err
		}
		return p.Status.ContainerStatuses[0].RestartCount > 0, nil
	})
	p, err := pods.Get(ctx, "healthy", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Zero(t, p.Status.ContainerStatuses[0].RestartCount, "the healthy pod's liveness probe passes")
}

// A run-once pod (what `helm test` creates) runs its script: exit 0 is
// Succeeded, exit 3 is Failed with that exit code. kwok completes both.
func TestRunOncePodsRunTheirScript(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	pods := c.Client().CoreV1().Pods(clustertest.Namespace(t, c, "restricted"))
	ctx := context.Background()
	for name, script := range map[string]string{"passes": "echo ran; exit 0", "fails": "echo ran; exit 3"} {
		_, err := pods.Create(ctx, restrictedPod(name, corev1.RestartPolicyNever, script), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	phases := map[string]corev1.PodPhase{"passes": corev1.PodSucceeded, "fails": corev1.PodFailed}
	for name, want := range phases {
		var got *corev1.Pod
		wait(t, 2*time.Minute, "pod "+name+" finished", func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			got = p
			return err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed), err
		})
		assert.Equal(t, want, got.Status.Phase, "pod %s", name)
		logs, err := pods.GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ran\n", string(logs), "pod %s's script printed", name)
	}
	p, err := pods.Get(ctx, "fails", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, p.Status.ContainerStatuses[0].State.Terminated)
	assert.EqualValues(t, 3, p.Status.ContainerStatuses[0].State.Terminated.ExitCode)
}

// The kubelet writes a projected service account token with the audience and
// lifetime the volume asks for (what the identity webhooks ask for), readable
// by the pod's non-root user.
func TestProjectedTokenIsMountedWithAudienceAndExpiry(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	ns := clustertest.Namespace(t, c, "restricted")
	pods := c.Client().CoreV1().Pods(ns)
	ctx := context.Background()
	const audience, lifetime = "api://AzureADTokenExchange", int64(3600)
	p := restrictedPod("token", corev1.RestartPolicyAlways, "exec sleep 3600")
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "azure-identity-token", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: audience, ExpirationSeconds: ptr(lifetime), Path: "azure-identity-token",
		}}}},
	}})
	p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "azure-identity-token", MountPath: "/var/run/secrets/azure/tokens", ReadOnly: true})
	_, err := pods.Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	waitReady(t, pods, "token")

	token := strings.TrimSpace(kubectlExec(t, c, ns, "token", "cat", "/var/run/secrets/azure/tokens/azure-identity-token"))
	claims := jwtClaims(t, token)
	assert.Equal(t, []any{audience}, claims["aud"])
	assert.Equal(t, "system:serviceaccount:"+ns+":default", claims["sub"])
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	assert.InDelta(t, float64(lifetime), exp-iat, 1, "token lifetime")
}

// Restricted pods run as the non-root user asked for, on a read-only root
// filesystem, and write where an emptyDir is mounted (/tmp here, as the
// charts mount /tmp and /logs for OSMO's programs).
func TestRestrictedPodRunsAsNonRootOnReadOnlyRoot(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	ns := clustertest.Namespace(t, c, "restricted")
	pods := c.Client().CoreV1().Pods(ns)
	_, err := pods.Create(context.Background(), restrictedPod("nonroot", corev1.RestartPolicyAlways, "exec sleep 3600"), metav1.CreateOptions{})
	require.NoError(t, err)
	waitReady(t, pods, "nonroot")
	assert.Equal(t, "1001\n", kubectlExec(t, c, ns, "nonroot", "id", "-u"))
	out, err := kubectlExecErr(c, ns, "nonroot", "touch", "/root-is-read-only")
	assert.Error(t, err, "writing to the root filesystem must fail")
	assert.Contains(t, out, "Read-only file system")
	_, err = kubectlExecErr(c, ns, "nonroot", "touch", "/tmp/writable")
	assert.NoError(t, err, "the /tmp emptyDir is writable")
}

// A Service resolves through CoreDNS and answers through kube-proxy, and a
// claim binds through the default StorageClass (local-path-provisioner).
func TestServiceDNSAndVolumes(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	ns := clustertest.Namespace(t, c, "restricted")
	ctx := context.Background()
	pods := c.Client().CoreV1().Pods(ns)

	web := restrictedPod("web", corev1.RestartPolicyAlways, "mkdir -p /tmp/www && echo hello > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www")
	web.Labels = map[string]string{"app": "web"}
	web.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}
	_, err := pods.Create(ctx, web, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client().CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	_, err = c.Client().CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	client := restrictedPod("client", corev1.RestartPolicyNever,
		"wget -q -O - http://web."+"$NS"+".svc.cluster.local/ > /data/got && cat /data/got")
	// (no -T: Debian's busybox, which this image is, has no wget timeout option)
	client.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "NS", Value: ns}}
	client.Spec.Volumes = append(client.Spec.Volumes, corev1.Volume{Name: "data",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}})
	client.Spec.Containers[0].VolumeMounts = append(client.Spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "data", MountPath: "/data"})
	// local-path volumes are folders made by a root helper pod with mode 0777; fsGroup is not applied to them.
	waitReady(t, pods, "web")
	_, err = pods.Create(ctx, client, metav1.CreateOptions{})
	require.NoError(t, err)
	var phase corev1.PodPhase
	wait(t, 3*time.Minute, "pod client finished", func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "client", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	logs, err := pods.GetLogs("client", &corev1.PodLogOptions{}).DoRaw(ctx)
	require.NoError(t, err)
	require.Equal(t, corev1.PodSucceeded, phase, "client's output: %s", logs)
	assert.Equal(t, "hello\n", string(logs))
	pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ClaimBound, pvc.Status.Phase)
}

// restrictedPod is a busybox pod that meets Pod Security "restricted", with
// an emptyDir at /tmp, running script with sh.
func restrictedPod(name string, restart corev1.RestartPolicy, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 restart,
			TerminationGracePeriodSeconds: ptr(int64(1)),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1001)), RunAsGroup: ptr(int64(1001)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name: "main", Image: busybox, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", script},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
			}},
			Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
}

func execProbe(script string) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", script}}},
		PeriodSeconds: 1, FailureThreshold: 2}
}

func podReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

type podGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error)
}

func waitReady(t *testing.T, pods podGetter, name string) {
	t.Helper()
	wait(t, 2*time.Minute, "pod "+name+" Ready", func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		return err == nil && podReady(p), err
	})
}

func wait(t *testing.T, timeout time.Duration, what string, check func(ctx context.Context) (bool, error)) {
	t.Helper()
	require.NoError(t, poll.Until(context.Background(), what, 500*time.Millisecond, timeout, check))
}

// kubectlExec runs a command in a pod's container with the pinned kubectl and returns its stdout.
func kubectlExec(t *testing.T, c cluster.Cluster, ns, pod string, command ...string) string {
	t.Helper()
	out, err := kubectlExecErr(c, ns, pod, command...)
	require.NoError(t, err, "kubectl exec %s %v: %s", pod, command, out)
	return out
}

func kubectlExecErr(c cluster.Cluster, ns, pod string, command ...string) (string, error) {
	args := append([]string{"--kubeconfig", c.KubeconfigPath(), "-n", ns, "exec", pod, "--"}, command...)
	cmd := exec.Command(project.MustBin("kubectl"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// jwtClaims decodes a JWT's payload (the signature is the API server's; the
// cluster tests verify it against issuer discovery).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT has three parts: %q", token)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims), fmt.Sprintf("payload %s", payload))
	return claims
}

func ptr[T any](v T) *T { return &v }
