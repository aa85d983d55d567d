package kind_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/helmcli"
	"github.com/osmo-wi/charts/harness/project"
)

// What ct install proves the charts get right, kind shows failing when it is
// wrong: a flag OSMO's parser does not know stops the program (the stand-in
// exits 2 with argparse's message, and the kubelet restarts it), and a Secret
// the pods mount that nobody created keeps them from starting.
func TestKindRefusesWhatOSMOWouldRefuse(t *testing.T) {
	c := clustertest.Shared(t)
	charts, helm := sharedCharts(t, c)
	ctx := t.Context()

	t.Run("unknown flag", func(t *testing.T) {
		ns := clustertest.Namespace(t, c, "restricted")
		out, err := helm.RunE(ctx, ns, "install", "bogus", filepath.Join(charts, "router"),
			"-f", project.Path("charts/router/ci/01-default-values.yaml"), "--set-json", `services.service.extraArgs=["--bogus"]`)
		require.NoError(t, err, out)
		t.Cleanup(func() { _, _ = helm.RunE(context.Background(), ns, "uninstall", "bogus", "--wait") })
		var terminated *corev1.ContainerStateTerminated
		var pod string
		previous := false
		wait(t, 2*time.Minute, "a router container exits", func(ctx context.Context) (bool, error) {
			pods, err := c.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=bogus"})
			if err != nil {
				return false, err
			}
			for _, p := range pods.Items {
				for _, s := range p.Status.ContainerStatuses {
					switch { // the kubelet restarts it: its last run, or this one
					case s.LastTerminationState.Terminated != nil:
						terminated, pod, previous = s.LastTerminationState.Terminated, p.Name, true
					case s.State.Terminated != nil:
						terminated, pod = s.State.Terminated, p.Name
					}
				}
			}
			return terminated != nil, nil
		})
		assert.EqualValues(t, 2, terminated.ExitCode, "argparse's exit status")
		logs, err := c.Client().CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Previous: previous}).DoRaw(ctx)
		require.NoError(t, err)
		assert.Contains(t, string(logs), "unrecognized arguments: --bogus")
	})

	t.Run("missing Secret", func(t *testing.T) {
		ns := clustertest.Namespace(t, c, "restricted")
		out, err := helm.RunE(ctx, ns, "install", "nosecret", filepath.Join(charts, "backend-operator"),
			"-f", project.Path("charts/backend-operator/ci/01-default-values.yaml"), "--set-json", `extraObjects=[]`)
		require.NoError(t, err, out)
		t.Cleanup(func() { _, _ = helm.RunE(context.Background(), ns, "uninstall", "nosecret", "--wait") })
		wait(t, 2*time.Minute, "the kubelet reports the missing Secret", func(ctx context.Context) (bool, error) {
			events, err := c.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedMount"})
			if err != nil {
				return false, err
			}
			for _, e := range events.Items {
				if strings.Contains(e.Message, `secret "svc-osmo-admin" not found`) {
					return true, nil
				}
			}
			return false, nil
		})
		pods, err := c.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.NotEmpty(t, pods.Items)
		for _, p := range pods.Items {
			assert.NotEqual(t, corev1.PodRunning, p.Status.Phase, "%s runs without its Secret", p.Name)
		}
	})
}

// sharedCharts is the package's one CLI-ready copy of charts/ and the pinned
// helm working on it against the cluster.
func sharedCharts(t *testing.T, c cluster.Cluster) (string, helmcli.Helm) {
	t.Helper()
	charts, err := chartdir.Shared()
	require.NoError(t, err)
	helm := chartdir.HelmIn(filepath.Dir(charts))
	helm.Kubeconfig = c.KubeconfigPath()
	return charts, helm
}
