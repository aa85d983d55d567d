package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/osmo-wi/charts/harness/poll"
)

// Process is one process of an owned engine.
type Process struct {
	Pid       int
	StartTime uint64 // clock ticks since boot: a recycled pid is not this process
	Command   string
}

func (p Process) String() string { return fmt.Sprintf("%s (pid %d)", p.Command, p.Pid) }

// engineProgram are the programs that name the engine's folders in their
// arguments: dockerd (--data-root), its containerd (--config in the exec
// root) and containerd's shims (-address in the exec root).
var engineProgram = map[string]bool{
	"dockerd": true, "containerd": true, "containerd-shim-runc-v2": true, "containerd-shim": true,
}

// Processes lists the processes of the owned engine in dir (an Options.Dir,
// "" for DefaultDir): dockerd, its containerd and shims, found by the
// engine's folders in their arguments, and all their descendants (the
// containers' processes, docker-proxy). The shims leave dockerd's process
// group and tree, so the group alone would miss them.
func Processes(dir string) ([]Process, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return newLayout(dir).processes()
}

type procEntry struct {
	Process
	ppid  int
	state byte
	argv  []string
}

func (l layout) processes() ([]Process, error) {
	all, children, err := processTable()
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for pid, p := range all {
		if l.isEngineRoot(p.argv) {
			walkTree(pid, children, seen)
		}
	}
	return listed(all, seen), nil
}

// Descendants lists the process root and every live process below it, as
// the host's /proc shows them (a container's init and everything it runs).
func Descendants(root int) ([]Process, error) {
	all, children, err := processTable()
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	walkTree(root, children, seen)
	return listed(all, seen), nil
}

// processTable reads every live process and who its children are.
func processTable() (map[int]procEntry, map[int][]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil, err
	}
	all := map[int]procEntry{}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readProc(pid)
		if !ok || p.state == 'Z' || p.state == 'X' {
			continue
		}
		all[pid] = p
		children[p.ppid] = append(children[p.ppid], pid)
	}
	return all, children, nil
}

// walkTree marks pid and everything below it.
func walkTree(pid int, children map[int][]int, seen map[int]bool) {
	if seen[pid] {
		return
	}
	seen[pid] = true
	for _, child := range children[pid] {
		walkTree(child, children, seen)
	}
}

// listed is the processes of all that seen marks, by pid.
func listed(all map[int]procEntry, seen map[int]bool) []Process {
	var out []Process
	for pid := range seen {
		if p, ok := all[pid]; ok {
			out = append(out, p.Process)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// isEngineRoot: an engine program whose arguments name this engine's folders.
func (l layout) isEngineRoot(argv []string) bool {
	if len(argv) == 0 || !engineProgram[filepath.Base(argv[0])] {
		return false
	}
	for _, arg := range argv[1:] {
		for _, folder := range []string{l.dir, l.execRoot} {
			if arg == folder || strings.Contains(arg, folder+"/") {
				return true
			}
		}
	}
	return false
}

func readProc(pid int) (procEntry, bool) {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 {
		return procEntry{}, false // gone, or a kernel thread
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procEntry{}, false
	}
	p := procEntry{argv: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
	// The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return procEntry{}, false
	}
	fields := strings.Fields(string(stat[end+1:]))
	// fields[0] is field 3 (state), fields[1] field 4 (ppid), fields[19] field 22 (starttime).
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procEntry{}, false
	}
	p.state = fields[0][0]
	p.ppid, _ = strconv.Atoi(fields[1])
	p.StartTime, _ = strconv.ParseUint(fields[19], 10, 64)
	p.Pid = pid
	p.Command = filepath.Base(p.argv[0])
	return p, true
}

// Alive reports whether the process still runs (a zombie has ended).
func (p Process) Alive() bool {
	now, ok := readProc(p.Pid)
	return ok && now.StartTime == p.StartTime && now.state != 'Z' && now.state != 'X'
}

// killAll SIGKILLs every process listed that still is the one listed.
func killAll(procs []Process) {
	for _, p := range procs {
		if p.Alive() {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
	}
}

// waitGone waits until none of procs is alive or timeout passes (ctx only
// shortens the wait), and returns those still alive.
func waitGone(ctx context.Context, procs []Process, timeout time.Duration) []Process {
	var left []Process
	gone := func(context.Context) (bool, error) {
		left = left[:0]
		for _, p := range procs {
			if p.Alive() {
				left = append(left, p)
			}
		}
		return len(left) == 0, nil
	}
	_ = poll.Until(ctx, "the engine's processes to exit", 100*time.Millisecond, timeout, gone)
	return left
}
