package lint_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/project"
)

// The Go code (harness, tests, commands, chart tools) passes go vet and the
// pinned staticcheck, as the README promises.
func TestGoCodeVetAndStaticcheck(t *testing.T) {
	staticcheck := filepath.Join(project.BinDir(), "staticcheck")
	for _, command := range [][]string{
		{"go", "vet", "./..."},
		{staticcheck, "./..."},
	} {
		t.Run(filepath.Base(command[0]), func(t *testing.T) {
			if command[0] == staticcheck {
				_, err := exec.LookPath(staticcheck)
				require.NoError(t, err, "%s is built by `make tools`", staticcheck)
			}
			cmd := exec.CommandContext(t.Context(), command[0], command[1:]...)
			cmd.Dir = project.Path()
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "%v:\n%s", command, out)
		})
	}
}
