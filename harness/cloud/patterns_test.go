package cloud_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/project"
)

// The chart validates ids with regexMatch; the Go code with package cloud.
// Every pattern of the template must be one of ours, spelled the same, so
// the chart and the identity check can never disagree on what an id is.
func TestChartPatternsAreOurs(t *testing.T) {
	ours := map[string]string{
		cloud.GUIDPattern:                     "GUIDPattern",
		cloud.RoleARNPattern:                  "RoleARNPattern",
		cloud.GoogleServiceAccountPattern:     "GoogleServiceAccountPattern",
		cloud.GoogleServiceAccountNamePattern: "GoogleServiceAccountNamePattern",
		cloud.PoolProviderPattern:             "PoolProviderPattern",
	}
	found := chartPatterns(t)
	for _, pattern := range found {
		if _, ok := kubernetesLabelSyntax[pattern]; ok {
			continue
		}
		_, ok := ours[pattern]
		assert.True(t, ok, "_validate.tpl matches %q, which is none of package cloud's patterns: "+
			"add it there (and use it from Go), or fix the template's spelling", pattern)
	}
	for pattern, name := range ours {
		assert.Contains(t, found, pattern, "cloud.%s is not what _validate.tpl matches: the chart and Go disagree", name)
	}
}

// kubernetesLabelSyntax are the template's label patterns, which are no cloud
// fact: each is checked against apimachinery's own validation instead.
var kubernetesLabelSyntax = map[string]func(string) bool{
	`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`: func(name string) bool {
		return len(validation.IsQualifiedName(name)) == 0
	},
	`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`: func(value string) bool {
		return len(validation.IsValidLabelValue(value)) == 0
	},
}

func TestChartLabelPatternsAgreeWithKubernetes(t *testing.T) {
	samples := []string{"", "a", "app", "azure.workload.identity/use", "example.com/a_b.c-d", "-a", "a-", "A/b", "a/b/c",
		"true", "x_y", "v1.2.3", "ends.", "_x", "with space", "a@b", "UPPER/name", "a.b/" + strings.Repeat("n", 63)}
	for pattern, kubernetes := range kubernetesLabelSyntax {
		re := regexp.MustCompile(pattern)
		for _, s := range samples {
			if len(s) > 63 && !strings.Contains(s, "/") {
				continue // the template checks a value's length apart from its pattern
			}
			assert.Equal(t, kubernetes(s), re.MatchString(s), "pattern %q and Kubernetes disagree on %q", pattern, s)
		}
	}
}

// chartPatterns are the regexMatch patterns of the common library's
// validation, with $variables resolved to the string they are set to.
func chartPatterns(t *testing.T) []string {
	t.Helper()
	template, err := os.ReadFile(project.Path("charts", "common", "templates", "_validate.tpl"))
	require.NoError(t, err)
	const literal = `"(?:[^"\\]|\\.)*"`
	variables := map[string]string{}
	for _, m := range regexp.MustCompile(`(\$\w+)\s*:=\s*(`+literal+`)`).FindAllStringSubmatch(string(template), -1) {
		variables[m[1]] = unquote(t, m[2])
	}
	var patterns []string
	for _, m := range regexp.MustCompile(`regexMatch\s+(`+literal+`|\$\w+)`).FindAllStringSubmatch(string(template), -1) {
		if value, ok := variables[m[1]]; ok {
			patterns = append(patterns, value)
			continue
		}
		require.True(t, m[1][0] == '"', "regexMatch %s: a variable not set to a string literal in the template", m[1])
		patterns = append(patterns, unquote(t, m[1]))
	}
	require.NotEmpty(t, patterns, "no regexMatch found in _validate.tpl")
	return patterns
}

// unquote reads a template string literal, which has Go's syntax.
func unquote(t *testing.T, quoted string) string {
	t.Helper()
	s, err := strconv.Unquote(quoted)
	require.NoError(t, err, "template string %s", quoted)
	return s
}
