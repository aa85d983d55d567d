package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The port locks keep this package's clusters apart, but a program that
// binds a port without asking can still take one between allocation and
// bind. The start must notice (the component's log says "address already in
// use"), stop everything of that try and start again on fresh ports.
func TestStartSurvivesATakenPort(t *testing.T) {
	for _, tc := range []struct {
		name      string
		index     int // into the ports bootstrap asks for
		component string
	}{
		{"etcd client port", 0, "etcd"},
		{"API server port", 2, "kube-apiserver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer taken.Close()
			port := taken.Addr().(*net.TCPAddr).Port
			calls := 0
			takePorts := func(n int) ([]int, error) {
				calls++
				ports, err := FreeLoopbackPorts(n)
				if err == nil && calls == 1 {
					ports[tc.index] = port // as if taken right after allocation
				}
				return ports, err
			}
			var out bytes.Buffer
			opts := Options{Out: io.MultiWriter(&out, t.Output()), Local: LocalOptions{takePorts: takePorts}}
			l, err := StartLocal(context.Background(), opts)
			require.NoError(t, err)
			defer l.Stop(context.Background())

			assert.Equal(t, 2, calls, "one retry")
			assert.Contains(t, out.String(), fmt.Sprintf("%s: listen tcp 127.0.0.1:%d: bind: address already in use", tc.component, port))
			assert.NotEqual(t, "https://127.0.0.1:"+strconv.Itoa(port), l.Server())
			assert.ElementsMatch(t, pidList(l.Pids()), children(t), "the only processes left are the running cluster's: the failed start stopped its own")
			require.NoError(t, l.Stop(context.Background()))
			assert.Eventually(t, func() bool { return len(children(t)) == 0 }, 5*time.Second, 50*time.Millisecond, "processes outlived Stop: %v", children(t))
		})
	}
}

// A collision on every try gives up after startAttempts, leaving nothing.
func TestStartGivesUpOnAPortAlwaysTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	takePorts := func(n int) ([]int, error) {
		calls++
		ports, err := FreeLoopbackPorts(n)
		if err == nil {
			ports[0] = port
		}
		return ports, err
	}
	before := stateDirs(t)
	_, err = StartLocal(context.Background(), Options{Out: t.Output(), Local: LocalOptions{takePorts: takePorts}})
	require.ErrorContains(t, err, "address already in use")
	assert.Equal(t, startAttempts, calls)
	assert.Empty(t, children(t), "a failed start leaves no process")
	assert.Equal(t, before, stateDirs(t), "a failed start leaves no state folder")
}

// children lists the live (not zombie) processes whose parent is this one.
func children(t *testing.T) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	var pids []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // it ended meanwhile
		}
		text := string(data)
		fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
		if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

func pidList(pids map[string]int) []int {
	var list []int
	for _, pid := range pids {
		list = append(list, pid)
	}
	return list
}

// stateDirs lists this process's state folders in os.TempDir().
func stateDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", tempDirPrefix, os.Getpid())))
	require.NoError(t, err)
	return dirs
}

// Stop's grace never outlasts the caller's context.
func TestGraceWithinHonoursTheContext(t *testing.T) {
	assert.Equal(t, 2*time.Second, graceWithin(context.Background(), 2*time.Second), "no deadline: the full grace")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	assert.LessOrEqual(t, graceWithin(ctx, 2*time.Second), 500*time.Millisecond, "a nearer deadline shortens it")
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	assert.Zero(t, graceWithin(done, 2*time.Second), "an ended context: no grace, kill at once")
}

// StartLocal is the local provider only; another provider is refused, not ignored.
func TestStartLocalRefusesAnotherProvider(t *testing.T) {
	_, err := StartLocal(context.Background(), Options{Provider: ProviderKind})
	assert.ErrorContains(t, err, `Options.Provider is "kind"`)
}
