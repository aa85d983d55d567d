package project

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tools cache follows tools/install.sh's cache root, variable by variable.
func TestToolsCache(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"OSMO_TOOLS_CACHE wins", map[string]string{"OSMO_TOOLS_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c"},
		{"then XDG_CACHE_HOME", map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/osmo-charts-tools"},
		{"then HOME/.cache", map[string]string{"HOME": "/h"}, "/h/.cache/osmo-charts-tools"},
		{"an empty variable counts as unset, as ${VAR:-…} does", map[string]string{"OSMO_TOOLS_CACHE": "", "XDG_CACHE_HOME": "", "HOME": "/h"}, "/h/.cache/osmo-charts-tools"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toolsCache(func(k string) string { return tc.env[k] })
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := toolsCache(func(string) string { return "" })
	assert.ErrorContains(t, err, "neither OSMO_TOOLS_CACHE, XDG_CACHE_HOME nor HOME is set")
}
