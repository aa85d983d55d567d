package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/poll"
)

// leakChildEnv turns this test binary into the leak test's child.
const leakChildEnv = "OSMO_CLUSTER_LEAK_CHILD"

// childReportPrefix starts the child's one line of report: pids and folder.
const childReportPrefix = "LEAK-CHILD-CLUSTER"

// A test binary killed with SIGKILL (go test's timeout, an OOM kill, a
// cancelled CI job) runs no cleanup at all: its cluster's processes must die
// anyway, and the next Start must remove the folder it left.
func TestNoLeakWhenOwnerIsKilled(t *testing.T) {
	if os.Getenv(leakChildEnv) != "" {
		runLeakChild(t)
		return
	}
	t.Parallel()
	child := exec.Command(os.Args[0], "-test.run=^TestNoLeakWhenOwnerIsKilled$", "-test.timeout=5m")
	child.Env = append(os.Environ(), leakChildEnv+"=1")
	child.Stderr = t.Output()
	// The child dies with this test binary too, whatever happens here.
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	pids, dir := readChildReport(t, bufio.NewScanner(stdout))
	require.Len(t, pids, 6, "etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and an added process")
	for _, pid := range pids {
		require.True(t, processRunning(pid), "pid %d reported by the child is not running", pid)
	}

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	assertAllGone(t, pidMap(pids))
	_, err = os.Stat(dir)
	require.NoError(t, err, "the killed child's state folder stays until the next Start")

	next, err := cluster.StartLocal(context.Background(), cluster.Options{Out: t.Output()})
	require.NoError(t, err)
	defer func() { assert.NoError(t, next.Stop(context.Background())) }()
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "Start sweeps the stale folder %s of the dead run (stat: %v)", dir, err)
}

// runLeakChild starts a cluster, reports it on stdout and waits to be killed.
func runLeakChild(t *testing.T) {
	l, err := cluster.StartLocal(context.Background(), cluster.Options{})
	require.NoError(t, err)
	require.NoError(t, l.StartProcess("sleeper", "/bin/sleep", []string{"600"}, nil))
	var pids []string
	for _, pid := range l.Pids() {
		pids = append(pids, strconv.Itoa(pid))
	}
	fmt.Printf("%s pids=%s dir=%s\n", childReportPrefix, strings.Join(pids, ","), l.Dir())
	time.Sleep(time.Hour)
}

func readChildReport(t *testing.T, lines *bufio.Scanner) (pids []int, dir string) {
	t.Helper()
	report := readReport(t, lines, childReportPrefix, 2*time.Minute)
	for _, p := range strings.Split(report["pids"], ",") {
		pid, err := strconv.Atoi(p)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.NotEmpty(t, report["dir"])
	return pids, report["dir"]
}

func pidMap(pids []int) map[string]int {
	m := map[string]int{}
	for _, pid := range pids {
		m["pid "+strconv.Itoa(pid)] = pid
	}
	return m
}

// assertAllGone waits a few seconds for every process to end.
func assertAllGone(t *testing.T, pids map[string]int) {
	t.Helper()
	assertGoneWithin(t, pids, 5*time.Second)
}

// assertGoneWithin waits up to timeout for every process to end.
func assertGoneWithin(t *testing.T, pids map[string]int, timeout time.Duration) {
	t.Helper()
	var running []string
	gone := func(context.Context) (bool, error) {
		running = running[:0]
		for name, pid := range pids {
			if processRunning(pid) {
				running = append(running, fmt.Sprintf("%s (%d)", name, pid))
			}
		}
		return len(running) == 0, nil
	}
	if err := poll.Until(context.Background(), "the processes to exit", 50*time.Millisecond, timeout, gone); err != nil {
		assert.Failf(t, "processes outlived their owner", "still running after %s: %v", timeout, running)
	}
}

// processRunning is false for a pid that is gone or a zombie: a zombie has
// exited and only waits for its new parent (init) to collect its status.
func processRunning(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
