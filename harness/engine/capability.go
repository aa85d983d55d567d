package engine

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capSysResource is CAP_SYS_RESOURCE's bit in the capability sets.
const capSysResource = 24

// boundingSetLacks reports whether the CapBnd line of a /proc/<pid>/status
// text lacks capability bit.
func boundingSetLacks(status string, bit uint) (bool, error) {
	scanner := bufio.NewScanner(strings.NewReader(status))
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "CapBnd:")
		if !ok {
			continue
		}
		set, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		if err != nil {
			return false, fmt.Errorf("CapBnd %q is not a hexadecimal capability set", strings.TrimSpace(value))
		}
		return set&(1<<bit) == 0, nil
	}
	return false, fmt.Errorf("no CapBnd line")
}

// lacksCapSysResource reads this process's bounding set. Where it lacks
// CAP_SYS_RESOURCE, runc fails on every --privileged container ("unable to
// apply caps: operation not permitted"), so the daemon runs the runtime
// wrapper that asks for no more than the machine can grant.
func lacksCapSysResource() (bool, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err
	}
	lacks, err := boundingSetLacks(string(data), capSysResource)
	if err != nil {
		return false, fmt.Errorf("/proc/self/status: %w", err)
	}
	return lacks, nil
}
