package render_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/osmo-wi/charts/tests/harness/chartdir"
	"github.com/osmo-wi/charts/tests/harness/render"
	"github.com/osmo-wi/charts/tests/harness/scenario"
)

// BenchmarkRenderMatrix renders every chart × scenario in process and through
// the `helm template` CLI, in the same run, and reports both and their ratio.
// Goal: the in-process matrix well under 2 s and at least 10× faster.
func BenchmarkRenderMatrix(b *testing.B) {
	all, err := scenario.All(render.Charts)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	charts, err := chartdir.Build(dir)
	if err != nil {
		b.Fatal(err)
	}
	cells := len(all) * len(render.Charts)

	// Each cell is rendered both ways back to back, so a busy machine slows
	// both measurements alike.
	var inProcess, cli time.Duration
	b.ResetTimer()
	for range b.N {
		for _, s := range all {
			for _, chart := range render.Charts {
				start := time.Now()
				if _, err := render.RenderFiles(chart, release, s.ValuesFile(chart)); err != nil {
					b.Fatal(err)
				}
				inProcess += time.Since(start)

				start = time.Now()
				out, err := chartdir.Helm(dir, "template", release.Name, charts+"/"+chart, "-n", release.Namespace,
					"--kube-version", render.KubeVersion, "-f", s.ValuesFile(chart))
				if err != nil {
					b.Fatalf("helm template %s %s: %v\n%s", chart, s.Name, err, out)
				}
				cli += time.Since(start)
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(inProcess.Seconds()/n, "inprocess-s/matrix")
	b.ReportMetric(cli.Seconds()/n, "cli-s/matrix")
	b.ReportMetric(float64(cli)/float64(inProcess), "speedup-x")
	b.Log(fmt.Sprintf("%d renders (%d scenarios × %d charts), one after another: in process %.3fs, helm template CLI %.3fs, %.1f× faster",
		cells, len(all), len(render.Charts), inProcess.Seconds()/n, cli.Seconds()/n, float64(cli)/float64(inProcess)))
}
