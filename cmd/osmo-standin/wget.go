package main

// Installed as wget, osmo-standin stands in for busybox's wget in the charts'
// helm test image (docker.io/library/busybox:1.37.0, whose stand-in is
// Debian's busybox 1.35, built without FEATURE_WGET_TIMEOUT: its getopt still
// takes -T and stores the number through a null pointer, so `wget -T 10`
// segfaults, and every chart's test runs `wget -q -O /dev/null -T 10 URL`,
// common.testPod.httpScript). It does what busybox's wget does with the
// options the charts use, and refuses every other option as busybox's getopt
// refuses an unknown one:
//
//   - -q (no "Connecting to ..." and "saving to ..." lines on stderr), -O FILE
//     ('-' is stdout; without -O, the URL's last path component, or
//     index.html, created exclusively), -T SEC (default 900; 0 is none): the
//     connect and every read of the response, headers and body, must end
//     within SEC seconds, else "download timed out";
//   - http:// URLs only (no chart's test calls https), one GET per URL with
//     busybox's request (Host, User-Agent: Wget, Connection: close, Basic
//     auth from user:password@), several URLs in turn;
//   - 200-204 are success; 300-303, 307 and 308 follow their Location (15
//     at most, "too many redirections"; without one, the body is saved);
//     every other status exits 1 with "server returned error: HTTP/1.1 404
//     Not Found" (busybox's list: 205, and 206 unasked for, are errors too);
//   - errors as busybox words them: "bad address 'HOST'", "can't connect to
//     remote host (IP): Connection refused", "error getting response",
//     "connection closed prematurely" (a body shorter than its
//     Content-Length), "can't open 'FILE': File exists"; exit 1.
//
// This follows networking/wget.c of busybox 1.35 to 1.37 (the same code).
//
// Not done: the progress bar (stderr, only without -q), http_proxy (refused
// by name when set, rather than silently not used), FTP and HTTPS.

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wgetSecond is -T's unit: a second, shorter in the tests.
var wgetSecond = time.Second

const wgetUsage = `Usage: wget [-q] [-O FILE] [-T SEC] URL...

Retrieve files via HTTP (osmo-standin: busybox wget's options the charts' helm tests use)

	-q		Quiet
	-T SEC		Network read timeout is SEC seconds
	-O FILE		Save to FILE ('-' for stdout)
`

type wgetOptions struct {
	quiet bool
	// output is -O's FILE; hasOutput says -O was given.
	output    string
	hasOutput bool
	timeout   time.Duration // 0: none
	urls      []string
}

// wgetUsageError is a command line busybox refuses: its message (none when
// only the usage is printed, as for a missing URL), then the usage, exit 1.
type wgetUsageError struct{ message string }

func (e *wgetUsageError) Error() string { return e.message }

// parseWgetArgs reads the command line as busybox's getopt32 with glibc's
// getopt_long does: short options bundled (-qO-) or apart, an option's value
// attached or the next word, options and URLs in any order, "--" ending the
// options.
func parseWgetArgs(args []string) (wgetOptions, error) {
	opts := wgetOptions{timeout: 900 * wgetSecond}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			opts.urls = append(opts.urls, args[i+1:]...)
			i = len(args)
			continue
		case strings.HasPrefix(a, "--"):
			return opts, &wgetUsageError{fmt.Sprintf("unrecognized option '%s'", a)}
		case len(a) < 2 || a[0] != '-':
			opts.urls = append(opts.urls, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch c {
			case 'q':
				opts.quiet = true
				continue
			case 'O', 'T':
			default:
				return opts, &wgetUsageError{fmt.Sprintf("invalid option -- '%c'", c)}
			}
			value := a[j+1:]
			if value == "" {
				if i+1 == len(args) {
					return opts, &wgetUsageError{fmt.Sprintf("option requires an argument -- '%c'", c)}
				}
				i++
				value = args[i]
			}
			if c == 'O' {
				opts.output, opts.hasOutput = value, true
			} else {
				seconds, err := wgetSeconds(value)
				if err != nil {
					return opts, err
				}
				opts.timeout = time.Duration(seconds) * wgetSecond
			}
			break
		}
	}
	if len(opts.urls) == 0 {
		return opts, &wgetUsageError{}
	}
	return opts, nil
}

// wgetSeconds is busybox's xatoi_positive: digits only (strtoul's, no sign
// or space), at most INT_MAX.
func wgetSeconds(text string) (uint64, error) {
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || strings.TrimLeft(text, "0123456789") != "" {
		return 0, fmt.Errorf("invalid number '%s'", text)
	}
	if n > 1<<31-1 {
		return 0, fmt.Errorf("number %s is not in 0..2147483647 range", text)
	}
	return n, nil
}

func wgetMain(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) int {
	opts, err := parseWgetArgs(args)
	var usage *wgetUsageError
	if errors.As(err, &usage) {
		if usage.message != "" {
			fmt.Fprintf(stderr, "wget: %s\n", usage.message)
		}
		fmt.Fprint(stderr, wgetUsage)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "wget: %v\n", err)
		return 1
	}
	if env["http_proxy"] != "" {
		fmt.Fprintln(stderr, "wget: http_proxy is set: the osmo-standin wget connects directly and does not use a proxy")
		return 1
	}
	w := &wget{opts: opts, stdout: stdout, stderr: stderr}
	defer w.closeOutput()
	for _, u := range opts.urls {
		if err := w.download(ctx, u); err != nil {
			if ctx.Err() != nil {
				return 128 + int(syscall.SIGTERM) // as the shell reports busybox killed by the signal
			}
			fmt.Fprintf(stderr, "wget: %v\n", err)
			return 1
		}
	}
	return 0
}

type wget struct {
	opts           wgetOptions
	stdout, stderr io.Writer
	// file is -O FILE once opened: busybox opens it at the first URL's
	// response and writes every URL's body into it.
	file *os.File
}

func (w *wget) closeOutput() {
	if w.file != nil {
		w.file.Close()
	}
}

// wgetTarget is a URL as busybox's parse_url splits it.
type wgetTarget struct {
	host string // as written, with its port if any: the Host header
	path string // after the host's '/', '?' or '#' (busybox drops that character)
	user string // user:password before '@', percent-decoded
}

func parseWgetURL(raw string) (wgetTarget, error) {
	var t wgetTarget
	rest := raw
	if scheme, after, ok := strings.Cut(raw, "://"); ok {
		switch scheme {
		case "http":
		case "https", "ftp", "ftps":
			return t, fmt.Errorf("%s: the osmo-standin wget fetches http:// only", raw)
		default:
			return t, fmt.Errorf("not an http or ftp url: %s", raw)
		}
		rest = after
	}
	// busybox falls back to http:// without a scheme, as GNU wget does.
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		t.host, t.path = rest[:i], rest[i+1:]
	} else {
		t.host = rest
	}
	if i := strings.LastIndex(t.host, "@"); i >= 0 {
		user, err := url.PathUnescape(t.host[:i])
		if err != nil {
			user = t.host[:i]
		}
		t.user, t.host = user, t.host[i+1:]
	}
	return t, nil
}

// fileName is busybox's name for the output without -O: the last path
// component, index.html when there is none.
func (t wgetTarget) fileName() string {
	name := t.path[strings.LastIndex(t.path, "/")+1:]
	if name == "" {
		return "index.html"
	}
	return name
}

// resolve is busybox's xhost2sockaddr: HOST[:PORT] ([IPv6]:PORT), port 80
// by default, the first address the name resolves to.
func resolve(ctx context.Context, hostport string) (net.IP, int, error) {
	host, port := hostport, "80"
	if strings.HasPrefix(host, "[") {
		if end := strings.Index(host, "]"); end >= 0 {
			host, port = hostport[1:end], "80"
			if rest := hostport[end+1:]; strings.HasPrefix(rest, ":") {
				port = rest[1:]
			}
		}
	} else if i := strings.LastIndex(host, ":"); i >= 0 && strings.Index(host, ":") == i {
		host, port = hostport[:i], hostport[i+1:]
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("bad port '%s'", port)
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip, int(n), nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return nil, 0, fmt.Errorf("bad address '%s'", host)
	}
	return addrs[0].IP, int(n), nil
}

var errTimedOut = errors.New("download timed out")

func (w *wget) download(ctx context.Context, raw string) error {
	target, err := parseWgetURL(raw)
	if err != nil {
		return err
	}
	name := target.fileName()
	redirects := 16
	for {
		ip, port, err := resolve(ctx, target.host)
		if err != nil {
			return err
		}
		addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
		if !w.opts.quiet {
			fmt.Fprintf(w.stderr, "Connecting to %s (%s)\n", target.host, addr)
		}
		// Redirects to a path stay on this server; to a URL, resolve again.
		for {
			resp, conn, err := w.get(ctx, ip, addr, target)
			if err != nil {
				return err
			}
			location := resp.Header.Get("Location")
			if resp.StatusCode < 300 || location == "" {
				err := w.save(resp, name)
				conn.Close()
				return err
			}
			conn.Close()
			if redirects--; redirects == 0 {
				return errors.New("too many redirections")
			}
			if strings.HasPrefix(location, "/") {
				target.path = location[1:]
				continue
			}
			if target, err = parseWgetURL(location); err != nil {
				return err
			}
			break
		}
	}
}

// get connects to addr, sends busybox's request for target and reads the
// response's status line and headers (past any 100 Continue); it returns an
// error for every status busybox does not accept.
func (w *wget) get(ctx context.Context, ip net.IP, addr string, target wgetTarget) (*http.Response, net.Conn, error) {
	dialer := net.Dialer{Timeout: w.opts.timeout}
	raw, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if timedOut(err) {
			return nil, nil, errTimedOut
		}
		// busybox's xconnect names an IPv4 address only.
		message := "can't connect to remote host"
		if ip.To4() != nil {
			message += " (" + ip.String() + ")"
		}
		return nil, nil, withErrno(message, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	conn := &idleConn{Conn: raw, idle: w.opts.timeout, stop: stop}
	request := fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Wget\r\nConnection: close\r\n", target.path, target.host)
	if target.user != "" {
		request += "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(target.user)) + "\r\n"
	}
	if _, err := io.WriteString(conn, request+"\r\n"); err != nil {
		conn.Close()
		return nil, nil, withErrno("error getting response", err)
	}
	reader := bufio.NewReader(conn)
	for {
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			conn.Close()
			if timedOut(err) {
				return nil, nil, errTimedOut
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, nil, errors.New("error getting response")
			}
			return nil, nil, withErrno("error getting response", err)
		}
		switch code := resp.StatusCode; {
		case code == http.StatusContinue:
			continue
		case code >= 200 && code <= 204, code >= 300 && code <= 303, code == 307, code == 308:
			return resp, conn, nil
		default:
			resp.Body.Close()
			conn.Close()
			return nil, nil, fmt.Errorf("server returned error: %s %s", resp.Proto, resp.Status)
		}
	}
}

// save writes the response's body where -O says (or to name), as busybox's
// retrieve_file_data: the file opened only now that the response is good.
func (w *wget) save(resp *http.Response, name string) error {
	defer resp.Body.Close()
	var out io.Writer
	switch {
	case w.opts.hasOutput && w.opts.output == "-":
		out, name = w.stdout, ""
	case w.opts.hasOutput:
		name = w.opts.output
		if w.file == nil {
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
			if err != nil {
				return withErrno(fmt.Sprintf("can't open '%s'", name), err)
			}
			w.file = f
		}
		out = w.file
	default:
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL, 0o666)
		if err != nil {
			return withErrno(fmt.Sprintf("can't open '%s'", name), err)
		}
		defer f.Close()
		out = f
	}
	if !w.opts.quiet {
		if name == "" {
			fmt.Fprintln(w.stderr, "writing to stdout")
		} else {
			fmt.Fprintf(w.stderr, "saving to '%s'\n", name)
		}
	}
	sink := &writeErr{w: out}
	_, err := io.Copy(sink, resp.Body)
	switch {
	case sink.err != nil:
		return withErrno("write error", sink.err)
	case timedOut(err):
		return errTimedOut
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("connection closed prematurely")
	case err != nil:
		return withErrno("read error", err)
	}
	if !w.opts.quiet {
		if name == "" {
			fmt.Fprintln(w.stderr, "written to stdout")
		} else {
			fmt.Fprintf(w.stderr, "'%s' saved\n", name)
		}
	}
	return nil
}

// idleConn is the connection under -T: every read must end within idle
// (busybox's alarm around each response line, and its poll count while it
// reads the body).
type idleConn struct {
	net.Conn
	idle time.Duration
	stop func() bool
}

func (c *idleConn) Read(b []byte) (int, error) {
	if c.idle > 0 {
		if err := c.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}

func (c *idleConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

type writeErr struct {
	w   io.Writer
	err error
}

func (s *writeErr) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	if err != nil {
		s.err = err
	}
	return n, err
}

func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// withErrno is busybox's bb_perror_msg: the message, then the system error
// as glibc's strerror words it ("Connection refused"); other errors as Go
// words them.
func withErrno(message string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		text := errno.Error()
		return fmt.Errorf("%s: %s%s", message, strings.ToUpper(text[:1]), text[1:])
	}
	return fmt.Errorf("%s: %v", message, err)
}
