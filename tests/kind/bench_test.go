package kind_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/osmo-wi/charts/harness/cluster"
)

// BenchmarkKindClusterStart puts the kind provider beside the local one:
// seconds from Start until a test could run, and memory at that moment — the
// kind node container's (its cgroup, as `docker stats` reads it: kubelet,
// containerd, control plane, CoreDNS, CNI, storage) against the summed RSS of
// the local plane's processes. The kind start includes its own engine's when
// none answers (about a second here).
//
//	go test -bench KindClusterStart -run '^$' ./tests/kind
func BenchmarkKindClusterStart(b *testing.B) {
	var kindSeconds, kindMiB, localSeconds, localMiB float64
	for range b.N {
		began := time.Now()
		k, err := cluster.Start(context.Background(), cluster.Options{Provider: cluster.ProviderKind, Out: b.Output()})
		if err != nil {
			b.Fatal(err)
		}
		kindSeconds += time.Since(began).Seconds()
		kindMiB += nodeMemoryMiB(b, k.(*cluster.Kind).Name()+"-control-plane")
		if err := k.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}

		began = time.Now()
		l, err := cluster.StartLocal(context.Background(), cluster.Options{Out: b.Output()})
		if err != nil {
			b.Fatal(err)
		}
		localSeconds += time.Since(began).Seconds()
		mib, err := l.RSSMiB()
		if err != nil {
			b.Fatal(err)
		}
		localMiB += mib
		if err := l.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(kindSeconds/n, "kind-s")
	b.ReportMetric(localSeconds/n, "local-s")
	b.ReportMetric(kindSeconds/localSeconds, "kind-slower-x")
	b.ReportMetric(kindMiB/n, "kind-node-MiB")
	b.ReportMetric(localMiB/n, "local-rss-MiB")
}

// nodeMemoryMiB is a kind node container's memory use as `docker stats`
// reports it (the cluster's DOCKER_HOST is in this process's environment
// while it runs on our own engine).
func nodeMemoryMiB(b *testing.B, container string) float64 {
	out, err := exec.Command("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container).Output()
	if err != nil {
		b.Fatalf("docker stats %s: %v", container, err)
	}
	used, _, _ := strings.Cut(strings.TrimSpace(string(out)), " / ")
	q, err := resource.ParseQuantity(strings.TrimSuffix(strings.TrimSuffix(used, "B"), "i") + "i")
	if err != nil {
		b.Fatalf("docker stats %s: memory %q: %v", container, used, err)
	}
	return float64(q.Value()) / (1 << 20)
}
