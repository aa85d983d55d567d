package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/podspec"
)

// Federation is what a cloud holds to accept a Kubernetes account's token:
// an Entra federated identity credential on an app, an IAM role's trust
// policy, or a Google workload identity pool provider (plus, when
// ServiceAccountEmail is set, the grant to impersonate that service account).
type Federation struct {
	Provider cloud.Provider
	// Issuer is the cluster's service account issuer, as the cloud's OIDC
	// provider registration names it.
	Issuer cloudsts.Issuer
	// Namespace and ServiceAccount make the subject
	// system:serviceaccount:<namespace>:<serviceaccount>.
	Namespace      string
	ServiceAccount string
	// Audience the token must carry; "" is the cloud's default:
	// api://AzureADTokenExchange, sts.amazonaws.com, or the provider
	// (with or without https:).
	Audience string

	TenantID            string // Azure
	ClientID            string // Azure
	RoleARN             string // AWS
	PoolProvider        string // GCP: //iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<p>
	ServiceAccountEmail string // GCP: impersonated after the federated exchange
}

// Subject is the sub claim the cloud expects.
func (f Federation) Subject() string { return cloud.Subject(f.Namespace, f.ServiceAccount) }

// Register puts the federation into the stand-in. Registrations add up for
// Entra (several credentials per app), but a stand-in holds one trusted
// subject per AWS role and per Google provider: use one stand-in per account
// when several accounts share a role or provider.
func (f Federation) Register(standIn *cloudsts.Server) error {
	switch f.Provider {
	case cloud.Azure:
		return standIn.TrustEntra(cloudsts.EntraCredential{TenantID: f.TenantID, ClientID: f.ClientID, Issuer: f.Issuer, Subject: f.Subject(), Audience: f.Audience})
	case cloud.AWS:
		return standIn.TrustAWS(cloudsts.AWSRole{RoleARN: f.RoleARN, Issuer: f.Issuer, Subject: f.Subject(), Audience: f.Audience})
	case cloud.GCP:
		provider := cloudsts.GoogleProvider{Audience: f.PoolProvider, Issuer: f.Issuer, Subject: f.Subject()}
		if f.Audience != "" {
			provider.AllowedAudiences = []string{f.Audience}
		}
		if err := standIn.TrustGoogle(provider); err != nil {
			return err
		}
		if f.ServiceAccountEmail == "" {
			return nil
		}
		principal, err := cloud.PoolPrincipal(f.PoolProvider, f.Subject())
		if err != nil {
			return err
		}
		return standIn.GrantGoogleImpersonation(principal, f.ServiceAccountEmail)
	}
	return fmt.Errorf("exchange: federation for unknown provider %q", f.Provider)
}

// ForAccount is the federation naming another account (a subject mismatch).
func (f Federation) ForAccount(serviceAccount string) Federation {
	f.ServiceAccount = serviceAccount
	return f
}

// WithAudience is the federation expecting another audience.
func (f Federation) WithAudience(audience string) Federation {
	f.Audience = audience
	return f
}

// WithIssuer is the federation trusting another issuer registration.
func (f Federation) WithIssuer(issuer cloudsts.Issuer) Federation {
	f.Issuer = issuer
	return f
}

// FederationFor derives, from the identity a pod asks for (its env, and for
// GCP its credential file), the federation a cloud would need to accept it:
// the pod's namespace and account, the cloud's default audience, issuer.
// It proves nothing by itself: register it only when the pod's own wiring is
// what the test means to trust.
func FederationFor(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod, issuer cloudsts.Issuer, opts Options) (Federation, error) {
	container, err := pickContainer(pod, opts.Container)
	if err != nil {
		return Federation{}, err
	}
	f := Federation{Provider: opts.Provider, Issuer: issuer, Namespace: pod.Namespace, ServiceAccount: podspec.ServiceAccount(&pod.Spec)}
	if f.Provider == "" {
		providers := detect(container)
		if len(providers) != 1 {
			return Federation{}, fmt.Errorf("pod %s/%s container %s carries identity env for %v: want exactly one (or set Options.Provider)", pod.Namespace, pod.Name, container.Name, providers)
		}
		f.Provider = providers[0]
	}
	env, _ := podspec.Env(container)
	switch f.Provider {
	case cloud.Azure:
		f.TenantID, f.ClientID = env[cloud.EnvAzureTenantID], env[cloud.EnvAzureClientID]
	case cloud.AWS:
		f.RoleARN = env[cloud.EnvAWSRoleARN]
	case cloud.GCP:
		dir, err := os.MkdirTemp("", "exchange-federation-")
		if err != nil {
			return Federation{}, err
		}
		defer os.RemoveAll(dir)
		files := &podFiles{kube: kube, pod: pod, container: container, root: dir}
		host, _, err := files.materialize(ctx, env[cloud.EnvGoogleCredentials])
		if err != nil {
			return Federation{}, err
		}
		raw, err := os.ReadFile(host)
		if err != nil {
			return Federation{}, err
		}
		var file googleCredentialFile
		if err := json.Unmarshal(raw, &file); err != nil {
			return Federation{}, fmt.Errorf("%s is not JSON: %w", env[cloud.EnvGoogleCredentials], err)
		}
		f.PoolProvider = file.Audience
		if m := impersonationURLPattern.FindStringSubmatch(file.ServiceAccountImpersonationURL); m != nil {
			f.ServiceAccountEmail = m[1]
		}
	default:
		return Federation{}, fmt.Errorf("exchange: unknown provider %q", f.Provider)
	}
	return f, nil
}

// ProveTrusted answers "would the cloud accept this pod once its federation
// is registered as the pod's wiring implies?": it starts a private stand-in,
// registers FederationFor(pod) in it (the pod's account, the cloud's default
// audience, issuer), and proves the pod against it, redirecting Azure's
// authority host to it. For a command that checks a live cluster; tests that
// mean to prove a chart register the federation the scenario names instead.
func ProveTrusted(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod, issuer cloudsts.Issuer, opts Options) Result {
	fail := func(err error) Result {
		return Result{Pod: pod.Namespace + "/" + pod.Name, ServiceAccount: podspec.ServiceAccount(&pod.Spec), Provider: opts.Provider, Err: err}
	}
	fed, err := FederationFor(ctx, kube, pod, issuer, opts)
	if err != nil {
		return fail(err)
	}
	standIn := &cloudsts.Server{}
	if err := standIn.Start(ctx); err != nil {
		return fail(err)
	}
	defer standIn.Stop()
	if err := fed.Register(standIn); err != nil {
		return fail(err)
	}
	opts.Provider, opts.RedirectAzureAuthority = fed.Provider, true
	return ProveWith(ctx, kube, pod, standIn, opts)
}
