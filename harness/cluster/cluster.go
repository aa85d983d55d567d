// Package cluster gives tests and tools a Kubernetes cluster from one of three
// providers: local (the pinned control plane and kwok as host processes), kind
// (sigs.k8s.io/kind, on the container engine that answers or, when none does,
// on our own dockerd: harness/engine) and existing (KUBECONFIG). OSMO_CLUSTER
// picks one; unset, kind is used only when an engine really answers and
// already holds the node image.
package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Provider names, as OSMO_CLUSTER spells them.
const (
	ProviderLocal    = "local"
	ProviderKind     = "kind"
	ProviderExisting = "existing"
)

// Cluster is a running cluster, whoever provides it.
type Cluster interface {
	// Provider is ProviderLocal, ProviderKind or ProviderExisting.
	Provider() string
	// KubeconfigPath is a file with admin credentials, for helm and kubectl.
	KubeconfigPath() string
	RESTConfig() *rest.Config
	Client() kubernetes.Interface
	// Logs returns the last lines of each component's log, for failure output.
	Logs() string
	// Stop releases what Start created; it is safe to call more than once.
	Stop(ctx context.Context) error
}

// Options configure Start; the zero value starts the provider OSMO_CLUSTER
// names, or picks one.
type Options struct {
	// Provider overrides OSMO_CLUSTER: ProviderLocal, ProviderKind or ProviderExisting.
	Provider string
	// Out receives one line per step worth knowing (which provider, ready in);
	// nil means os.Stderr.
	Out io.Writer
	// ReadyTimeout bounds the wait for the cluster to become usable; 0 means
	// 2 minutes (10 for kind, which may install and start its engine and load
	// or pull its node image first).
	ReadyTimeout time.Duration

	Local    LocalOptions
	Kind     KindOptions
	Existing ExistingOptions
}

const (
	defaultReadyTimeout = 2 * time.Minute
	kindReadyTimeout    = 10 * time.Minute
)

func (o Options) out() io.Writer {
	if o.Out == nil {
		return os.Stderr
	}
	return o.Out
}

func (o Options) readyTimeout(provider string) time.Duration {
	switch {
	case o.ReadyTimeout > 0:
		return o.ReadyTimeout
	case provider == ProviderKind:
		return kindReadyTimeout
	default:
		return defaultReadyTimeout
	}
}

// Start chooses a provider and starts (or connects to) its cluster. A failed
// start rolls back whatever it had started.
func Start(ctx context.Context, opts Options) (Cluster, error) {
	setting, from := opts.Provider, "Options.Provider"
	if setting == "" {
		setting, from = os.Getenv(EnvProvider), EnvProvider
	}
	choice, err := chooseProvider(ctx, setting, from)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.out(), "cluster: provider %s (%s)\n", choice.Provider, choice.Reason)
	ctx, cancel := context.WithTimeout(ctx, opts.readyTimeout(choice.Provider))
	defer cancel()
	switch choice.Provider {
	case ProviderKind:
		return asCluster(startKind(ctx, opts))
	case ProviderExisting:
		return asCluster(connectExisting(ctx, opts))
	default:
		return asCluster(startLocal(ctx, opts))
	}
}

// asCluster keeps a failed start's nil pointer from becoming a non-nil interface.
func asCluster[T Cluster](c T, err error) (Cluster, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}
