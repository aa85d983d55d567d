package osmoprogram_test

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// TestCredential: the operators read their login secret as
// src/operator/utils/login.py get_login_info does, with its messages.
func TestCredential(t *testing.T) {
	files := map[string]string{"/opt/osmo/secrets/password.txt": "hunter2\n", "/opt/osmo/secrets/token.txt": "tok\n"}
	read := func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	base := []string{"--namespace", "osmo-namespace", "--host", "http://osmo"}
	cases := []struct {
		name, program string
		args          []string
		want, err     string
	}{
		{"password file", "backend_listener", []string{"--username", "", "--password_file", "/opt/osmo/secrets/password.txt"}, "hunter2", ""},
		{"password file missing", "backend_worker", []string{"--username", "svc", "--password_file", "/opt/osmo/secrets/nope"}, "", "The file /opt/osmo/secrets/nope does not exist!"},
		{"inline password", "backend_listener", []string{"--username", "svc", "--password", "pw"}, "pw", ""},
		{"no username", "backend_listener", []string{"--password_file", "/opt/osmo/secrets/password.txt"}, "", "Must provide username"},
		{"no password", "backend_worker", []string{"--username", "svc"}, "", "Must provide password"},
		{"token file", "backend_listener", []string{"--login_method", "token", "--token_file", "/opt/osmo/secrets/token.txt"}, "tok", ""},
		{"token file missing", "backend_listener", []string{"--login_method", "token", "--token_file", "/x"}, "", "The file /x does not exist!"},
		{"no token", "backend_worker", []string{"--login_method", "token"}, "", "Must provide token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := osmoprogram.Parse(c.program, append(append([]string{}, base...), c.args...), nil)
			require.NoError(t, err)
			got, err := osmoprogram.Credential(inv, read)
			if c.err != "" {
				require.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}

	t.Run("programs that do not log in", func(t *testing.T) {
		inv, err := osmoprogram.Parse("router", nil, password)
		require.NoError(t, err)
		got, err := osmoprogram.Credential(inv, read)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
}
