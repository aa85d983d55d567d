package cluster

import (
	"errors"
	"fmt"
	"os"
)

// RunningDetached reports whether dir holds a cluster whose recorded
// processes all still run. A cluster with a dead component counts as not
// running, so the next start replaces it.
func RunningDetached(dir string) (bool, error) {
	if !isStateDir(dir) {
		return false, nil
	}
	records, err := readPidRecords(dir)
	if err != nil || len(records) == 0 {
		return false, err
	}
	for _, r := range records {
		if !r.alive() {
			return false, nil
		}
	}
	return true, nil
}

// StopDetached stops every process recorded in dir (by process group, whoever
// started it) and removes dir. A missing or empty dir is nothing to do; a
// folder that does not hold cluster state is refused, never deleted.
func StopDetached(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isStateDir(dir) {
		if len(entries) == 0 {
			return nil
		}
		return fmt.Errorf("%s holds files but no cluster state (no %q file): refusing to delete it; remove it yourself or pick another folder", dir, ownerFile)
	}
	return removeState(dir)
}
