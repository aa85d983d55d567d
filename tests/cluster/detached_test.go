package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cluster"
)

// `go run ./cmd/cluster up|down`: a detached cluster runs in sessions of its
// own (so it outlives the command), a second start is refused while it runs,
// and StopDetached, given only the folder, leaves no process and no state.
func TestDetachedClusterStopsFromItsFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".cluster")
	opts := cluster.Options{Out: t.Output(), Local: cluster.LocalOptions{Dir: dir, Detached: true}}
	l, err := cluster.StartLocal(context.Background(), opts)
	require.NoError(t, err)
	pids := l.Pids()
	t.Cleanup(func() { _ = cluster.StopDetached(dir) })

	for name, pid := range pids {
		assert.Equal(t, pid, sessionID(t, pid), "%s leads its own session, away from the starter's terminal and signals", name)
	}
	assert.FileExists(t, filepath.Join(dir, "kubeconfig"))
	running, err := cluster.RunningDetached(dir)
	require.NoError(t, err)
	assert.True(t, running)
	_, err = cluster.StartLocal(context.Background(), opts)
	assert.ErrorContains(t, err, "already running", "a second start on the same folder is refused")

	require.NoError(t, cluster.StopDetached(dir))
	assertAllGone(t, pids)
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "StopDetached removes %s (stat: %v)", dir, err)
}

// sessionID is field 6 of /proc/<pid>/stat (after the parenthesised command name).
func sessionID(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	var state string
	var ppid, pgrp, session int
	_, err = fmt.Sscan(string(data[strings.LastIndexByte(string(data), ')')+1:]), &state, &ppid, &pgrp, &session)
	require.NoError(t, err)
	return session
}
