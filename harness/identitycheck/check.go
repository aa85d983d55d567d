// Package identitycheck tells, for every pod of a release, whether it would get
// its cloud workload identity, and if not, why and how to fix it. It reads what
// the API server admitted (the ServiceAccount's annotations, the pod's labels,
// the env and token volumes the webhooks injected) and the cluster's issuer; it
// calls no cloud. cmd/identity-check prints its Report; the identity tests
// assert it against the real Azure and EKS webhooks.
//
// Pods that cannot exist are reported too: a Deployment in scope that has no
// pods, or whose pod template names a ServiceAccount that does not exist (its
// ReplicaSet cannot create pods for it), gets an entry of Kind "Deployment"
// with the reason. Only when there is neither a pod nor such a Deployment does Check fail
// with ErrNoPods.
package identitycheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/podspec"
)

// ErrNoPods is returned (wrapped, naming the namespace and selector) when
// nothing matched: no pod, and no Deployment waiting for pods.
var ErrNoPods = errors.New("no pods matched")

// ReleaseLabel is the label Helm charts put on everything of a release.
const ReleaseLabel = "app.kubernetes.io/instance"

// Options choose the pods to check. Neither Selector nor Release means every
// pod in the namespace; both are combined.
type Options struct {
	Namespace string // "" means "default"
	Selector  string // a label selector, as kubectl -l takes it
	Release   string // a Helm release: app.kubernetes.io/instance=<Release>
}

// LabelSelector is the selector Check lists pods with ("" for every pod).
func (o Options) LabelSelector() (string, error) {
	var parts []string
	if strings.TrimSpace(o.Selector) != "" {
		parts = append(parts, strings.TrimSpace(o.Selector))
	}
	if o.Release != "" {
		parts = append(parts, ReleaseLabel+"="+o.Release)
	}
	selector := strings.Join(parts, ",")
	if _, err := labels.Parse(selector); err != nil {
		return "", fmt.Errorf("selector %q: %w", selector, err)
	}
	return selector, nil
}

func (o Options) namespace() string {
	if o.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return o.Namespace
}

// Check reports, for every live pod that opts select (and every Deployment
// in scope that has no pod), whether it would get its cloud identity.
// Finished pods (Succeeded, Failed: `helm test` hooks) and pods being deleted
// are skipped. Errors are for what prevents an answer: a bad selector, an
// unreachable or refusing API server, or nothing to check (ErrNoPods).
func Check(ctx context.Context, client kubernetes.Interface, opts Options) (*Report, error) {
	selector, err := opts.LabelSelector()
	if err != nil {
		return nil, err
	}
	namespace := opts.namespace()
	report := &Report{Namespace: namespace, Selector: selector, Pods: []PodReport{}}
	if report.Issuer, err = ClusterIssuer(ctx, client); err != nil {
		report.IssuerError = err.Error()
	}

	podList, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods in namespace %q: %w", namespace, err)
	}
	pods := livePods(podList.Items)
	deployments, err := listDeployments(ctx, client, namespace, selector)
	if err != nil {
		return nil, err
	}
	cluster := clusterState{namespace: namespace, issuer: report.Issuer}
	if cluster.accounts, err = fetchAccounts(ctx, client, namespace, pods, deployments); err != nil {
		return nil, err
	}
	deployments = deploymentsWithoutPods(deployments, pods, cluster.accounts)
	if len(pods) == 0 && len(deployments) == 0 {
		return nil, fmt.Errorf("%w %s", ErrNoPods, describeScope(namespace, selector))
	}
	if cluster.configMaps, err = fetchCredentialConfigMaps(ctx, client, namespace, pods, deployments); err != nil {
		return nil, err
	}
	for i := range pods {
		report.Pods = append(report.Pods, evaluate(cluster.podWorkload(&pods[i])))
	}
	for i := range deployments {
		report.Pods = append(report.Pods, evaluate(cluster.deploymentWorkload(&deployments[i])))
	}
	return report, nil
}

// ClusterIssuer is the issuer of the cluster's ServiceAccount tokens, from the
// API server's OIDC discovery document: the URL to register in the cloud.
func ClusterIssuer(ctx context.Context, client kubernetes.Interface) (string, error) {
	rest := client.Discovery().RESTClient()
	if rest == nil {
		return "", errors.New("this client cannot read /.well-known/openid-configuration")
	}
	raw, err := rest.Get().AbsPath("/.well-known/openid-configuration").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("read /.well-known/openid-configuration: %w", err)
	}
	var discovery struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(raw, &discovery); err != nil || discovery.Issuer == "" {
		return "", fmt.Errorf("/.well-known/openid-configuration names no issuer: %s", firstLine(string(raw)))
	}
	return discovery.Issuer, nil
}

func describeScope(namespace, selector string) string {
	if selector == "" {
		return fmt.Sprintf("in namespace %q (no selector: every pod)", namespace)
	}
	return fmt.Sprintf("selector %q in namespace %q", selector, namespace)
}

// livePods drops finished pods (completed `helm test` hooks) and pods being deleted.
func livePods(items []corev1.Pod) []corev1.Pod {
	var live []corev1.Pod
	for _, p := range items {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		live = append(live, p)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	return live
}

// listDeployments are the Deployments in scope that want pods. Only
// Deployments are looked at: the charts run every component as one.
func listDeployments(ctx context.Context, client kubernetes.Interface, namespace, selector string) ([]appsv1.Deployment, error) {
	list, err := client.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if apierrors.IsForbidden(err) {
		return nil, nil // a reader without access to Deployments still gets the pods checked
	}
	if err != nil {
		return nil, fmt.Errorf("list deployments in namespace %q: %w", namespace, err)
	}
	var wanting []appsv1.Deployment
	for _, d := range list.Items {
		if d.DeletionTimestamp == nil && (d.Spec.Replicas == nil || *d.Spec.Replicas > 0) {
			wanting = append(wanting, d)
		}
	}
	return wanting, nil
}

// deploymentsWithoutPods are the Deployments whose pods could not be created
// (or not yet): those with no pod among pods, and those whose pod template
// names a missing account (an upgrade to a pre-provisioned account that does
// not exist leaves the old pods running, and the new ones never come).
func deploymentsWithoutPods(deployments []appsv1.Deployment, pods []corev1.Pod, accounts map[string]*corev1.ServiceAccount) []appsv1.Deployment {
	var waiting []appsv1.Deployment
	for _, d := range deployments {
		if accounts[accountName(d.Spec.Template.Spec)] == nil {
			waiting = append(waiting, d)
			continue
		}
		podSelector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			continue
		}
		hasPod := false
		for _, p := range pods {
			if podSelector.Matches(labels.Set(p.Labels)) {
				hasPod = true
				break
			}
		}
		if !hasPod {
			waiting = append(waiting, d)
		}
	}
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].Name < waiting[j].Name })
	return waiting
}

// fetchAccounts reads every ServiceAccount the pods and Deployments run under;
// a missing one maps to nil.
func fetchAccounts(ctx context.Context, client kubernetes.Interface, namespace string, pods []corev1.Pod, deployments []appsv1.Deployment) (map[string]*corev1.ServiceAccount, error) {
	accounts := map[string]*corev1.ServiceAccount{}
	names := make([]string, 0, len(pods)+len(deployments))
	for _, p := range pods {
		names = append(names, accountName(p.Spec))
	}
	for _, d := range deployments {
		names = append(names, accountName(d.Spec.Template.Spec))
	}
	for _, name := range names {
		if _, seen := accounts[name]; seen {
			continue
		}
		account, err := client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			accounts[name] = nil
		case err != nil:
			return nil, fmt.Errorf("read ServiceAccount %s/%s: %w", namespace, name, err)
		default:
			accounts[name] = account
		}
	}
	return accounts, nil
}

// fetchCredentialConfigMaps reads the ConfigMaps projected into pods that set
// GOOGLE_APPLICATION_CREDENTIALS (GCP federation); a missing one maps to nil.
func fetchCredentialConfigMaps(ctx context.Context, client kubernetes.Interface, namespace string, pods []corev1.Pod, deployments []appsv1.Deployment) (map[string]*corev1.ConfigMap, error) {
	specs := make([]corev1.PodSpec, 0, len(pods)+len(deployments))
	for _, p := range pods {
		specs = append(specs, p.Spec)
	}
	for _, d := range deployments {
		specs = append(specs, d.Spec.Template.Spec)
	}
	configMaps := map[string]*corev1.ConfigMap{}
	for _, spec := range specs {
		if !podspec.HasEnv(&spec, cloud.EnvGoogleCredentials) {
			continue
		}
		for _, name := range podspec.ConfigMaps(&spec) {
			if _, seen := configMaps[name]; seen {
				continue
			}
			cm, err := client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				configMaps[name] = nil
			case err != nil:
				return nil, fmt.Errorf("read ConfigMap %s/%s: %w", namespace, name, err)
			default:
				configMaps[name] = cm
			}
		}
	}
	return configMaps, nil
}

// clusterState is what Check read from the cluster besides the pods.
type clusterState struct {
	namespace  string
	issuer     string
	accounts   map[string]*corev1.ServiceAccount // nil value: the account does not exist
	configMaps map[string]*corev1.ConfigMap      // nil value: the ConfigMap does not exist
}

func (c clusterState) podWorkload(p *corev1.Pod) *workload {
	name := accountName(p.Spec)
	return &workload{
		kind: "Pod", namespace: c.namespace, name: p.Name, owner: podOwner(p),
		labels: p.Labels, annotations: p.Annotations, spec: p.Spec, admitted: true,
		accountName: name, account: c.accounts[name], configMaps: c.configMaps, issuer: c.issuer,
	}
}

func (c clusterState) deploymentWorkload(d *appsv1.Deployment) *workload {
	name := accountName(d.Spec.Template.Spec)
	w := &workload{
		kind: "Deployment", namespace: c.namespace, name: d.Name, owner: "deployment/" + d.Name,
		labels: d.Spec.Template.Labels, annotations: d.Spec.Template.Annotations, spec: d.Spec.Template.Spec,
		accountName: name, account: c.accounts[name], configMaps: c.configMaps, issuer: c.issuer,
	}
	for _, condition := range d.Status.Conditions {
		if condition.Type == appsv1.DeploymentReplicaFailure && condition.Status == corev1.ConditionTrue {
			w.creationFailure = condition.Message
		}
	}
	return w
}

// accountName is the ServiceAccount a pod runs under ("default" when unset).
func accountName(spec corev1.PodSpec) string { return podspec.ServiceAccount(&spec) }

// podOwner names the controller to restart for a pod ("deployment/x"), or "".
func podOwner(p *corev1.Pod) string {
	controller := metav1.GetControllerOf(p)
	if controller == nil {
		return ""
	}
	if controller.Kind == "ReplicaSet" {
		if hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; hash != "" && strings.HasSuffix(controller.Name, "-"+hash) {
			return "deployment/" + strings.TrimSuffix(controller.Name, "-"+hash)
		}
	}
	return strings.ToLower(controller.Kind) + "/" + controller.Name
}

func firstLine(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}
