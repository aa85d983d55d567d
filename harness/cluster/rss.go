package cluster

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSSMiB sums the resident memory (VmRSS) of processes, in MiB: what a
// provider's processes hold (the benchmarks report it).
func RSSMiB(pids []int) (float64, error) {
	var kib int
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, fmt.Errorf("read RSS of pid %d: %w", pid, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				value, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
				if err != nil {
					return 0, fmt.Errorf("pid %d VmRSS %q: %w", pid, rest, err)
				}
				kib += value
			}
		}
	}
	return float64(kib) / 1024, nil
}

// RSSMiB is the local plane's resident memory: RSSMiB of its processes.
func (l *Local) RSSMiB() (float64, error) {
	var pids []int
	for _, pid := range l.Pids() {
		pids = append(pids, pid)
	}
	return RSSMiB(pids)
}
