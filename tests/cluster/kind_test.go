package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/engine"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// skipUnlessKindEngine skips, in one line, where the kind provider has no
// engine: none answers and our own dockerd cannot run (not root).
func skipUnlessKindEngine(t *testing.T) {
	t.Helper()
	if e, why := engine.Probe(context.Background()); e == nil && os.Geteuid() != 0 {
		t.Skipf("kind: no container engine answers (%s), and our own dockerd needs root (uid %d)", why, os.Geteuid())
	}
}

// The kind provider runs on the engine that answers or on our own; it needs
// the node image, which is built here (`make kind-image`, not part of
// `make tools`) and never pulled, so it is skipped while there is none.
func TestKindProvider(t *testing.T) {
	skipUnlessKindEngine(t)
	skipUnlessNodeImage(t)
	t.Parallel()
	began := time.Now()
	c, err := cluster.Start(context.Background(), cluster.Options{Provider: cluster.ProviderKind, Out: t.Output()})
	require.NoError(t, err)
	kind := c.(*cluster.Kind)
	started := time.Since(began)
	stopped := false
	defer func() {
		if !stopped {
			assert.NoError(t, kind.Stop(context.Background()))
		}
	}()
	assert.Equal(t, cluster.ProviderKind, kind.Provider())
	require.NoError(t, cluster.WaitReady(context.Background(), kind.Client()))
	version, err := kind.Client().Discovery().ServerVersion()
	require.NoError(t, err)
	assert.Equal(t, string(versions.Kubernetes), version.GitVersion)
	assert.FileExists(t, kind.KubeconfigPath())

	owned, dir := kind.Engine().Owned(), kind.Engine().Dir()
	began = time.Now()
	require.NoError(t, kind.Stop(context.Background()))
	stopped = true
	t.Logf("kind: started in %.1fs, stopped in %.1fs (own engine: %t)", started.Seconds(), time.Since(began).Seconds(), owned)
	if owned {
		left, err := engine.Processes(dir)
		require.NoError(t, err)
		assert.Empty(t, left, "Kind.Stop ends the engine it started")
	}
}

// A node image of the project's registry is never pulled: when the engine
// lacks it, Start fails saying how to build it, and rolls back (our own
// engine stopped, DOCKER_HOST as it was). Not parallel: it checks that no
// process of the shared engine folder is left, which the parallel engine
// tests use.
func TestKindWithoutItsNodeImageSaysHowToBuildIt(t *testing.T) {
	skipUnlessKindEngine(t)
	hostBefore, hadHost := os.LookupEnv("DOCKER_HOST")
	_, err := cluster.Start(context.Background(), cluster.Options{
		Provider: cluster.ProviderKind,
		Out:      t.Output(),
		Kind:     cluster.KindOptions{NodeImage: "osmo-charts.local/kind-node:never-built"},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kind: the engine holds no node image osmo-charts.local/kind-node:never-built, and no registry serves osmo-charts.local/ (`make kind-image` builds "+versions.KindNodeImage+")")
	hostAfter, hasHost := os.LookupEnv("DOCKER_HOST")
	assert.Equal(t, hadHost, hasHost, "DOCKER_HOST is put back")
	assert.Equal(t, hostBefore, hostAfter, "DOCKER_HOST is put back")
	left, err := engine.Processes("")
	require.NoError(t, err)
	assert.Empty(t, left, "the failed start stopped the engine it started")
}

// skipUnlessNodeImage skips, in one line, where no node image is built or held.
func skipUnlessNodeImage(t *testing.T) {
	t.Helper()
	tarball := project.Path(".bin", "kind-node-image.tar")
	if _, err := os.Stat(tarball); err != nil && exec.Command("docker", "image", "inspect", versions.KindNodeImage).Run() != nil {
		t.Skipf("kind: no node image %s in an answering engine nor %s (`make kind-image` builds it)", versions.KindNodeImage, tarball)
	}
}
