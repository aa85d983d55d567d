package cluster_test

import (
	"archive/tar"
	"bufio"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/engine"
	"github.com/osmo-wi/charts/harness/poll"
)

// engineTestImage is a one-binary image made offline from Debian's static
// busybox: no registry is needed to run a container.
const (
	engineTestImage = "osmo-engine-test:busybox"
	staticBusybox   = "/bin/busybox"
)

// engineLeakChild is leakChildEnv's value that makes this binary the engine
// leak test's child (TestMain then starts no cluster).
const engineLeakChild = "engine"

const engineChildReportPrefix = "LEAK-CHILD-ENGINE"

// engineLeakDirEnv hands the child the engine folder to use.
const engineLeakDirEnv = "OSMO_ENGINE_LEAK_DIR"

// testEngineDir is a folder of the test's own for our engine: the default
// one (the tools cache) may be held for minutes by a kind run or an image
// build, and one test's lock there must not hold another up. A deep temp
// path also exercises the short exec root.
func testEngineDir(t *testing.T) string {
	return filepath.Join(t.TempDir(), "docker")
}

// skipUnlessOwnEngineRuns skips, in one line, only where our own dockerd
// cannot run at all.
func skipUnlessOwnEngineRuns(t *testing.T) {
	t.Helper()
	if uid := os.Geteuid(); uid != 0 {
		t.Skipf("engine: starting our own dockerd needs root, and this is uid %d", uid)
	}
}

// Our own engine runs privileged containers on this machine (whose bounding
// set lacks CAP_SYS_RESOURCE: the runtime wrapper takes care of it), and Stop
// leaves nothing: no process of the engine, no socket, no bridge of a kind
// network, no host iptables rule.
func TestOwnEngineRunsPrivilegedAndStopLeavesNothing(t *testing.T) {
	skipUnlessOwnEngineRuns(t)
	t.Parallel()
	ctx := t.Context()
	rulesBefore := iptablesRules(t)

	began := time.Now()
	e, err := engine.Start(ctx, engine.Options{Own: true, Dir: testEngineDir(t), Out: t.Output()})
	require.NoError(t, err)
	started := time.Since(began)
	stopped := false
	defer func() {
		if !stopped {
			assert.NoError(t, e.Stop(context.Background()))
		}
	}()
	require.True(t, e.Owned())
	require.Equal(t, []string{"DOCKER_HOST=" + e.Host()}, e.Env())
	require.Regexp(t, `^unix:///.+/docker\.sock$`, e.Host())

	importTestImage(t, e)
	status, err := e.Output(ctx, "run", "--rm", "--privileged", "--network", "none", engineTestImage, "cat", "/proc/self/status")
	require.NoError(t, err, "a --privileged container runs")
	inside := capBnd(t, status)
	host := capBnd(t, readFile(t, "/proc/self/status"))
	assert.Zero(t, inside&^host, "the container holds no capability the machine's bounding set lacks (container %016x, host %016x)", inside, host)
	assert.NotZero(t, inside&(1<<21), "a privileged container holds CAP_SYS_ADMIN (CapBnd %016x)", inside)

	// What kind leaves in an engine: its network (a host bridge, which our
	// engine makes at Start under a name of its own) and a running node.
	bridge := "/sys/class/net/" + e.KindBridge()
	require.True(t, pathExists(bridge), "the kind network's bridge %s", bridge)
	_, err = e.Output(ctx, "run", "--detach", "--privileged", "--network", "kind", "--stop-timeout", "1",
		"--label", "io.x-k8s.kind.cluster=engine-test", engineTestImage, "sleep", "600")
	require.NoError(t, err)
	procs, err := engine.Processes(e.Dir())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"dockerd", "containerd", "containerd-shim-runc-v2", "sleep"}, commands(procs), "the engine's processes while a container runs")

	began = time.Now()
	require.NoError(t, e.Stop(ctx))
	stopped = true
	t.Logf("own engine: started in %.1fs, stopped in %.1fs (with a running container and a kind network)", started.Seconds(), time.Since(began).Seconds())

	for _, p := range procs {
		assert.False(t, p.Alive(), "%s outlived Stop", p)
	}
	left, err := engine.Processes(e.Dir())
	require.NoError(t, err)
	assert.Empty(t, left, "processes of the engine after Stop")
	assert.NoFileExists(t, strings.TrimPrefix(e.Host(), "unix://"), "the socket")
	assert.False(t, pathExists(bridge), "the kind network's bridge %s outlived Stop", bridge)
	assert.Equal(t, rulesBefore, iptablesRules(t), "the host's iptables rules")
}

// A test binary killed with SIGKILL runs no cleanup: the parent-death signal
// must still stop its engine (dockerd stops the containers and containerd),
// and the next owner sweeps the kind container and network the dead run
// left in the data root.
func TestNoEngineLeakWhenOwnerIsKilled(t *testing.T) {
	if os.Getenv(leakChildEnv) == engineLeakChild {
		runEngineLeakChild(t)
		return
	}
	skipUnlessOwnEngineRuns(t)
	t.Parallel()
	child := exec.Command(os.Args[0], "-test.run=^TestNoEngineLeakWhenOwnerIsKilled$", "-test.timeout=5m")
	dir := testEngineDir(t)
	child.Env = append(os.Environ(), leakChildEnv+"="+engineLeakChild, engineLeakDirEnv+"="+dir)
	child.Stderr = t.Output()
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	report := readReport(t, bufio.NewScanner(stdout), engineChildReportPrefix, 3*time.Minute)
	require.Equal(t, dir, report["dir"])
	pids := map[string]int{}
	for _, entry := range strings.Split(report["pids"], ",") {
		name, pid, _ := strings.Cut(entry, ":")
		n, err := strconv.Atoi(pid)
		require.NoError(t, err)
		pids[name+" "+pid] = n
	}
	require.Subset(t, commandNames(pids), []string{"dockerd", "containerd", "containerd-shim-runc-v2", "sleep"})
	for name, pid := range pids {
		require.True(t, processRunning(pid), "%s reported by the child is not running", name)
	}

	killed := time.Now()
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	var running []string
	err = poll.Until(t.Context(), "the killed run's engine to stop", 100*time.Millisecond, time.Minute, func(context.Context) (bool, error) {
		running = running[:0]
		for name, pid := range pids {
			if processRunning(pid) {
				running = append(running, name)
			}
		}
		procs, err := engine.Processes(report["dir"])
		if err != nil {
			return false, err
		}
		return len(running) == 0 && len(procs) == 0, nil
	})
	require.NoError(t, err, "still running: %v", running)
	t.Logf("the killed run's engine, its containerd, shim and container were gone %.1fs after SIGKILL", time.Since(killed).Seconds())
	// The guard around dockerd deletes the kind network's bridge when dockerd ends.
	require.NoError(t, poll.Until(t.Context(), "the killed run's kind bridge to go", 100*time.Millisecond, 10*time.Second,
		func(context.Context) (bool, error) { return !pathExists("/sys/class/net/" + report["bridge"]), nil }))

	// The dead run's kind network stays in the data root; the next owner sweeps it and makes its own.
	next, err := engine.Start(t.Context(), engine.Options{Own: true, Dir: report["dir"], Out: t.Output()})
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			assert.NoError(t, next.Stop(context.Background()))
		}
	}()
	kindContainers, err := next.Output(t.Context(), "ps", "--all", "--quiet", "--filter", "label=io.x-k8s.kind.cluster")
	require.NoError(t, err)
	assert.Empty(t, kindContainers, "the next owner swept the dead run's kind container")
	networks, err := next.Output(t.Context(), "network", "ls", "--format", "{{.Name}}")
	require.NoError(t, err)
	assert.Contains(t, strings.Fields(networks), "kind", "the next owner made its kind network")
	id, err := next.Output(t.Context(), "network", "inspect", "--format", "{{.Id}}", "kind")
	require.NoError(t, err)
	assert.NotEqual(t, report["network"], strings.TrimSpace(id), "the next owner swept the dead run's kind network")
	dangling, err := next.Output(t.Context(), "images", "--quiet", "--filter", "dangling=true")
	require.NoError(t, err)
	assert.Empty(t, dangling, "the next owner dropped the untagged image")
	require.NoError(t, next.Stop(t.Context()))
	stopped = true
}

// runEngineLeakChild starts our own engine with a kind network and a running
// container, reports them on stdout and waits to be killed.
func runEngineLeakChild(t *testing.T) {
	ctx := t.Context()
	e, err := engine.Start(ctx, engine.Options{Own: true, Dir: os.Getenv(engineLeakDirEnv)})
	require.NoError(t, err)
	importTestImage(t, e)
	importTestImage(t, e) // a new build under the same name leaves the first untagged
	dangling, err := e.Output(ctx, "images", "--quiet", "--filter", "dangling=true")
	require.NoError(t, err)
	require.NotEmpty(t, dangling, "the first import is untagged")
	network, err := e.Output(ctx, "network", "inspect", "--format", "{{.Id}}", "kind")
	require.NoError(t, err)
	_, err = e.Output(ctx, "run", "--detach", "--privileged", "--network", "kind", "--stop-timeout", "1",
		"--label", "io.x-k8s.kind.cluster=engine-leak", engineTestImage, "sleep", "600")
	require.NoError(t, err)
	procs, err := engine.Processes(e.Dir())
	require.NoError(t, err)
	var pids []string
	for _, p := range procs {
		pids = append(pids, fmt.Sprintf("%s:%d", p.Command, p.Pid))
	}
	fmt.Printf("%s dir=%s network=%s bridge=%s pids=%s\n", engineChildReportPrefix, e.Dir(), strings.TrimSpace(network), e.KindBridge(), strings.Join(pids, ","))
	time.Sleep(time.Hour)
}

// readReport waits up to timeout for the child's one line of report, the
// line starting with prefix, and returns its key=value fields.
func readReport(t *testing.T, lines *bufio.Scanner, prefix string, timeout time.Duration) map[string]string {
	t.Helper()
	report := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				report <- lines.Text()
				return
			}
		}
		close(report)
	}()
	var line string
	select {
	case line = <-report:
	case <-time.After(timeout):
	}
	require.NotEmpty(t, line, "the child did not report (%s; see its output above)", prefix)
	fields := map[string]string{}
	for _, field := range strings.Fields(line)[1:] {
		key, value, _ := strings.Cut(field, "=")
		fields[key] = value
	}
	return fields
}

// importTestImage makes engineTestImage from the static busybox: its binary
// and the applet links the tests run, streamed to `docker import`.
func importTestImage(t *testing.T, e *engine.Engine) {
	t.Helper()
	requireStatic(t, staticBusybox)
	binary, err := os.ReadFile(staticBusybox)
	require.NoError(t, err)
	cmd := e.Command(t.Context(), "import", "-", engineTestImage)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start())
	archive := tar.NewWriter(stdin)
	require.NoError(t, archive.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}))
	require.NoError(t, archive.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(binary))}))
	_, err = archive.Write(binary)
	require.NoError(t, err)
	for _, applet := range []string{"sh", "cat", "sleep"} {
		require.NoError(t, archive.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox"}))
	}
	require.NoError(t, archive.Close())
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), "docker import: %s", output.String())
}

// requireStatic fails unless path is a statically linked program (it runs
// in an image with nothing else).
func requireStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err, "the engine tests need Debian's static busybox: apt-get install busybox-static")
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "%s is dynamically linked: apt-get install busybox-static", path)
	}
}

var capBndLine = regexp.MustCompile(`(?m)^CapBnd:\s*([0-9a-f]+)$`)

func capBnd(t *testing.T, status string) uint64 {
	t.Helper()
	m := capBndLine.FindStringSubmatch(status)
	require.NotNil(t, m, "no CapBnd line in:\n%s", status)
	set, err := strconv.ParseUint(m[1], 16, 64)
	require.NoError(t, err)
	return set
}

// iptablesRules is the host's rule set without counters and comments.
func iptablesRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	require.NoError(t, err, "iptables-save (Debian's iptables, which docker.io depends on)")
	counters := regexp.MustCompile(`\[\d+:\d+\]`)
	var rules []string
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			rules = append(rules, counters.ReplaceAllString(line, ""))
		}
	}
	return strings.Join(rules, "\n")
}

func commands(procs []engine.Process) []string {
	var names []string
	for _, p := range procs {
		names = append(names, p.Command)
	}
	return names
}

func commandNames(pids map[string]int) []string {
	var names []string
	for name := range pids {
		names = append(names, strings.Fields(name)[0])
	}
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// pathExists follows symlinks (/sys/class/net's entries are links).
func pathExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
