package helmcli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/helmcli"
)

// Each pinned tool runs at the version versions.env pins, with the Helm home
// given and nothing of the user's.
func TestToolsRunAtTheirPinnedVersion(t *testing.T) {
	for _, tool := range helmcli.Tools {
		t.Run(tool, func(t *testing.T) {
			home := t.TempDir()
			h := helmcli.Helm{Tool: tool, Home: home}
			out, err := h.RunE(t.Context(), "", "version", "--short")
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(strings.TrimSpace(out), string(helmcli.ToolVersions[tool])), "%s version %q, pinned %s", tool, out, helmcli.ToolVersions[tool])

			out, err = h.RunE(t.Context(), "", "env")
			require.NoError(t, err)
			assert.Contains(t, out, `HELM_CACHE_HOME="`+filepath.Join(home, "cache")+`"`)
			assert.Contains(t, out, `HELM_CONFIG_HOME="`+filepath.Join(home, "config")+`"`)
		})
	}
}

// A failing command's error names the command and carries helm's output, so a
// test or command can print just the error.
func TestErrorsNameTheCommand(t *testing.T) {
	h := helmcli.Helm{Home: t.TempDir(), Kubeconfig: filepath.Join(t.TempDir(), "absent-kubeconfig")}
	_, err := h.InstallE(t.Context(), "osmo", "osmo-router", filepath.Join(t.TempDir(), "no-such-chart"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "helm install osmo-router")
	assert.Contains(t, err.Error(), "--namespace osmo")
	assert.Contains(t, err.Error(), "--wait --timeout 3m0s")
	assert.Contains(t, err.Error(), "no-such-chart", "helm's own output")
}
