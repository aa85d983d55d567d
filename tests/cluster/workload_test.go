package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// The pinned version: `helm install` of charts with a kubeVersion constraint
// depends on the server reporting it (not v0.0.0-master).
func TestServerVersionIsPinned(t *testing.T) {
	t.Parallel()
	version, err := clustertest.Shared(t).Client().Discovery().ServerVersion()
	require.NoError(t, err)
	assert.Equal(t, string(versions.Kubernetes), version.GitVersion)
}

// Scheduler, controllers and kwok together: a Deployment's pods are
// scheduled onto the fake node and become ready.
func TestDeploymentBecomesAvailable(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	ns := clustertest.Namespace(t, c, "restricted")
	deployments := c.Client().AppsV1().Deployments(ns)
	_, err := deployments.Create(context.Background(), deployment("web"), metav1.CreateOptions{})
	require.NoError(t, err)
	eventually(t, time.Minute, "deployment web Available with 2 ready replicas", func(ctx context.Context) (bool, error) {
		d, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				return d.Status.ReadyReplicas == 2, nil
			}
		}
		return false, nil
	})
	pods, err := c.Client().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=web"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	for _, p := range pods.Items {
		assert.Equal(t, cluster.FakeNodeName, p.Spec.NodeName, "pod %s", p.Name)
		assert.NotEmpty(t, p.Status.PodIP, "pod %s has no IP from kwok", p.Name)
	}
}

// Pod Security admission is on: charts are proven against "restricted".
func TestPodSecurityRestrictedIsEnforced(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	pods := c.Client().CoreV1().Pods(clustertest.Namespace(t, c, "restricted"))

	privileged := restrictedPodSpec(corev1.RestartPolicyAlways)
	privileged.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
	_, err := pods.Create(context.Background(), pod("privileged", privileged), metav1.CreateOptions{})
	require.Error(t, err, "a privileged pod must be rejected in a restricted namespace")
	assert.True(t, apierrors.IsForbidden(err), "want Forbidden, got %v", err)
	assert.Contains(t, err.Error(), `violates PodSecurity "restricted:latest"`)
	assert.Contains(t, err.Error(), "privileged")

	_, err = pods.Create(context.Background(), pod("compliant", restrictedPodSpec(corev1.RestartPolicyAlways)), metav1.CreateOptions{})
	assert.NoError(t, err, "a pod meeting restricted must be admitted")
}

// `helm test` pods run once (restartPolicy Never); the patched kwok stage
// completes them, so `helm test` can pass.
func TestRunOncePodSucceeds(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	pods := c.Client().CoreV1().Pods(clustertest.Namespace(t, c, "restricted"))
	testPod := pod("chart-test", restrictedPodSpec(corev1.RestartPolicyNever))
	testPod.Annotations = map[string]string{"helm.sh/hook": "test"}
	_, err := pods.Create(context.Background(), testPod, metav1.CreateOptions{})
	require.NoError(t, err)
	eventually(t, time.Minute, "pod chart-test Succeeded", func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "chart-test", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		require.NotEqual(t, corev1.PodFailed, p.Status.Phase)
		return p.Status.Phase == corev1.PodSucceeded, nil
	})
}

// kubectl (the pinned one) works with the cluster's kubeconfig, and
// --dry-run=server really asks the server: admission runs, nothing is stored.
func TestKubectlServerDryRun(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	ns := clustertest.Namespace(t, c, "restricted")
	manifests := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(manifests, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	configMap := write("configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: info\n")
	privilegedPod := write("pod.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: privileged
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
    securityContext:
      privileged: true
`)
	kubectl := func(args ...string) (string, error) {
		cmd := exec.Command(project.MustBin("kubectl"), append([]string{"--kubeconfig", c.KubeconfigPath(), "--namespace", ns}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := kubectl("apply", "--dry-run=server", "-f", configMap)
	require.NoError(t, err, out)
	assert.Contains(t, out, "configmap/settings created (server dry run)")
	_, err = c.Client().CoreV1().ConfigMaps(ns).Get(context.Background(), "settings", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a dry run must store nothing, got %v", err)

	// Only the server knows the namespace's Pod Security level: a client-side
	// dry run would accept this pod.
	out, err = kubectl("apply", "--dry-run=server", "-f", privilegedPod)
	require.Error(t, err, out)
	assert.Contains(t, out, `violates PodSecurity "restricted:latest"`)
}
