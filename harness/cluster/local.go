package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/osmo-wi/charts/harness/project"
)

// LocalOptions configure the local provider; the zero value runs the pinned
// binaries from the repository's .bin/ with state in a fresh temp folder.
type LocalOptions struct {
	// BinDir holds the pinned binaries and kwok-stages/; "" means .bin/.
	BinDir string
	// Dir is the state folder; "" means a new folder in os.TempDir() named
	// after this process. Detached clusters need it (cmd/cluster uses .cluster/).
	Dir string
	// Detached processes outlive the starting process (own session, no
	// parent-death signal); StopDetached(Dir) ends them.
	Detached bool
	// AfterStart runs once the cluster is ready, before Start returns, to add
	// host processes with StartProcess (identity webhooks); an error rolls
	// the whole cluster back.
	AfterStart []func(ctx context.Context, l *Local) error

	// takePorts hands out the control plane's ports; nil means
	// FreeLoopbackPorts. Tests hand out a taken port with it.
	takePorts func(n int) ([]int, error)
}

func (o LocalOptions) portSource() func(n int) ([]int, error) {
	if o.takePorts == nil {
		return FreeLoopbackPorts
	}
	return o.takePorts
}

// Local is a control plane of host processes: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, plus whatever was added
// with StartProcess. Everything it starts lives and dies with it.
type Local struct {
	layout     planeLayout
	detached   bool
	ca         *CertificateAuthority
	restConfig *rest.Config
	client     kubernetes.Interface

	mu      sync.Mutex
	procs   []*process
	stopped bool

	stopOnce sync.Once
	stopErr  error

	// stopLoadBalancers ends this process's load balancer stand-in (nil for a
	// detached cluster, whose owner runs it as a process of its own).
	stopLoadBalancers context.CancelFunc
}

var _ Cluster = (*Local)(nil)

// StartLocal is Start for the local provider, returning the *Local itself
// for what only it has (StartProcess, Pids, Dir, ...). OSMO_CLUSTER does not
// apply; an opts.Provider other than "" or local is refused. It waits until
// the cluster is ready; a failed start leaves nothing behind.
func StartLocal(ctx context.Context, opts Options) (*Local, error) {
	if opts.Provider != "" && opts.Provider != ProviderLocal {
		return nil, fmt.Errorf("cluster.StartLocal: Options.Provider is %q; use cluster.Start for it", opts.Provider)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.readyTimeout(ProviderLocal))
	defer cancel()
	return startLocal(ctx, opts)
}

// startAttempts bounds the starts on fresh ports after a port collision.
// The port locks (ports.go) keep this package's clusters apart, so a retry is
// for a program that bound a port without asking; five in a row is no
// accident but a misconfigured machine.
const startAttempts = 5

func startLocal(ctx context.Context, opts Options) (*Local, error) {
	began := time.Now()
	binDir, err := resolveBinDir(opts.Local.BinDir)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		l, err := startAttempt(ctx, opts, binDir)
		if err == nil {
			fmt.Fprintf(opts.out(), "cluster: local control plane ready in %.1fs (%s)\n", time.Since(began).Seconds(), l.layout)
			return l, nil
		}
		var collision *portCollision
		if !errors.As(err, &collision) || attempt == startAttempts || ctx.Err() != nil {
			return nil, err
		}
		fmt.Fprintf(opts.out(), "cluster: start %d of %d failed, %s; starting again on fresh ports\n", attempt, startAttempts, collision.reason)
	}
}

// startAttempt starts a cluster on ports of its own; when it fails, it has
// stopped whatever it started and removed its state folder.
func startAttempt(ctx context.Context, opts Options, binDir string) (l *Local, err error) {
	dir, err := prepareLocalDir(opts.Local, opts.out())
	if err != nil {
		return nil, err
	}
	l = &Local{layout: planeLayout{dir: dir, binDir: binDir}, detached: opts.Local.Detached}
	defer func() {
		if err != nil {
			err, l = l.rollBack(err), nil
		}
	}()
	if err := l.bootstrap(ctx, opts.Local.portSource()); err != nil {
		return l, err
	}
	for _, hook := range opts.Local.AfterStart {
		if err := hook(ctx, l); err != nil {
			return l, err
		}
	}
	return l, nil
}

// rollBack stops a failed start and returns why it failed, with the logs. A
// port collision comes back as a *portCollision, to start again, but only
// once everything of this start is stopped.
func (l *Local) rollBack(cause error) error {
	collision := l.findPortCollision() // before Stop removes the logs
	err := fmt.Errorf("local cluster: %w\n%s", cause, l.Logs())
	if stopErr := l.Stop(context.Background()); stopErr != nil {
		return errors.Join(err, fmt.Errorf("stop the failed start: %w", stopErr))
	}
	if collision != nil {
		collision.err = err
		return collision
	}
	return err
}

// portCollision is a start that failed because a component found its port
// taken; reason names the component and quotes its log.
type portCollision struct {
	reason string
	err    error
}

func (c *portCollision) Error() string { return c.err.Error() }
func (c *portCollision) Unwrap() error { return c.err }

// bindFailure is how Go programs (every component is one) report a bind to
// a taken port: "listen tcp 127.0.0.1:2379: bind: address already in use".
var bindFailure = regexp.MustCompile(`(listen tcp\S* \S+: bind: )?address already in use`)

// collisionWindow is how much of each log's end findPortCollision reads: a
// component that failed to bind says so among its last lines.
const collisionWindow = 16 << 10

// findPortCollision looks for a bind failure at the end of every log. It is
// cheap enough to run on every poll of the start: a component that lost its
// port usually exits, but one that ran on without it would leave readiness
// waiting until the timeout, too late to start again.
func (l *Local) findPortCollision() *portCollision {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.procs {
		data, err := readTail(p.logPath, collisionWindow)
		if err != nil || !bytes.Contains(data, []byte("address already in use")) {
			continue
		}
		return &portCollision{reason: p.name + ": " + string(bindFailure.Find(data))}
	}
	return nil
}

// abortStart is the start's reason to stop waiting: a process exited, or a
// log says a port was taken.
func (l *Local) abortStart() error {
	if err := l.firstExit(); err != nil {
		return err
	}
	if collision := l.findPortCollision(); collision != nil {
		return errors.New(collision.reason)
	}
	return nil
}

// resolveBinDir checks every component binary is there before anything starts.
func resolveBinDir(binDir string) (string, error) {
	for _, name := range componentBinaries {
		if binDir == "" {
			if _, err := project.Bin(name); err != nil {
				return "", err // it says how to build the missing tool
			}
		} else if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			return "", fmt.Errorf("LocalOptions.BinDir %s has no %s (%w): point it at a folder holding %v and kwok-stages/", binDir, name, err, componentBinaries)
		}
	}
	if binDir == "" {
		return project.BinDir(), nil
	}
	return binDir, nil
}

// prepareLocalDir returns an empty state folder: a fresh temp folder, or the
// caller's folder cleared of a previous (dead) cluster.
func prepareLocalDir(opts LocalOptions, out io.Writer) (string, error) {
	if opts.Dir == "" {
		if opts.Detached {
			return "", errors.New("LocalOptions.Detached needs LocalOptions.Dir: a detached cluster's state must be where StopDetached can find it")
		}
		return newTempStateDir(out)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return "", err
	}
	if running, err := RunningDetached(dir); err != nil || running {
		if err == nil {
			err = fmt.Errorf("a cluster is already running with state in %s: stop it first (StopDetached, or `go run ./cmd/cluster down`)", dir)
		}
		return "", err
	}
	if err := StopDetached(dir); err != nil { // leftovers of a cluster that died
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, initStateDir(dir)
}

// bootstrap writes the PKI and configs, starts the components and waits
// until the cluster is ready to run a test.
func (l *Local) bootstrap(ctx context.Context, takePorts func(n int) ([]int, error)) error {
	ports, err := takePorts(3)
	if err != nil {
		return err
	}
	l.layout.etcdPort, l.layout.peerPort, l.layout.apiPort = ports[0], ports[1], ports[2]
	if err := l.writeFiles(); err != nil {
		return err
	}
	if l.restConfig, l.client, err = clientsFor(l.layout.kubeconfig()); err != nil {
		return err
	}
	// etcd and the API server together (it retries etcd); its clients only
	// once it is ready: started earlier they take CPU from it, which on two
	// cores costs more (~0.5 s) than their own start saves.
	if err := l.startAll(l.layout.storageAndAPI()); err != nil {
		return err
	}
	if err := waitAPIReady(ctx, l.client, l.abortStart); err != nil {
		return err
	}
	if err := l.startAll(l.layout.apiClients()); err != nil {
		return err
	}
	if err := l.addNodeAndWait(ctx); err != nil {
		return err
	}
	if !l.detached {
		lbCtx, cancel := context.WithCancel(context.Background())
		l.stopLoadBalancers = cancel
		go ServeLoadBalancers(lbCtx, l.client)
	}
	return nil
}

func (l *Local) startAll(specs []processSpec) error {
	for _, spec := range specs {
		if err := l.start(spec); err != nil {
			return err
		}
	}
	return nil
}

func (l *Local) writeFiles() error {
	ca, err := writePKI(l.layout)
	if err != nil {
		return err
	}
	l.ca = ca
	if err := writeKwokConfig(filepath.Join(l.layout.binDir, "kwok-stages"), l.layout.kwokConfig()); err != nil {
		return err
	}
	adminCert, adminKey, err := ca.IssueClientCert("osmo-admin", "system:masters")
	if err != nil {
		return err
	}
	return writeKubeconfig(l.layout.kubeconfig(), "osmo-local", l.layout.server(), ca.CertPEM(), adminCert, adminKey)
}

// addNodeAndWait adds what a fresh control plane lacks (the node, anonymous
// issuer discovery) and waits until a test could run.
func (l *Local) addNodeAndWait(ctx context.Context) error {
	abort := l.abortStart
	if err := CreateFakeNode(ctx, l.client, FakeNodeName); err != nil {
		return fmt.Errorf("create node %s: %w", FakeNodeName, err)
	}
	if err := AllowAnonymousIssuerDiscovery(ctx, l.client); err != nil {
		return fmt.Errorf("bind issuer discovery: %w", err)
	}
	return waitReady(ctx, l.client, abort)
}

// ProcessesRunning returns an error naming the first process that has
// exited, with the end of its log; callers waiting on a process they added
// (a webhook's health endpoint) use it to fail fast instead of timing out.
func (l *Local) ProcessesRunning() error { return l.firstExit() }

// firstExit reports the first process that is no longer running.
func (l *Local) firstExit() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.procs {
		if !p.running() {
			return p.exitError()
		}
	}
	return nil
}

// StartProcess runs another host process that shares the cluster's
// lifecycle: output in Dir()/logs/<name>.log, stopped by Stop, killed with
// its starter like the components (or detached with them).
func (l *Local) StartProcess(name, path string, args, env []string) error {
	return l.start(processSpec{name: name, path: path, args: args, env: env})
}

func (l *Local) start(spec processSpec) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return fmt.Errorf("start %s: the cluster is stopped", spec.name)
	}
	if spec.name == "" || filepath.Base(spec.name) != spec.name || strings.HasPrefix(spec.name, ".") {
		return fmt.Errorf("start process %q: the name keys its log and pid files, so it must be a plain file name like \"azure-wi-webhook\"", spec.name)
	}
	for _, p := range l.procs {
		if p.name == spec.name {
			return fmt.Errorf("start %s: a process of that name already runs (pid %d); names key the log and pid files", spec.name, p.pid)
		}
	}
	spec.detached = l.detached
	p, err := startProcess(l.layout.dir, spec)
	if err != nil {
		return err
	}
	l.procs = append(l.procs, p)
	return nil
}

// Stop ends every process (SIGTERM, a short grace, SIGKILL) and removes the
// state folder. The grace is shortened to what is left of ctx; SIGKILL and
// the reaping follow even when ctx has ended, so nothing is left running.
func (l *Local) Stop(ctx context.Context) error {
	l.stopOnce.Do(func() {
		if l.stopLoadBalancers != nil {
			l.stopLoadBalancers()
		}
		l.mu.Lock()
		l.stopped = true
		procs := l.procs
		l.mu.Unlock()
		err := stopProcesses(procs, graceWithin(ctx, stopGrace))
		l.stopErr = errors.Join(err, os.RemoveAll(l.layout.dir))
	})
	return l.stopErr
}

func (l *Local) Provider() string             { return ProviderLocal }
func (l *Local) KubeconfigPath() string       { return l.layout.kubeconfig() }
func (l *Local) RESTConfig() *rest.Config     { return rest.CopyConfig(l.restConfig) }
func (l *Local) Client() kubernetes.Interface { return l.client }

// Dir is the state folder: PKI, kubeconfig, logs, pid files; free for
// callers' files too (webhook certificates). Stop removes it.
func (l *Local) Dir() string { return l.layout.dir }

// CA signs the cluster's certificates; the API server trusts it for client
// certs and callers use it to issue webhook serving certs.
func (l *Local) CA() *CertificateAuthority { return l.ca }

// Server is the API server's URL (https://127.0.0.1:<port>).
func (l *Local) Server() string { return l.layout.server() }

// IssuerURL is the service account token issuer; it serves OIDC discovery
// anonymously.
func (l *Local) IssuerURL() string { return l.layout.issuerURL() }

// Pids maps each process name to its pid.
func (l *Local) Pids() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	pids := make(map[string]int, len(l.procs))
	for _, p := range l.procs {
		pids[p.name] = p.pid
	}
	return pids
}

// Logs returns the last lines of every process log, in start order.
func (l *Local) Logs() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names, paths []string
	for _, p := range l.procs {
		names, paths = append(names, p.name), append(paths, p.logPath)
	}
	return formatLogTails(names, paths)
}

// LogPath is where a process's output goes.
func (l *Local) LogPath(name string) string { return filepath.Join(l.layout.dir, "logs", name+".log") }
