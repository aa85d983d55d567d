package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ExistingOptions configure the existing provider.
type ExistingOptions struct {
	// Kubeconfig overrides KUBECONFIG and ~/.kube/config.
	Kubeconfig string
}

// Existing is a cluster someone else runs; the harness only connects to it.
type Existing struct {
	kubeconfigPath string
	mergedDir      string // set when KUBECONFIG listed several files, merged into one here
	restConfig     *rest.Config
	client         kubernetes.Interface
}

var _ Cluster = (*Existing)(nil)

func connectExisting(ctx context.Context, opts Options) (*Existing, error) {
	e := &Existing{}
	var err error
	if e.kubeconfigPath, e.mergedDir, err = existingKubeconfig(opts.Existing.Kubeconfig); err != nil {
		return nil, err
	}
	if e.restConfig, e.client, err = clientsFor(e.kubeconfigPath); err != nil {
		_ = e.Stop(ctx)
		return nil, err
	}
	if err := WaitAPIReady(ctx, e.client); err != nil {
		_ = e.Stop(ctx)
		return nil, fmt.Errorf("existing cluster from %s: %w", e.kubeconfigPath, err)
	}
	return e, nil
}

// existingKubeconfig returns one kubeconfig file, as helm and kubectl take
// it: the explicit one, KUBECONFIG's single file, a merge of KUBECONFIG's
// files written to a temp folder, or ~/.kube/config.
func existingKubeconfig(explicit string) (path, mergedDir string, err error) {
	if explicit != "" {
		return explicit, "", nil
	}
	files := filepath.SplitList(os.Getenv("KUBECONFIG"))
	switch len(files) {
	case 0:
		return clientcmd.RecommendedHomeFile, "", nil
	case 1:
		return files[0], "", nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	merged, err := rules.Load()
	if err != nil {
		return "", "", fmt.Errorf("merge KUBECONFIG=%s: %w", os.Getenv("KUBECONFIG"), err)
	}
	// A state folder like the other providers', so a killed run's copy is swept.
	mergedDir, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", tempDirPrefix, os.Getpid()))
	if err != nil {
		return "", "", err
	}
	if err := initStateDir(mergedDir); err != nil {
		return "", "", errors.Join(err, os.RemoveAll(mergedDir))
	}
	path = filepath.Join(mergedDir, "kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		return "", "", errors.Join(err, os.RemoveAll(mergedDir))
	}
	return path, mergedDir, nil
}

func (e *Existing) Provider() string             { return ProviderExisting }
func (e *Existing) KubeconfigPath() string       { return e.kubeconfigPath }
func (e *Existing) RESTConfig() *rest.Config     { return rest.CopyConfig(e.restConfig) }
func (e *Existing) Client() kubernetes.Interface { return e.client }

func (e *Existing) Logs() string {
	return "(existing cluster: its component logs are not reachable from the harness)\n"
}

// Stop leaves the cluster alone; it only removes a merged kubeconfig.
func (e *Existing) Stop(context.Context) error {
	if e.mergedDir == "" {
		return nil
	}
	return os.RemoveAll(e.mergedDir)
}
