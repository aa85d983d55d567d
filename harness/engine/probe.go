package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// probeTimeout bounds `docker info`: a client whose engine is gone can hang.
const probeTimeout = 5 * time.Second

// clis are the engine CLIs tried, in order.
var clis = []string{"docker", "podman"}

// Probe returns the engine the caller's environment already reaches (the
// first of docker and podman whose `info` answers), borrowed: Stop leaves it
// alone. It returns nil and a one-line reason when none answers. A CLI that
// merely prints its version does not count: kind's own detection stops there,
// which is why we ask the engine itself.
func Probe(ctx context.Context) (*Engine, string) {
	var reasons []string
	for _, cli := range clis {
		path, err := probe(ctx, cli, nil)
		if err == nil {
			return &Engine{cli: cli, cliPath: path, host: environmentHost(cli)}, fmt.Sprintf("`%s info` answers", cli)
		}
		reasons = append(reasons, err.Error())
	}
	return nil, strings.Join(reasons, "; ")
}

// probe runs `<cli> info` with env (nil: the caller's) and returns the CLI's
// path when the engine answers.
func probe(ctx context.Context, cli string, env []string) (string, error) {
	path, err := exec.LookPath(cli)
	if err != nil {
		return "", fmt.Errorf("%s is not installed", cli)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "info")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	switch {
	case err == nil:
		return path, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("`%s info` did not answer within %s", cli, probeTimeout)
	default:
		return "", fmt.Errorf("`%s info` failed: %s", cli, firstLine(stderr.String(), err))
	}
}

// environmentHost is where the caller's environment points the CLI, as far as
// its variables say ("" leaves the CLI's own default or context).
func environmentHost(cli string) string {
	if cli == "podman" {
		return os.Getenv("CONTAINER_HOST")
	}
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		return host
	}
	if os.Getenv("DOCKER_CONTEXT") == "" {
		return "unix:///var/run/docker.sock"
	}
	return ""
}

func firstLine(text string, fallback error) string {
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return fallback.Error()
}
