// Command runc-capfilter is an OCI runtime that runs runc after removing, from
// the container's capability sets, every capability this process's own
// bounding set lacks. On machines whose bounding set lacks CAP_SYS_RESOURCE
// (this project's CI machines), `docker run --privileged` (what kind does for
// its nodes) and privileged pods inside a kind node fail in runc with "unable
// to apply caps: operation not permitted"; a capability the machine cannot
// grant is one no container can hold anyway, so asking for less is exact.
// Without CAP_SYS_RESOURCE a process may not lower its oom_score_adj below
// its parent's either (the kubelet asks -998 for every pod sandbox of a
// system-node-critical pod), so a lower value in the spec is raised to this
// process's own, as containerd's restrict_oom_score_adj does for rootless
// nodes. Where the bounding set is full it changes nothing and only execs runc.
//
// dockerd registers it as its default runtime (--add-runtime/--default-runtime)
// and the kind node's containerd as runc's BinaryName:
//
//	runc-capfilter [runc flags] create --bundle DIR ID   # edits DIR/config.json
//	runc-capfilter [runc flags] run --bundle DIR ID      # likewise
//	runc-capfilter [runc flags] exec --process FILE ID   # edits FILE
//
// Every argument is passed to runc unchanged. RUNC_CAPFILTER_RUNC names the
// runc binary (by default the first "runc" on PATH that is not this program).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	runc, path, err := findRunc(os.Getenv("RUNC_CAPFILTER_RUNC"))
	if err != nil {
		fail(err)
	}
	missing, err := missingCapabilities("/proc/self/status")
	if err != nil {
		fail(err)
	}
	if len(missing) > 0 {
		if err := filterArgs(os.Args[1:], missing); err != nil {
			fail(err)
		}
	}
	fail(syscall.Exec(path, append([]string{runc}, os.Args[1:]...), os.Environ()))
}

// findRunc returns the runc to exec: the one named, or the first "runc" on
// PATH that is not this program (the kind node installs it as
// /usr/local/sbin/runc, before Debian's /usr/sbin/runc).
func findRunc(named string) (name, path string, err error) {
	if named != "" {
		path, err := exec.LookPath(named)
		return named, path, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", "", err
	}
	self, _ = filepath.EvalSymlinks(self)
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidate := filepath.Join(dir, "runc")
		resolved, err := filepath.EvalSymlinks(candidate)
		if err != nil || resolved == self {
			continue
		}
		if info, err := os.Stat(resolved); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return "runc", candidate, nil
		}
	}
	return "", "", fmt.Errorf("no runc on PATH other than this program (%s)", self)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "runc-capfilter:", err)
	os.Exit(1)
}

// filterArgs finds the spec the runc command line names (config.json in the
// bundle for create and run, the --process file for exec) and removes the
// missing capabilities from it.
func filterArgs(args []string, missing map[string]bool) error {
	sub, rest := subcommand(args)
	switch sub {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return filterFile(filepath.Join(bundle, "config.json"), missing, true)
	case "exec":
		if process := flagValue(rest, "--process", "-p"); process != "" {
			return filterFile(process, missing, false)
		}
	}
	return nil
}

// globalWithValue are runc's global flags that take a separate value.
var globalWithValue = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}

// subcommand returns runc's subcommand and the arguments after it.
func subcommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		if globalWithValue[a] {
			i++
		}
	}
	return "", nil
}

// flagValue returns the value of the first of names in args ("--x v" or "--x=v").
func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}

// filterFile rewrites an OCI spec (whole, or a process object) without the
// missing capabilities, keeping every other field as it was.
func filterFile(path string, missing map[string]bool, wholeSpec bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	process := doc
	if wholeSpec {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		process = p
	}
	changed := false
	if missing["CAP_SYS_RESOURCE"] {
		if adj, ok := process["oomScoreAdj"].(float64); ok {
			own, err := ownOOMScoreAdj()
			if err != nil {
				return err
			}
			if adj < float64(own) {
				process["oomScoreAdj"] = own
				changed = true
			}
		}
	}
	caps, _ := process["capabilities"].(map[string]any)
	for set, list := range caps {
		names, ok := list.([]any)
		if !ok {
			continue
		}
		kept := names[:0:0]
		for _, n := range names {
			if s, _ := n.(string); missing[s] {
				changed = true
				continue
			}
			kept = append(kept, n)
		}
		caps[set] = kept
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

func ownOOMScoreAdj() (int, error) {
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// capabilityNames are Linux's capabilities by number, as OCI specs name them.
var capabilityNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// missingCapabilities reads CapBnd from a /proc/<pid>/status file and returns
// the named capabilities it lacks.
func missingCapabilities(statusPath string) (map[string]bool, error) {
	data, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		hex, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		bound, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: CapBnd %q: %w", statusPath, hex, err)
		}
		missing := map[string]bool{}
		for bit, name := range capabilityNames {
			if bound&(1<<bit) == 0 {
				missing[name] = true
			}
		}
		return missing, nil
	}
	return nil, fmt.Errorf("%s has no CapBnd line", statusPath)
}
