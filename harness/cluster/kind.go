package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"

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
}

// Kind is a kind cluster created for this run and deleted at Stop.
type Kind struct {
	name       string
	engine     string
	dir        string
	provider   *kindcluster.Provider
	restConfig *rest.Config
	client     kubernetes.Interface

	stopOnce sync.Once
	stopErr  error
}

var _ Cluster = (*Kind)(nil)

func startKind(ctx context.Context, opts Options, engine string) (k *Kind, err error) {
	if engine == "" {
		return nil, errors.New("the kind provider needs a container engine, and neither `docker info` nor `podman info` answers: start one, or use OSMO_CLUSTER=local")
	}
	dir, err := newTempStateDir(opts.out())
	if err != nil {
		return nil, err
	}
	k = &Kind{name: kindName(opts.Kind.Name), engine: engine, dir: dir, provider: newKindProvider(engine)}
	defer func() {
		if err != nil {
			_ = k.Stop(context.Background())
			k = nil
		}
	}()
	// Recorded before creating, so a run killed mid-create is still cleaned up.
	if err := os.WriteFile(filepath.Join(dir, kindClusterFile), []byte(engine+" "+k.name+"\n"), 0o644); err != nil {
		return k, err
	}
	if err := k.create(ctx, opts.Kind.NodeImage); err != nil {
		return k, err
	}
	if k.restConfig, k.client, err = clientsFor(k.KubeconfigPath()); err != nil {
		return k, err
	}
	if err := AllowAnonymousIssuerDiscovery(ctx, k.client); err != nil {
		return k, fmt.Errorf("bind issuer discovery: %w", err)
	}
	return k, WaitReady(ctx, k.client)
}

// create runs kind; its library takes no context, so ctx's deadline becomes
// kind's own wait for the control plane.
func (k *Kind) create(ctx context.Context, nodeImage string) error {
	if nodeImage == "" {
		nodeImage = versions.KindNodeImage
	}
	wait := time.Minute
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline)
	}
	err := k.provider.Create(k.name,
		kindcluster.CreateWithNodeImage(nodeImage),
		kindcluster.CreateWithKubeconfigPath(k.KubeconfigPath()),
		kindcluster.CreateWithWaitForReady(wait),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return fmt.Errorf("kind create cluster %s (image %s, engine %s): %w", k.name, nodeImage, k.engine, err)
	}
	return nil
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

// Stop deletes the kind cluster and the state folder. kind's Delete takes no
// context, so ctx cannot shorten it; it returns when the node containers are gone.
func (k *Kind) Stop(context.Context) error {
	k.stopOnce.Do(func() {
		err := k.provider.Delete(k.name, k.KubeconfigPath())
		k.stopErr = errors.Join(err, os.RemoveAll(k.dir))
	})
	return k.stopErr
}

// deleteRecordedKindCluster deletes the kind cluster a dead run recorded in
// its state folder, if any.
func deleteRecordedKindCluster(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, kindClusterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return fmt.Errorf("%s: want \"<engine> <cluster name>\", got %q", kindClusterFile, data)
	}
	return newKindProvider(fields[0]).Delete(fields[1], filepath.Join(dir, "kubeconfig"))
}
