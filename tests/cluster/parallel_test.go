package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/osmo-wi/charts/harness/cluster"
)

// parallelChildEnv turns this test binary into one of the parallel start test's children.
const parallelChildEnv = "OSMO_CLUSTER_PARALLEL_CHILD"

// parallelChildren is how many test binaries start a cluster at once; each
// needs ~600 MiB and the machine two cores.
const parallelChildren = 4

// What a child says on stdout: that it waits for the word to start, then
// its cluster (kubeconfig, server, dir, pids).
const (
	childWaiting = "PARALLEL-CHILD-WAITING"
	childCluster = "PARALLEL-CHILD-CLUSTER"
)

// `go test -p 2` runs test packages side by side, and each starts a local
// cluster whose ports it hands to child processes that bind them a moment
// later. Here four test binaries start one at the same moment: each must come
// up on ports of its own (API ready, node Ready), and once they stop no
// process of theirs may be left.
//
// Not parallel with the package's other tests: four more control planes
// next to theirs on two cores would test the machine's patience, not ports.
func TestLocalClustersStartInParallelProcesses(t *testing.T) {
	if os.Getenv(parallelChildEnv) != "" {
		runParallelChild(t)
		return
	}
	children := make([]*parallelChild, parallelChildren)
	for i := range children {
		children[i] = startParallelChild(t)
	}
	for _, c := range children {
		c.expect(t, childWaiting)
	}
	for _, c := range children { // all at once: the race the port locks must win
		_, err := io.WriteString(c.stdin, "start\n")
		require.NoError(t, err)
	}

	servers := map[string]bool{}
	var reports []map[string]string
	for _, c := range children {
		report := parseReport(c.expect(t, childCluster))
		assert.False(t, servers[report["server"]], "two clusters on %s", report["server"])
		servers[report["server"]] = true
		assertClusterReady(t, report["kubeconfig"])
		reports = append(reports, report)
	}

	for _, c := range children {
		require.NoError(t, c.stdin.Close()) // the word to stop
	}
	for i, c := range children {
		assert.NoError(t, c.cmd.Wait(), "child %d (see its output above)", i)
		assertAllGone(t, reportedPids(t, reports[i]))
		_, err := os.Stat(reports[i]["dir"])
		assert.True(t, os.IsNotExist(err), "the child's Stop removes %s (stat: %v)", reports[i]["dir"], err)
	}
}

// runParallelChild waits for the word, starts a cluster, reports it and
// stops it when stdin closes.
func runParallelChild(t *testing.T) {
	stdin := bufio.NewScanner(os.Stdin)
	fmt.Println(childWaiting)
	require.True(t, stdin.Scan(), "stdin closed before the word to start")
	l, err := cluster.StartLocal(context.Background(), cluster.Options{Out: os.Stderr})
	require.NoError(t, err)
	defer func() { assert.NoError(t, l.Stop(context.Background())) }()
	var pids []string
	for _, pid := range l.Pids() {
		pids = append(pids, strconv.Itoa(pid))
	}
	fmt.Printf("%s kubeconfig=%s server=%s dir=%s pids=%s\n", childCluster, l.KubeconfigPath(), l.Server(), l.Dir(), strings.Join(pids, ","))
	for stdin.Scan() {
	}
}

// parallelChild is a running child test binary and the report lines it printed.
type parallelChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startParallelChild(t *testing.T) *parallelChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalClustersStartInParallelProcesses$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), parallelChildEnv+"=1")
	cmd.Stderr = t.Output()
	// The child dies with this test binary too, whatever happens here.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &parallelChild{cmd: cmd, stdin: stdin, lines: make(chan string, 2)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go c.readReports(stdout)
	return c
}

// readReports reads stdout to its end (so the child never blocks writing)
// and passes on the report lines.
func (c *parallelChild) readReports(stdout io.Reader) {
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "PARALLEL-CHILD-") {
			c.lines <- lines.Text()
		}
	}
	close(c.lines)
}

// expect waits for the child's next report line, which must start with prefix.
func (c *parallelChild) expect(t *testing.T, prefix string) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		require.True(t, ok, "the child ended before saying %s (see its output above)", prefix)
		require.True(t, strings.HasPrefix(line, prefix), "want %s from the child, got %q", prefix, line)
		return line
	case <-time.After(3 * time.Minute):
		require.FailNow(t, "the child did not say "+prefix+" within 3 minutes (see its output above)")
		return ""
	}
}

// parseReport turns "PREFIX key=value key=value" into a map.
func parseReport(line string) map[string]string {
	report := map[string]string{}
	for _, field := range strings.Fields(line)[1:] {
		key, value, _ := strings.Cut(field, "=")
		report[key] = value
	}
	return report
}

func reportedPids(t *testing.T, report map[string]string) map[string]int {
	t.Helper()
	var pids []int
	for _, p := range strings.Split(report["pids"], ",") {
		pid, err := strconv.Atoi(p)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 5, "etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok")
	return pidMap(pids)
}

// assertClusterReady checks from this process what the child's start
// waited for: /readyz ok, a Ready node, the default ServiceAccount.
func assertClusterReady(t *testing.T, kubeconfig string) {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	client, err := kubernetes.NewForConfig(config)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.NoError(t, cluster.WaitReady(ctx, client), "cluster of %s", kubeconfig)
}
