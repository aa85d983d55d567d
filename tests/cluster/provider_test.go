package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/versions"
)

// fakeDocker puts a `docker` on a PATH of its own: it prints a version like
// the real client, `docker info` succeeds only when engineAnswers, and
// `docker image inspect` only when hasNodeImage.
func fakeDocker(t *testing.T, engineAnswers, hasNodeImage bool) string {
	dir := t.TempDir()
	exit := func(ok bool) string {
		if ok {
			return "0"
		}
		return "1"
	}
	script := "#!/bin/sh\n" +
		"case \"$1\" in\n" +
		"  -v|--version) echo 'Docker version 28.0.0, build fake'; exit 0 ;;\n" +
		"  info) [ " + exit(engineAnswers) + " = 0 ] || echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit " + exit(engineAnswers) + " ;;\n" +
		"  image) [ \"$2\" = inspect ] && exit " + exit(hasNodeImage) + " ;;\n" +
		"esac\nexit 1\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755))
	return dir
}

// Each case sets PATH to control which container engine seems present and
// whether it holds the node image.
func TestChooseProvider(t *testing.T) {
	engineDown := func(t *testing.T) string { return fakeDocker(t, false, false) }
	engineWithoutImage := func(t *testing.T) string { return fakeDocker(t, true, false) }
	engineWithImage := func(t *testing.T) string { return fakeDocker(t, true, true) }
	cases := []struct {
		name       string
		setting    string
		path       func(t *testing.T) string
		want       string
		wantEngine string
		wantInWhy  string
	}{
		{"auto with a docker client whose engine is down picks local", "", engineDown, cluster.ProviderLocal, "", "`docker info` failed: Cannot connect"},
		{"auto with no container CLI picks local", "", func(t *testing.T) string { return t.TempDir() }, cluster.ProviderLocal, "", "docker is not installed"},
		{"auto with an engine that lacks the node image picks local", "", engineWithoutImage, cluster.ProviderLocal, "", "`docker info` answers but holds no " + versions.KindNodeImage + " (OSMO_CLUSTER=kind loads it from .bin/, where `make kind-image` builds it)"},
		{"auto with an engine that holds the node image picks kind", "", engineWithImage, cluster.ProviderKind, "docker", "`docker info` answers and holds " + versions.KindNodeImage},
		{"local is honoured even when an engine answers with the image", "local", engineWithImage, cluster.ProviderLocal, "", "OSMO_CLUSTER=local"},
		{"kind uses an engine that answers", "kind", engineWithoutImage, cluster.ProviderKind, "docker", "OSMO_CLUSTER=kind; `docker info` answers"},
		{"kind without an answering engine gets its own", "kind", engineDown, cluster.ProviderKind, "", "OSMO_CLUSTER=kind; no container engine answers (`docker info` failed: Cannot connect"},
		{"existing is honoured", "existing", engineWithImage, cluster.ProviderExisting, "", "OSMO_CLUSTER=existing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path(t))
			choice, err := cluster.ChooseProvider(context.Background(), tc.setting)
			require.NoError(t, err)
			assert.Equal(t, tc.want, choice.Provider)
			assert.Equal(t, tc.wantEngine, choice.Engine)
			assert.Contains(t, choice.Reason, tc.wantInWhy)
		})
	}
}

// On this machine auto picks kind only where an engine answers and holds the
// node image; local otherwise. Decided here by asking the engine directly.
func TestAutoProviderOnThisMachine(t *testing.T) {
	want := cluster.ProviderLocal
	if exec.Command("docker", "info").Run() == nil && exec.Command("docker", "image", "inspect", versions.KindNodeImage).Run() == nil {
		want = cluster.ProviderKind
	}
	choice, err := cluster.ChooseProvider(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, want, choice.Provider, choice.Reason)
}

// A typo must fail loudly, naming the variable and the values it takes.
func TestUnknownProviderIsAnError(t *testing.T) {
	t.Setenv(cluster.EnvProvider, "minikube")
	_, err := cluster.Start(context.Background(), cluster.Options{})
	require.Error(t, err)
	for _, want := range []string{`OSMO_CLUSTER="minikube"`, "local", "kind", "existing"} {
		assert.Contains(t, err.Error(), want)
	}
}
