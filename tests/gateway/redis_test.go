package gateway_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/testca"
)

// redisStandIn is the loopback stand-in for the Redis the chart names
// (services.redis or gateway.oauth2Proxy.redis): an in-memory store speaking
// enough RESP for oauth2-proxy's session store, which at startup SETs, GETs and
// DELs a health-check key and at /ready PINGs. HELLO is refused, so the go-redis
// client falls back to RESP2; AUTH and SELECT are accepted (their arguments are
// recorded). With a CA it serves TLS, for the chart's rediss:// URLs.
type redisStandIn struct {
	Addr     string
	listener net.Listener
	mu       sync.Mutex
	data     map[string]string
	commands []string // every command name, with AUTH's and SELECT's arguments
}

func startRedis(t *testing.T, ca *testca.CA) *redisStandIn {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if ca != nil {
		cert, err := ca.ServingCert()
		require.NoError(t, err)
		listener = tls.NewListener(listener, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	r := &redisStandIn{Addr: listener.Addr().String(), listener: listener, data: map[string]string{}}
	go r.serve()
	t.Cleanup(func() { listener.Close() })
	return r
}

func (r *redisStandIn) serve() {
	for {
		conn, err := r.listener.Accept()
		if err != nil {
			return
		}
		go r.handle(conn)
	}
}

func (r *redisStandIn) handle(conn net.Conn) {
	defer conn.Close()
	in := bufio.NewReader(conn)
	for {
		args, err := readCommand(in)
		if err != nil {
			return
		}
		if _, err := io.WriteString(conn, r.reply(args)); err != nil {
			return
		}
	}
}

func (r *redisStandIn) reply(args []string) string {
	if len(args) == 0 {
		return "-ERR empty command\r\n"
	}
	name := strings.ToUpper(args[0])
	r.mu.Lock()
	defer r.mu.Unlock()
	switch name {
	case "AUTH", "SELECT":
		r.commands = append(r.commands, strings.Join(append([]string{name}, args[1:]...), " "))
	default:
		r.commands = append(r.commands, name)
	}
	switch name {
	case "HELLO":
		return "-ERR unknown command 'HELLO'\r\n"
	case "PING":
		return "+PONG\r\n"
	case "SET":
		if len(args) < 3 {
			return "-ERR wrong number of arguments for 'set' command\r\n"
		}
		r.data[args[1]] = args[2]
		return "+OK\r\n"
	case "GET":
		if len(args) != 2 {
			return "-ERR wrong number of arguments for 'get' command\r\n"
		}
		value, ok := r.data[args[1]]
		if !ok {
			return "$-1\r\n"
		}
		return fmt.Sprintf("$%d\r\n%s\r\n", len(value), value)
	case "DEL":
		deleted := 0
		for _, key := range args[1:] {
			if _, ok := r.data[key]; ok {
				delete(r.data, key)
				deleted++
			}
		}
		return fmt.Sprintf(":%d\r\n", deleted)
	default: // AUTH, SELECT, CLIENT SETINFO, ...
		return "+OK\r\n"
	}
}

// Commands are the command names received so far (AUTH and SELECT with their arguments).
func (r *redisStandIn) Commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.commands...)
}

// readCommand reads one RESP array of bulk strings, as clients send commands.
func readCommand(in *bufio.Reader) ([]string, error) {
	line, err := readLine(in)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, errors.New("redis stand-in: inline commands are not supported")
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil {
		return nil, err
	}
	args := make([]string, 0, n)
	for range n {
		header, err := readLine(in)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(header, "$") {
			return nil, fmt.Errorf("redis stand-in: expected a bulk string, got %q", header)
		}
		size, err := strconv.Atoi(header[1:])
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(in, buf); err != nil {
			return nil, err
		}
		args = append(args, string(buf[:size]))
	}
	return args, nil
}

func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}
