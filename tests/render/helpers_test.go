// Package render_test proves the values contract of DESIGN.md on every chart,
// in process: Helm's own loader, schema validation and engine, and strictly
// decoded k8s.io/api objects. No cluster; each render takes milliseconds.
package render_test

import (
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/render"
)

// release is the fixed release every test renders unless it says otherwise.
var release = render.Release{Name: "osmo", Namespace: "osmo"}

// values parses a YAML values block written in a test.
func values(t testing.TB, text string) map[string]any {
	t.Helper()
	out := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(text), &out), "test values")
	return out
}

// renderChart renders a chart with values, failing the test on error.
func renderChart(t testing.TB, chart string, vals map[string]any) *render.Result {
	t.Helper()
	result, err := renderE(chart, vals, release)
	require.NoError(t, err, "render %s", chart)
	return result
}

func renderE(chart string, vals map[string]any, rel render.Release) (*render.Result, error) {
	if chart == "service" {
		vals = withoutIdP(vals)
	}
	vals = withDatabasePassword(chart, vals)
	ch, err := render.Chart(chart)
	if err != nil {
		return nil, err
	}
	return render.Render(ch, vals, rel)
}

// withoutIdP is vals with the gateway's login off (gateway.oauth2Proxy and
// gateway.authz disabled, as run/minimal/osmo_values.yaml has them) unless vals sets
// gateway.oauth2Proxy itself: on, the service chart needs an IdP and refuses to
// render without one, and the tests of everything else name none. The gateway's
// own tests (gateway_*_test.go) set their IdP.
func withoutIdP(vals map[string]any) map[string]any {
	gateway, _ := vals["gateway"].(map[string]any)
	if _, set := gateway["oauth2Proxy"]; set {
		return vals
	}
	out := maps.Clone(vals)
	if out == nil {
		out = map[string]any{}
	}
	merged := maps.Clone(gateway)
	if merged == nil {
		merged = map[string]any{}
	}
	merged["oauth2Proxy"] = map[string]any{"enabled": false}
	if _, set := merged["authz"]; !set {
		merged["authz"] = map[string]any{"enabled": false}
	}
	out["gateway"] = merged
	return out
}

// withDatabasePassword is vals with services.configFile.enabled: true (the MEK file,
// and the database password from Secret db-secret, as the deploy guide sets it) for
// the service and router charts, unless vals sets services.configFile or
// services.postgres.password itself: without a password source the service chart
// refuses to render (OSMO's programs would exit at start), and so does the router
// with nothing at its --config path; the tests of everything else name none. The
// rules' own tests (errors_test.go) set services.configFile.
func withDatabasePassword(chart string, vals map[string]any) map[string]any {
	if chart != "service" && chart != "router" {
		return vals
	}
	services, _ := vals["services"].(map[string]any)
	if _, set := services["configFile"]; set {
		return vals
	}
	if postgres, _ := services["postgres"].(map[string]any); chart == "service" && postgres["password"] != nil {
		return vals
	}
	out := maps.Clone(vals)
	if out == nil {
		out = map[string]any{}
	}
	merged := maps.Clone(services)
	if merged == nil {
		merged = map[string]any{}
	}
	merged["configFile"] = map[string]any{"enabled": true}
	out["services"] = merged
	return out
}

// pod is one pod the chart would create: a Deployment's template or a hook pod.
type pod struct {
	Owner string // "Deployment/osmo-router" or "Pod/osmo-router-test"
	Meta  metav1.ObjectMeta
	Spec  corev1.PodSpec
	Hook  bool
}

// pods returns every pod template a render holds.
func pods(r *render.Result) []pod {
	var out []pod
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		out = append(out, pod{Owner: "Deployment/" + d.Name, Meta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec})
	}
	for _, p := range render.Objects[*corev1.Pod](r) {
		out = append(out, pod{Owner: "Pod/" + p.Name, Meta: p.ObjectMeta, Spec: p.Spec, Hook: true})
	}
	return out
}

// workloadPods are the Deployments' pods (hooks excluded).
func workloadPods(r *render.Result) []pod {
	var out []pod
	for _, p := range pods(r) {
		if !p.Hook {
			out = append(out, p)
		}
	}
	return out
}

// serviceAccounts returns the rendered ServiceAccounts by name.
func serviceAccounts(r *render.Result) map[string]*corev1.ServiceAccount {
	out := map[string]*corev1.ServiceAccount{}
	for _, sa := range render.Objects[*corev1.ServiceAccount](r) {
		out[sa.Name] = sa
	}
	return out
}

// forEachChart runs a parallel subtest per chart.
func forEachChart(t *testing.T, test func(t *testing.T, chart string)) {
	t.Helper()
	for _, chart := range render.Charts {
		t.Run(chart, func(t *testing.T) {
			t.Parallel()
			test(t, chart)
		})
	}
}

// componentKeys are the values entries of each chart that run as Deployments: keys
// under `services`, or a full path (the gateway's parts live under `gateway`; with
// the tests' default values only its Envoy runs, see withoutIdP).
var componentKeys = map[string][]string{
	"service":          {"agent", "delayedJobMonitor", "logger", "service", "worker", "gateway.envoy"},
	"router":           {"service"},
	"backend-operator": {"backendListener", "backendWorker"},
	"web-ui":           {"ui"},
}

// componentLabels are the app.kubernetes.io/component values of each chart's Deployments
// (kept from the charts' first version, so selectors never change on upgrade).
var componentLabels = map[string][]string{
	"service":          {"agent", "delayed-job-monitor", "logger", "service", "worker", "gateway-envoy"},
	"router":           {"router"},
	"backend-operator": {"listener", "worker"},
	"web-ui":           {"web-ui"},
}

// perComponent builds `services: {<each component>: <block>}` values for a chart.
func perComponent(chart string, block map[string]any) map[string]any {
	out := map[string]any{}
	for _, key := range componentKeys[chart] {
		parent, name, ok := strings.Cut(key, ".")
		if !ok {
			parent, name = "services", key
		}
		entries, _ := out[parent].(map[string]any)
		if entries == nil {
			entries = map[string]any{}
			out[parent] = entries
		}
		entries[name] = block
	}
	return out
}

// linesContaining returns "source: line" for each rendered line holding text.
// ConfigMaps are skipped: their data is another program's format (the backend test
// runner's pod template is written as NVIDIA's chart writes it).
func linesContaining(r *render.Result, text string) []string {
	var out []string
	for _, m := range r.Manifests {
		if _, isConfigMap := m.Object.(*corev1.ConfigMap); isConfigMap {
			continue
		}
		for _, line := range strings.Split(m.Text, "\n") {
			if strings.Contains(line, text) {
				out = append(out, m.Source+": "+strings.TrimSpace(line))
			}
		}
	}
	return out
}

func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}

func describe(p pod) string { return fmt.Sprintf("%s (pod)", p.Owner) }

// volumeNames are the volumes' names, in order.
func volumeNames(volumes []corev1.Volume) []string {
	var out []string
	for _, v := range volumes {
		out = append(out, v.Name)
	}
	return out
}

// containerNames are the containers' names, in order.
func containerNames(containers []corev1.Container) []string {
	var out []string
	for _, c := range containers {
		out = append(out, c.Name)
	}
	return out
}

// volumeNamed is the pod's volume called name; the test fails when there is none.
func volumeNamed(t *testing.T, volumes []corev1.Volume, name string) corev1.Volume {
	t.Helper()
	for _, v := range volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q in %v", name, volumeNames(volumes))
	return corev1.Volume{}
}

// ptr is a pointer to v, for the optional fields of expected objects.
func ptr[T any](v T) *T { return &v }
