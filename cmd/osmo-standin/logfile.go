package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// With --log_dir, OSMO's init_logger (src/lib/utils/logging.py) makes the
// folder and opens <timestamp>_<pid>_<log_name or name>.txt in it before the
// program does anything else: on a read-only root filesystem the chart must
// mount a writable folder there (the charts' /logs emptyDir). The stand-in
// does the same and writes one line into the file.
func init() {
	checks = append(checks, func(_ context.Context, inv *osmoprogram.Invocation, _ map[string]string) error {
		dir, ok := inv.Value("log_dir")
		if !ok || dir.None() || dir.Text == "" {
			return nil
		}
		name := inv.Text("log_name")
		if name == "" {
			name = inv.Program
		}
		if err := os.MkdirAll(dir.Text, 0o755); err != nil {
			return fmt.Errorf("log_dir: %w", err)
		}
		stamp := strings.ReplaceAll(time.Now().Format("2006-01-02_15:04:05"), ":", "-")
		path := filepath.Join(dir.Text, fmt.Sprintf("%s_%d_%s.txt", stamp, os.Getpid(), name))
		if err := os.WriteFile(path, []byte(inv.Program+" started (osmo-standin)\n"), 0o644); err != nil {
			return fmt.Errorf("log_dir: %w", err)
		}
		return nil
	})
}
