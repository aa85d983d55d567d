package standin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/render"
)

// TestStandinBinaryGateway starts the built stand-in as the service chart's
// API (`service`) and as its gateway's Envoy (`envoy`, with the rendered
// container's arguments and ConfigMap, moved to loopback: the files to a
// temporary folder, the admin and listener ports to free ones, the API cluster
// to the service stand-in), and makes the helm test's request through the
// gateway: GET /api/version answers OSMO's version JSON. The Envoy's readiness
// probe path answers LIVE; an unknown Envoy flag exits 1; SIGTERM ends it.
func TestStandinBinaryGateway(t *testing.T) {
	t.Parallel()
	r := renderValues(t, "service", noIdP+"services: {postgres: {password: pw}}\n")

	// The API stand-in on a loopback port.
	s := programIn(t, r, "service")
	require.NoError(t, s.err)
	apiPort := freePort(t)
	api := startProgram(t, "service", append(slices.Clone(s.args), "--host", fmt.Sprintf("http://127.0.0.1:%d", apiPort)), s.env)

	// The gateway's Envoy container and ConfigMap, as rendered.
	var envoy *corev1.Container
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		for i, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "envoy" {
				envoy = &d.Spec.Template.Spec.Containers[i]
			}
		}
	}
	require.NotNil(t, envoy, "the gateway's Envoy Deployment")
	require.NotNil(t, envoy.ReadinessProbe.HTTPGet)
	var data map[string]string
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if _, ok := cm.Data["bootstrap.yaml"]; ok {
			data = cm.Data
		}
	}
	require.NotNil(t, data, "the Envoy ConfigMap")
	dir := t.TempDir()
	adminPort, listenerPort := freePort(t), freePort(t)
	apiCluster := regexp.MustCompile(`address: "osmo-service"\n(\s+)port_value: 80\n`)
	for name, text := range data {
		text = strings.ReplaceAll(text, "/var/config", dir)
		text = strings.ReplaceAll(text, "port_value: 9901", fmt.Sprintf("port_value: %d", adminPort))
		text = strings.ReplaceAll(text, "port_value: 8080", fmt.Sprintf("port_value: %d", listenerPort))
		text = apiCluster.ReplaceAllString(text, fmt.Sprintf("address: \"127.0.0.1\"\n${1}port_value: %d\n", apiPort))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	args := slices.Clone(envoy.Args)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "/var/config", dir)
	}
	require.Equal(t, []string{"-c", filepath.Join(dir, "bootstrap.yaml"), "--log-level", "info"}, args, "the chart's Envoy command line")
	gw := startProgram(t, "envoy", args, nil)

	ready := fmt.Sprintf("http://127.0.0.1:%d%s", adminPort, envoy.ReadinessProbe.HTTPGet.Path)
	err := poll.Until(context.Background(), "the Envoy stand-in ready at "+ready, 50*time.Millisecond, 20*time.Second, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(ready)
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && string(body) == "LIVE\n", nil
	})
	require.NoError(t, err, "envoy stderr: %s", gw.stderr)

	version := fmt.Sprintf("http://127.0.0.1:%d/api/version", listenerPort)
	var got map[string]string
	err = poll.Until(context.Background(), "the API's version through the gateway", 50*time.Millisecond, 20*time.Second, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(version)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("status %d", resp.StatusCode)
		}
		assert.Equal(t, "envoy", resp.Header.Get("Server"))
		return true, json.NewDecoder(resp.Body).Decode(&got)
	})
	require.NoError(t, err, "envoy stderr: %s\nservice stderr: %s", gw.stderr, api.stderr)
	assert.Equal(t, map[string]string{"major": "6", "minor": "4", "revision": "0", "hash": ""}, got, "OSMO's Version model")

	var line struct {
		Program   string
		Listeners []struct{ Name, Address string }
		NotRun    []string `json:"not_run"`
	}
	first, _, _ := strings.Cut(gw.stdout.String(), "\n")
	require.NoError(t, json.Unmarshal([]byte(first), &line), "one JSON line first: %q", first)
	assert.Equal(t, "envoy", line.Program)
	require.Len(t, line.Listeners, 1)
	assert.Equal(t, "gateway_listener", line.Listeners[0].Name)
	assert.NotEmpty(t, line.NotRun, "the Lua filters are listed as not run")

	require.NoError(t, gw.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, gw.waitExit(t), "SIGTERM ends it cleanly; stderr: %s", gw.stderr)
	// Written once the response is sent; complete once the program has exited.
	assert.Contains(t, gw.stdout.String(), `"path":"/api/version"`, "the access log")

	code, _, stderr := runProgram(t, "envoy", append(args, "--no-such-flag"), nil)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "PARSE ERROR: Argument: --no-such-flag")
}
