package lifecycle_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/osmo-wi/charts/harness/project"
)

// BenchmarkLifecycleSuite runs this package's whole suite in a child `go test`
// (its own cluster, as in `make test`) and reports its wall time and the time
// of each test. Goal: under 2 minutes with built tools.
func BenchmarkLifecycleSuite(b *testing.B) {
	for range b.N {
		start := time.Now()
		cmd := exec.Command("go", "test", "-json", "-count=1", "-parallel", "24", "-run", ".", "./tests/lifecycle/")
		cmd.Dir = project.MustRoot()
		out, err := cmd.Output()
		wall := time.Since(start)
		elapsed, failed := testTimes(out)
		if err != nil || len(failed) > 0 {
			b.Fatalf("lifecycle suite failed (%v): %s", err, strings.Join(failed, ", "))
		}
		b.ReportMetric(wall.Seconds(), "suite-s")
		b.Log(breakdown(wall, elapsed))
	}
}

// testTimes reads `go test -json` output: elapsed seconds per test, and the failures.
func testTimes(out []byte) (map[string]float64, []string) {
	elapsed := map[string]float64{}
	var failed []string
	scanner := bufio.NewScanner(bytes.NewReader(out))
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		var e struct {
			Action, Test string
			Elapsed      float64
		}
		if json.Unmarshal(scanner.Bytes(), &e) != nil || e.Test == "" {
			continue
		}
		switch e.Action {
		case "pass":
			elapsed[e.Test] = e.Elapsed
		case "fail":
			failed = append(failed, e.Test)
		}
	}
	return elapsed, failed
}

// breakdown lists the leaf tests (a chart, a scenario, a ct run), slowest
// first: parents of parallel subtests only report the time to start them.
func breakdown(wall time.Duration, elapsed map[string]float64) string {
	var leaves []string
	for name := range elapsed {
		if !hasChildren(name, elapsed) {
			leaves = append(leaves, name)
		}
	}
	sort.Slice(leaves, func(i, j int) bool { return elapsed[leaves[i]] > elapsed[leaves[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "lifecycle suite: %.1fs wall, %d tests in parallel (times overlap)\n", wall.Seconds(), len(leaves))
	for _, name := range leaves {
		fmt.Fprintf(&b, "  %6.1fs  %s\n", elapsed[name], name)
	}
	return b.String()
}

func hasChildren(name string, elapsed map[string]float64) bool {
	for other := range elapsed {
		if strings.HasPrefix(other, name+"/") {
			return true
		}
	}
	return false
}
