package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/engine"
	"github.com/osmo-wi/charts/harness/poll"
)

// kindLeakChild is leakChildEnv's value that makes this binary the kind leak
// test's child.
const kindLeakChild = "kind"

const kindChildReportPrefix = "LEAK-CHILD-KIND"

// A test binary killed with SIGKILL while its kind cluster runs (go test's
// timeout, an OOM kill, a cancelled CI job) leaves nothing running: on our
// own engine, the engine's parent-death guard ends dockerd, which takes the
// node container and everything in it (systemd, containerd, kubelet, the
// control plane, the pods) down with it; the next owner of the engine
// folder sweeps the node container and its network, and the next Start the
// dead run's state folder. On a borrowed engine (a laptop's Docker, GitHub
// Actions) the node outlives the run until the next Start deletes the
// cluster the dead run recorded. The host's iptables rules end as they
// began. Not parallel: the engine tests beside it add rules while they run.
func TestNoKindLeakWhenOwnerIsKilled(t *testing.T) {
	if os.Getenv(leakChildEnv) == kindLeakChild {
		runKindLeakChild(t)
		return
	}
	skipUnlessKindEngine(t)
	skipUnlessNodeImage(t)
	rulesBefore := iptablesRules(t)
	child := exec.Command(os.Args[0], "-test.run=^TestNoKindLeakWhenOwnerIsKilled$", "-test.timeout=10m")
	child.Env = append(os.Environ(), leakChildEnv+"="+kindLeakChild)
	child.Stderr = t.Output()
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	report := readReport(t, bufio.NewScanner(stdout), kindChildReportPrefix, 6*time.Minute)
	node, err := engine.Descendants(atoi(t, report["node-pid"]))
	require.NoError(t, err)
	// systemd runs as /sbin/init (kind's entrypoint execs it), beside its journald.
	require.Subset(t, commandsOf(node), []string{"init", "systemd-journald", "containerd", "kubelet", "kube-apiserver", "etcd"},
		"the node container's processes, as the host sees them")
	t.Logf("the child's kind cluster %s runs %d processes in its node", report["name"], len(node))

	killed := time.Now()
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	owned := report["owned"] == "true"
	if !owned {
		// Nothing of ours ends a borrowed engine's containers: the next
		// Start's sweep deletes the cluster the dead run recorded.
		swept, err := cluster.SweepStale()
		require.NoError(t, err)
		assert.Contains(t, swept, report["state"], "the sweep removed the dead run's state folder")
	}
	assertGoneWithin(t, pidsOf(node), 2*time.Minute)
	t.Logf("the node's %d processes were gone %.1fs after SIGKILL (own engine: %t)", len(node), time.Since(killed).Seconds(), owned)
	if owned {
		var left []engine.Process
		err := poll.Until(t.Context(), "the killed run's engine to stop", 100*time.Millisecond, time.Minute, func(context.Context) (bool, error) {
			var err error
			left, err = engine.Processes(report["engine-dir"])
			return len(left) == 0, err
		})
		require.NoError(t, err, "processes of the killed run's engine: %v", left)
		t.Logf("the killed run's engine was gone %.1fs after SIGKILL", time.Since(killed).Seconds())
		require.NoError(t, poll.Until(t.Context(), "the killed run's kind bridge to go", 100*time.Millisecond, 10*time.Second,
			func(context.Context) (bool, error) { return !pathExists("/sys/class/net/" + report["bridge"]), nil }))
		swept, err := cluster.SweepStale()
		require.NoError(t, err)
		assert.Contains(t, swept, report["state"], "the next Start's sweep removes the dead run's state folder")
		assertNextOwnerSweepsNode(t, report["engine-dir"], report["name"])
	}
	assert.NoDirExists(t, report["state"], "the dead run's state folder (kubeconfig, logs)")
	assert.Equal(t, rulesBefore, iptablesRules(t), "the host's iptables rules")
}

// assertNextOwnerSweepsNode starts our engine on the dead run's folder, as
// the next kind run would, and checks that the dead cluster's node is gone.
func assertNextOwnerSweepsNode(t *testing.T, dir, name string) {
	t.Helper()
	next, err := engine.Start(t.Context(), engine.Options{Own: true, Dir: dir, Out: t.Output()})
	require.NoError(t, err)
	defer func() { assert.NoError(t, next.Stop(context.Background())) }()
	nodes, err := next.Output(t.Context(), "ps", "--all", "--quiet", "--filter", "label=io.x-k8s.kind.cluster="+name)
	require.NoError(t, err)
	assert.Empty(t, nodes, "the next owner swept the dead run's node container")
}

// runKindLeakChild starts a kind cluster, reports it on stdout and waits to be killed.
func runKindLeakChild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{Provider: cluster.ProviderKind, Out: os.Stderr})
	require.NoError(t, err)
	kind := c.(*cluster.Kind)
	e := kind.Engine()
	pid, err := e.Output(ctx, "inspect", "--format", "{{.State.Pid}}", kind.Name()+"-control-plane")
	require.NoError(t, err)
	fmt.Printf("%s name=%s owned=%t engine-dir=%s bridge=%s state=%s node-pid=%s\n", kindChildReportPrefix,
		kind.Name(), e.Owned(), e.Dir(), e.KindBridge(), filepath.Dir(kind.KubeconfigPath()), pid)
	time.Sleep(time.Hour)
}

func commandsOf(procs []engine.Process) []string {
	var names []string
	for _, p := range procs {
		names = append(names, p.Command)
	}
	return names
}

// pidsOf names each process by command and pid, for assertGoneWithin.
func pidsOf(procs []engine.Process) map[string]int {
	pids := map[string]int{}
	for _, p := range procs {
		pids[p.String()] = p.Pid
	}
	return pids
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "a pid in the child's report")
	return n
}
