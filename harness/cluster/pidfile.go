package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/osmo-wi/charts/harness/poll"
)

// pidRecord identifies a process across runs: the pid plus its start time, so
// a pid the kernel has since given to another process is never mistaken for ours.
type pidRecord struct {
	name      string
	pid       int
	startTime uint64
}

func pidDir(dir string) string { return filepath.Join(dir, "pids") }

func writePidFile(dir, name string, pid int) error {
	start, err := processStartTime(pid)
	if err != nil {
		return fmt.Errorf("record pid of %s: %w", name, err)
	}
	line := fmt.Sprintf("%d %d\n", pid, start)
	return os.WriteFile(filepath.Join(pidDir(dir), name+".pid"), []byte(line), 0o644)
}

// readPidRecords reads every pid file in dir/pids; a missing folder is no records.
func readPidRecords(dir string) ([]pidRecord, error) {
	entries, err := os.ReadDir(pidDir(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var records []pidRecord
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pid")
		if !ok {
			continue
		}
		record, err := readPidRecord(filepath.Join(pidDir(dir), e.Name()))
		if err != nil {
			return nil, err
		}
		record.name = name
		records = append(records, record)
	}
	return records, nil
}

func readPidRecord(path string) (pidRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return pidRecord{}, err
	}
	var r pidRecord
	if _, err := fmt.Sscan(string(data), &r.pid, &r.startTime); err != nil {
		return pidRecord{}, fmt.Errorf("%s: want \"<pid> <start time>\": %w", path, err)
	}
	return r, nil
}

// alive reports whether the recorded process still runs (zombies count as gone).
func (r pidRecord) alive() bool {
	start, state, err := readProcStat(r.pid)
	return err == nil && start == r.startTime && state != 'Z' && state != 'X'
}

// killRecorded stops recorded processes (whoever started them) by process
// group: SIGTERM, a grace period, SIGKILL, then waits until they are gone.
func killRecorded(records []pidRecord, grace time.Duration) error {
	signalAlive(records, syscall.SIGTERM)
	waitGone(records, grace)
	signalAlive(records, syscall.SIGKILL)
	if left := waitGone(records, 10*time.Second); len(left) > 0 {
		return fmt.Errorf("processes still running after SIGKILL: %v", left)
	}
	return nil
}

func signalAlive(records []pidRecord, sig syscall.Signal) {
	for _, r := range records {
		if r.alive() {
			_ = syscall.Kill(-r.pid, sig) // every process leads its own group
			_ = syscall.Kill(r.pid, sig)  // in case it left the group
		}
	}
}

// waitGone waits until no record is alive or the timeout passes; it returns
// the names still alive.
func waitGone(records []pidRecord, timeout time.Duration) []string {
	var left []string
	alive := func(context.Context) (bool, error) {
		left = left[:0]
		for _, r := range records {
			if r.alive() {
				left = append(left, fmt.Sprintf("%s (pid %d)", r.name, r.pid))
			}
		}
		return len(left) == 0, nil
	}
	_ = poll.Until(context.Background(), "the processes to exit", 50*time.Millisecond, timeout, alive)
	return left
}

// processStartTime is field 22 of /proc/<pid>/stat, in clock ticks since boot.
func processStartTime(pid int) (uint64, error) {
	start, _, err := readProcStat(pid)
	return start, err
}

// readProcStat returns a process's start time and state letter.
func readProcStat(pid int) (startTime uint64, state byte, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
	text := string(data)
	end := strings.LastIndexByte(text, ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(text[end+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	startTime, err = strconv.ParseUint(fields[19], 10, 64)
	return startTime, fields[0][0], err
}
