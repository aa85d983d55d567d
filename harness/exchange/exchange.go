package exchange

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/podspec"
)

// detectors say which env variable marks a provider's wiring, in Detect's
// order. For GCP only federation can be proven: on GKE the metadata server
// serves the identity and the pod holds no token.
var detectors = []struct {
	provider cloud.Provider
	env      string
}{{cloud.Azure, cloud.EnvAzureTokenFile}, {cloud.AWS, cloud.EnvAWSTokenFile}, {cloud.GCP, cloud.EnvGoogleCredentials}}

// DefaultScopes are what each SDK asks for when Options.Scopes is empty.
var DefaultScopes = map[cloud.Provider][]string{
	cloud.Azure: {cloud.AzureScope},
	cloud.GCP:   {cloud.GoogleScope},
}

// Options refine ProveWith; the zero value proves the pod's one cloud on its
// first container that carries identity env.
type Options struct {
	// Provider forces the cloud to prove, even if the pod carries no env for
	// it (a negative proof: the SDK must then fail before any exchange).
	Provider cloud.Provider
	// Container names the (init) container whose env is used.
	Container string
	// Token, if set, is presented instead of requesting one from the API
	// server (a token minted elsewhere, e.g. by another cluster).
	Token string
	// Scopes override DefaultScopes (unused by AWS).
	Scopes []string
	// Timeout bounds the whole proof; 0 means one minute.
	Timeout time.Duration
	// RedirectAzureAuthority points the Azure SDK at the stand-in whatever
	// AZURE_AUTHORITY_HOST the pod has (e.g. the real login.microsoftonline.com
	// on AKS), and says so in Rewrites. Off, the pod's value is used as is.
	RedirectAzureAuthority bool
}

// Result is what one proof found. It holds no secret of a real cloud: every
// token in it was minted by the stand-in or the test cluster.
type Result struct {
	Pod            string // namespace/name
	Container      string
	ServiceAccount string
	Provider       cloud.Provider
	// Identity is what the pod asks for: "tenant/client" (Azure), the role
	// ARN (AWS), the pool provider, then " as <email>" when impersonating (GCP).
	Identity string
	// TokenFile is the in-pod path of the token presented; TokenAudience and
	// TokenExpiration what the pod's projected volume asks the kubelet for.
	TokenFile       string
	TokenAudience   string
	TokenExpiration time.Duration
	// Issuer, Subject and Audience are the presented token's claims (unverified).
	Issuer   string
	Subject  string
	Audience []string
	// AccessToken is what the SDK obtained (Azure access token, AWS session
	// token, Google access token); empty on failure.
	AccessToken string
	// Err is the SDK's error as the SDK surfaced it, or why the proof could
	// not run; any request off loopback is also an error.
	Err error
	// Exchanges are the stand-in's records made during the proof for this
	// subject (or its Google principal); a concurrent proof for the same
	// account may show up too.
	Exchanges []cloudsts.Exchange
	// Refused lists requests refused for leaving loopback.
	Refused []string
	// Rewrites say what differs from the pod's own view, and why.
	Rewrites []string
	Duration time.Duration
}

// OK reports whether the cloud stand-in issued a credential and nothing tried
// to leave loopback.
func (r Result) OK() bool { return r.Err == nil && r.AccessToken != "" && len(r.Refused) == 0 }

func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pod %s container %s (account %s): identity %q, token sub %q aud %q",
		r.Provider, r.Pod, r.Container, r.ServiceAccount, r.Identity, r.Subject, r.Audience)
	if r.OK() {
		fmt.Fprintf(&b, ": accepted by the cloud stand-in, access token %.40s… (%s)", r.AccessToken, r.Duration.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, ": NOT accepted: %v", r.Err)
	}
	return b.String()
}

// ErrNoIdentity is a pod whose container carries no cloud identity env.
var ErrNoIdentity = errors.New("exchange: the container carries no workload identity env " +
	"(" + cloud.EnvAzureTokenFile + ", " + cloud.EnvAWSTokenFile + " or " + cloud.EnvGoogleCredentials + "): no SDK would find an identity")

// Prove runs the token exchange for pod's one cloud identity against the
// stand-in, as ProveWith with zero Options.
func Prove(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod, standIn *cloudsts.Server) Result {
	return ProveWith(ctx, kube, pod, standIn, Options{})
}

// ProveWith runs the token exchange for pod against the stand-in: the
// kubelet's token from kube (or opts.Token), the real SDK with the pod's env.
// It is safe for concurrent use.
func ProveWith(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod, standIn *cloudsts.Server, opts Options) (r Result) {
	began := time.Now()
	defer func() { r.Duration = time.Since(began) }()
	r.Pod = pod.Namespace + "/" + pod.Name
	r.ServiceAccount = podspec.ServiceAccount(&pod.Spec)
	container, err := pickContainer(pod, opts.Container)
	if err != nil {
		r.Err = err
		return r
	}
	r.Container = container.Name
	r.Provider = opts.Provider
	if r.Provider == "" {
		switch providers := detect(container); len(providers) {
		case 0:
			r.Err = fmt.Errorf("pod %s container %s: %w", r.Pod, container.Name, ErrNoIdentity)
			return r
		case 1:
			r.Provider = providers[0]
		default:
			r.Err = fmt.Errorf("pod %s container %s carries env for %v: choose one with Options.Provider", r.Pod, container.Name, providers)
			return r
		}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx) // the first refused request ends the proof: no waiting out retries
	defer stop(nil)

	dir, err := os.MkdirTemp("", "exchange-proof-")
	if err != nil {
		r.Err = err
		return r
	}
	defer os.RemoveAll(dir)
	p := &proof{
		Result:  &r,
		ctx:     ctx,
		stop:    stop,
		standIn: standIn,
		scopes:  opts.Scopes,
		opts:    opts,
		files:   &podFiles{kube: kube, pod: pod, container: container, root: dir, token: opts.Token},
		env:     map[string]string{},
	}
	if len(p.scopes) == 0 {
		p.scopes = DefaultScopes[r.Provider]
	}
	if err := p.readEnv(); err != nil {
		r.Err = err
		return r
	}
	before := len(standIn.Exchanges())
	switch r.Provider {
	case cloud.Azure:
		p.azure()
	case cloud.AWS:
		p.aws()
	case cloud.GCP:
		p.google()
	default:
		r.Err = fmt.Errorf("exchange: unknown provider %q (want one of %v)", r.Provider, cloud.Providers)
	}
	r.Exchanges = p.exchangesSince(before)
	if refused := p.refusedRequests(); len(refused) > 0 {
		r.Refused = refused
		r.Err = errors.Join(fmt.Errorf("exchange: the SDK tried to leave loopback (refused: %q): a request towards a real cloud fails the proof, which was stopped there", refused), r.Err)
	}
	return r
}

// Detect lists the providers whose identity env a container of pod carries
// (the named one, or the first with any), in the order Azure, AWS, GCP.
func Detect(pod *corev1.Pod, container string) ([]cloud.Provider, error) {
	c, err := pickContainer(pod, container)
	if err != nil {
		return nil, err
	}
	return detect(c), nil
}

func detect(c *corev1.Container) []cloud.Provider {
	var providers []cloud.Provider
	for _, d := range detectors {
		if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == d.env }) {
			providers = append(providers, d.provider)
		}
	}
	return providers
}

// pickContainer finds the named (init) container, or the first container
// carrying identity env, or the first container.
func pickContainer(pod *corev1.Pod, name string) (*corev1.Container, error) {
	all := slices.Concat(pod.Spec.Containers, pod.Spec.InitContainers)
	if name != "" {
		for i := range all {
			if all[i].Name == name {
				return &all[i], nil
			}
		}
		return nil, fmt.Errorf("pod %s/%s has no container %q", pod.Namespace, pod.Name, name)
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %s/%s has no containers", pod.Namespace, pod.Name)
	}
	for i := range pod.Spec.Containers {
		if len(detect(&pod.Spec.Containers[i])) > 0 {
			return &pod.Spec.Containers[i], nil
		}
	}
	return &pod.Spec.Containers[0], nil
}

// proof is one run of ProveWith.
type proof struct {
	*Result
	ctx     context.Context
	stop    context.CancelCauseFunc
	standIn *cloudsts.Server
	scopes  []string
	opts    Options
	files   *podFiles
	env     map[string]string // the container's literal env

	mu      sync.Mutex
	refused []string
}

// readEnv takes the container's env as the kubelet would give it; values
// from valueFrom/envFrom are not resolved here, so an identity variable set
// that way is an error rather than silently missing.
func (p *proof) readEnv() error {
	c := p.files.container
	literal, elsewhere := podspec.Env(c)
	for name := range elsewhere {
		if strings.HasPrefix(name, "AZURE_") || strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "GOOGLE_") {
			return fmt.Errorf("pod %s container %s: %s comes from valueFrom, which the exchange proof does not resolve", p.Pod, c.Name, name)
		}
	}
	p.env = literal
	if len(c.EnvFrom) > 0 {
		p.rewrite("envFrom sources of container %s are not read (the identity env must be literal, as the webhooks and charts set it)", c.Name)
	}
	return nil
}

func (p *proof) rewrite(format string, args ...any) {
	p.Rewrites = append(p.Rewrites, fmt.Sprintf(format, args...))
}

func (p *proof) refuse(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused = append(p.refused, what)
	p.stop(fmt.Errorf("exchange: refused %s off loopback", what))
}

func (p *proof) refusedRequests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

// presentToken materializes the token file the env names and records what
// it carries.
func (p *proof) presentToken(inPodPath string) (string, error) {
	p.TokenFile = inPodPath
	hostPath, projection, err := p.files.materialize(p.ctx, inPodPath)
	if err != nil {
		return "", err
	}
	if projection != nil {
		p.TokenAudience, p.TokenExpiration = projection.audience, projection.expiration
	}
	raw, err := os.ReadFile(hostPath)
	if err != nil {
		return "", err
	}
	if claims, err := cloudsts.ReadClaims(string(raw)); err == nil {
		p.Issuer, p.Subject, p.Audience = claims.Issuer, claims.Subject, claims.Audience
	}
	if p.files.token != "" {
		p.rewrite("%s holds the token given in Options.Token, not one requested from the pod's cluster", inPodPath)
	} else {
		p.rewrite("%s is read from %s: a TokenRequest for %s (audience %q, %s) bound to pod %s, as the kubelet projects it",
			inPodPath, hostPath, p.ServiceAccount, p.TokenAudience, p.TokenExpiration, p.Pod)
	}
	return hostPath, nil
}

// exchangesSince returns the stand-in's records after index before that
// concern this proof's subject.
func (p *proof) exchangesSince(before int) []cloudsts.Exchange {
	all := p.standIn.Exchanges()
	if before > len(all) || p.Subject == "" {
		return nil
	}
	subjects := []string{p.Subject}
	if p.Provider == cloud.GCP {
		if provider, _, _ := strings.Cut(p.Identity, " as "); provider != "" {
			if principal, err := cloud.PoolPrincipal(provider, p.Subject); err == nil {
				subjects = append(subjects, principal)
			}
		}
	}
	var mine []cloudsts.Exchange
	for _, e := range all[before:] {
		if slices.Contains(subjects, e.Subject) {
			mine = append(mine, e)
		}
	}
	return mine
}

// processEnvLeak reports variables the pod lacks but this process sets: an
// SDK that falls back to the process environment would read them instead.
func processEnvLeak(pod map[string]string, names ...string) error {
	var leaks []string
	for _, name := range names {
		if _, inPod := pod[name]; inPod {
			continue
		}
		if _, set := os.LookupEnv(name); set {
			leaks = append(leaks, name)
		}
	}
	if len(leaks) > 0 {
		return fmt.Errorf("exchange: this process sets %v, which the pod lacks and the SDK would read in its place: unset them to prove the pod's own env", leaks)
	}
	return nil
}
