package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// tempDirPrefix starts every run's state folder in os.TempDir(); the owner's
// pid follows, so a later run can tell whose it was.
const tempDirPrefix = "osmo-cluster-"

// ownerFile marks a folder as a cluster state folder and records who made it.
const ownerFile = "owner"

// newTempStateDir first removes the state of runs that died without
// stopping (SIGKILL, crash), then makes this run's folder. A failed sweep is
// reported, not fatal: old litter must not stop today's tests.
func newTempStateDir(out io.Writer) (string, error) {
	if _, err := SweepStale(); err != nil {
		fmt.Fprintf(out, "cluster: warning: could not remove stale state: %v\n", err)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", tempDirPrefix, os.Getpid()))
	if err != nil {
		return "", err
	}
	return dir, initStateDir(dir)
}

// initStateDir lays out a state folder and writes its owner record.
func initStateDir(dir string) error {
	for _, sub := range []string{"logs", "pids", "pki"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	start, err := processStartTime(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %d\n", os.Getpid(), start), 0o644)
}

func isStateDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ownerFile))
	return err == nil
}

// SweepStale removes the state folders in os.TempDir() whose owner process is
// gone, stopping whatever they recorded as still running, and returns them.
// Start calls it; it never touches a folder whose owner lives.
func SweepStale() ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	if err != nil {
		return nil, err
	}
	var swept []string
	var errs []error
	for _, dir := range matches {
		if ownerAlive(dir) {
			continue
		}
		if err := removeState(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		swept = append(swept, dir)
	}
	return swept, errors.Join(errs...)
}

// ownerAlive trusts the owner record (pid + start time); without one it falls
// back to the pid in the folder's name.
func ownerAlive(dir string) bool {
	if record, err := readPidRecord(filepath.Join(dir, ownerFile)); err == nil {
		return record.alive()
	}
	rest := strings.TrimPrefix(filepath.Base(dir), tempDirPrefix)
	pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
	if err != nil {
		return true // not named by us: leave it alone
	}
	return syscall.Kill(pid, 0) == nil
}

// removeState stops every process recorded in a state folder, deletes a kind
// cluster it recorded, and removes the folder.
func removeState(dir string) error {
	records, err := readPidRecords(dir)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", dir, err)
	}
	if err := killRecorded(records, stopGrace); err != nil {
		return fmt.Errorf("sweep %s: %w", dir, err)
	}
	if err := deleteRecordedKindCluster(dir); err != nil {
		return fmt.Errorf("sweep %s: %w", dir, err)
	}
	return os.RemoveAll(dir)
}
