package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// Strict decoding refuses what the API server would drop or reject.
func TestDecodeStrict(t *testing.T) {
	cases := []struct{ name, manifest, wantErr string }{
		{"unknown field", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountToken: true\n", `unknown field "automountToken"`},
		{"field in the wrong case", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {ServiceAccountName: x, containers: []}\n", `unknown field "spec.ServiceAccountName"`},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: a, k: b}\n", `key "k" already set in map`},
		{"label value that is not a string", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {use: true}}\n", "cannot unmarshal bool"},
		{"unknown kind", "apiVersion: v1\nkind: Nope\nmetadata: {name: a}\n", `no kind "Nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tc.manifest))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	obj, err := decodeStrict([]byte("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labels: {use: \"true\"}}\n"))
	require.NoError(t, err)
	sa, ok := obj.(*corev1.ServiceAccount)
	require.True(t, ok)
	assert.Equal(t, "true", sa.Labels["use"])
}

func TestSplitDocuments(t *testing.T) {
	text := "---\n# Source: a\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  f: |\n    ---\n    inner\n--- # next\nkind: B\n---\n\n"
	assert.Equal(t, []string{"apiVersion: v1\nkind: ConfigMap\ndata:\n  f: |\n    ---\n    inner\n", "kind: B\n"}, splitDocuments(text))
}
