package standin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// standinBinary builds cmd/osmo-standin once per test binary into a temporary
// folder and links it under the OSMO command names, as the image installs it.
func standinBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "osmo-standin-")
		if buildErr != nil {
			return
		}
		var goTool string
		if goTool, buildErr = exec.LookPath("go"); buildErr != nil {
			return
		}
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(binDir, "osmo-standin"), "./cmd/osmo-standin")
		cmd.Dir = project.MustRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/osmo-standin: %v\n%s", err, out)
			return
		}
		for _, name := range []string{"router", "worker", "progress_check", "service", "envoy"} {
			if buildErr = os.Symlink("osmo-standin", filepath.Join(binDir, name)); buildErr != nil {
				return
			}
		}
	})
	require.NoError(t, buildErr)
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// process is a started stand-in, killed with the test (context, cleanup, and
// the parent-death signal if the test binary itself dies).
type process struct {
	cmd    *exec.Cmd
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	done   chan error
}

// onHost is a rendered command line for a run on this machine: --log_dir
// (the pod's /logs emptyDir) becomes a folder of the test's own.
func onHost(t *testing.T, args []string) []string {
	out := slices.Clone(args)
	for i := range out {
		if out[i] == "--log_dir" && i+1 < len(out) && strings.HasPrefix(out[i+1], "/logs") {
			out[i+1] = filepath.Join(t.TempDir(), "logs")
		}
	}
	return out
}

func startProgram(t *testing.T, program string, args []string, env map[string]string) *process {
	t.Helper()
	args = onHost(t, args)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(standinBinary(t), program), args...)
	cmd.Env = envList(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: p.stdout}, &lockedWriter{w: p.stderr}
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func envList(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runProgram runs a stand-in to its end and returns its exit status and output.
func runProgram(t *testing.T, program string, args []string, env map[string]string) (int, string, string) {
	t.Helper()
	args = onHost(t, args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(standinBinary(t), program), args...)
	cmd.Env = envList(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stdout.String(), stderr.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (p *process) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit\nstderr: %s", p.cmd.Path, p.stderr)
		return -1
	}
}

// TestStandinBinaryRouter starts the built stand-in as `router` with the
// rendered router container's command line and environment (plus --host on a
// loopback port): it answers the chart's probe path with 200, logs what it
// parsed as one JSON line, and exits 0 on SIGTERM; a bad flag exits 2 with
// argparse's message.
func TestStandinBinaryRouter(t *testing.T) {
	t.Parallel()
	s := programIn(t, renderValues(t, "router", "services: {configFile: {enabled: true}, postgres: {password: pw}}\n"), "router")
	require.NoError(t, s.err)
	probe := s.c.ReadinessProbe
	require.NotNil(t, probe, "the router has a readiness probe")
	require.NotNil(t, probe.HTTPGet)

	// Bind loopback (the chart passes --mek_file, which the stand-in does not open).
	port := freePort(t)
	args := append(slices.Clone(s.args), "--host", fmt.Sprintf("http://127.0.0.1:%d", port))
	p := startProgram(t, "router", args, s.env)
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, probe.HTTPGet.Path)
	err := poll.Until(context.Background(), "the router stand-in answering "+url, 50*time.Millisecond, 20*time.Second, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("status %d", resp.StatusCode)
		}
		return true, nil
	})
	require.NoError(t, err, "stderr: %s", p.stderr)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/workflow", port))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the router serves only its own paths")

	var line struct {
		Program string
		Configs map[string]map[string]struct{ Value, Source string }
	}
	first, _ := bufio.NewReader(strings.NewReader(p.stdout.String())).ReadString('\n')
	require.NoError(t, json.Unmarshal([]byte(first), &line), "one JSON line: %q", first)
	assert.Equal(t, "router", line.Program)
	assert.Equal(t, "--postgres_host", line.Configs["RouterServiceConfig"]["postgres_host"].Source)
	assert.Equal(t, "<redacted>", line.Configs["RouterServiceConfig"]["postgres_password"].Value)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.waitExit(t), "SIGTERM ends it cleanly; stderr: %s", p.stderr)
	i := slices.Index(p.cmd.Args, "--log_dir")
	require.GreaterOrEqual(t, i, 0, "the chart passes --log_dir: %v", s.args)
	logs, err := filepath.Glob(filepath.Join(p.cmd.Args[i+1], "*_router_service.txt"))
	require.NoError(t, err)
	assert.Len(t, logs, 1, "init_logger's <timestamp>_<pid>_<log_name>.txt in --log_dir (the chart passes --log_name router_service)")

	// A --log_dir it cannot create stops it before anything else, as init_logger does.
	unwritable := slices.Clone(s.args)
	unwritable[slices.Index(unwritable, "--log_dir")+1] = "/dev/null/logs"
	code, _, stderr := runProgram(t, "router", unwritable, s.env)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "router: log_dir: mkdir /dev/null: not a directory")

	code, _, stderr = runProgram(t, "router", append(append([]string{}, s.args...), "--no_such_flag"), s.env)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: router [-h] [--config CONFIG]")
	assert.Contains(t, stderr, "router: error: unrecognized arguments: --no_such_flag")

	// NVIDIA's chart with services.configFile.enabled false passes --config <path> in place
	// of --mek_file; with nothing there the real router exits, so this chart refuses to
	// render that (tests/render/errors_test.go). The stand-in opens it as the router does.
	i = slices.Index(s.args, "--mek_file")
	require.GreaterOrEqual(t, i, 0, "the chart passes --mek_file: %v", s.args)
	nvidia := slices.Clone(s.args)
	nvidia[i] = "--config"
	code, _, stderr = runProgram(t, "router", nvidia, s.env)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "FileNotFoundError: [Errno 2] No such file or directory: '/opt/osmo/config.yaml'")

	delete(s.env, "OSMO_POSTGRES_PASSWORD")
	code, _, stderr = runProgram(t, "router", s.args, s.env)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "ERROR: No value provided for config postgres_password via any of the following methods:")
}

// TestStandinBinaryProgressCheck starts the stand-in as the service chart's
// worker with its rendered command line, the progress file moved by the
// environment variable both programs honour (OSMO_PROGRESS_FILE), and runs the
// worker's own liveness probe command: fresh progress passes; once the worker
// has stopped and the interval is short, it fails with OSMO's message.
func TestStandinBinaryProgressCheck(t *testing.T) {
	t.Parallel()
	s := programIn(t, renderValues(t, "service", noIdP+"services: {postgres: {password: pw}}\n"), "worker")
	require.NoError(t, s.err)
	file := filepath.Join(t.TempDir(), "last_progress")
	s.env["OSMO_PROGRESS_FILE"] = file
	s.env["METRICS_PROMETHEUS_PORT"] = strconv.Itoa(freePort(t))
	probe := s.c.LivenessProbe.Exec.Command
	require.Equal(t, "progress_check", probe[0])

	code, _, _ := runProgram(t, probe[0], probe[1:], s.env)
	assert.Equal(t, 1, code, "no progress file yet")

	p := startProgram(t, "worker", s.args, s.env)
	require.NoError(t, poll.Until(context.Background(), "the worker's progress file", 50*time.Millisecond, 20*time.Second, func(ctx context.Context) (bool, error) {
		_, err := os.Stat(file)
		return err == nil, err
	}), "stderr: %s", p.stderr)
	code, out, _ := runProgram(t, probe[0], probe[1:], s.env)
	assert.Equal(t, 0, code, out)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.waitExit(t))
	time.Sleep(20 * time.Millisecond)
	code, out, _ = runProgram(t, "progress_check", []string{"--progress_interval", "0.01"}, s.env)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "Last progress for "+file+" was ")
	code, out, _ = runProgram(t, "progress_check", []string{"--progress_interval", "300:300"}, s.env)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "Must provide same number of intervals and files!")
}
