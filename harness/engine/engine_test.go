package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A status file as this project's CI machines have it (CAP_SYS_RESOURCE,
// bit 24, missing) and as a full machine has it.
const (
	statusLackingSysResource = "Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n"
	statusFull               = "Name:\tcat\nCapBnd:\t000001ffffffffff\n"
)

func TestBoundingSetLacks(t *testing.T) {
	cases := []struct {
		name    string
		status  string
		bit     uint
		want    bool
		wantErr string
	}{
		{"CI machine lacks CAP_SYS_RESOURCE", statusLackingSysResource, capSysResource, true, ""},
		{"full bounding set has it", statusFull, capSysResource, false, ""},
		{"the machine still has CAP_SYS_ADMIN", statusLackingSysResource, 21, false, ""},
		{"a container with no capabilities lacks it", "CapBnd:\t0000000000000000\n", capSysResource, true, ""},
		{"no CapBnd line is an error", "Name:\tcat\n", capSysResource, false, "no CapBnd line"},
		{"garbage is an error", "CapBnd:\tzz\n", capSysResource, false, `CapBnd "zz" is not a hexadecimal capability set`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := boundingSetLacks(tc.status, tc.bit)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestOptionDefaults(t *testing.T) {
	var zero Options
	assert.Equal(t, defaultReadyTimeout, zero.readyTimeout())
	assert.NotNil(t, zero.out())
	t.Setenv("OSMO_TOOLS_CACHE", "/cache")
	dir, err := zero.dir()
	require.NoError(t, err)
	assert.Equal(t, "/cache/docker", dir)
	dir, err = Options{Dir: "relative"}.dir()
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(dir), "a relative Dir is made absolute: processes are found by it")
}

// Sockets live under the folder unless its path is too deep for a unix
// socket (108 bytes); then the exec root (and the socket) move to a short,
// stable folder in os.TempDir().
func TestLayoutKeepsSocketPathsShort(t *testing.T) {
	short := newLayout("/root/.cache/osmo-charts-tools/docker")
	assert.Equal(t, "/root/.cache/osmo-charts-tools/docker/exec", short.execRoot)
	assert.Equal(t, "unix:///root/.cache/osmo-charts-tools/docker/docker.sock", short.host())

	deep := "/" + strings.Repeat("d", 120)
	long := newLayout(deep)
	assert.True(t, strings.HasPrefix(long.execRoot, filepath.Join(os.TempDir(), "osmo-docker-")), long.execRoot)
	assert.LessOrEqual(t, len(long.execRoot+longestExecRootSocket), maxSocketPath)
	assert.Equal(t, filepath.Join(long.execRoot, "docker.sock"), long.socket)
	assert.Equal(t, long.execRoot, newLayout(deep).execRoot, "the same folder gets the same exec root every run")
	assert.Equal(t, filepath.Join(deep, "data"), long.dataRoot(), "the data root stays in the folder")
}

func TestDaemonArgs(t *testing.T) {
	l := newLayout("/d")
	plain := l.daemonArgs("")
	assert.Equal(t, []string{
		"--host", "unix:///d/docker.sock",
		"--config-file", "/d/daemon.json",
		"--data-root", "/d/data",
		"--exec-root", "/d/exec",
		"--pidfile", "/d/docker.pid",
		"--iptables=false", "--ip-masq=false", "--bridge=none",
		"--containerd-namespace", "osmo-kind",
		"--containerd-plugins-namespace", "osmo-kind-plugins",
		"--shutdown-timeout", "5",
	}, plain)
	wrapped := l.daemonArgs("/bin/runc-capfilter")
	assert.Equal(t, append(slices.Clone(plain), "--add-runtime", "capfilter=/bin/runc-capfilter", "--default-runtime", "capfilter"), wrapped)
}

// Only engine programs naming this engine's folders are its roots.
func TestIsEngineRoot(t *testing.T) {
	l := newLayout("/cache/docker")
	cases := []struct {
		argv []string
		want bool
	}{
		{[]string{"/usr/sbin/dockerd", "--data-root", "/cache/docker/data"}, true},
		{[]string{"containerd", "--config", "/cache/docker/exec/containerd/containerd.toml"}, true},
		{[]string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "osmo-kind", "-address", "/cache/docker/exec/containerd/containerd.sock"}, true},
		{[]string{"/usr/sbin/dockerd", "--data-root", "/other/docker/data"}, false},
		{[]string{"/usr/sbin/dockerd", "--data-root", "/cache/docker-other/data"}, false},
		{[]string{"tail", "-f", "/cache/docker/dockerd.log"}, false},
		{nil, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, l.isEngineRoot(tc.argv), "%q", tc.argv)
	}
}

func TestDaemonEnv(t *testing.T) {
	env := daemonEnv([]string{"DOCKER_HOST=tcp://x", "HOME=/root", "PATH=/go/bin", "NOTIFY_SOCKET=/run/n"})
	assert.Equal(t, []string{"HOME=/root", "PATH=/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env)
}

func TestBorrowedEngineTouchesNothing(t *testing.T) {
	e := &Engine{cli: "docker", cliPath: "/usr/bin/docker", host: "unix:///var/run/docker.sock"}
	assert.False(t, e.Owned())
	assert.Nil(t, e.Env())
	assert.Zero(t, e.Pid())
	assert.Empty(t, e.Dir())
	assert.Nil(t, e.Command(t.Context(), "ps").Env, "a borrowed engine's CLI inherits the caller's environment")
	assert.NoError(t, e.Stop(t.Context()))
}

func TestSummarize(t *testing.T) {
	procs := []Process{{Pid: 1, Command: "dockerd"}, {Pid: 2, Command: "containerd"}, {Pid: 3, Command: "containerd-shim-runc-v2"}, {Pid: 4, Command: "init"}, {Pid: 5, Command: "systemd-journald"}, {Pid: 6, Command: "kubelet"}}
	assert.Equal(t, "dockerd (pid 1), containerd (pid 2), containerd-shim-runc-v2 (pid 3), init (pid 4), and 2 more", summarize(procs))
	assert.Equal(t, "dockerd (pid 1)", summarize(procs[:1]))
}
