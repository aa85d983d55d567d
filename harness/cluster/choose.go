package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// EnvProvider is the one environment variable that picks the provider.
const EnvProvider = "OSMO_CLUSTER"

// engineProbeTimeout bounds `docker info`: a client whose engine is gone can hang.
const engineProbeTimeout = 5 * time.Second

// Choice is the provider Start will use, and why.
type Choice struct {
	Provider string
	// Engine is the container engine CLI kind drives ("docker" or "podman"),
	// set when Provider is ProviderKind and an engine answered.
	Engine string
	Reason string
}

// ChooseProvider decides the provider for a setting as OSMO_CLUSTER spells it
// ("" means auto: kind only when a container engine answers `info`).
func ChooseProvider(ctx context.Context, setting string) (Choice, error) {
	return chooseProvider(ctx, setting, EnvProvider)
}

func chooseProvider(ctx context.Context, setting, from string) (Choice, error) {
	switch setting {
	case ProviderLocal, ProviderExisting:
		return Choice{Provider: setting, Reason: fmt.Sprintf("%s=%s", from, setting)}, nil
	case ProviderKind:
		engine, why := ContainerEngine(ctx)
		return Choice{Provider: ProviderKind, Engine: engine, Reason: fmt.Sprintf("%s=%s; %s", from, setting, why)}, nil
	case "":
		engine, why := ContainerEngine(ctx)
		if engine == "" {
			return Choice{Provider: ProviderLocal, Reason: EnvProvider + " unset and no container engine answers: " + why}, nil
		}
		return Choice{Provider: ProviderKind, Engine: engine, Reason: EnvProvider + " unset and " + why}, nil
	default:
		return Choice{}, fmt.Errorf("%s=%q is not a cluster provider: use %s, %s or %s, or leave it unset (kind when a container engine answers, local otherwise)",
			from, setting, ProviderLocal, ProviderKind, ProviderExisting)
	}
}

// ContainerEngine returns the first engine CLI whose engine answers `info`
// ("" if none) and a one-line reason. A CLI that merely prints its version
// does not count: kind's own detection stops there, which is why we probe.
func ContainerEngine(ctx context.Context) (engine, reason string) {
	var reasons []string
	for _, cli := range []string{"docker", "podman"} {
		err := probeEngine(ctx, cli)
		if err == nil {
			return cli, fmt.Sprintf("`%s info` answers", cli)
		}
		reasons = append(reasons, err.Error())
	}
	return "", strings.Join(reasons, "; ")
}

func probeEngine(ctx context.Context, cli string) error {
	path, err := exec.LookPath(cli)
	if err != nil {
		return fmt.Errorf("%s is not installed", cli)
	}
	ctx, cancel := context.WithTimeout(ctx, engineProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "info")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("`%s info` did not answer within %s", cli, engineProbeTimeout)
	default:
		return fmt.Errorf("`%s info` failed: %s", cli, firstLine(stderr.String(), err))
	}
}

func firstLine(text string, fallback error) string {
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return fallback.Error()
}
