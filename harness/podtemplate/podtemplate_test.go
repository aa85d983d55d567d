package podtemplate_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/podtemplate"
)

func parse(t *testing.T, text string) map[string]any {
	t.Helper()
	out := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(text), &out))
	return out
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name, base, overlay, want string
	}{
		{"maps merge recursively",
			`{metadata: {labels: {a: "1"}}, spec: {nodeSelector: {x: y}}}`,
			`{metadata: {labels: {b: "2"}, annotations: {c: "3"}}}`,
			`{metadata: {labels: {a: "1", b: "2"}, annotations: {c: "3"}}, spec: {nodeSelector: {x: y}}}`},
		{"scalars are replaced",
			`{spec: {serviceAccountName: default, priority: 1}}`,
			`{spec: {serviceAccountName: osmo-workflow}}`,
			`{spec: {serviceAccountName: osmo-workflow, priority: 1}}`},
		{"list items merge by name",
			`{spec: {containers: [{name: user, image: a, env: [{name: A, value: "1"}]}, {name: ctrl, image: c}]}}`,
			`{spec: {containers: [{name: user, env: [{name: A, value: "2"}, {name: B, value: "3"}]}]}}`,
			`{spec: {containers: [{name: user, image: a, env: [{name: A, value: "2"}, {name: B, value: "3"}]}, {name: ctrl, image: c}]}}`},
		{"new names and unnamed items are appended",
			`{spec: {containers: [{name: user}], tolerations: [{key: a, operator: Exists}]}}`,
			`{spec: {containers: [{name: sidecar}], tolerations: [{key: b, operator: Exists}]}}`,
			`{spec: {containers: [{name: user}, {name: sidecar}], tolerations: [{key: a, operator: Exists}, {key: b, operator: Exists}]}}`},
		{"a map replaces a scalar and the other way round",
			`{spec: {affinity: none, hostNetwork: {a: b}}}`,
			`{spec: {affinity: {nodeAffinity: {}}, hostNetwork: true}}`,
			`{spec: {affinity: {nodeAffinity: {}}, hostNetwork: true}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, overlay := parse(t, tc.base), parse(t, tc.overlay)
			baseCopy, overlayCopy := parse(t, tc.base), parse(t, tc.overlay)
			assert.Equal(t, parse(t, tc.want), podtemplate.Merge(base, overlay))
			assert.Equal(t, baseCopy, base, "base is not modified")
			assert.Equal(t, overlayCopy, overlay, "overlay is not modified")
		})
	}
}

const config = `
pod_templates:
  default_user:
    spec:
      containers:
      - name: '{{USER_CONTAINER_NAME}}'
        resources: {limits: {cpu: '{{USER_CPU}}'}}
  default_ctrl:
    spec:
      containers:
      - name: osmo-ctrl
  identity:
    metadata: {labels: {azure.workload.identity/use: "true"}}
    spec: {serviceAccountName: osmo-workflow}
pools:
  default:
    common_pod_template: [default_user, default_ctrl, identity]
  broken:
    common_pod_template: [default_user, missing]
`

func TestPoolMergesItsTemplatesInOrder(t *testing.T) {
	c, err := podtemplate.ParseConfig(config)
	require.NoError(t, err)
	pod, err := c.WorkflowPod("default", map[string]string{"USER_CONTAINER_NAME": "user", "USER_CPU": "2"})
	require.NoError(t, err)
	assert.Equal(t, "osmo-workflow", pod.Spec.ServiceAccountName)
	assert.Equal(t, "true", pod.Labels["azure.workload.identity/use"])
	require.Len(t, pod.Spec.Containers, 2)
	assert.Equal(t, "user", pod.Spec.Containers[0].Name)
	assert.Equal(t, "2", pod.Spec.Containers[0].Resources.Limits.Cpu().String())
	assert.Equal(t, "osmo-ctrl", pod.Spec.Containers[1].Name)
}

func TestPoolErrors(t *testing.T) {
	c, err := podtemplate.ParseConfig(config)
	require.NoError(t, err)
	_, err = c.ForPool("broken")
	assert.EqualError(t, err, `pool "broken": pod template "missing" is not defined`)
	_, err = c.ForPool("gpu")
	assert.EqualError(t, err, `pool "gpu" is not defined (pools: broken, default)`)
}

func TestFillReportsMissingPlaceholders(t *testing.T) {
	_, err := podtemplate.Fill(parse(t, `{a: "{{USER_CPU}}", b: ["{{USER_GPU}}x", "{{USER_CPU}}"]}`), map[string]string{})
	assert.EqualError(t, err, "no value for placeholder(s) {{USER_CPU}}, {{USER_GPU}}")
}

func TestPodRejectsUnknownFields(t *testing.T) {
	_, err := podtemplate.Pod(parse(t, `{spec: {serviceAcountName: x}}`))
	assert.ErrorContains(t, err, `unknown field "serviceAcountName"`)
}
