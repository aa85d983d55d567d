// Package identitywebhook runs the real cloud identity webhooks, the Azure
// Workload Identity webhook and the EKS pod identity webhook (versions pinned
// in package versions), built from their Go modules by `make tools`, so the
// API server calls them for every pod it admits, as in AKS and EKS.
//
// Beside a local cluster (Start) they run as host processes sharing its
// lifecycle, each serving a certificate signed by the cluster's CA and
// registered with a URL MutatingWebhookConfiguration. In a kind cluster
// (InCluster) they run as Deployments behind Services, from their projects'
// own manifests and images of the same binaries.
package identitywebhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
)

// Defaults the webhooks inject when a test gives nothing else.
const (
	DefaultAzureTenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	DefaultAWSRegion     = "us-west-2"

	// AzurePort is fixed: the Azure webhook always listens on :9443 (no flag),
	// so one runs per machine at a time (see claimAzurePort).
	AzurePort = 9443
)

// Options configure the webhooks; the zero value is usable.
type Options struct {
	// AzureTenantID is what the Azure webhook injects as AZURE_TENANT_ID
	// when an account has no tenant-id annotation.
	AzureTenantID string
	// AzureAuthorityHost, when set (e.g. a local stand-in for Entra ID), is
	// injected as AZURE_AUTHORITY_HOST instead of https://login.microsoftonline.com/.
	AzureAuthorityHost string
	// AWSRegion is injected as AWS_REGION and AWS_DEFAULT_REGION.
	AWSRegion string
	// AzureLockWait bounds the wait for another cluster's Azure webhook to
	// release :9443; 0 means 5 minutes.
	AzureLockWait time.Duration
}

func (o Options) withDefaults() Options {
	if o.AzureTenantID == "" {
		o.AzureTenantID = DefaultAzureTenantID
	}
	if o.AWSRegion == "" {
		o.AWSRegion = DefaultAWSRegion
	}
	if o.AzureLockWait == 0 {
		o.AzureLockWait = 5 * time.Minute
	}
	return o
}

// Start is a cluster.LocalOptions.AfterStart hook: it starts both webhooks,
// waits until they serve, and registers them with the API server.
func Start(opts Options) func(ctx context.Context, l *cluster.Local) error {
	opts = opts.withDefaults()
	return func(ctx context.Context, l *cluster.Local) error {
		certDir := filepath.Join(l.Dir(), "webhook-certs")
		if err := writeServingCert(l, certDir); err != nil {
			return err
		}
		if err := startAzure(ctx, l, opts, certDir); err != nil {
			return fmt.Errorf("azure workload identity webhook: %w", err)
		}
		if err := startEKS(ctx, l, opts, certDir); err != nil {
			return fmt.Errorf("eks pod identity webhook: %w", err)
		}
		return nil
	}
}

// writeServingCert writes tls.crt/tls.key for 127.0.0.1, signed by the cluster CA.
func writeServingCert(l *cluster.Local, dir string) error {
	certPEM, keyPEM, err := l.CA().IssueServingCert("127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600)
}

func startAzure(ctx context.Context, l *cluster.Local, opts Options, certDir string) error {
	binary, err := project.Bin("azure-wi-webhook")
	if err != nil {
		return err
	}
	release, err := claimAzurePort(ctx, opts.AzureLockWait)
	if err != nil {
		return err
	}
	ports, err := cluster.FreeLoopbackPorts(1)
	if err != nil {
		release()
		return err
	}
	env := []string{"AZURE_TENANT_ID=" + opts.AzureTenantID}
	if opts.AzureAuthorityHost != "" {
		environment, err := writeAzureEnvironment(l.Dir(), opts.AzureAuthorityHost)
		if err != nil {
			release()
			return err
		}
		env = append(env, "AZURE_ENVIRONMENT=AzureStackCloud", "AZURE_ENVIRONMENT_FILEPATH="+environment)
	}
	args := []string{
		"--kubeconfig=" + l.KubeconfigPath(),
		"--disable-cert-rotation",
		"--webhook-cert-dir=" + certDir,
		"--health-addr=127.0.0.1:" + strconv.Itoa(ports[0]),
		"--metrics-addr=0",
		"--log-level=info",
	}
	if err := l.StartProcess(azureProcess, binary, args, env); err != nil {
		release()
		return err
	}
	go releaseWhenExited(l, azureProcess, release) // by Stop, a failed start's rollback, or a crash
	url := fmt.Sprintf("https://127.0.0.1:%d/mutate-v1-pod", AzurePort)
	// It registers its handler a moment after it starts listening: wait for a non-404.
	if err := waitServing(ctx, l, url, http.MethodPost); err != nil {
		return err
	}
	return register(ctx, l, azureConfiguration(url, l.CA().CertPEM()))
}

// writeAzureEnvironment points the webhook's cloud at another authority host,
// the way Azure Stack does; the webhook then injects that AZURE_AUTHORITY_HOST.
func writeAzureEnvironment(dir, authorityHost string) (string, error) {
	path := filepath.Join(dir, "azure-environment.json")
	data, err := json.Marshal(map[string]string{"name": "AzureStackCloud", "activeDirectoryEndpoint": authorityHost})
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, 0o600)
}

func startEKS(ctx context.Context, l *cluster.Local, opts Options, certDir string) error {
	binary, err := project.Bin("amazon-eks-pod-identity-webhook")
	if err != nil {
		return err
	}
	ports, err := cluster.FreeLoopbackPorts(2)
	if err != nil {
		return err
	}
	args := []string{
		"--in-cluster=false",
		"--kubeconfig=" + l.KubeconfigPath(),
		"--tls-cert=" + filepath.Join(certDir, "tls.crt"),
		"--tls-key=" + filepath.Join(certDir, "tls.key"),
		"--port=" + strconv.Itoa(ports[0]),
		"--metrics-port=" + strconv.Itoa(ports[1]),
		"--aws-default-region=" + opts.AWSRegion,
		"--sts-regional-endpoint=true",
		// Pods are often created a moment after their account: wait for the
		// informer cache instead of admitting the pod without credentials.
		"--service-account-lookup-grace-period=5s",
	}
	if err := l.StartProcess("eks-pod-identity-webhook", binary, args, nil); err != nil {
		return err
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	if err := waitServing(ctx, l, base+"/healthz", http.MethodGet); err != nil {
		return err
	}
	return register(ctx, l, eksConfiguration(base+"/mutate", l.CA().CertPEM()))
}

// waitServing polls url until it answers anything but 404, failing fast when
// a process of the cluster has exited.
func waitServing(ctx context.Context, l *cluster.Local, url, method string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: l.CA().CertPool()},
	}}
	return poll.Until(ctx, url+" to serve", 100*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		if err := l.ProcessesRunning(); err != nil {
			return false, poll.Stop(err)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, http.NoBody)
		if err != nil {
			return false, poll.Stop(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return false, poll.NotYet("%s answers 404", url)
		}
		return true, nil
	})
}

// register creates or replaces a MutatingWebhookConfiguration.
func register(ctx context.Context, l *cluster.Local, config *admissionv1.MutatingWebhookConfiguration) error {
	configs := l.Client().AdmissionregistrationV1().MutatingWebhookConfigurations()
	_, err := configs.Create(ctx, config, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := configs.Get(ctx, config.Name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		config.ResourceVersion = existing.ResourceVersion
		_, err = configs.Update(ctx, config, metav1.UpdateOptions{})
	}
	return err
}

// azureConfiguration mirrors the Azure webhook's own chart: only pods labelled
// azure.workload.identity/use=true are sent, and a failure rejects the pod.
func azureConfiguration(url string, caBundle []byte) *admissionv1.MutatingWebhookConfiguration {
	fail, none, ifNeeded := admissionv1.Fail, admissionv1.SideEffectClassNone, admissionv1.IfNeededReinvocationPolicy
	return &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "azure-wi-webhook-mutating-webhook-configuration"},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:                    "mutation.azure-workload-identity.io",
			ClientConfig:            admissionv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			ReinvocationPolicy:      &ifNeeded,
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{cloud.AzureUseLabel: "true"}},
			Rules:                   podCreateRules(),
		}},
	}
}

// eksConfiguration mirrors EKS: every pod is sent, the webhook decides from
// its account's eks.amazonaws.com/role-arn; it speaks admission v1beta1 only.
func eksConfiguration(url string, caBundle []byte) *admissionv1.MutatingWebhookConfiguration {
	ignore, none := admissionv1.Ignore, admissionv1.SideEffectClassNone
	return &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:                    "iam-for-pods.amazonaws.com",
			ClientConfig:            admissionv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			AdmissionReviewVersions: []string{"v1beta1"},
			SideEffects:             &none,
			FailurePolicy:           &ignore,
			Rules:                   podCreateRules(),
		}},
	}
}

func podCreateRules() []admissionv1.RuleWithOperations {
	return []admissionv1.RuleWithOperations{{
		Operations: []admissionv1.OperationType{admissionv1.Create},
		Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
}
