package render_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

// cell is one chart × scenario of the render matrix.
type cell struct{ chart, values string }

// BenchmarkRenderMatrix renders every chart × scenario in process and through
// the `helm template` CLI, in the same run, and reports both and their ratio:
// one render after another (each cell both ways back to back, so a busy
// machine slows both alike), and with one worker per CPU on both sides (as
// the tests render, in parallel). Goal: the in-process matrix well under 2 s
// and at least 10× faster than the CLI.
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
	var cells []cell
	for _, s := range all {
		for _, chart := range render.Charts {
			cells = append(cells, cell{chart, s.ValuesFile(chart)})
		}
	}
	inProcess := func(c cell) error {
		_, err := render.RenderFiles(c.chart, release, c.values)
		return err
	}
	cli := func(c cell) error {
		out, err := chartdir.Helm(dir, "template", release.Name, charts+"/"+c.chart, "-n", release.Namespace,
			"--kube-version", render.KubeVersion, "-f", c.values)
		if err != nil {
			return fmt.Errorf("helm template %s %s: %w\n%s", c.chart, c.values, err, out)
		}
		return nil
	}

	var seqIn, seqCLI, parIn, parCLI time.Duration
	b.ResetTimer()
	for range b.N {
		for _, c := range cells {
			seqIn += timed(b, func() error { return inProcess(c) })
			seqCLI += timed(b, func() error { return cli(c) })
		}
		parIn += timed(b, func() error { return parallel(cells, inProcess) })
		parCLI += timed(b, func() error { return parallel(cells, cli) })
	}
	n := float64(b.N)
	b.ReportMetric(seqIn.Seconds()/n, "inprocess-s/matrix")
	b.ReportMetric(seqCLI.Seconds()/n, "cli-s/matrix")
	b.ReportMetric(float64(seqCLI)/float64(seqIn), "speedup-x")
	b.ReportMetric(parIn.Seconds()/n, "inprocess-parallel-s/matrix")
	b.ReportMetric(parCLI.Seconds()/n, "cli-parallel-s/matrix")
	b.ReportMetric(float64(parCLI)/float64(parIn), "speedup-parallel-x")
	b.Logf("%d renders (%d scenarios × %d charts)\n  one after another: in process %.3fs, helm template CLI %.3fs, %.1f× faster\n  %d workers each:    in process %.3fs, helm template CLI %.3fs, %.1f× faster",
		len(cells), len(all), len(render.Charts),
		seqIn.Seconds()/n, seqCLI.Seconds()/n, float64(seqCLI)/float64(seqIn),
		runtime.GOMAXPROCS(0), parIn.Seconds()/n, parCLI.Seconds()/n, float64(parCLI)/float64(parIn))
}

func timed(b *testing.B, f func() error) time.Duration {
	start := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// parallel runs f over the cells with one worker per CPU.
func parallel(cells []cell, f func(cell) error) error {
	work := make(chan cell)
	errs := make(chan error, len(cells))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range work {
				errs <- f(c)
			}
		})
	}
	for _, c := range cells {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
