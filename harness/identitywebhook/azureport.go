package identitywebhook

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/poll"
)

// azureProcess names the Azure webhook among the cluster's processes.
const azureProcess = "azure-wi-webhook"

// claimAzurePort claims :9443 for one Azure webhook: one at a time in this
// process and across this user's processes (test packages running side by
// side take turns), held until release, which the caller runs once the
// webhook has exited.
func claimAzurePort(ctx context.Context, wait time.Duration) (release func(), err error) {
	path, err := userLockPath(fmt.Sprintf("azure-wi-webhook-%d.lock", AzurePort))
	if err != nil {
		return nil, err
	}
	return claimPort(ctx, wait, AzurePort, path)
}

// claimPort waits (at most wait) for this process's slot for lockPath and
// an exclusive flock on it, then checks port is free (a detached `make
// cluster-up` holds the port after its starter, and so the lock, is gone).
func claimPort(ctx context.Context, wait time.Duration, port int, lockPath string) (release func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	slot := processSlot(lockPath)
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waited %s for this process's other webhook to free :%d: %w", wait, port, ctx.Err())
	}
	lock, err := flockFile(ctx, lockPath, port)
	if err != nil {
		<-slot
		return nil, err
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			lock.Close() // closing the descriptor drops the flock
			<-slot
		})
	}
	listener, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		release()
		return nil, fmt.Errorf(":%d is taken (the Azure webhook always listens there): is a cluster from `make cluster-up` running? `make cluster-down` stops it: %w", port, err)
	}
	return release, listener.Close()
}

// processSlots hold one slot per lock file: a flock is per open file, so it
// would also serialize this process's claimants, but a slot lets them wait
// on a channel (and honour ctx) instead of polling the file.
var processSlots sync.Map // lock path -> chan struct{} with room for one

func processSlot(lockPath string) chan struct{} {
	slot, _ := processSlots.LoadOrStore(lockPath, make(chan struct{}, 1))
	return slot.(chan struct{})
}

// flockFile takes an exclusive flock on path, polling until ctx ends (a
// blocking flock could not honour it). The lock lives as long as the
// returned file is open, and never past this process.
func flockFile(ctx context.Context, path string, port int) (*os.File, error) {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("the webhook port lock: %w", err)
	}
	err = poll.Until(ctx, fmt.Sprintf("another test cluster's webhook to free :%d (lock %s)", port, path), 200*time.Millisecond, 0,
		func(context.Context) (bool, error) {
			err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == syscall.EWOULDBLOCK {
				return false, poll.NotYet("held by another process")
			}
			return err == nil, poll.Stop(err)
		})
	if err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

// userLockPath is a lock file of this user's (a file another user created
// could not be opened); users sharing a machine still meet at the port check.
func userLockPath(name string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "osmo-charts")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("the webhook port lock: %w", err)
	}
	return filepath.Join(dir, name), nil
}

// releaseWhenExited calls release once the cluster's process name has exited
// and been reaped: the cluster's Stop ends it, as does a failed start's
// rollback or a crash. A detached cluster's webhook outlives this process,
// whose exit drops the lock; the port check then catches it.
func releaseWhenExited(l *cluster.Local, name string, release func()) {
	defer release()
	pid, ok := l.Pids()[name]
	if !ok {
		return
	}
	_ = poll.Until(context.Background(), name+" to exit", 200*time.Millisecond, 0, func(context.Context) (bool, error) {
		return syscall.Kill(pid, 0) != nil, nil // ESRCH once reaped
	})
}
