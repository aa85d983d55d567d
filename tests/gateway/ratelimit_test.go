package gateway_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/render"
)

// loadRateLimitConfig lays the rendered rate limit ConfigMap out as the Deployment
// mounts it (its items under the volume's mount path, below a temporary root) and runs
// envoyproxy/ratelimit's own config loader over the files the service would load.
func loadRateLimitConfig(t *testing.T, r *render.Result) (string, error) {
	t.Helper()
	d := deployment(r, "gateway-ratelimit")
	require.NotNil(t, d, "the rate limit Deployment is rendered")
	c := container(t, d, "ratelimit")
	configMaps := map[string]*corev1.ConfigMap{}
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		configMaps[cm.Name] = cm
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	// The service loads RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/config/*.
	dir := filepath.Join(env["RUNTIME_ROOT"], env["RUNTIME_SUBDIRECTORY"], "config")
	root := t.TempDir()
	var files []string
	for _, m := range c.VolumeMounts {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := configMaps[v.ConfigMap.Name]
			require.NotNil(t, cm, "volume %s names a rendered ConfigMap (%s)", v.Name, v.ConfigMap.Name)
			for _, item := range v.ConfigMap.Items {
				file := filepath.Join(m.MountPath, item.Path)
				data, ok := cm.Data[item.Key]
				require.True(t, ok, "ConfigMap %s has key %s", cm.Name, item.Key)
				host := filepath.Join(root, file)
				require.NoError(t, os.MkdirAll(filepath.Dir(host), 0o700))
				require.NoError(t, os.WriteFile(host, []byte(data), 0o600))
				if filepath.Dir(file) == dir {
					files = append(files, host)
				}
			}
		}
	}
	require.NotEmpty(t, files, "a config file is mounted in %s, where the service reads", dir)
	out, err := exec.Command(tool(t, "ratelimit-config"), files...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Every scenario's rendered rate limit config is accepted by the service's own loader.
func TestRateLimitConfigLoads(t *testing.T) {
	ran := 0
	for _, file := range scenarios(t) {
		r := rendered(t, file)
		if deployment(r, "gateway-ratelimit") == nil {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			out, err := loadRateLimitConfig(t, r)
			require.NoError(t, err, out)
			assert.Contains(t, out, "ok: ")
		})
	}
	assert.NotZero(t, ran, "no scenario renders the rate limit service")
}

// The chart passes gateway.rateLimit.config through as written; the loader refuses a
// config the service could not serve, with its own message: NVIDIA's defaults (no
// descriptors) load, typos do not.
func TestRateLimitConfigLoaderRefusesTypos(t *testing.T) {
	for _, tc := range []struct {
		name, config, refusal string // refusal "" when accepted
	}{
		{"NVIDIA's default (no descriptors)", `{}`, ""},
		{"an unknown unit", `{descriptors: [{key: remote_address, rate_limit: {unit: minutes, requests_per_unit: 10}}]}`,
			"invalid rate limit unit 'minutes'"},
		{"an unknown key", `{descriptors: [{key: remote_address, rate_limit: {unit: minute, request_per_unit: 10}}]}`,
			"config error, unknown key 'request_per_unit'"},
		{"a descriptor twice", `{descriptors: [{key: remote_address}, {key: remote_address}]}`,
			"duplicate descriptor composite key 'ratelimit.remote_address'"},
		{"a descriptor without a key", `{descriptors: [{value: x}]}`, "descriptor has empty key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var config map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(tc.config), &config))
			vals := map[string]any{"gateway": map[string]any{
				"oauth2Proxy": map[string]any{"enabled": false},
				"authz":       map[string]any{"enabled": false},
				"rateLimit":   map[string]any{"enabled": true, "config": config},
			},
				// the OSMO pods' database password (the chart refuses to render without one)
				"services": map[string]any{"configFile": map[string]any{"enabled": true}},
			}
			ch, err := render.Chart("service")
			require.NoError(t, err)
			r, err := render.Render(ch, vals, release)
			require.NoError(t, err)
			out, err := loadRateLimitConfig(t, r)
			if tc.refusal == "" {
				require.NoError(t, err, out)
				return
			}
			require.Error(t, err, "the loader accepted it: %s", out)
			assert.Contains(t, out, tc.refusal)
		})
	}
}
