package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
)

// kindClusterLabel marks every container kind creates.
const kindClusterLabel = "io.x-k8s.kind.cluster"

// builtinNetworks are the networks dockerd makes itself (and cannot remove).
var builtinNetworks = map[string]bool{"bridge": true, "host": true, "none": true}

const (
	// stopTimeout is how long Stop waits after SIGTERM when ctx sets no
	// deadline: the containers' stop timeouts, then containerd's.
	stopTimeout = 30 * time.Second
	// staleTimeout is how long a new owner waits for a killed run's daemon
	// to finish the shutdown its parent-death signal started.
	staleTimeout = 30 * time.Second
	// cleanupTimeout bounds the docker commands Stop runs when ctx sets no deadline.
	cleanupTimeout = 30 * time.Second
)

// daemon is our own dockerd.
type daemon struct {
	layout  layout
	lock    *os.File
	pid     int
	exited  chan struct{} // closed once the daemon is reaped; nil before it starts
	exitErr error
}

// startOwned starts our own dockerd in opts' folder; why says why the
// caller's environment's engine is not used.
func startOwned(ctx context.Context, opts Options, why string) (e *Engine, err error) {
	out := opts.out()
	if uid := os.Geteuid(); uid != 0 {
		return nil, fmt.Errorf("engine: %s; starting our own dockerd needs root, and this is uid %d: run as root, or start an engine this user reaches (DOCKER_HOST)", why, uid)
	}
	dir, err := opts.dir()
	if err != nil {
		return nil, err
	}
	l := newLayout(dir)
	for _, sub := range []string{l.dir, l.dataRoot(), l.execRoot} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	lock, err := acquireLock(ctx, l, out)
	if err != nil {
		return nil, err
	}
	d := &daemon{layout: l, lock: lock}
	e = &Engine{cli: "docker", host: l.host(), daemon: d}
	defer func() {
		if err != nil {
			_ = e.Stop(context.Background())
			e = nil
		}
	}()
	if err := reapStale(ctx, l, out); err != nil {
		return e, err
	}
	dockerd, err := ensureDockerd(ctx, l, out)
	if err != nil {
		return e, err
	}
	if e.cliPath, err = findProgram("docker"); err != nil {
		return e, fmt.Errorf("engine: dockerd is installed but the docker CLI is not (Debian's docker.io has both): %w", err)
	}
	runtime, runtimeWhy, err := chooseRuntime(opts.Runtime)
	if err != nil {
		return e, err
	}
	began := time.Now()
	if err := d.start(dockerd, runtime); err != nil {
		return e, err
	}
	version, err := e.waitReady(ctx, opts.readyTimeout())
	if err != nil {
		return e, err
	}
	ready := time.Since(began)
	swept, err := e.sweep(ctx)
	if err != nil {
		return e, fmt.Errorf("engine: sweep what earlier runs left in %s: %w", l.dataRoot(), err)
	}
	if swept != "" {
		swept = "; removed what earlier runs left: " + swept
	}
	if err := e.createKindNetwork(ctx); err != nil {
		return e, err
	}
	fmt.Fprintf(out, "engine: own dockerd %s at %s, ready in %.1fs (%s; %s%s)\n", version, l.host(), ready.Seconds(), why, runtimeWhy, swept)
	return e, nil
}

// acquireLock takes the flock on the engine's folder, held for the daemon's
// life (released at Stop, or by the kernel when the owner dies): one owner at
// a time per data root. A second owner says whom it waits for, once, and
// gives up when ctx ends.
func acquireLock(ctx context.Context, l layout, out io.Writer) (*os.File, error) {
	f, err := os.OpenFile(l.lockFile(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	try := func() (bool, error) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return err == nil, err
	}
	ok, err := try()
	if !ok && err == nil {
		owner := readOwner(l)
		fmt.Fprintf(out, "engine: waiting for %s to release the engine in %s\n", owner, l.dir)
		err = poll.Until(ctx, owner+" to release the engine in "+l.dir, 250*time.Millisecond, 0, func(context.Context) (bool, error) {
			ok, err := try()
			if err != nil {
				return false, poll.Stop(err)
			}
			return ok, nil
		})
		if err != nil {
			err = fmt.Errorf("engine: %w: stop that run, or give this one a folder of its own (Options.Dir)", err)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	program, _ := os.Executable()
	record := fmt.Sprintf("pid %d (%s, since %s)\n", os.Getpid(), filepath.Base(program), time.Now().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(record), 0)
	}
	return f, nil
}

func readOwner(l layout) string {
	data, err := os.ReadFile(l.lockFile())
	if owner := strings.TrimSpace(string(data)); err == nil && owner != "" {
		return owner
	}
	return "another run"
}

// reapStale ends what a killed owner left running: its dockerd, SIGTERMed by
// the parent-death signal, may still be stopping its containers. We hold the
// lock, so no live owner uses it; it gets staleTimeout, then SIGKILL.
func reapStale(ctx context.Context, l layout, out io.Writer) error {
	procs, err := l.processes()
	if err != nil || len(procs) == 0 {
		return err
	}
	fmt.Fprintf(out, "engine: waiting up to %s for what a killed run left in %s to stop: %s\n", staleTimeout, l.dir, summarize(procs))
	left := waitGone(ctx, procs, staleTimeout)
	killAll(left)
	if left = waitGone(context.Background(), left, 10*time.Second); len(left) > 0 {
		return fmt.Errorf("engine: processes a killed run left in %s survive SIGKILL: %v", l.dir, left)
	}
	return nil
}

// chooseRuntime returns the runtime wrapper to register (or "") and says why.
func chooseRuntime(runtime string) (path, why string, err error) {
	lacks, err := lacksCapSysResource()
	if err != nil {
		return "", "", fmt.Errorf("engine: %w", err)
	}
	if !lacks {
		return "", "runtime runc", nil
	}
	if runtime == "" {
		if runtime, err = project.Bin("runc-capfilter"); err != nil {
			return "", "", fmt.Errorf("engine: this machine's bounding set lacks CAP_SYS_RESOURCE, so --privileged containers need the runtime wrapper (tools/install.sh runc-capfilter builds it): %w", err)
		}
	}
	return runtime, "runtime runc-capfilter: CAP_SYS_RESOURCE missing", nil
}

// start runs dockerd in its own process group with a parent-death signal:
// when the owner dies, even by SIGKILL, the daemon gets SIGTERM and stops
// its containers and containerd. Pdeathsig follows the starting OS thread;
// Go keeps threads alive unless they are locked, and nothing here locks them.
func (d *daemon) start(dockerd, runtime string) error {
	l := d.layout
	if err := os.WriteFile(l.configFile(), []byte("{}\n"), 0o644); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	log, err := os.Create(l.logFile())
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer log.Close() // the daemon holds its own descriptor
	// A shell stays dockerd's parent: when dockerd ends, however it ends (the
	// owner's Stop, or the parent-death SIGTERM after a SIGKILLed owner), it
	// deletes the kind network's bridge, which dockerd leaves on the host.
	guard := `dockerd=$1; shift; "$dockerd" "$@" & d=$!; trap 'kill -TERM $d' TERM INT; ` +
		`while kill -0 $d 2>/dev/null; do wait $d; done; ip link delete ` + l.kindBridge() + ` 2>/dev/null; exit 0`
	cmd := exec.Command("/bin/sh", append([]string{"-c", guard, "sh", dockerd}, l.daemonArgs(runtime)...)...)
	cmd.Dir = l.dir
	cmd.Env = daemonEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("engine: start %s: %w", dockerd, err)
	}
	d.pid = cmd.Process.Pid
	d.exited = make(chan struct{})
	go func() {
		d.exitErr = cmd.Wait()
		close(d.exited)
	}()
	return nil
}

// daemonEnv is the caller's environment without what would point the daemon
// elsewhere, with the system folders (containerd, runc) on PATH.
func daemonEnv(env []string) []string {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	out := environWithout(env, "DOCKER_HOST", "DOCKER_CONTEXT", "NOTIFY_SOCKET", "PATH")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok && v != "" {
			path = v + ":" + path
		}
	}
	return append(out, "PATH="+path)
}

func (d *daemon) running() bool {
	if d.exited == nil {
		return false
	}
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// waitReady waits until `docker info` answers on our socket and returns the
// daemon's version (Debian's suffix dropped).
func (e *Engine) waitReady(ctx context.Context, timeout time.Duration) (string, error) {
	d := e.daemon
	var version string
	err := poll.Until(ctx, "dockerd at "+d.layout.host()+" to answer `docker info`", 100*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		if !d.running() {
			return false, poll.Stop(d.exitError())
		}
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		v, err := e.Output(ctx, "info", "--format", "{{.ServerVersion}}")
		if err != nil {
			return false, err
		}
		version = v
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("engine: %w; last lines of %s:\n%s", err, d.layout.logFile(), tail(d.layout.logFile(), 20))
	}
	version, _, _ = strings.Cut(version, "+")
	return version, nil
}

func (d *daemon) exitError() error {
	return fmt.Errorf("dockerd exited (%v)", d.exitErr)
}

// sweep removes kind's containers, every network created in our engine and
// its untagged images, and says what it removed ("" for nothing). It is ours alone (we hold the
// lock), so anything of kind's in it belongs to a run that is over.
func (e *Engine) sweep(ctx context.Context) (string, error) {
	ids, err := e.Output(ctx, "ps", "--all", "--quiet", "--filter", "label="+kindClusterLabel)
	if err != nil {
		return "", err
	}
	var removed []string
	if containers := strings.Fields(ids); len(containers) > 0 {
		if _, err := e.Output(ctx, append([]string{"rm", "--force", "--volumes"}, containers...)...); err != nil {
			return "", err
		}
		removed = append(removed, plural(len(containers), "kind container"))
	}
	names, err := e.Output(ctx, "network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return "", err
	}
	var networks []string
	for _, name := range strings.Fields(names) {
		if !builtinNetworks[name] {
			networks = append(networks, name)
		}
	}
	if len(networks) > 0 {
		if _, err := e.Output(ctx, append([]string{"network", "rm"}, networks...)...); err != nil {
			return "", err
		}
		removed = append(removed, plural(len(networks), "network")+" ("+strings.Join(networks, ", ")+")")
	}
	// Each new node image build loaded here leaves the previous one untagged
	// (about 1 GiB each): dangling images go, tagged ones stay.
	dangling, err := e.Output(ctx, "images", "--quiet", "--filter", "dangling=true")
	if err != nil {
		return "", err
	}
	if images := strings.Fields(dangling); len(images) > 0 {
		if _, err := e.Output(ctx, "image", "prune", "--force"); err != nil {
			return "", err
		}
		removed = append(removed, plural(len(images), "untagged image"))
	}
	return strings.Join(removed, " and "), nil
}

// createKindNetwork makes the network kind puts its nodes on (kind uses an
// existing "kind" network as it is) with a bridge named after this engine's
// folder, so the guard around dockerd knows which interface to delete.
func (e *Engine) createKindNetwork(ctx context.Context) error {
	_, err := e.Output(ctx, "network", "create", "--driver", "bridge",
		"--opt", "com.docker.network.bridge.name="+e.daemon.layout.kindBridge(),
		"--opt", "com.docker.network.bridge.enable_ip_masquerade=false", "kind")
	if err != nil {
		return fmt.Errorf("engine: create the kind network: %w", err)
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// stop is Engine.Stop for our daemon.
func (d *daemon) stop(ctx context.Context, e *Engine) error {
	var errs []error
	if d.running() {
		cleanupCtx, cancel := withDefaultTimeout(ctx, cleanupTimeout)
		if _, err := e.sweep(cleanupCtx); err != nil {
			errs = append(errs, fmt.Errorf("engine: remove kind's containers and the networks: %w", err))
		}
		cancel()
		// Everything of the engine, listed while dockerd still holds it
		// together: a shim SIGKILLed later would orphan its container.
		procs, _ := d.layout.processes()
		_ = syscall.Kill(-d.pid, syscall.SIGTERM)
		wait := stopTimeout
		if deadline, ok := ctx.Deadline(); ok {
			wait = max(0, min(wait, time.Until(deadline)))
		}
		select {
		case <-d.exited:
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if d.running() {
			errs = append(errs, fmt.Errorf("engine: dockerd (pid %d) did not stop within %s of SIGTERM; killed", d.pid, wait.Round(time.Second)))
			_ = syscall.Kill(-d.pid, syscall.SIGKILL)
			killAll(procs)
		}
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("engine: dockerd (pid %d) was not reaped 10s after SIGKILL", d.pid))
		}
	}
	if d.exited != nil {
		errs = append(errs, d.checkNothingLeft())
	}
	for _, path := range []string{d.layout.socket, d.layout.pidFile()} {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	_ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
	errs = append(errs, d.lock.Close())
	return errors.Join(errs...)
}

// checkNothingLeft waits briefly for the engine's last processes (containerd
// stops after dockerd), SIGKILLs any that stay, and fails if one survives.
func (d *daemon) checkNothingLeft() error {
	procs, err := d.layout.processes()
	if err != nil {
		return err
	}
	left := waitGone(context.Background(), procs, 10*time.Second)
	if len(left) == 0 {
		return nil
	}
	killAll(left)
	if still := waitGone(context.Background(), left, 10*time.Second); len(still) > 0 {
		return fmt.Errorf("engine: processes of the engine in %s survive SIGKILL: %v", d.layout.dir, still)
	}
	return fmt.Errorf("engine: processes of the engine in %s outlived dockerd and were killed: %v", d.layout.dir, left)
}

func withDefaultTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// summarize names the first few processes and counts the rest.
func summarize(procs []Process) string {
	const shown = 4
	var names []string
	for i, p := range procs {
		if i == shown {
			names = append(names, fmt.Sprintf("and %d more", len(procs)-shown))
			break
		}
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}
