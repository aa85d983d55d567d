package cluster

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two allocators stand for two processes: flock locks belong to the open
// file, so they exclude each other within one process too.
func TestAllocatorsNeverShareABlock(t *testing.T) {
	a, b := newTestAllocator(t), newTestAllocator(t)
	fromA, err := a.take(portBlockSize + 1) // spills into a second block
	require.NoError(t, err)
	fromB, err := b.take(portBlockSize)
	require.NoError(t, err)

	low, high := ephemeralPortRange()
	seen := map[int]bool{}
	for _, port := range append(fromA, fromB...) {
		assert.False(t, seen[port], "port %d handed out twice", port)
		seen[port] = true
		assert.Falsef(t, port >= low && port <= high, "port %d is in the ephemeral range %d-%d", port, low, high)
	}
	blocksOfA := map[int]bool{}
	for _, port := range fromA {
		blocksOfA[blockOf(a, port)] = true
	}
	for _, port := range fromB {
		assert.False(t, blocksOfA[blockOf(b, port)], "b hands out port %d from a block a holds", port)
	}
	assert.Len(t, a.held, 2)
}

// A port something else listens on (a detached cluster, any server) is
// skipped, not handed out.
func TestAllocatorSkipsABoundPort(t *testing.T) {
	a := newTestAllocator(t)
	first, err := a.take(1)
	require.NoError(t, err)
	taken, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(first[0]+1))
	if err != nil {
		t.Skipf("port %d is in use already: %v", first[0]+1, err)
	}
	defer taken.Close()
	next, err := a.take(1)
	require.NoError(t, err)
	assert.Equal(t, first[0]+2, next[0], "port %d is bound, so the allocator goes on to the next", first[0]+1)
}

// newTestAllocator is an allocator of its own (not the process's), whose
// blocks are released when the test ends.
func newTestAllocator(t *testing.T) *portAllocator {
	a := &portAllocator{}
	t.Cleanup(func() {
		for _, f := range a.held {
			f.Close()
		}
	})
	return a
}

func blockOf(a *portAllocator, port int) int {
	return a.first + (port-a.first)/portBlockSize*portBlockSize
}
