package cluster

import (
	"net"
	"sync"
)

var (
	portsMu sync.Mutex
	// portsGiven remembers ports handed out in this process: the kernel may
	// offer a just-closed port again, and two clusters starting side by side
	// must not both take it.
	portsGiven = map[int]bool{}
)

// FreeLoopbackPorts returns n distinct ports that were free on 127.0.0.1,
// never one this process handed out before (for host processes added with StartProcess).
func FreeLoopbackPorts(n int) ([]int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l) // held open so the next Listen gets another port
		port := l.Addr().(*net.TCPAddr).Port
		if portsGiven[port] {
			continue
		}
		portsGiven[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}
