package standin_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/osmoprogram"
	"github.com/osmo-wi/charts/harness/render"
)

// noIdP switches the service chart's gateway off (it needs an identity provider
// to start), as run/minimal does.
const noIdP = "gateway: {oauth2Proxy: {enabled: false}, authz: {enabled: false}}\n"

// renderValues renders a chart with a values block written in the test.
func renderValues(t *testing.T, chart, text string) *render.Result {
	t.Helper()
	values := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(text), &values))
	ch, err := render.Chart(chart)
	require.NoError(t, err)
	r, err := render.Render(ch, values, release)
	require.NoError(t, err, "render %s", chart)
	return r
}

// programIn is the started program of the render's container running program.
func programIn(t *testing.T, r *render.Result, program string) started {
	t.Helper()
	for _, s := range containers(t, t.Name(), r) {
		if s.program == program {
			return s
		}
	}
	t.Fatalf("no container starts %s", program)
	return started{}
}

func requireRefusal(t *testing.T, err error, rule, flag string, status int, message string) {
	t.Helper()
	var refused *osmoprogram.Error
	require.True(t, errors.As(err, &refused), "must be refused as the real program refuses it, got %v", err)
	assert.Equal(t, rule, refused.Rule, refused.Message)
	assert.Equal(t, flag, refused.Flag, refused.Message)
	assert.Equal(t, status, refused.Status)
	assert.Contains(t, refused.Message, message)
}

// TestStandinChartRefusals proves the check has teeth on rendered charts: a
// flag the program does not know, a value of the wrong type and a required flag
// removed are each refused, while the same chart without them is accepted.
func TestStandinChartRefusals(t *testing.T) {
	t.Parallel()
	t.Run("router: an unknown flag in extraArgs", func(t *testing.T) {
		t.Parallel()
		base := "services: {configFile: {enabled: true}, postgres: {password: pw}}\n"
		s := programIn(t, renderValues(t, "router", base), "router")
		require.NoError(t, s.err)
		s = programIn(t, renderValues(t, "router", base+"extraArgs: [--no_such_flag, x]\n"), "router")
		requireRefusal(t, s.err, "unrecognized", "--no_such_flag", 2, "unrecognized arguments: --no_such_flag x")
	})
	t.Run("service worker: a port that is not a number", func(t *testing.T) {
		t.Parallel()
		s := programIn(t, renderValues(t, "service", noIdP+"services: {postgres: {password: pw}, worker: {extraArgs: [--redis_port, six]}}\n"), "worker")
		requireRefusal(t, s.err, "type", "--redis_port", 1, "redis_port (--redis_port): Input should be a valid integer")
	})
	t.Run("service agent: a flag only one of its two parsers knows", func(t *testing.T) {
		t.Parallel()
		s := programIn(t, renderValues(t, "service", noIdP+"services: {postgres: {password: pw}, agent: {extraArgs: [--progress_period, \"10\"]}}\n"), "agent_service")
		requireRefusal(t, s.err, "unrecognized", "--progress_period", 2, "unrecognized arguments: --progress_period 10")
	})
	t.Run("service: the database password is required", func(t *testing.T) {
		t.Parallel()
		// The chart refuses to render without one (tests/render/errors_test.go has the message);
		// the program, started without it, refuses as OSMO's does.
		ch, err := render.Chart("service")
		require.NoError(t, err)
		values := map[string]any{}
		require.NoError(t, yaml.Unmarshal([]byte(noIdP), &values))
		_, err = render.Render(ch, values, release)
		require.ErrorContains(t, err, "would start without a database password")
		s := programIn(t, renderValues(t, "service", noIdP+"services: {postgres: {password: pw}}\n"), "service")
		require.NoError(t, s.err)
		env := maps.Clone(s.env)
		delete(env, "OSMO_POSTGRES_PASSWORD")
		_, err = osmoprogram.Parse(s.program, s.args, env)
		requireRefusal(t, err, "required", "--postgres_password", 1, "postgres_password: required, no value provided via config file key postgres_password, --postgres_password, env OSMO_POSTGRES_PASSWORD")
	})
	t.Run("backend listener: --namespace removed", func(t *testing.T) {
		t.Parallel()
		s := programIn(t, renderValues(t, "backend-operator", "{}"), "backend_listener")
		require.NoError(t, s.err)
		i := slices.Index(s.args, "--namespace")
		require.GreaterOrEqual(t, i, 0, "the chart passes --namespace: %v", s.args)
		args := slices.Delete(slices.Clone(s.args), i, i+2)
		_, err := osmoprogram.Parse(s.program, args, s.env)
		requireRefusal(t, err, "required", "--namespace", 1, "namespace: required, no value provided via config file key namespace, --namespace")
	})
	t.Run("backend worker: a flag's value removed", func(t *testing.T) {
		t.Parallel()
		s := programIn(t, renderValues(t, "backend-operator", "{}"), "backend_worker")
		require.NoError(t, s.err)
		i := slices.Index(s.args, "--backend")
		args := slices.Delete(slices.Clone(s.args), i+1, i+2)
		_, err := osmoprogram.Parse(s.program, args, s.env)
		requireRefusal(t, err, "expected-argument", "--backend", 2, "argument --backend: expected one argument")
	})
	t.Run("an exec probe the image's progress_check refuses", func(t *testing.T) {
		t.Parallel()
		s := programIn(t, renderValues(t, "service", noIdP+"services: {postgres: {password: pw}}\n"), "worker")
		require.Empty(t, probeProblems(s))
		s.c.LivenessProbe.Exec.Command = []string{"progress_check", "--progress_interval", "300", "--progress_file", "/var/run/osmo/elsewhere"}
		assert.Equal(t, []string{"liveness probe: progress_check reads /var/run/osmo/elsewhere, which worker never writes (it writes [/var/run/osmo/last_progress])"}, probeProblems(s))
		s.c.LivenessProbe.Exec.Command = []string{"progress_check", "--progress_interval", "300:300"}
		assert.Contains(t, probeProblems(s)[0], "Must provide same number of intervals and files!")
		s.c.LivenessProbe.Exec.Command = []string{"progress_check", "--interval", "300"}
		assert.Contains(t, probeProblems(s)[0], "unrecognized arguments: --interval 300")
	})
}
