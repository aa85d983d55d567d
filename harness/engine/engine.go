// Package engine gives a run a Docker engine: the one the caller's
// environment already reaches (DOCKER_HOST or the default socket, or podman),
// used as it is and never touched, or, when none answers, a dockerd of our
// own (Debian's docker.io, installed if missing) with its socket, data, state
// and logs under the project's cache. An owned daemon dies with its owner
// (parent-death signal), stopping its containers, even when the owner is
// SIGKILLed; its data root persists between runs so loaded images stay, and
// what a killed run left in it (kind's containers and networks) is swept
// when the next owner starts it, with the untagged images earlier node image
// builds left (over 1 GiB each).
package engine

import (
	"github.com/osmo-wi/charts/harness/project"

	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure Start; the zero value borrows an answering engine or
// starts our own in DefaultDir.
type Options struct {
	// Out receives one line per step worth knowing (which engine and why, an
	// install, a wait for another owner); nil means os.Stderr.
	Out io.Writer
	// Own starts our own dockerd even when an engine answers (tests of the
	// owned engine itself).
	Own bool
	// Dir holds the owned daemon's socket, data root, state and logs; ""
	// means DefaultDir().
	Dir string
	// Runtime is the OCI runtime wrapper the daemon runs by default where the
	// bounding set lacks CAP_SYS_RESOURCE; "" means the project's
	// .bin/runc-capfilter.
	Runtime string
	// ReadyTimeout bounds the wait for our dockerd to answer (ctx bounds it
	// too); 0 means one minute.
	ReadyTimeout time.Duration
}

const defaultReadyTimeout = time.Minute

func (o Options) out() io.Writer {
	if o.Out == nil {
		return os.Stderr
	}
	return o.Out
}

func (o Options) dir() (string, error) {
	if o.Dir != "" {
		return filepath.Abs(o.Dir)
	}
	return DefaultDir()
}

func (o Options) readyTimeout() time.Duration {
	if o.ReadyTimeout > 0 {
		return o.ReadyTimeout
	}
	return defaultReadyTimeout
}

// DefaultDir is docker/ in the tools cache (project.ToolsCache), where
// tools/install.sh builds: ${OSMO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/osmo-charts-tools}/docker.
func DefaultDir() (string, error) {
	cache, err := project.ToolsCache()
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	return filepath.Join(cache, "docker"), nil
}

// Engine is a container engine for this run, borrowed or owned.
type Engine struct {
	cli     string // "docker" or "podman"
	cliPath string
	host    string // as DOCKER_HOST spells it; "" for a borrowed engine's own default
	daemon  *daemon

	stopOnce sync.Once
	stopErr  error
}

// Start returns the engine the caller's environment reaches, borrowed, or
// (none answering, or Options.Own) starts our own dockerd and waits until it
// answers. It prints one line saying which engine and why. A failed start
// leaves nothing of ours running.
func Start(ctx context.Context, opts Options) (*Engine, error) {
	why := "our own asked for (Options.Own)"
	if !opts.Own {
		borrowed, reason := Probe(ctx)
		if borrowed != nil {
			fmt.Fprintf(opts.out(), "engine: %s%s at %s, used as it is (%s)\n", borrowed.cli, borrowed.versionSuffix(ctx), borrowed.hostOrDefault(), reason)
			return borrowed, nil
		}
		why = "no engine answered: " + reason
	}
	return startOwned(ctx, opts, why)
}

// CLI is the engine's command-line client, "docker" or "podman" (what kind's
// provider option names).
func (e *Engine) CLI() string { return e.cli }

// Owned reports whether this run started the daemon (and Stop ends it).
func (e *Engine) Owned() bool { return e.daemon != nil }

// Host is the engine's address as DOCKER_HOST spells it ("unix:///…"); for
// a borrowed engine, what the caller's environment names ("" when a CLI
// context decides).
func (e *Engine) Host() string { return e.host }

// Env is what a process needs in its environment to reach this engine
// (DOCKER_HOST=… for ours); nil for a borrowed engine, which the caller's
// environment already reaches.
func (e *Engine) Env() []string {
	if !e.Owned() {
		return nil
	}
	return []string{"DOCKER_HOST=" + e.host}
}

// KindBridge is the host interface of an owned engine's kind network (made
// at Start, deleted when the daemon ends, even after its owner is
// SIGKILLed); "" for a borrowed engine, whose networks are its own.
func (e *Engine) KindBridge() string {
	if !e.Owned() {
		return ""
	}
	return e.daemon.layout.kindBridge()
}

// Dir is the owned daemon's folder (socket, data root, logs); "" when borrowed.
func (e *Engine) Dir() string {
	if !e.Owned() {
		return ""
	}
	return e.daemon.layout.dir
}

// Pid is the owned dockerd's pid; 0 when borrowed.
func (e *Engine) Pid() int {
	if !e.Owned() {
		return 0
	}
	return e.daemon.pid
}

// Command is the engine's CLI bound to this engine, like exec.CommandContext.
func (e *Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.cliPath, args...)
	if e.Owned() {
		cmd.Env = append(environWithout(os.Environ(), "DOCKER_HOST", "DOCKER_CONTEXT"), e.Env()...)
	}
	return cmd
}

// Output runs the CLI bound to this engine and returns its trimmed stdout;
// the error carries its stderr.
func (e *Engine) Output(ctx context.Context, args ...string) (string, error) {
	cmd := e.Command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", e.cli, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// HasImage reports whether the engine holds image (by name or id).
func (e *Engine) HasImage(ctx context.Context, image string) bool {
	return e.Command(ctx, "image", "inspect", "--format", "{{.Id}}", image).Run() == nil
}

// Stop ends an owned engine: it removes kind's containers and every network
// created in it (a network left behind leaks its bridge interface on the
// host), SIGTERMs the daemon (which stops its containers and containerd),
// waits within ctx, then SIGKILLs whatever of the engine is left, reaps the
// daemon and checks that no process of it survives. For a borrowed engine it
// does nothing. It is safe to call more than once.
func (e *Engine) Stop(ctx context.Context) error {
	if !e.Owned() {
		return nil
	}
	e.stopOnce.Do(func() { e.stopErr = e.daemon.stop(ctx, e) })
	return e.stopErr
}

// versionSuffix is " <server version>" when the engine tells it, else "".
func (e *Engine) versionSuffix(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	version, err := e.Output(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil || version == "" {
		return ""
	}
	return " " + version
}

func (e *Engine) hostOrDefault() string {
	if e.host == "" {
		return "its CLI's current context"
	}
	return e.host
}

// environWithout drops the named variables from env.
func environWithout(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, name := range names {
			if strings.HasPrefix(kv, name+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
