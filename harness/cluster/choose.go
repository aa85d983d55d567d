package cluster

import (
	"context"
	"fmt"

	"github.com/osmo-wi/charts/harness/engine"
	"github.com/osmo-wi/charts/harness/versions"
)

// EnvProvider is the one environment variable that picks the provider.
const EnvProvider = "OSMO_CLUSTER"

// Choice is the provider Start will use, and why.
type Choice struct {
	Provider string
	// Engine is the container engine CLI that answered ("docker" or
	// "podman"), set when Provider is ProviderKind and one did; "" there
	// means the kind provider starts its own dockerd.
	Engine string
	Reason string
}

// ChooseProvider decides the provider for a setting as OSMO_CLUSTER spells it
// ("" means auto: kind only when a container engine answers and already holds
// the node image, local otherwise).
func ChooseProvider(ctx context.Context, setting string) (Choice, error) {
	return chooseProvider(ctx, setting, EnvProvider)
}

func chooseProvider(ctx context.Context, setting, from string) (Choice, error) {
	switch setting {
	case ProviderLocal, ProviderExisting:
		return Choice{Provider: setting, Reason: fmt.Sprintf("%s=%s", from, setting)}, nil
	case ProviderKind:
		e, why := engine.Probe(ctx)
		if e == nil {
			return Choice{Provider: ProviderKind, Reason: fmt.Sprintf("%s=%s; no container engine answers (%s): kind gets its own dockerd", from, setting, why)}, nil
		}
		return Choice{Provider: ProviderKind, Engine: e.CLI(), Reason: fmt.Sprintf("%s=%s; %s", from, setting, why)}, nil
	case "":
		e, why := engine.Probe(ctx)
		if e == nil {
			return Choice{Provider: ProviderLocal, Reason: EnvProvider + " unset and no container engine answers: " + why}, nil
		}
		// An engine alone is not enough: a laptop's Docker without the node
		// image (made here, never pulled) would fail every kind start.
		if !e.HasImage(ctx, versions.KindNodeImage) {
			return Choice{Provider: ProviderLocal, Reason: fmt.Sprintf("%s unset; %s but holds no %s (%s=kind loads it from .bin/, where `make kind-image` builds it)", EnvProvider, why, versions.KindNodeImage, EnvProvider)}, nil
		}
		return Choice{Provider: ProviderKind, Engine: e.CLI(), Reason: fmt.Sprintf("%s unset, %s and holds %s", EnvProvider, why, versions.KindNodeImage)}, nil
	default:
		return Choice{}, fmt.Errorf("%s=%q is not a cluster provider: use %s, %s or %s, or leave it unset (kind when a container engine answers and holds the node image, local otherwise)",
			from, setting, ProviderLocal, ProviderKind, ProviderExisting)
	}
}

// ContainerEngine returns the first engine CLI whose engine answers `info`
// ("" if none) and a one-line reason (engine.Probe, which owns the probe).
func ContainerEngine(ctx context.Context) (cli, reason string) {
	e, reason := engine.Probe(ctx)
	if e == nil {
		return "", reason
	}
	return e.CLI(), reason
}
