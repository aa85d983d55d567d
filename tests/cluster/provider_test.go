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
)

// fakeDocker puts a `docker` on a PATH of its own: it prints a version like
// the real client, and `docker info` succeeds only when engineAnswers.
func fakeDocker(t *testing.T, engineAnswers bool) string {
	dir := t.TempDir()
	infoExit := "1"
	if engineAnswers {
		infoExit = "0"
	}
	script := "#!/bin/sh\n" +
		"case \"$1\" in\n" +
		"  -v|--version) echo 'Docker version 28.0.0, build fake'; exit 0 ;;\n" +
		"  info) [ " + infoExit + " = 0 ] || echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit " + infoExit + " ;;\n" +
		"esac\nexit 1\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755))
	return dir
}

// Each case sets PATH to control which container engine seems present.
func TestChooseProvider(t *testing.T) {
	cases := []struct {
		name      string
		setting   string
		path      func(t *testing.T) string
		want      string
		wantInWhy string
	}{
		{"auto with a docker client whose engine is down picks local", "", func(t *testing.T) string { return fakeDocker(t, false) }, cluster.ProviderLocal, "`docker info` failed: Cannot connect"},
		{"auto with an engine that answers picks kind", "", func(t *testing.T) string { return fakeDocker(t, true) }, cluster.ProviderKind, "`docker info` answers"},
		{"auto with no container CLI picks local", "", func(t *testing.T) string { return t.TempDir() }, cluster.ProviderLocal, "docker is not installed"},
		{"local is honoured even when an engine answers", "local", func(t *testing.T) string { return fakeDocker(t, true) }, cluster.ProviderLocal, "OSMO_CLUSTER=local"},
		{"kind is honoured even when no engine answers", "kind", func(t *testing.T) string { return fakeDocker(t, false) }, cluster.ProviderKind, "OSMO_CLUSTER=kind"},
		{"existing is honoured", "existing", func(t *testing.T) string { return fakeDocker(t, true) }, cluster.ProviderExisting, "OSMO_CLUSTER=existing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path(t))
			choice, err := cluster.ChooseProvider(context.Background(), tc.setting)
			require.NoError(t, err)
			assert.Equal(t, tc.want, choice.Provider)
			assert.Contains(t, choice.Reason, tc.wantInWhy)
		})
	}
}

// On this machine (a docker client, no engine) auto must pick local; where an
// engine answers, kind. Decided here by asking the engine directly.
func TestAutoProviderOnThisMachine(t *testing.T) {
	want := cluster.ProviderLocal
	if exec.Command("docker", "info").Run() == nil {
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
