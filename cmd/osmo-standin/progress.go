package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// progressCheck is OSMO's progress_check (src/utils/progress_check/progress_check.py
// and progress.py ProgressReader): --progress_interval and --progress_file are
// ":"-separated lists of the same length; each file must hold a time (seconds
// since the epoch) newer than its interval. Exit 0 when all are fresh, else 1,
// having said why (and written it to /dev/termination-log when it can).
func progressCheck(inv *osmoprogram.Invocation, out io.Writer) int {
	intervals := strings.Split(inv.Text("progress_interval"), ":")
	files := strings.Split(inv.Text("progress_file"), ":")
	if len(intervals) != len(files) {
		fmt.Fprintln(out, "Must provide same number of intervals and files!")
		return 1
	}
	for i, file := range files {
		seconds, err := strconv.ParseFloat(strings.TrimSpace(intervals[i]), 64)
		if err != nil {
			fmt.Fprintf(out, "ValueError: could not convert string to float: '%s'\n", intervals[i])
			return 1
		}
		data, err := os.ReadFile(file)
		if os.IsNotExist(err) {
			terminate(out, fmt.Sprintf("Progress file %s does not exist", file))
			return 1
		}
		if err != nil {
			fmt.Fprintln(out, err)
			return 1
		}
		last, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
		if err != nil {
			fmt.Fprintf(out, "ValueError: could not convert string to float: '%s'\n", strings.TrimSpace(string(data)))
			return 1
		}
		now := float64(time.Now().UnixNano()) / 1e9
		if !(last > now-seconds) {
			terminate(out, fmt.Sprintf("Last progress for %s was %vs ago, expected < %v", file, now-last, seconds))
			return 1
		}
	}
	return 0
}

// terminate prints msg and writes it to the container's termination log, which
// the kubelet creates (never created here: outside a container it is not ours).
func terminate(out io.Writer, msg string) {
	fmt.Fprintln(out, msg)
	if f, err := os.OpenFile("/dev/termination-log", os.O_WRONLY|os.O_TRUNC, 0); err == nil {
		_, _ = f.WriteString(msg)
		_ = f.Close()
	}
}
