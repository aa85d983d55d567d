package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stopGrace is how long a process gets between SIGTERM and SIGKILL. The data
// is thrown away, so there is nothing to flush that is worth the wait (an
// API server with open watches takes about a minute to stop on SIGTERM).
const stopGrace = 2 * time.Second

// processSpec says how to run one host process.
type processSpec struct {
	name string
	path string
	args []string
	env  []string // nil inherits the caller's environment
	// detached processes outlive their starter (make cluster-up); the others
	// die with it, whatever way it dies.
	detached bool
}

// process is one running host process whose output goes to a log file.
type process struct {
	name    string
	pid     int
	logPath string
	exited  chan struct{}
	exitErr error // valid once exited is closed
}

// startProcess runs spec with its output in dir/logs/<name>.log and records
// its pid in dir/pids/<name>.pid so a later run can find it.
func startProcess(dir string, spec processSpec) (*process, error) {
	logPath := filepath.Join(dir, "logs", spec.name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(spec.path, spec.args...)
	cmd.Env = spec.env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(spec.detached)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", spec.name, spec.path, err)
	}
	p := &process{name: spec.name, pid: cmd.Process.Pid, logPath: logPath, exited: make(chan struct{})}
	// Reap in the background so exits are noticed at once (and no zombie stays).
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := writePidFile(dir, spec.name, p.pid); err != nil {
		p.kill()
		<-p.exited
		return nil, err
	}
	return p, nil
}

// sysProcAttr puts every process in its own process group, so stopping it
// also stops anything it forked. Attached processes get SIGKILL when their
// starter dies (panic, timeout, SIGKILL): that is the no-leak guarantee.
// Pdeathsig follows the starting OS thread; Go keeps threads alive unless
// they are locked, and nothing here locks them.
func sysProcAttr(detached bool) *syscall.SysProcAttr {
	if detached {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signalGroup signals the whole group, but only while the leader is unreaped,
// so a recycled pid can never be hit.
func (p *process) signalGroup(sig syscall.Signal) {
	if p.running() {
		_ = syscall.Kill(-p.pid, sig)
	}
}

func (p *process) kill() { p.signalGroup(syscall.SIGKILL) }

// exitError describes an unexpected exit, with the end of the log.
func (p *process) exitError() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", p.name, p.exitErr, p.logPath, tailFile(p.logPath, 20))
}

// graceWithin is grace, shortened to what is left of ctx: a caller in a hurry
// gets its processes killed sooner, never left running.
func graceWithin(ctx context.Context, grace time.Duration) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	if deadline, ok := ctx.Deadline(); ok {
		return max(0, min(grace, time.Until(deadline)))
	}
	return grace
}

// stopProcesses sends SIGTERM to all, waits out the grace period, then SIGKILLs
// what is left and waits until every process is reaped.
func stopProcesses(procs []*process, grace time.Duration) error {
	for _, p := range procs {
		p.signalGroup(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-time.After(time.Until(deadline)):
		}
	}
	var errs []error
	for _, p := range procs {
		p.kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.pid))
		}
	}
	return errors.Join(errs...)
}
