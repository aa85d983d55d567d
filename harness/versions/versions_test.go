package versions_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// A wrapper module under tools/ pins its tool in go.mod, which the shell
// cannot read from versions.env: each must require the version pinned here.
func TestWrapperModulesPinTheSameVersions(t *testing.T) {
	for _, tc := range []struct {
		wrapper, module string
		pinned          versions.Version
	}{
		{"kubernetes", "k8s.io/kubernetes", versions.Kubernetes},
		{"etcd", "go.etcd.io/etcd/server/v3", versions.Etcd},
		{"etcd", "go.etcd.io/etcd/etcdctl/v3", versions.Etcd},
		{"chart-testing", "github.com/helm/chart-testing/v3", versions.ChartTesting},
		{"eks-webhook", "github.com/aws/amazon-eks-pod-identity-webhook", versions.EKSPodIdentityWebhook},
		{"azure-webhook", "github.com/Azure/azure-workload-identity", versions.AzureWorkloadIdentity},
		{"oauth2-proxy", "github.com/oauth2-proxy/oauth2-proxy/v7", versions.OAuth2Proxy},
		{"ratelimit-config", "github.com/envoyproxy/ratelimit", versions.Ratelimit},
		{"kubernetes-node", "k8s.io/kubernetes", versions.Kubernetes},
		{"coredns", "github.com/coredns/coredns", versions.CoreDNS},
		{"cni-plugins", "github.com/containernetworking/plugins", versions.CNIPlugins},
		{"local-path-provisioner", "github.com/rancher/local-path-provisioner", versions.LocalPathProvisioner},
		{"cri-tools", "sigs.k8s.io/cri-tools", versions.CRITools},
	} {
		t.Run(tc.wrapper+"/"+tc.module, func(t *testing.T) {
			goMod, err := os.ReadFile(project.Path("tools", tc.wrapper, "go.mod"))
			require.NoError(t, err)
			assert.Equal(t, string(tc.pinned), required(string(goMod), tc.module),
				"tools/%s/go.mod must require %s at the version versions.env pins (change both)", tc.wrapper, tc.module)
		})
	}
}

// required is the version go.mod's require directives give module ("" if none).
func required(goMod, module string) string {
	for _, line := range strings.Split(goMod, "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	return ""
}

// tools/install.sh takes every version from versions.env: it sources the
// file, names every key, and writes no version of its own.
func TestInstallScriptReadsEveryVersion(t *testing.T) {
	script, err := os.ReadFile(project.Path("tools", "install.sh"))
	require.NoError(t, err)
	text := string(script)
	assert.Contains(t, text, `. "$versions"`)
	for key, version := range versions.Pinned {
		assert.Contains(t, text, "${"+key, "install.sh uses %s", key)
		assert.NotContains(t, text, version.WithoutV(), "install.sh writes %s itself instead of ${%s}", version, key)
	}
}

func TestParse(t *testing.T) {
	pinned, err := versions.Parse("# comment\n\nKUBERNETES=v1.2.3\n  HELM_DOCS=v4.5.6  \n")
	require.NoError(t, err)
	assert.Equal(t, map[string]versions.Version{"KUBERNETES": "v1.2.3", "HELM_DOCS": "v4.5.6"}, pinned)

	for _, bad := range []string{
		"KUBERNETES v1.2.3",            // no =
		"kubernetes=v1.2.3",            // not a shell variable the script uses
		`KUBERNETES="v1.2.3"`,          // quotes: the shell would strip them, Go would not
		"KUBERNETES=v1.2.3 # note",     // a trailing comment, likewise
		"KUBERNETES=",                  // empty
		"KUBERNETES=$OTHER",            // expansion
		"KUBERNETES=v1\nKUBERNETES=v2", // twice
	} {
		_, err := versions.Parse(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestVersionParts(t *testing.T) {
	assert.Equal(t, "1", versions.Version("v1.2.3").Major())
	assert.Equal(t, "2", versions.Version("v1.2.3").Minor())
	assert.Equal(t, "1.2.3", versions.Version("v1.2.3").WithoutV())
	assert.Equal(t, "osmo-charts.local/kind-node:"+string(versions.Kubernetes), versions.KindNodeImage)
}
