package cluster

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/osmo-wi/charts/harness/poll"
)

// pollInterval is short because start time is what every test run waits on.
const pollInterval = 50 * time.Millisecond

// requestTimeout keeps one hung request from eating the whole start budget.
const requestTimeout = 2 * time.Second

// abortFunc reports a reason to stop waiting early (a process died).
type abortFunc func() error

// WaitAPIReady waits until the API server's /readyz answers ok.
func WaitAPIReady(ctx context.Context, client kubernetes.Interface) error {
	return waitAPIReady(ctx, client, nil)
}

// WaitReady waits until the cluster can run a test: /readyz answers, every
// node (at least one) is Ready, and the default ServiceAccount exists in
// namespace default (so pods can be created there).
func WaitReady(ctx context.Context, client kubernetes.Interface) error {
	return waitReady(ctx, client, nil)
}

func waitReady(ctx context.Context, client kubernetes.Interface, abort abortFunc) error {
	if err := waitAPIReady(ctx, client, abort); err != nil {
		return err
	}
	if err := waitFor(ctx, "every node Ready", abort, func(ctx context.Context) (bool, error) { return nodesReady(ctx, client) }); err != nil {
		return err
	}
	return waitFor(ctx, "ServiceAccount default in namespace default", abort, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

func waitAPIReady(ctx context.Context, client kubernetes.Interface, abort abortFunc) error {
	return waitFor(ctx, "API server /readyz", abort, func(ctx context.Context) (bool, error) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
}

func nodesReady(ctx context.Context, client kubernetes.Interface) (bool, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		return false, nil
	}
	for _, node := range nodes.Items {
		if !nodeReady(&node) {
			return false, nil
		}
	}
	return true, nil
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitFor runs check until it reports done, through the harness's one poll
// helper: each request gets requestTimeout, and a reason from abort (a
// process died) or an error from check ends the wait at once.
func waitFor(ctx context.Context, what string, abort abortFunc, check func(context.Context) (bool, error)) error {
	return poll.Until(ctx, what, pollInterval, 0, func(ctx context.Context) (bool, error) {
		if abort != nil {
			if err := abort(); err != nil {
				return false, poll.Stop(err)
			}
		}
		requestCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		done, err := check(requestCtx)
		return done, poll.Stop(err)
	})
}

// IssuerDiscoveryBinding lets anyone read the service account issuer's OIDC
// discovery document and keys, as cloud clusters do, so a token verifier can
// fetch them straight from the issuer URL without credentials.
const IssuerDiscoveryBinding = "service-account-issuer-discovery-unauthenticated"

// AllowAnonymousIssuerDiscovery binds ClusterRole
// system:service-account-issuer-discovery to group system:unauthenticated.
func AllowAnonymousIssuerDiscovery(ctx context.Context, client kubernetes.Interface) error {
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: IssuerDiscoveryBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}
	_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// WaitDeploymentRolledOut waits until a Deployment's current template runs on
// every replica and each is available (what `kubectl rollout status` waits
// for), within timeout.
func WaitDeploymentRolledOut(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration) error {
	return poll.Until(ctx, "deployment "+namespace+"/"+name+" to roll out", 250*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, poll.Stop(err)
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != want || s.Replicas != want || s.AvailableReplicas != want {
			return false, poll.NotYet("%d of %d replicas updated, %d available, %d in all", s.UpdatedReplicas, want, s.AvailableReplicas, s.Replicas)
		}
		return true, nil
	})
}
