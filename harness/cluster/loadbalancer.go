package cluster

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// LoadBalancerIP is the address the local cluster's load balancer stand-in
// publishes for every Service of type LoadBalancer.
const LoadBalancerIP = "127.0.0.1"

// ServeLoadBalancers stands in for a cloud's load balancer controller, which
// a local control plane and a kind cluster have none of: every Service of type LoadBalancer gets
// status.loadBalancer.ingress [{ip: 127.0.0.1}] with its ports, as a cloud
// reports a provisioned balancer, so `helm install --wait` of a chart with
// such a Service (the OSMO gateway's default) completes. Nothing listens
// there (kwok runs no containers; on kind the Service answers on its
// cluster IP, not on the host's loopback). It runs until ctx ends.
func ServeLoadBalancers(ctx context.Context, client kubernetes.Interface) {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		publishLoadBalancers(ctx, client)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// publishLoadBalancers gives each LoadBalancer Service without an address
// its address; a failed request is retried at the next tick.
func publishLoadBalancers(ctx context.Context, client kubernetes.Interface) {
	requestCtx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	services, err := client.CoreV1().Services(metav1.NamespaceAll).List(requestCtx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for i := range services.Items {
		svc := &services.Items[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		var ports []corev1.PortStatus
		for _, p := range svc.Spec.Ports {
			ports = append(ports, corev1.PortStatus{Port: p.Port, Protocol: p.Protocol})
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: LoadBalancerIP, IPMode: ptr.To(corev1.LoadBalancerIPModeVIP), Ports: ports}}
		_, _ = client.CoreV1().Services(svc.Namespace).UpdateStatus(requestCtx, svc, metav1.UpdateOptions{})
	}
}
