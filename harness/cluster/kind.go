package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindnodeutils "sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/osmo-wi/charts/harness/engine"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// kindClusterFile records, in the state folder, which kind cluster to delete
// if this run dies before Stop: the next Start's sweep deletes it.
const kindClusterFile = "kind-cluster"

// KindOptions configure the kind provider.
type KindOptions struct {
	// NodeImage is the node image; "" means versions.KindNodeImage (the pinned Kubernetes).
	NodeImage string
	// Name is the cluster name; "" derives one from the program and its pid.
	Name string
	// AfterStart runs once the cluster is ready, before Start returns, to add
	// what runs inside it (the identity webhooks); an error deletes the cluster.
	AfterStart []func(ctx context.Context, k *Kind) error
}

// Kind is a kind cluster created for this run and deleted at Stop, on the
// engine the caller's environment reaches or, when none answers, on our own
// dockerd, which Stop then ends too.
type Kind struct {
	name       string
	engine     *engine.Engine
	dir        string
	provider   *kindcluster.Provider
	restConfig *rest.Config
	client     kubernetes.Interface
	// restoreEnv puts DOCKER_HOST back as it was before our engine set it.
	restoreEnv func()
	// stopLoadBalancers ends this process's load balancer stand-in.
	stopLoadBalancers context.CancelFunc

	stopOnce sync.Once
	stopErr  error
}

var _ Cluster = (*Kind)(nil)

func startKind(ctx context.Context, opts Options) (k *Kind, err error) {
	dir, err := newTempStateDir(opts.out())
	if err != nil {
		return nil, err
	}
	k = &Kind{name: kindName(opts.Kind.Name), dir: dir}
	defer func() {
		if err != nil {
			_ = k.Stop(context.Background())
			k = nil
		}
	}()
	if k.engine, err = engine.Start(ctx, engine.Options{Out: opts.out()}); err != nil {
		return k, fmt.Errorf("kind: %w", err)
	}
	if k.engine.Owned() {
		// kind's library runs the docker CLI with this process's environment
		// and takes no environment of its own, so our engine's address goes
		// into the process: one engine per process (its data root's lock
		// makes a second owner wait anyway). Stop puts the variable back.
		k.restoreEnv = setEnv(k.engine.Env())
	}
	k.provider = newKindProvider(k.engine.CLI())
	// Recorded before creating, so a run killed mid-create is still cleaned
	// up: by the next Start's sweep on a borrowed engine; on our own engine
	// (gone with this run) by the engine's own sweep when it next starts.
	record := k.engine.CLI() + " " + k.name
	if k.engine.Owned() {
		record += " " + kindOnOwnEngine
	}
	if err := os.WriteFile(filepath.Join(dir, kindClusterFile), []byte(record+"\n"), 0o644); err != nil {
		return k, err
	}
	nodeImage := opts.Kind.NodeImage
	if nodeImage == "" {
		nodeImage = versions.KindNodeImage
	}
	if err := ensureNodeImage(ctx, k.engine, nodeImage, opts.out()); err != nil {
		return k, err
	}
	if err := k.create(ctx, nodeImage); err != nil {
		return k, err
	}
	if err := k.loadStandinImages(opts.out()); err != nil {
		return k, err
	}
	if k.restConfig, k.client, err = clientsFor(k.KubeconfigPath()); err != nil {
		return k, err
	}
	if err := AllowAnonymousIssuerDiscovery(ctx, k.client); err != nil {
		return k, fmt.Errorf("bind issuer discovery: %w", err)
	}
	// kind has no cloud load balancer either: the same stand-in as the
	// local cluster's, so `helm install --wait` of the gateway completes.
	lbCtx, cancel := context.WithCancel(context.Background())
	k.stopLoadBalancers = cancel
	go ServeLoadBalancers(lbCtx, k.client)
	if err := WaitReady(ctx, k.client); err != nil {
		return k, err
	}
	for _, hook := range opts.Kind.AfterStart {
		if err := hook(ctx, k); err != nil {
			return k, err
		}
	}
	return k, nil
}

// loadStandinImages loads the OSMO stand-in images (`make kind-image` writes
// .bin/osmo-standin-images.tar: every image the charts run, under the
// charts' names, which no registry serves here) into every node's
// containerd, as `kind load image-archive` does. Without the archive (a
// checkout with no tools built) it says so and loads nothing.
func (k *Kind) loadStandinImages(out io.Writer) error {
	root, err := project.Root()
	if err != nil {
		fmt.Fprintf(out, "kind: no OSMO stand-in images loaded (no project root: %v)\n", err)
		return nil
	}
	archive := filepath.Join(root, ".bin", "osmo-standin-images.tar")
	if _, err := os.Stat(archive); err != nil {
		fmt.Fprintf(out, "kind: no OSMO stand-in images loaded (%s does not exist: `make kind-image` builds it)\n", archive)
		return nil
	}
	began := time.Now()
	nodes, err := k.provider.ListInternalNodes(k.name)
	if err != nil {
		return fmt.Errorf("kind: list nodes of %s: %w", k.name, err)
	}
	for _, node := range nodes {
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		err = kindnodeutils.LoadImageArchive(node, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("kind: load %s into node %s: %w", archive, node.String(), err)
		}
	}
	fmt.Fprintf(out, "kind: loaded the OSMO stand-in images from %s in %.1fs\n", archive, time.Since(began).Seconds())
	return nil
}

// kindOnOwnEngine marks a recorded cluster as one on our own engine.
const kindOnOwnEngine = "own-engine"

// setEnv sets KEY=value entries in the process environment and returns what
// puts them back.
func setEnv(env []string) (restore func()) {
	var undo []func()
	for _, kv := range env {
		key, value, _ := strings.Cut(kv, "=")
		old, had := os.LookupEnv(key)
		_ = os.Setenv(key, value)
		undo = append(undo, func() {
			if had {
				_ = os.Setenv(key, old)
			} else {
				_ = os.Unsetenv(key)
			}
		})
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// ensureNodeImage makes sure the engine holds a node image of this project's
// registry: those are built here (`make kind-image`), never pulled, so
// versions.KindNodeImage is loaded from .bin/kind-node-image.tar when the
// engine lacks it or holds another build of it than the one
// .bin/kind-node-image.id names (a rebuild keeps the name). Any other image
// is kind's to pull.
func ensureNodeImage(ctx context.Context, e *engine.Engine, image string, out io.Writer) error {
	if !strings.HasPrefix(image, versions.LocalRegistry) {
		return nil
	}
	if image != versions.KindNodeImage {
		if e.HasImage(ctx, image) {
			return nil
		}
		return fmt.Errorf("kind: the engine holds no node image %s, and no registry serves %s (`make kind-image` builds %s)", image, versions.LocalRegistry, versions.KindNodeImage)
	}
	root, err := project.Root()
	if err != nil {
		if e.HasImage(ctx, image) {
			return nil
		}
		return fmt.Errorf("kind: the engine holds no node image %s, and without the project root there is no .bin/kind-node-image.tar to load: %w", image, err)
	}
	tarball := filepath.Join(root, ".bin", "kind-node-image.tar")
	want, _ := os.ReadFile(filepath.Join(root, ".bin", "kind-node-image.id"))
	have, _ := e.Output(ctx, "image", "inspect", "--format", "{{.Id}}", image)
	if strings.TrimSpace(have) != "" && strings.TrimSpace(have) == strings.TrimSpace(string(want)) {
		return nil
	}
	if _, err := os.Stat(tarball); err != nil {
		if strings.TrimSpace(have) != "" {
			return nil // an image of that name, and no build of ours to prefer
		}
		return fmt.Errorf("kind: the engine holds no node image %s and %s does not exist: `make kind-image` builds it", image, tarball)
	}
	began := time.Now()
	if _, err := e.Output(ctx, "load", "--input", tarball); err != nil {
		return fmt.Errorf("kind: load the node image: %w", err)
	}
	if !e.HasImage(ctx, image) {
		return fmt.Errorf("kind: %s loaded, but it holds no %s: `make kind-image` rebuilds it", tarball, image)
	}
	fmt.Fprintf(out, "kind: loaded the node image %s from %s in %.1fs\n", image, tarball, time.Since(began).Seconds())
	return nil
}

// create runs kind; its library takes no context, so ctx's deadline becomes
// kind's own wait for the control plane.
func (k *Kind) create(ctx context.Context, nodeImage string) error {
	wait := time.Minute
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline)
	}
	err := k.provider.Create(k.name,
		kindcluster.CreateWithNodeImage(nodeImage),
		kindcluster.CreateWithV1Alpha4Config(kindConfig()),
		kindcluster.CreateWithKubeconfigPath(k.KubeconfigPath()),
		kindcluster.CreateWithWaitForReady(wait),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		err = fmt.Errorf("kind create cluster %s (image %s, engine %s at %s): %w", k.name, nodeImage, k.engine.CLI(), k.engine.Host(), err)
		// kind's error names the failed command; what it printed says why.
		if run := kindexec.RunErrorForError(err); run != nil && len(run.Output) > 0 {
			err = fmt.Errorf("%w; last lines of its output:\n%s", err, lastLines(string(run.Output), 40))
		}
		return err
	}
	return nil
}

// kindConfig is one node whose kubeadm runs the etcd image the node image
// carries (the pinned etcd: kubeadm's own default is another patch release).
func kindConfig() *kindv1alpha4.Cluster {
	return &kindv1alpha4.Cluster{
		TypeMeta: kindv1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		KubeadmConfigPatches: []string{
			"kind: ClusterConfiguration\netcd:\n  local:\n    imageTag: " + versions.KindEtcdImageTag() + "\n",
		},
	}
}

// newKindProvider names the engine explicitly: kind's auto-detection accepts
// a docker CLI that only prints its version.
func newKindProvider(engine string) *kindcluster.Provider {
	runtime := kindcluster.ProviderWithDocker()
	if engine == "podman" {
		runtime = kindcluster.ProviderWithPodman()
	}
	return kindcluster.NewProvider(runtime, kindcluster.ProviderWithLogger(kindcmd.NewLogger()))
}

var notKindName = regexp.MustCompile(`[^a-z0-9-]+`)

// kindName is "osmo-<program>-<pid>": test binaries are named after their
// package (cluster.test), so clusters of parallel packages do not collide.
func kindName(name string) string {
	if name != "" {
		return name
	}
	program := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	program = strings.Trim(notKindName.ReplaceAllString(strings.ToLower(program), "-"), "-")
	if len(program) > 30 {
		program = program[:30]
	}
	return fmt.Sprintf("osmo-%s-%d", program, os.Getpid())
}

func (k *Kind) Provider() string             { return ProviderKind }
func (k *Kind) KubeconfigPath() string       { return filepath.Join(k.dir, "kubeconfig") }
func (k *Kind) RESTConfig() *rest.Config     { return rest.CopyConfig(k.restConfig) }
func (k *Kind) Client() kubernetes.Interface { return k.client }

// Name is the kind cluster's name (for `kind export logs --name`).
func (k *Kind) Name() string { return k.name }

// Logs exports kind's logs into the state folder and returns the tails of
// the control plane's container logs and the kubelet's.
func (k *Kind) Logs() string {
	logDir := filepath.Join(k.dir, "logs", time.Now().Format("150405.000"))
	if err := k.provider.CollectLogs(k.name, logDir); err != nil {
		return fmt.Sprintf("(kind: collecting logs of %s failed: %v)\n", k.name, err)
	}
	var names, paths []string
	_ = filepath.WalkDir(logDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isKindComponentLog(path) {
			rel, _ := filepath.Rel(logDir, path)
			names, paths = append(names, rel), append(paths, path)
		}
		return nil
	})
	return formatLogTails(names, paths)
}

func isKindComponentLog(path string) bool {
	base := filepath.Base(path)
	if base == "kubelet.log" {
		return true
	}
	if filepath.Base(filepath.Dir(path)) != "containers" {
		return false
	}
	for _, component := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"} {
		if strings.HasPrefix(base, component) {
			return true
		}
	}
	return false
}

// Stop deletes the kind cluster, stops our own engine if the cluster ran on
// one, and removes the state folder. kind's Delete takes no context, so ctx
// cannot shorten it; it returns when the node containers are gone. The
// engine's Stop honours ctx.
func (k *Kind) Stop(ctx context.Context) error {
	k.stopOnce.Do(func() {
		var errs []error
		if k.stopLoadBalancers != nil {
			k.stopLoadBalancers()
		}
		if k.provider != nil {
			errs = append(errs, k.provider.Delete(k.name, k.KubeconfigPath()))
		}
		if k.engine != nil {
			errs = append(errs, k.engine.Stop(ctx))
		}
		if k.restoreEnv != nil {
			k.restoreEnv()
		}
		k.stopErr = errors.Join(append(errs, os.RemoveAll(k.dir))...)
	})
	return k.stopErr
}

// Engine is the container engine the cluster runs on.
func (k *Kind) Engine() *engine.Engine { return k.engine }

// deleteRecordedKindCluster deletes the kind cluster a dead run recorded in
// its state folder, if any. One on our own engine went with that engine; the
// engine's next start sweeps its containers.
func deleteRecordedKindCluster(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, kindClusterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 3 && fields[2] == kindOnOwnEngine {
		return nil
	}
	if len(fields) != 2 {
		return fmt.Errorf("%s: want \"<engine> <cluster name> [%s]\", got %q", kindClusterFile, kindOnOwnEngine, data)
	}
	return newKindProvider(fields[0]).Delete(fields[1], filepath.Join(dir, "kubeconfig"))
}

// lastLines is the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// HostAddress is this machine's address on the kind network (its gateway):
// where a process of the test listens for the cluster's pods (the cloud
// stand-ins), reached from a pod through its node, which masquerades pod
// traffic (the CNI's ipMasq), over the network's bridge.
func (k *Kind) HostAddress(ctx context.Context) (string, error) {
	out, err := k.engine.Output(ctx, "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}")
	if err != nil {
		return "", err
	}
	for _, gateway := range strings.Fields(out) {
		if ip := net.ParseIP(gateway); ip != nil && ip.To4() != nil {
			return gateway, nil
		}
	}
	return "", fmt.Errorf("kind network: no IPv4 gateway in %q", out)
}
