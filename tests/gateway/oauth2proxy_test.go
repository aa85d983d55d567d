// Package gateway_test proves the configuration the service chart renders for the
// gateway's third-party programs with the programs themselves: the real oauth2-proxy
// (.bin/oauth2-proxy, built from its Go module by `make tools`) started with the
// arguments the chart renders against a loopback OIDC issuer and Redis, and the rate
// limit ConfigMap fed to envoyproxy/ratelimit's own config loader
// (.bin/ratelimit-config). The scenarios are the service chart's gateway values files
// under tests/render/testdata/osmo/service.
package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/testca"
	"github.com/osmo-wi/charts/harness/tokenissuer"
)

var release = render.Release{Name: "osmo", Namespace: "osmo"}

// scenarios are the service chart's gateway values files (each names the OSMO doc it follows).
func scenarios(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(project.Path("tests", "render", "testdata", "osmo", "service", "gateway-*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// tool is a pinned binary; a missing one fails the test (make test builds them first).
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := project.Bin(name)
	require.NoError(t, err, "run `make tools` (tools/install.sh %s builds just this one)", name)
	return path
}

// rendered is a scenario's render, failing the test on error.
func rendered(t *testing.T, file string) *render.Result {
	t.Helper()
	r, err := render.RenderFiles("service", release, file)
	require.NoError(t, err, "render %s", filepath.Base(file))
	return r
}

// deployment is the rendered Deployment of a gateway part (by its component label), or nil.
func deployment(r *render.Result, component string) *appsv1.Deployment {
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == component {
			return d
		}
	}
	return nil
}

func container(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no container %s", d.Name, name)
	return corev1.Container{}
}

// world is the test's loopback stand-in for what the rendered pod reaches: the IdP's
// OIDC issuer (discovery with the endpoints oauth2-proxy reads), a Redis with TLS and
// one without, and the CA files that make them trusted.
type world struct {
	issuer             *tokenissuer.Issuer
	issuerCA, redisCA  string // PEM files
	redisTLS, redisRaw *redisStandIn
}

func newWorld(t *testing.T) *world {
	t.Helper()
	issuer, err := tokenissuer.Start(tokenissuer.Options{Discovery: map[string]string{
		"authorization_endpoint": "/authorize",
		"token_endpoint":         "/token",
		"userinfo_endpoint":      "/userinfo",
	}})
	require.NoError(t, err)
	t.Cleanup(func() { issuer.Close() })
	ca, err := testca.New("gateway test Redis CA")
	require.NoError(t, err)
	dir := t.TempDir()
	w := &world{issuer: issuer, issuerCA: filepath.Join(dir, "issuer-ca.pem"), redisCA: filepath.Join(dir, "redis-ca.pem"),
		redisTLS: startRedis(t, ca), redisRaw: startRedis(t, nil)}
	require.NoError(t, os.WriteFile(w.issuerCA, issuer.CAPEM(), 0o600))
	require.NoError(t, os.WriteFile(w.redisCA, ca.CertPEM(), 0o600))
	return w
}

// credentials are the values the operator put in the proxy's Secret (or config file).
type credentials struct {
	clientSecret, cookieSecret string
	// rawConfigFile writes only the cookie secret into the --config file, as the name
	// NVIDIA gives it (secretPaths.cookieSecret) suggests, instead of an OAuth2 Proxy
	// config file.
	rawConfigFile bool
}

// good are the IdP's client secret and a cookie secret as oauth2-proxy's docs make
// it: 32 random bytes, URL-safe base64.
func good() credentials {
	return credentials{clientSecret: "client-secret-from-the-idp", cookieSecret: base64.URLEncoding.EncodeToString(rand32())}
}

func rand32() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// proxy is one oauth2-proxy process started as the rendered container would be.
type proxy struct {
	http, metrics string // loopback addresses
	out           *syncBuffer
	exited        chan struct{}
	err           error // valid once exited is closed
}

// startProxy lays out the rendered container's files as the kubelet would mount them
// (each Secret volume's items holding the credentials) under a temporary root, takes
// the rendered arguments and environment as they are, and replaces only what must
// point at the test's world: the issuer URL, the listen addresses, the mounted files'
// paths, the Redis host (with its CA); --provider-ca-file trusts the test issuer.
func startProxy(t *testing.T, w *world, c corev1.Container, pod corev1.PodSpec, creds credentials) *proxy {
	t.Helper()
	bin := tool(t, "oauth2-proxy")
	root := t.TempDir()
	configFile := ""
	for _, arg := range c.Args {
		if value, ok := strings.CutPrefix(arg, "--config="); ok {
			configFile = value
		}
	}
	content := func(file, key string) string {
		switch {
		case file == configFile && creds.rawConfigFile:
			return creds.cookieSecret
		case file == configFile:
			return fmt.Sprintf("client_secret = %q\ncookie_secret = %q\n", creds.clientSecret, creds.cookieSecret)
		case strings.Contains(key, "cookie") || strings.Contains(file, "cookie"):
			return creds.cookieSecret
		default:
			return creds.clientSecret
		}
	}
	write := func(file, data string) {
		host := filepath.Join(root, file)
		require.NoError(t, os.MkdirAll(filepath.Dir(host), 0o700))
		require.NoError(t, os.WriteFile(host, []byte(data), 0o600))
	}
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		require.GreaterOrEqual(t, i, 0, "mount %s has a volume", m.Name)
		if secret := pod.Volumes[i].Secret; secret != nil {
			require.NotEmpty(t, secret.Items, "Secret volume %s lists its items", m.Name)
			for _, item := range secret.Items {
				file := filepath.Join(m.MountPath, item.Path)
				write(file, content(file, item.Key))
			}
		}
	}
	if configFile != "" {
		if _, err := os.Stat(filepath.Join(root, configFile)); err != nil { // not mounted: an injector writes it
			write(configFile, content(configFile, ""))
		}
	}

	ports, err := cluster.FreeLoopbackPorts(2)
	require.NoError(t, err)
	p := &proxy{http: "127.0.0.1:" + strconv.Itoa(ports[0]), metrics: "127.0.0.1:" + strconv.Itoa(ports[1]), out: &syncBuffer{}, exited: make(chan struct{})}
	var args []string
	for _, arg := range c.Args {
		name, value, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		switch name {
		case "oidc-issuer-url":
			arg = "--oidc-issuer-url=" + w.issuer.URL()
		case "http-address":
			arg = "--http-address=" + p.http
		case "metrics-address":
			arg = "--metrics-address=" + p.metrics
		case "client-secret-file", "cookie-secret-file", "config":
			arg = "--" + name + "=" + filepath.Join(root, value)
		case "redis-connection-url":
			u, err := url.Parse(value)
			require.NoError(t, err, arg)
			if u.Scheme == "rediss" {
				u.Host = w.redisTLS.Addr
				args = append(args, "--redis-ca-path="+w.redisCA)
			} else {
				u.Host = w.redisRaw.Addr
			}
			arg = "--redis-connection-url=" + u.String()
		}
		args = append(args, arg)
	}
	args = append(args, "--provider-ca-file="+w.issuerCA)

	env := []string{"HOME=" + root}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			env = append(env, e.Name+"="+e.ValueFrom.SecretKeyRef.Key+"-from-"+e.ValueFrom.SecretKeyRef.Name)
		default:
			t.Fatalf("env %s: only values and Secret keys are resolved here", e.Name)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = env, root
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Its own process group, killed with the test (Pdeathsig: even if the test binary dies).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	require.NoError(t, cmd.Start())
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cancel()
		<-p.exited
		if t.Failed() {
			t.Logf("oauth2-proxy %s\noutput:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// healthy waits until /ping and /ready answer 200 (the chart's liveness and readiness probes).
func (p *proxy) healthy(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	err := poll.Until(t.Context(), "oauth2-proxy /ping and /ready", 100*time.Millisecond, 30*time.Second, func(ctx context.Context) (bool, error) {
		select {
		case <-p.exited:
			return false, poll.Stop(fmt.Errorf("oauth2-proxy exited (%v):\n%s", p.err, p.out.String()))
		default:
		}
		for _, path := range []string{"/ping", "/ready"} {
			resp, err := client.Get("http://" + p.http + path)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false, fmt.Errorf("%s: %s", path, resp.Status)
			}
		}
		return true, nil
	})
	require.NoError(t, err)
}

// refused waits for the proxy to exit on its own and returns its output.
func (p *proxy) refused(t *testing.T) string {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("oauth2-proxy still runs after 30s:\n%s", p.out.String())
	}
	var exit *exec.ExitError
	require.True(t, errors.As(p.err, &exit), "oauth2-proxy exited by itself: %v", p.err)
	assert.NotZero(t, exit.ExitCode())
	return p.out.String()
}

// Every scenario's rendered oauth2-proxy starts and becomes healthy against the loopback
// IdP and Redis; it answers Envoy's ext_authz check (/oauth2/auth) with 401 for a request
// without a session and sends a login to the IdP's authorization endpoint with the
// rendered client, scope and redirect URL; its Redis session store ran its health check
// on the Redis the chart names (the password from the rendered env).
func TestOAuth2ProxyStartsHealthyWithTheRenderedArguments(t *testing.T) {
	w := newWorld(t)
	ran := 0
	for _, file := range scenarios(t) {
		r := rendered(t, file)
		d := deployment(r, "gateway-oauth2-proxy")
		if d == nil {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			c := container(t, d, "oauth2-proxy")
			before := map[*redisStandIn]int{w.redisTLS: len(w.redisTLS.Commands()), w.redisRaw: len(w.redisRaw.Commands())}
			p := startProxy(t, w, c, d.Spec.Template.Spec, good())
			p.healthy(t)

			client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get("http://" + p.http + "/oauth2/auth")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "/oauth2/auth without a session")

			resp, err = client.Get("http://" + p.http + "/oauth2/start?rd=%2Fapi%2Fversion")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode, "/oauth2/start redirects to the IdP")
			login, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			if arg(c, "provider") == "oidc" { // other providers know their IdP's endpoints
				assert.Equal(t, w.issuer.ServerURL()+"/authorize", login.Scheme+"://"+login.Host+login.Path)
			}
			assert.Equal(t, arg(c, "client-id"), login.Query().Get("client_id"))
			assert.Equal(t, arg(c, "redirect-url"), login.Query().Get("redirect_uri"))
			assert.Equal(t, arg(c, "scope"), login.Query().Get("scope"))

			if store := arg(c, "redis-connection-url"); store != "" {
				redis := map[bool]*redisStandIn{true: w.redisTLS, false: w.redisRaw}[strings.HasPrefix(store, "rediss://")]
				commands := redis.Commands()[before[redis]:]
				assert.Subset(t, commands, []string{"SET", "GET", "DEL", "PING"}, "the session store's health check and /ready reached %s", store)
				for _, e := range c.Env {
					if e.Name == "OAUTH2_PROXY_REDIS_PASSWORD" {
						assert.Contains(t, commands, "AUTH "+e.ValueFrom.SecretKeyRef.Key+"-from-"+e.ValueFrom.SecretKeyRef.Name)
					}
				}
				if db := store[strings.LastIndex(store, "/")+1:]; db != "0" {
					assert.Contains(t, commands, "SELECT "+db)
				}
			}
		})
	}
	assert.NotZero(t, ran, "no scenario renders the OAuth2 Proxy")
}

// The rendered proxy refuses bad secrets with its own messages: a cookie secret that is
// not 16, 24 or 32 bytes and an empty client secret in the config file. The deploy docs'
// `openssl rand -base64 32` is refused whenever it holds a '+' or '/' (three times in
// four): oauth2-proxy decodes URL-safe base64 only, and takes anything else as 44 raw
// bytes (the chart README says how to make one). From the Secret
// (useKubernetesSecrets), an empty client secret file passes its check (it only reads the
// file): the proxy starts, and fails only at the IdP's token endpoint. A --config file
// holding just the cookie secret (what secretPaths.cookieSecret's name suggests) is not
// an OAuth2 Proxy config file.
func TestOAuth2ProxyRefusesBadSecrets(t *testing.T) {
	w := newWorld(t)
	dir := project.Path("tests", "render", "testdata", "osmo", "service")
	fromSecret := filepath.Join(dir, "gateway-sidecars-entra.yaml")
	fromConfig := filepath.Join(dir, "gateway-sidecars-secret-files.yaml")
	short := "abcdefghijklmno"                                                                    // 15 bytes
	openssl := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xef, 0xbe}, 11)[:32]) // "++++...", as openssl prints it
	for _, tc := range []struct {
		name, file string
		creds      func(credentials) credentials
		refusal    string // "" when the proxy starts healthy
	}{
		{"Secret: a 15-byte cookie secret", fromSecret, func(c credentials) credentials { c.cookieSecret = short; return c },
			"cookie_secret from file must be 16, 24, or 32 bytes to create an AES cipher, but is 15 bytes"},
		{"Secret: openssl rand -base64 32 with a '+'", fromSecret, func(c credentials) credentials { c.cookieSecret = openssl; return c },
			"cookie_secret from file must be 16, 24, or 32 bytes to create an AES cipher, but is 44 bytes"},
		{"config file: a 15-byte cookie secret", fromConfig, func(c credentials) credentials { c.cookieSecret = short; return c },
			"cookie_secret must be 16, 24, or 32 bytes to create an AES cipher, but is 15 bytes"},
		{"config file: an empty client secret", fromConfig, func(c credentials) credentials { c.clientSecret = ""; return c },
			"missing setting: client-secret or client-secret-file"},
		{"config file holding only the cookie secret", fromConfig, func(c credentials) credentials { c.rawConfigFile = true; return c },
			"failed to load config"},
		{"Secret: an empty client secret starts", fromSecret, func(c credentials) credentials { c.clientSecret = ""; return c }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deployment(rendered(t, tc.file), "gateway-oauth2-proxy")
			require.NotNil(t, d)
			p := startProxy(t, w, container(t, d, "oauth2-proxy"), d.Spec.Template.Spec, tc.creds(good()))
			if tc.refusal == "" {
				p.healthy(t)
				return
			}
			assert.Contains(t, p.refused(t), tc.refusal)
		})
	}
}

// arg is the value of the rendered --name=value argument ("" if absent).
func arg(c corev1.Container, name string) string {
	for _, a := range c.Args {
		if value, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return value
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer written by the process and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
