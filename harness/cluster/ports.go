package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Why ports come from locked blocks: a port found free by listening on
// 127.0.0.1:0 and closing again is free only until someone else binds it,
// and the child process we give it to binds it a moment later. Test packages
// run side by side (go test -p 2), each starting a cluster the same way, so
// the other package's etcd did take ours. Retrying after a bind failure
// alone would not make that safe: with the other cluster's etcd on our
// etcd's port, our API server talks to theirs until our etcd's exit is
// noticed. So every process that hands out ports with this package first
// takes an flock on a block of ports (one lock file per block, see
// lockPortBlock) and hands out only ports of blocks it holds: two such
// processes never hand out the same port. The kernel drops the lock when
// its holder dies, however it dies, so no stale lock ever blocks a port and
// nothing needs cleaning up. A block stays held for the life of the process
// (processes are short, blocks plentiful), so a port stays reserved while
// any cluster that could use it lives; a detached cluster outlives its
// starter's lock, but its ports are bound by then and the trial bind
// (loopbackFree) skips them.
//
// The blocks lie outside the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range): the kernel takes ports from it
// for every outgoing connection and every listener on port 0 (httptest
// servers, kind's API port), and those take no lock. What the locks cannot
// stop, a program binding a fixed port inside a block, startLocal survives:
// it sees the bind failure in the component's log and starts again on fresh
// ports.

// portBlockSize is how many ports one lock covers: a cluster takes three, its
// identity webhooks three more, so one block serves a test binary's clusters.
const portBlockSize = 32

// minPortRange is the fewest ports worth taking blocks from, in a gap beside
// the ephemeral range (16 blocks: 16 test binaries at once).
const minPortRange = 16 * portBlockSize

// portAllocator hands out ports from the blocks it holds, in order, each once.
type portAllocator struct {
	mu          sync.Mutex
	first, last int        // the range blocks are taken from; 0 until the first block
	held        []*os.File // the locked lock files, open until the process exits
	nextBlock   int        // start of the block to try next
	next, end   int        // ports left in the newest block: [next, end)
}

// loopbackPorts serves every cluster and host process of this process.
var loopbackPorts portAllocator

// FreeLoopbackPorts returns n distinct ports that are free on 127.0.0.1, for
// host processes (components, webhooks added with StartProcess): never one
// this process handed out before, nor one another process using this
// package may hand out, nor one of the kernel's ephemeral range.
func FreeLoopbackPorts(n int) ([]int, error) { return loopbackPorts.take(n) }

func (a *portAllocator) take(n int) ([]int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ports []int
	for len(ports) < n {
		port, err := a.nextPort()
		if err != nil {
			return nil, err
		}
		if loopbackFree(port) { // a detached cluster or any server may hold it
			ports = append(ports, port)
		}
	}
	return ports, nil
}

func (a *portAllocator) nextPort() (int, error) {
	if a.next == a.end {
		if err := a.lockBlock(); err != nil {
			return 0, err
		}
	}
	a.next++
	return a.next - 1, nil
}

// lockBlock takes the first block after the last one held that no other
// process holds.
func (a *portAllocator) lockBlock() error {
	if a.first == 0 {
		a.first, a.last = portRange()
		a.nextBlock = a.first
	}
	var lastErr error
	for ; a.nextBlock+portBlockSize-1 <= a.last; a.nextBlock += portBlockSize {
		f, err := lockPortBlock(a.nextBlock)
		if err != nil {
			lastErr = err // another process holds it, or its lock file is not ours to open
			continue
		}
		a.held = append(a.held, f)
		a.next, a.end = a.nextBlock, a.nextBlock+portBlockSize
		a.nextBlock += portBlockSize
		return nil
	}
	return fmt.Errorf("no block of %d loopback ports left in %d-%d that this process could lock (lock files like %s; last error: %v)",
		portBlockSize, a.first, a.last, portLockPath(a.first), lastErr)
}

// lockPortBlock takes the block's lock without waiting. The lock files are
// shared by all users (ports are machine-wide): opened read-only, which
// flock allows, so a file another user made still serves. One we cannot
// open (another user's umask) counts as held. The files stay when unlocked:
// removing one while held would let a second holder in on a new file.
func lockPortBlock(first int) (*os.File, error) {
	path := portLockPath(first)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil // Go opens it close-on-exec: children never inherit the lock
}

func portLockPath(first int) string {
	return filepath.Join(os.TempDir(), "osmo-loopback-ports-"+strconv.Itoa(first)+".lock")
}

// loopbackFree tries to bind the port; Go's listeners (and so etcd's and the
// API server's) set SO_REUSEADDR, so a port in TIME_WAIT counts as free, as
// it is for them.
func loopbackFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// portRange is where blocks are taken from: the ports above the ephemeral
// range if there are enough (Linux's default 32768-60999 leaves 61000-65535),
// else those below it. With no gap big enough, the whole range: the locks
// still keep clusters apart, and the retry covers outgoing connections.
func portRange() (first, last int) {
	low, high := ephemeralPortRange()
	switch {
	case 65535-high >= minPortRange:
		return high + 1, 65535
	case low-1024 >= minPortRange:
		return 1024, low - 1
	default:
		return 1024, 65535
	}
}

// ephemeralPortRange reads the kernel's range for ports it picks itself; if
// it cannot, it assumes Linux's default.
func ephemeralPortRange() (low, high int) {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if _, err := fmt.Sscan(string(data), &low, &high); err == nil && low > 0 && low <= high {
			return low, high
		}
	}
	return 32768, 60999
}
