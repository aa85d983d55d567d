package cluster_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster"
)

// Test packages run in parallel, one cluster each: two local clusters must
// not share ports, state or data, and stopping one leaves the other running.
func TestTwoLocalClustersSideBySide(t *testing.T) {
	t.Parallel()
	first := local(t)
	second, err := cluster.StartLocal(context.Background(), cluster.Options{Out: t.Output()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Stop(context.Background()) }) // idempotent: a no-op after the Stop below

	assert.NotEqual(t, first.Server(), second.Server())
	assert.NotEqual(t, first.Dir(), second.Dir())

	// Data is separate: a namespace made in the second is absent from the first.
	ctx := context.Background()
	only := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-second"}}
	_, err = second.Client().CoreV1().Namespaces().Create(ctx, only, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = first.Client().CoreV1().Namespaces().Get(ctx, only.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "want NotFound in the first cluster, got %v", err)
	require.NoError(t, cluster.WaitReady(ctx, second.Client()), "the second cluster has its own Ready node and default ServiceAccount")

	// A process added later (as the identity webhooks are) stops with its cluster.
	require.NoError(t, second.StartProcess("sleeper", "/bin/sleep", []string{"600"}, nil))
	assert.FileExists(t, second.LogPath("sleeper"))
	secondPids := second.Pids()
	require.Len(t, secondPids, 6)
	require.NoError(t, second.Stop(ctx))
	assertAllGone(t, secondPids)
	_, err = os.Stat(second.Dir())
	assert.True(t, os.IsNotExist(err), "Stop removes the state folder %s (stat: %v)", second.Dir(), err)
	_, err = first.Client().Discovery().ServerVersion()
	assert.NoError(t, err, "the first cluster still answers after the second stopped")
}
