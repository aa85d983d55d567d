package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/project"
)

// BenchmarkClusterStart compares the local provider with kwokctl's binary
// runtime on the same pinned binaries: seconds from start until a test could
// run (API ready, a Ready node, the default ServiceAccount) and the summed
// RSS of the control plane's processes at that moment.
//
//	go test -bench ClusterStart -run '^$' ./tests/cluster
func BenchmarkClusterStart(b *testing.B) {
	var localSeconds, localRSS, kwokctlSeconds, kwokctlRSS float64
	for range b.N {
		seconds, rss := measureLocal(b)
		localSeconds, localRSS = localSeconds+seconds, localRSS+rss
		seconds, rss = measureKwokctl(b)
		kwokctlSeconds, kwokctlRSS = kwokctlSeconds+seconds, kwokctlRSS+rss
	}
	n := float64(b.N)
	b.ReportMetric(localSeconds/n, "local-s")
	b.ReportMetric(kwokctlSeconds/n, "kwokctl-s")
	b.ReportMetric(kwokctlSeconds/localSeconds, "speedup-x")
	b.ReportMetric(localRSS/n, "local-rss-MiB")
	b.ReportMetric(kwokctlRSS/n, "kwokctl-rss-MiB")
}

func measureLocal(b *testing.B) (seconds, rssMiB float64) {
	began := time.Now()
	l, err := cluster.StartLocal(context.Background(), cluster.Options{Out: b.Output()})
	if err != nil {
		b.Fatal(err)
	}
	seconds = time.Since(began).Seconds()
	defer func() {
		if err := l.Stop(context.Background()); err != nil {
			b.Error(err)
		}
	}()
	rss, err := l.RSSMiB()
	if err != nil {
		b.Fatal(err)
	}
	return seconds, rss
}

// measureKwokctl runs `kwokctl create cluster --runtime binary` with a private
// work folder and every binary given as a local path, so nothing is
// downloaded; it then adds the same fake node the local provider adds.
func measureKwokctl(b *testing.B) (seconds, rssMiB float64) {
	work := b.TempDir()
	name := fmt.Sprintf("bench-%d", os.Getpid())
	kubeconfig := filepath.Join(work, "kubeconfig")
	kwokctl := func(args ...string) *exec.Cmd {
		cmd := exec.Command(project.MustBin("kwokctl"), append([]string{"--name=" + name}, args...)...)
		cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+filepath.Join(work, "kwok"), "HOME="+work)
		return cmd
	}
	binary := func(name string) string {
		path, err := filepath.EvalSymlinks(project.MustBin(name))
		if err != nil {
			b.Fatal(err)
		}
		return path
	}
	pidDir := filepath.Join(work, "kwok", "clusters", name, "pids")
	defer deleteKwokctlCluster(b, kwokctl, pidDir)

	began := time.Now()
	out, err := kwokctl("create", "cluster", "--runtime=binary", "--kubeconfig="+kubeconfig,
		"--etcd-binary="+binary("etcd"),
		"--kube-apiserver-binary="+binary("kube-apiserver"),
		"--kube-controller-manager-binary="+binary("kube-controller-manager"),
		"--kube-scheduler-binary="+binary("kube-scheduler"),
		"--kwok-controller-binary="+binary("kwok"),
	).CombinedOutput()
	if err != nil {
		b.Fatalf("kwokctl create cluster: %v\n%s", err, out)
	}
	created := time.Since(began)
	if strings.Contains(string(out), "Download") {
		b.Logf("kwokctl downloaded something despite local binaries:\n%s", out)
	}
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.WaitAPIReady(ctx, client); err != nil {
		b.Fatal(err)
	}
	apiReady := time.Since(began)
	if err := cluster.CreateFakeNode(ctx, client, cluster.FakeNodeName); err != nil {
		b.Fatal(err)
	}
	if err := cluster.WaitReady(ctx, client); err != nil {
		b.Fatal(err)
	}
	seconds = time.Since(began).Seconds()
	b.Logf("kwokctl: create returned after %.1fs, API ready after %.1fs, node Ready and default ServiceAccount after %.1fs",
		created.Seconds(), apiReady.Seconds(), seconds)
	return seconds, summedRSSMiB(b, kwokctlPids(b, pidDir))
}

// deleteKwokctlCluster deletes the cluster, then kills by pid whatever
// survived: kwokctl starts its processes in new sessions, so nothing else would.
func deleteKwokctlCluster(b *testing.B, kwokctl func(...string) *exec.Cmd, pidDir string) {
	pids := kwokctlPids(b, pidDir)
	if out, err := kwokctl("delete", "cluster").CombinedOutput(); err != nil {
		b.Errorf("kwokctl delete cluster: %v\n%s", err, out)
	}
	for _, pid := range pids {
		if processRunning(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func kwokctlPids(b *testing.B, pidDir string) []int {
	entries, err := os.ReadDir(pidDir)
	if err != nil {
		b.Fatalf("kwokctl pid files: %v", err)
	}
	var pids []int
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(pidDir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			b.Fatalf("%s: %v", e.Name(), err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// summedRSSMiB adds VmRSS from /proc/<pid>/status.
func summedRSSMiB(b *testing.B, pids []int) float64 {
	mib, err := cluster.RSSMiB(pids)
	if err != nil {
		b.Fatal(err)
	}
	return mib
}
