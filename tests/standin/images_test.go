package standin_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/standinimage"
)

// TestStandinImagesCoverTheCharts: every image a chart runs with its default
// values (charts/<chart>/ci/01-default-values.yaml, as ct installs it) is one
// tools/kindimage saves a stand-in for, under the same reference, so a chart
// image without a stand-in fails here rather than as ImagePullBackOff on kind.
// The backend test runner's CronJob, which the backend-operator chart ships in
// a ConfigMap for OSMO's backend worker to create, is not run by the chart; its
// init container's ubuntu image is the one image left out, listed here.
func TestStandinImagesCoverTheCharts(t *testing.T) {
	t.Parallel()
	have := standinimage.References()
	var missing, carried []string
	for _, chart := range render.Charts {
		r, err := render.RenderFiles(chart, release, project.Path("charts", chart, "ci", "01-default-values.yaml"))
		require.NoError(t, err, chart)
		pods := podSpecs(t, r)
		require.NotEmpty(t, pods, chart)
		for _, p := range pods {
			for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
				if slices.Contains(have, c.Image) {
					continue
				}
				what := chart + ": " + p.owner + " container " + c.Name + ": " + c.Image
				if strings.HasPrefix(p.owner, "ConfigMap/") {
					carried = append(carried, c.Image)
					continue
				}
				missing = append(missing, what)
			}
		}
	}
	assert.Empty(t, missing, "images the charts run with no stand-in in harness/standinimage (tools/kindimage would not save them)")
	sort.Strings(carried)
	assert.Equal(t, []string{"ubuntu:22.04"}, slices.Compact(carried), "images only in the test runner's CronJob ConfigMap")
}

// TestStandinImagesList: the list names each OSMO image the programs live in
// once, under the charts' default registry and tag, plus busybox and Envoy.
func TestStandinImagesList(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{
		"docker.io/library/busybox:1.37.0",
		"envoyproxy/envoy:v1.29.0",
		"nvcr.io/nvidia/osmo/agent:6.4.0",
		"nvcr.io/nvidia/osmo/authz-sidecar:6.4.0",
		"nvcr.io/nvidia/osmo/backend-listener:6.4.0",
		"nvcr.io/nvidia/osmo/backend-test-runner:6.4.0",
		"nvcr.io/nvidia/osmo/backend-worker:6.4.0",
		"nvcr.io/nvidia/osmo/delayed-job-monitor:6.4.0",
		"nvcr.io/nvidia/osmo/logger:6.4.0",
		"nvcr.io/nvidia/osmo/router:6.4.0",
		"nvcr.io/nvidia/osmo/service:6.4.0",
		"nvcr.io/nvidia/osmo/web-ui:6.4.0",
		"nvcr.io/nvidia/osmo/worker:6.4.0",
	}, standinimage.References())
}
