package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
)

// runWget runs the stand-in as `wget ARGS...` (argv[0] as the image's link
// gives it) and returns its exit status, stdout and stderr.
func runWget(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"/bin/wget"}, args...), env, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// requests is a test server's log of what it was asked.
type requests struct {
	mu   sync.Mutex
	list []*http.Request
}

func (r *requests) add(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, req)
}

func (r *requests) all() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request{}, r.list...)
}

// versionServer answers /api/version (and every path) with body, logging requests.
func versionServer(t *testing.T, body string) (*httptest.Server, *requests) {
	t.Helper()
	log := &requests{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

// TestWgetChartsTestLines runs every wget line of the charts' helm test pods
// (both ci values files of each chart) with the stand-in against a server in
// place of the release's Service: each exits 0 and sends busybox's request.
// When a chart's test starts using an option the stand-in lacks, this fails.
func TestWgetChartsTestLines(t *testing.T) {
	srv, log := versionServer(t, `{"major":6}`)
	host := strings.TrimPrefix(srv.URL, "http://")
	lines := 0
	for _, chart := range []string{"router", "service", "web-ui", "backend-operator"} {
		files, err := filepath.Glob(project.Path("charts", chart, "ci", "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, files, chart)
		for _, file := range files {
			r, err := render.RenderFiles(chart, render.Release{Name: "osmo", Namespace: "osmo"}, file)
			require.NoError(t, err, file)
			for _, pod := range render.Objects[*corev1.Pod](r) {
				if pod.Annotations["helm.sh/hook"] != "test" {
					continue
				}
				for _, c := range pod.Spec.Containers {
					require.Equal(t, []string{"sh", "-ec"}, c.Command, "%s: %s", file, pod.Name)
					for _, line := range strings.Split(strings.Join(c.Args, "\n"), "\n") {
						fields := strings.Fields(line)
						if len(fields) == 0 || fields[0] != "wget" {
							continue
						}
						lines++
						args := fields[1:]
						u, err := url.Parse(args[len(args)-1])
						require.NoError(t, err, line)
						require.Equal(t, "http", u.Scheme, "%s: the stand-in fetches http:// only: %s", file, line)
						path := u.Path
						u.Host = host
						args[len(args)-1] = u.String()
						before := len(log.all())
						code, stdout, stderr := runWget(t, nil, args...)
						assert.Equal(t, 0, code, "%s: %s\nstderr: %s", file, line, stderr)
						assert.Empty(t, stdout+stderr, "%s: %s", file, line)
						got := log.all()
						if assert.Len(t, got, before+1, line) {
							req := got[before]
							assert.Equal(t, http.MethodGet, req.Method)
							assert.Equal(t, path, req.URL.Path)
							assert.Equal(t, host, req.Host)
							assert.Equal(t, "Wget", req.UserAgent())
							assert.True(t, req.Close, "Connection: close")
							assert.Empty(t, req.Header.Get("Accept-Encoding"))
						}
					}
				}
			}
		}
	}
	t.Logf("%d wget lines in the charts' helm tests", lines)
	assert.GreaterOrEqual(t, lines, 6, "router, service and web-ui test over HTTP with both values files")
}

func TestWgetOutputStdout(t *testing.T) {
	srv, _ := versionServer(t, "hello\n")
	for _, args := range [][]string{
		{"-q", "-O", "-", srv.URL + "/api/version"},
		{"-qO-", srv.URL + "/api/version"},
		{srv.URL + "/api/version", "-q", "-O", "-"},    // getopt permutes
		{"-q", "-O-", "-T", "5", "--", srv.URL + "/x"}, // "--" ends the options
	} {
		code, stdout, stderr := runWget(t, nil, args...)
		assert.Equal(t, 0, code, "%v: %s", args, stderr)
		assert.Equal(t, "hello\n", stdout, "%v", args)
		assert.Empty(t, stderr, "%v", args)
	}
	// Several URLs: one after the other into the same output.
	code, stdout, _ := runWget(t, nil, "-q", "-O", "-", srv.URL+"/a", srv.URL+"/b")
	assert.Equal(t, 0, code)
	assert.Equal(t, "hello\nhello\n", stdout)
}

func TestWgetOutputFile(t *testing.T) {
	body := "a long first body\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.json")
	code, stdout, stderr := runWget(t, nil, "-q", "-O", out, "-T", "10", srv.URL+"/api/version")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout+stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, body, string(data))

	body = "short\n" // -O FILE overwrites (truncates) an existing file
	code, _, stderr = runWget(t, nil, "-q", "-O", out, srv.URL+"/api/version")
	require.Equal(t, 0, code, stderr)
	data, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "short\n", string(data))

	code, _, stderr = runWget(t, nil, "-q", "-O", filepath.Join(t.TempDir(), "missing", "f"), srv.URL+"/")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^wget: can't open '.*/missing/f': No such file or directory\n$`, stderr)
}

// Without -O, busybox saves under the URL's last path component (index.html
// when it has none) and will not overwrite a file.
func TestWgetDefaultFileName(t *testing.T) {
	srv, _ := versionServer(t, "v\n")
	t.Chdir(t.TempDir())
	code, _, stderr := runWget(t, nil, "-q", srv.URL+"/api/version")
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile("version")
	require.NoError(t, err)
	assert.Equal(t, "v\n", string(data))

	code, _, stderr = runWget(t, nil, "-q", srv.URL+"/api/version")
	assert.Equal(t, 1, code)
	assert.Equal(t, "wget: can't open 'version': File exists\n", stderr)

	for _, u := range []string{srv.URL, srv.URL + "/", srv.URL + "/api/"} {
		require.NoError(t, os.RemoveAll("index.html"))
		code, _, stderr = runWget(t, nil, "-q", u)
		require.Equal(t, 0, code, "%s: %s", u, stderr)
		assert.FileExists(t, "index.html", u)
	}
}

// Without -q, busybox says where it connects and where it writes (its
// progress bar is not drawn).
func TestWgetNotQuiet(t *testing.T) {
	srv, _ := versionServer(t, "v\n")
	host := strings.TrimPrefix(srv.URL, "http://")
	code, stdout, stderr := runWget(t, nil, "-O", "-", srv.URL+"/api/version")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "v\n", stdout)
	assert.Equal(t, fmt.Sprintf("Connecting to %s (%s)\nwriting to stdout\nwritten to stdout\n", host, host), stderr)

	out := filepath.Join(t.TempDir(), "v.txt")
	code, _, stderr = runWget(t, nil, "-O", out, srv.URL+"/api/version")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, fmt.Sprintf("Connecting to %s (%s)\nsaving to '%s'\n'%s' saved\n", host, host, out, out), stderr)
}

// busybox accepts 200-204 and 300-303, 307, 308 (following a Location);
// every other status exits 1 with the server's status line, and leaves no
// file. A body shorter than its Content-Length is an error too.
func TestWgetServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		case "/reset":
			w.WriteHeader(http.StatusResetContent)
		case "/not-modified":
			w.WriteHeader(http.StatusNotModified)
		case "/short":
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, "not 100 bytes")
		case "/accepted":
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, "queued")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/no-location":
			w.WriteHeader(http.StatusFound)
			fmt.Fprint(w, "moved, but where?")
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	for path, want := range map[string]string{
		"/missing":      "wget: server returned error: HTTP/1.1 404 Not Found\n",
		"/broken":       "wget: server returned error: HTTP/1.1 500 Internal Server Error\n",
		"/reset":        "wget: server returned error: HTTP/1.1 205 Reset Content\n",
		"/not-modified": "wget: server returned error: HTTP/1.1 304 Not Modified\n",
	} {
		out := filepath.Join(dir, strings.Trim(path, "/"))
		code, stdout, stderr := runWget(t, nil, "-q", "-O", out, "-T", "10", srv.URL+path)
		assert.Equal(t, 1, code, path)
		assert.Empty(t, stdout, path)
		assert.Equal(t, want, stderr, path)
		assert.NoFileExists(t, out, "busybox opens -O FILE only on a good response")
	}
	code, stdout, stderr := runWget(t, nil, "-q", "-O", "-", srv.URL+"/short")
	assert.Equal(t, 1, code)
	assert.Equal(t, "not 100 bytes", stdout, "what came is written")
	assert.Equal(t, "wget: connection closed prematurely\n", stderr)

	for path, want := range map[string]string{"/accepted": "queued", "/empty": "", "/no-location": "moved, but where?"} {
		code, stdout, stderr := runWget(t, nil, "-q", "-O", "-", srv.URL+path)
		assert.Equal(t, 0, code, "%s: %s", path, stderr)
		assert.Equal(t, want, stdout, path)
	}
}

func TestWgetRedirects(t *testing.T) {
	final, _ := versionServer(t, "final\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/path":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/target":
			fmt.Fprint(w, "target\n")
		case "/elsewhere":
			w.Header().Set("Location", final.URL+"/v")
			w.WriteHeader(http.StatusMovedPermanently)
		case "/see-other":
			http.Redirect(w, r, "/target", http.StatusSeeOther)
		case "/temporary":
			http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
		case "/permanent":
			http.Redirect(w, r, "/target", http.StatusPermanentRedirect)
		default: // a loop
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}
	}))
	defer srv.Close()
	code, stdout, stderr := runWget(t, nil, "-q", "-O", "-", srv.URL+"/path")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "target\n", stdout)
	for _, path := range []string{"/see-other", "/temporary", "/permanent"} {
		code, stdout, _ = runWget(t, nil, "-q", "-O", "-", srv.URL+path)
		assert.Equal(t, 0, code, path)
		assert.Equal(t, "target\n", stdout, path)
	}

	code, stdout, stderr = runWget(t, nil, "-O", "-", srv.URL+"/elsewhere")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "final\n", stdout)
	assert.Equal(t, 2, strings.Count(stderr, "Connecting to "), "a redirect to another URL connects again:\n%s", stderr)

	code, _, stderr = runWget(t, nil, "-q", "-O", "-", srv.URL+"/loop")
	assert.Equal(t, 1, code)
	assert.Equal(t, "wget: too many redirections\n", stderr)
}

func TestWgetConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	code, stdout, stderr := runWget(t, nil, "-q", "-O", "/dev/null", "-T", "10", "http://"+addr+"/api/version")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "wget: can't connect to remote host (127.0.0.1): Connection refused\n", stderr)

	// IPv6: busybox names no address.
	l, err = net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	addr = l.Addr().String()
	require.NoError(t, l.Close())
	code, _, stderr = runWget(t, nil, "-q", "-O", "/dev/null", "http://"+addr+"/")
	assert.Equal(t, 1, code)
	assert.Equal(t, "wget: can't connect to remote host: Connection refused\n", stderr)
}

// silentServer accepts connections and, once it has read the request, writes
// reply (maybe nothing) and then nothing more until the test ends.
func silentServer(t *testing.T, reply string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				buf := make([]byte, 4096)
				var got []byte
				for !bytes.Contains(got, []byte("\r\n\r\n")) {
					n, err := conn.Read(buf)
					if err != nil {
						return
					}
					got = append(got, buf[:n]...)
				}
				_, _ = io.WriteString(conn, reply)
				<-done
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// -T: a server that stops answering, before its headers or in the middle
// of its body, ends the download after SEC (here, of 20ms each).
func TestWgetTimeout(t *testing.T) {
	defer func(s time.Duration) { wgetSecond = s }(wgetSecond)
	wgetSecond = 20 * time.Millisecond
	for name, reply := range map[string]string{
		"no response":        "",
		"half a status line": "HTTP/1.1 200",
		"stalled body":       "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
	} {
		u := silentServer(t, reply)
		start := time.Now()
		code, _, stderr := runWget(t, nil, "-q", "-O", "/dev/null", "-T", "5", u+"/api/version")
		elapsed := time.Since(start)
		assert.Equal(t, 1, code, name)
		assert.Equal(t, "wget: download timed out\n", stderr, name)
		assert.GreaterOrEqual(t, elapsed, 100*time.Millisecond, name)
		assert.Less(t, elapsed, 5*time.Second, name)
	}
}

// The server closing without an answer is busybox's "error getting response".
func TestWgetNoResponse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Read(make([]byte, 4096))
			conn.Close()
		}
	}()
	code, _, stderr := runWget(t, nil, "-q", "-O", "-", "http://"+l.Addr().String()+"/")
	assert.Equal(t, 1, code)
	assert.Equal(t, "wget: error getting response\n", stderr)
}

// The URL's user:password@ goes as Basic authorization, percent-decoded.
func TestWgetBasicAuth(t *testing.T) {
	srv, log := versionServer(t, "ok")
	u := strings.Replace(srv.URL, "http://", "http://osmo:pa%20ss@", 1) + "/api/version?x=1"
	code, stdout, stderr := runWget(t, nil, "-q", "-O", "-", u)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "ok", stdout)
	req := log.all()[0]
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("osmo:pa ss")), req.Header.Get("Authorization"))
	assert.Equal(t, "/api/version?x=1", req.RequestURI)
	assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), req.Host)
}

// Every option but -q, -O and -T is refused as busybox's getopt refuses an
// unknown one (glibc's message, then the usage; exit 1), and so are what the
// stand-in does not fetch.
func TestWgetRefusals(t *testing.T) {
	for _, c := range []struct {
		args  []string
		env   map[string]string
		first string // stderr's first line; "" when it is the usage
		usage bool
	}{
		{args: []string{"-x", "http://h/"}, first: "wget: invalid option -- 'x'", usage: true},
		{args: []string{"-qS", "http://h/"}, first: "wget: invalid option -- 'S'", usage: true},
		{args: []string{"--spider", "http://h/"}, first: "wget: unrecognized option '--spider'", usage: true},
		{args: []string{"--timeout=10", "http://h/"}, first: "wget: unrecognized option '--timeout=10'", usage: true},
		{args: []string{"-q", "http://h/", "-O"}, first: "wget: option requires an argument -- 'O'", usage: true},
		{args: []string{"-T"}, first: "wget: option requires an argument -- 'T'", usage: true},
		{args: []string{"-q", "-O", "-"}, usage: true},
		{args: nil, usage: true},
		{args: []string{"-T", "ten", "http://h/"}, first: "wget: invalid number 'ten'"},
		{args: []string{"-T", "-1", "http://h/"}, first: "wget: invalid number '-1'"},
		{args: []string{"-T", "+5", "http://h/"}, first: "wget: invalid number '+5'"},
		{args: []string{"-T", "9999999999", "http://h/"}, first: "wget: number 9999999999 is not in 0..2147483647 range"},
		{args: []string{"-T", "99999999999999999999", "http://h/"}, first: "wget: invalid number '99999999999999999999'"},
		{args: []string{"-q", "https://osmo-router/"}, first: "wget: https://osmo-router/: the osmo-standin wget fetches http:// only"},
		{args: []string{"-q", "gopher://h/"}, first: "wget: not an http or ftp url: gopher://h/"},
		{args: []string{"-q", "http://127.0.0.1:99999/"}, first: "wget: bad port '99999'"},
		{args: []string{"-q", "http://127.0.0.1:abc/"}, first: "wget: bad port 'abc'"},
		{args: []string{"-q", "http://h/"}, env: map[string]string{"http_proxy": "http://proxy:3128"},
			first: "wget: http_proxy is set: the osmo-standin wget connects directly and does not use a proxy"},
	} {
		code, stdout, stderr := runWget(t, c.env, c.args...)
		assert.Equal(t, 1, code, "%v", c.args)
		assert.Empty(t, stdout, "%v", c.args)
		want := c.first
		if c.usage {
			want = strings.TrimPrefix(want+"\n"+wgetUsage, "\n")
		} else {
			want += "\n"
		}
		assert.Equal(t, want, stderr, "%v", c.args)
	}
}

// osmo-standin wget ... is wget too.
func TestWgetByFirstArgument(t *testing.T) {
	srv, _ := versionServer(t, "v")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"osmo-standin", "wget", "-q", "-O", "-", srv.URL}, nil, &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
	assert.Equal(t, "v", stdout.String())
}
