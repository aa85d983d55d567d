package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
)

// A LoadBalancer Service (the OSMO gateway's default) gets an address, as a
// cloud's controller gives one, so `helm install --wait` completes; a
// ClusterIP Service gets none.
func TestLoadBalancerServicesGetAnAddress(t *testing.T) {
	t.Parallel()
	c := clustertest.Shared(t)
	if c.Provider() != cluster.ProviderLocal {
		t.Skipf("the load balancer stand-in is the local provider's; this cluster is %s", c.Provider())
	}
	ns := clustertest.Namespace(t, c, "restricted")
	services := c.Client().CoreV1().Services(ns)
	service := func(name string, kind corev1.ServiceType) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Type: kind, Selector: map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
		}
	}
	for _, s := range []*corev1.Service{service("gateway", corev1.ServiceTypeLoadBalancer), service("internal", corev1.ServiceTypeClusterIP)} {
		_, err := services.Create(context.Background(), s, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	var got *corev1.Service
	eventually(t, 30*time.Second, "Service gateway's load balancer address", func(ctx context.Context) (bool, error) {
		var err error
		got, err = services.Get(ctx, "gateway", metav1.GetOptions{})
		return err == nil && len(got.Status.LoadBalancer.Ingress) > 0, err
	})
	ingress := got.Status.LoadBalancer.Ingress[0]
	assert.Equal(t, cluster.LoadBalancerIP, ingress.IP)
	assert.Equal(t, []corev1.PortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}}, ingress.Ports)
	internal, err := services.Get(context.Background(), "internal", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, internal.Status.LoadBalancer.Ingress, "a ClusterIP Service has no load balancer")
}
