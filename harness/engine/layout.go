package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
)

// maxSocketPath is what a unix socket path may hold here: sun_path is 108
// bytes with its terminating NUL, less a margin.
const maxSocketPath = 100

// longestExecRootSocket is the longest socket containerd puts in the exec root.
const longestExecRootSocket = "/containerd/containerd.sock.ttrpc"

// The owned daemon's containerd namespaces: its containers are told apart
// from a system containerd's even where both share /run/containerd.
const (
	containerdNamespace        = "osmo-kind"
	containerdPluginsNamespace = "osmo-kind-plugins"
)

// shutdownTimeout is dockerd's --shutdown-timeout, in seconds: on SIGTERM a
// container gets its own stop timeout, and the daemon waits at least this.
const shutdownTimeout = "5"

// layout is where an owned daemon keeps its files.
type layout struct {
	dir      string // socket, data root, pid file, logs, lock
	execRoot string // dir/exec, or a short folder in os.TempDir() when dir is deep
	socket   string
}

func newLayout(dir string) layout {
	l := layout{dir: dir, execRoot: filepath.Join(dir, "exec"), socket: filepath.Join(dir, "docker.sock")}
	if len(l.execRoot)+len(longestExecRootSocket) > maxSocketPath {
		sum := sha256.Sum256([]byte(dir))
		l.execRoot = filepath.Join(os.TempDir(), "osmo-docker-"+hex.EncodeToString(sum[:6]))
	}
	if len(l.socket) > maxSocketPath {
		l.socket = filepath.Join(l.execRoot, "docker.sock")
	}
	return l
}

func (l layout) dataRoot() string   { return filepath.Join(l.dir, "data") }
func (l layout) pidFile() string    { return filepath.Join(l.dir, "docker.pid") }
func (l layout) logFile() string    { return filepath.Join(l.dir, "dockerd.log") }
func (l layout) lockFile() string   { return filepath.Join(l.dir, "lock") }
func (l layout) configFile() string { return filepath.Join(l.dir, "daemon.json") }
func (l layout) aptLog() string     { return filepath.Join(l.dir, "apt.log") }
func (l layout) host() string       { return "unix://" + l.socket }

// daemonArgs are dockerd's flags. The daemon writes no host iptables rules
// and makes no docker0 bridge (nothing to leak there); its own config file
// keeps /etc/docker/daemon.json out; runtime, when set, is the OCI runtime
// wrapper registered as the default.
// kindBridge names the host interface of this engine's kind network:
// "osmo-" and a hash of the engine's folder (interface names stop at 15).
func (l layout) kindBridge() string {
	sum := sha256.Sum256([]byte(l.dir))
	return "osmo-" + hex.EncodeToString(sum[:4])
}

func (l layout) daemonArgs(runtime string) []string {
	args := []string{
		"--host", l.host(),
		"--config-file", l.configFile(),
		"--data-root", l.dataRoot(),
		"--exec-root", l.execRoot,
		"--pidfile", l.pidFile(),
		"--iptables=false", "--ip-masq=false", "--bridge=none",
		"--containerd-namespace", containerdNamespace,
		"--containerd-plugins-namespace", containerdPluginsNamespace,
		"--shutdown-timeout", shutdownTimeout,
	}
	if runtime != "" {
		args = append(args, "--add-runtime", "capfilter="+runtime, "--default-runtime", "capfilter")
	}
	return args
}
