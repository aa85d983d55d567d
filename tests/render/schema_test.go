package render_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
)

// global stays open: an umbrella chart's own global keys never break a render.
func TestUnknownGlobalKeysAreAccepted(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		renderChart(t, chart, values(t, `
global:
  storageClass: fast
  workloadIdentity: {provider: azure, azure: {clientId: 6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b, audience: custom}}
  image: {mirror: true}`))
	})
}

// The four charts work as subcharts of an umbrella, configured once through global.
func TestChartsRenderAsSubcharts(t *testing.T) {
	umbrella := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "osmo", Version: "1.0.0", Type: "application"}}
	for _, name := range render.Charts {
		sub, err := render.Chart(name)
		require.NoError(t, err)
		umbrella.AddDependency(sub)
	}
	r, err := render.Render(umbrella, values(t, `
global:
  teamOwnedKey: anything
  extraPodLabels: {team: osmo}
  workloadIdentity: {provider: azure, azure: {clientId: 6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b}}
router:
  services: {configFile: {enabled: true}, service: {scaling: {minReplicas: 2}}}
service:
  services: {configFile: {enabled: true}}
  gateway: {oauth2Proxy: {enabled: false}, authz: {enabled: false}}`), release)
	require.NoError(t, err)
	deployments := render.Objects[*appsv1.Deployment](r)
	assert.Len(t, deployments, 10, "every component of the four charts (the gateway's Envoy included)")
	for _, d := range deployments {
		assert.Equal(t, "osmo", d.Spec.Template.Labels["team"], d.Name)
		assert.Equal(t, "true", d.Spec.Template.Labels["azure.workload.identity/use"], d.Name)
		if d.Name == "osmo-router" {
			assert.EqualValues(t, 2, *d.Spec.Replicas)
		}
	}
}

// Schemas need no network: every $ref is local.
func TestSchemasHaveNoRemoteRefs(t *testing.T) {
	for _, name := range render.Charts {
		data, err := os.ReadFile(project.Path("charts", name, "values.schema.json"))
		require.NoError(t, err)
		var schema any
		require.NoError(t, json.Unmarshal(data, &schema))
		walk(schema, func(key string, value any) {
			if key == "$ref" {
				assert.True(t, strings.HasPrefix(value.(string), "#/"), "%s: remote $ref %v", name, value)
			}
		})
	}
}

// The committed schemas and the shared blocks of the values files are what
// tools/chartschema generates from the values files and charts/common/shared-values.yaml.
func TestSchemasAreGenerated(t *testing.T) {
	cmd := exec.Command("go", "run", "./tools/chartschema", "-check")
	cmd.Dir = project.MustRoot()
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

func walk(node any, visit func(key string, value any)) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			visit(k, v)
			walk(v, visit)
		}
	case []any:
		for _, v := range n {
			walk(v, visit)
		}
	}
}
