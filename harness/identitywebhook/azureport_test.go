package identitywebhook

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freePort is a port nothing listens on right now (the claim only checks it).
func freePort(t *testing.T) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// Two claimants in one process take turns: the second waits for release.
func TestClaimPortInOneProcess(t *testing.T) {
	lockPath, port := filepath.Join(t.TempDir(), "port.lock"), freePort(t)
	release, err := claimPort(t.Context(), time.Second, port, lockPath)
	require.NoError(t, err)

	_, err = claimPort(t.Context(), 50*time.Millisecond, port, lockPath)
	assert.ErrorContains(t, err, "this process's other webhook", "held until released")

	claimed := make(chan error, 1)
	go func() {
		second, err := claimPort(t.Context(), 5*time.Second, port, lockPath)
		if err == nil {
			second()
		}
		claimed <- err
	}()
	time.Sleep(50 * time.Millisecond)
	release()
	release() // twice is harmless
	assert.NoError(t, <-claimed, "the waiting claimant gets the port once released")
}

// Another process holding the lock file makes this one wait; its exit,
// however it ends, gives the lock back.
func TestClaimPortAcrossProcesses(t *testing.T) {
	lockPath, port := filepath.Join(t.TempDir(), "port.lock"), freePort(t)
	holder := exec.Command(os.Args[0], "-test.run=^TestHelperHoldsPort$")
	holder.Env = append(os.Environ(), "HOLD_PORT_LOCK="+lockPath, fmt.Sprintf("HOLD_PORT=%d", port))
	stdin, err := holder.StdinPipe()
	require.NoError(t, err)
	stdout, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", line)

	_, err = claimPort(t.Context(), 300*time.Millisecond, port, lockPath)
	assert.ErrorContains(t, err, "another test cluster's webhook to free", "the other process holds it")

	stdin.Close() // the holder exits without releasing: its exit drops the flock
	require.NoError(t, holder.Wait())
	release, err := claimPort(t.Context(), 5*time.Second, port, lockPath)
	require.NoError(t, err)
	release()
}

// TestHelperHoldsPort is the other process of TestClaimPortAcrossProcesses.
func TestHelperHoldsPort(t *testing.T) {
	lockPath := os.Getenv("HOLD_PORT_LOCK")
	if lockPath == "" {
		t.Skip("the helper process of TestClaimPortAcrossProcesses, not a test of its own")
	}
	var port int
	fmt.Sscan(os.Getenv("HOLD_PORT"), &port)
	if _, err := claimPort(t.Context(), 5*time.Second, port, lockPath); err != nil {
		t.Fatal(err)
	}
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
}

// A taken port is refused with the way out, and the lock is given back.
func TestClaimPortTaken(t *testing.T) {
	listener, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	defer listener.Close()
	lockPath, port := filepath.Join(t.TempDir(), "port.lock"), listener.Addr().(*net.TCPAddr).Port
	_, err = claimPort(t.Context(), time.Second, port, lockPath)
	assert.ErrorContains(t, err, "make cluster-down")
	release, err := claimPort(t.Context(), 50*time.Millisecond, freePort(t), lockPath)
	require.NoError(t, err, "the failed claim released the lock")
	release()
}
