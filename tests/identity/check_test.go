package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/identitycheck"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
)

const (
	checkRelease  = "osmo-router"
	checkAccount  = "osmo-router" // <release>-<chart>, the account the chart creates
	checkClientID = "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"
	checkPool     = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster"
)

// checkInstallRouter installs the router chart as checkRelease with a values
// file into a fresh restricted namespace and returns the namespace. Without
// wait, helm returns once the objects exist (for pods that can never start).
func checkInstallRouter(t *testing.T, valuesFile string, wait bool) string {
	t.Helper()
	namespace := clustertest.Namespace(t, local(t), "restricted")
	if wait {
		helm(t).Install(t, namespace, checkRelease, chartDir(t, "router"), databasePassword(t), valuesFile)
	} else {
		helm(t).Run(t, namespace, "install", checkRelease, chartDir(t, "router"), "--values", databasePassword(t), "--values", valuesFile)
	}
	return namespace
}

// checkRouter runs the check on the router release and logs its table.
func checkRouter(t *testing.T, namespace string) *identitycheck.Report {
	t.Helper()
	report, err := identitycheck.Check(t.Context(), local(t).Client(), identitycheck.Options{Namespace: namespace, Release: checkRelease})
	require.NoError(t, err)
	var table bytes.Buffer
	require.NoError(t, report.WriteTable(&table))
	t.Logf("identity check:\n%s", table.String())
	require.NotEmpty(t, report.Pods)
	return report
}

// checkEnvNames are the identity variables a container received.
func checkEnvNames(c identitycheck.ContainerIdentity) []string {
	var names []string
	for name := range c.Env {
		names = append(names, name)
	}
	return names
}

// Good installs of every scenario: every pod is OK, with the provider's env
// and token, and the subject and issuer to register in the cloud.
func TestIdentityCheckGoodInstalls(t *testing.T) {
	t.Parallel()
	cases := []struct {
		scenario   string
		provider   cloud.Provider
		federation bool     // GCP outside GKE
		env        []string // in every container
		audience   string   // of the token the SDK reads; "" when nothing is mounted (GKE)
	}{
		{"aks-workload-identity", cloud.Azure, false,
			[]string{cloud.EnvAzureClientID, cloud.EnvAzureTenantID, cloud.EnvAzureTokenFile, cloud.EnvAzureAuthorityHost}, cloud.AzureAudience},
		{"aks-workload-identity-shortcut", cloud.Azure, false,
			[]string{cloud.EnvAzureClientID, cloud.EnvAzureTenantID, cloud.EnvAzureTokenFile, cloud.EnvAzureAuthorityHost}, cloud.AzureAudience},
		{"eks-irsa", cloud.AWS, false,
			[]string{cloud.EnvAWSRoleARN, cloud.EnvAWSTokenFile, cloud.EnvAWSRegion}, cloud.AWSAudience},
		{"gke-workload-identity", cloud.GCP, false, nil, ""},
		{"gcp-workload-identity-federation", cloud.GCP, true,
			[]string{cloud.EnvGoogleCredentials}, checkPool},
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			namespace := checkInstallRouter(t, project.Path("values-examples", tc.scenario, "router.yaml"), true)
			report := checkRouter(t, namespace)
			assert.True(t, report.OK(), "every pod gets its identity")
			assert.Equal(t, local(t).IssuerURL(), report.Issuer)
			for _, p := range report.Pods {
				assert.Equal(t, "Pod", p.Kind)
				assert.True(t, p.OK, "pod %s: %+v", p.Name, p.Problems)
				assert.Equal(t, tc.provider, p.Provider, "pod %s (%s)", p.Name, p.Evidence)
				assert.Equal(t, tc.federation, p.Federation, "pod %s (%s)", p.Name, p.Evidence)
				assert.Equal(t, checkAccount, p.ServiceAccount)
				assert.True(t, p.ServiceAccountExists)
				assert.NotEmpty(t, p.AccountAnnotation, "pod %s", p.Name)
				assert.Equal(t, "system:serviceaccount:"+namespace+":"+checkAccount, p.Subject)
				assert.Equal(t, local(t).IssuerURL(), p.Issuer)
				require.NotEmpty(t, p.Containers)
				for _, c := range p.Containers {
					assert.Subset(t, checkEnvNames(c), tc.env, "pod %s container %s", p.Name, c.Name)
				}
				if tc.audience == "" {
					assert.Nil(t, p.Token, "pod %s", p.Name)
				} else if assert.NotNil(t, p.Token, "pod %s", p.Name) {
					assert.Equal(t, tc.audience, p.Token.Audience)
				}
			}

			// --exchange: the cloud (a stand-in) accepts every pod's token for
			// the subject and issuer the report says to register.
			require.NoError(t, report.ProveExchanges(t.Context(), local(t).Client(), local(t).CA().CertPEM()))
			for _, p := range report.Pods {
				if tc.audience == "" {
					assert.Nil(t, p.Exchange, "GKE: no token in the pod to exchange")
					continue
				}
				if assert.NotNil(t, p.Exchange, "pod %s", p.Name) {
					assert.True(t, p.Exchange.Accepted, "pod %s: %s", p.Name, p.Exchange.Error)
				}
			}
			assert.True(t, report.OK())
		})
	}
}

// Broken installs: each pod is reported not OK with the specific problem and
// its fix, next to what the webhooks really did.
func TestIdentityCheckBrokenInstalls(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		values   string // a values file's text
		scenario string // or a scenario of values-examples/
		wait     bool
		check    func(t *testing.T, namespace string, p identitycheck.PodReport)
		reason   string // in the one problem reported
		fix      string // in its fix
	}{
		{name: "pod without the use label", wait: true,
			values: `serviceAccount: {annotations: {azure.workload.identity/client-id: "` + checkClientID + `"}}`,
			check: func(t *testing.T, _ string, p identitycheck.PodReport) {
				assert.Equal(t, cloud.Azure, p.Provider, "from the account's annotation")
				assert.Empty(t, p.PodLabel)
				for _, c := range p.Containers {
					assert.Empty(t, c.Env, "the webhook never saw the pod")
				}
				assert.Nil(t, p.Token)
			},
			reason: "only mutates labelled pods", fix: "extraPodLabels"},
		{name: "account without the client-id annotation", wait: true,
			values: `extraPodLabels: {azure.workload.identity/use: "true"}`,
			check: func(t *testing.T, _ string, p identitycheck.PodReport) {
				assert.Equal(t, cloud.Azure, p.Provider, "from the pod's label")
				assert.Equal(t, cloud.AzureUseLabel+"=true", p.PodLabel)
				assert.Empty(t, p.AccountAnnotation)
				// The webhook still mutates the labelled pod: token, tenant and
				// authority, but it leaves AZURE_CLIENT_ID out (it skips empty values).
				for _, c := range p.Containers {
					assert.NotContains(t, c.Env, cloud.EnvAzureClientID, "container %s", c.Name)
					assert.Equal(t, identitywebhook.DefaultAzureTenantID, c.Env[cloud.EnvAzureTenantID])
					assert.Equal(t, "/var/run/secrets/azure/wi/token/azure-identity-token", c.Env[cloud.EnvAzureTokenFile])
					assert.Equal(t, standIn.EntraAuthorityHost(), c.Env[cloud.EnvAzureAuthorityHost])
				}
				if assert.NotNil(t, p.Token) {
					assert.Equal(t, cloud.AzureAudience, p.Token.Audience)
				}
			},
			reason: "has no azure.workload.identity/client-id annotation", fix: "global.workloadIdentity.azure.clientId"},
		{name: "pre-provisioned account that does not exist", wait: false,
			values: `serviceAccount: {create: false, name: missing}`,
			check: func(t *testing.T, namespace string, p identitycheck.PodReport) {
				// No pod can be created, so the check reports the release's Deployment.
				assert.Equal(t, "Deployment", p.Kind)
				assert.Equal(t, checkAccount, p.Name)
				assert.Equal(t, "missing", p.ServiceAccount)
				assert.False(t, p.ServiceAccountExists)
				assert.Empty(t, p.Provider, "none")
				assert.Equal(t, "system:serviceaccount:"+namespace+":missing", p.Subject)
			},
			reason: `ServiceAccount "missing" does not exist`, fix: "serviceAccount.create=true"},
		{name: "no identity at all", wait: true,
			scenario: "minimal",
			check: func(t *testing.T, _ string, p identitycheck.PodReport) {
				assert.Empty(t, p.Provider, "none")
				assert.True(t, p.ServiceAccountExists)
			},
			reason: "no workload identity configured", fix: "global.workloadIdentity.provider"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			valuesFile := project.Path("values-examples", tc.scenario, "router.yaml")
			if tc.scenario == "" {
				valuesFile = writeValues(t, tc.values)
			}
			namespace := checkInstallRouter(t, valuesFile, tc.wait)
			report := checkRouter(t, namespace)
			assert.False(t, report.OK())
			for _, p := range report.Pods {
				assert.False(t, p.OK, "%s %s", p.Kind, p.Name)
				if assert.Len(t, p.Problems, 1, "%s %s: %+v", p.Kind, p.Name, p.Problems) {
					assert.Contains(t, p.Problems[0].Reason, tc.reason)
					assert.Contains(t, p.Problems[0].Fix, tc.fix)
				}
				tc.check(t, namespace, p)
			}
		})
	}
}

// The ReplicaSet of a Deployment whose account is missing fails to create
// pods; the check shows the controller's own words once they are in.
func TestIdentityCheckMissingAccountShowsWhyNoPods(t *testing.T) {
	t.Parallel()
	namespace := checkInstallRouter(t, writeValues(t, `serviceAccount: {create: false, name: missing}`), false)
	var notes []string
	err := poll.Until(t.Context(), "the Deployment to report ReplicaFailure", 200*time.Millisecond, 30*time.Second, func(ctx context.Context) (bool, error) {
		report, err := identitycheck.Check(ctx, local(t).Client(), identitycheck.Options{Namespace: namespace, Release: checkRelease})
		if err != nil {
			return false, err
		}
		if len(report.Pods) != 1 {
			return false, poll.NotYet("%d entries in the report, want the Deployment's", len(report.Pods))
		}
		notes = report.Pods[0].Notes
		return len(notes) > 0, nil
	})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(notes, "\n"), `serviceaccount "missing" not found`)
}

// The command end to end: exit 0 for a good release, 1 (with the fix) for a
// broken one, 2 when nothing matches or a flag is wrong; --output json parses.
func TestIdentityCheckCommand(t *testing.T) {
	t.Parallel()
	binary := filepath.Join(t.TempDir(), "identity-check")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", binary, "./cmd/identity-check")
	build.Dir = project.MustRoot()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	namespace := clustertest.Namespace(t, local(t), "restricted")
	for release, scenario := range map[string]string{"good": "aks-workload-identity-shortcut", "broken": "minimal"} {
		helm(t).Install(t, namespace, release, chartDir(t, "router"), project.Path("values-examples", scenario, "router.yaml"))
	}

	run := func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		command := exec.CommandContext(ctx, binary, append([]string{"--kubeconfig", local(t).KubeconfigPath(), "--namespace", namespace}, args...)...)
		var outBuf, errBuf bytes.Buffer
		command.Stdout, command.Stderr = &outBuf, &errBuf
		err := command.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		t.Logf("identity-check %s: exit %d\n%s%s", strings.Join(args, " "), code, outBuf.String(), errBuf.String())
		return outBuf.String(), errBuf.String(), code
	}

	t.Run("good release", func(t *testing.T) {
		stdout, _, code := run(t, "--release", "good")
		assert.Equal(t, 0, code)
		assert.Regexp(t, `(?m)^good-router-\S+\s+azure\s+good-router\s+OK$`, stdout)
		assert.Contains(t, stdout, "system:serviceaccount:"+namespace+":good-router")
		assert.Contains(t, stdout, local(t).IssuerURL())
	})
	t.Run("broken release names the fix", func(t *testing.T) {
		stdout, stderr, code := run(t, "--release", "broken")
		assert.Equal(t, 1, code)
		assert.Regexp(t, `(?m)^broken-router-\S+\s+none\s+broken-router\s+NOT OK \(1 problem\)$`, stdout)
		assert.Contains(t, stdout, "fix")
		assert.Contains(t, stdout, "set global.workloadIdentity.provider (azure, aws or gcp)")
		assert.Contains(t, stderr, "would not get their identity")
	})
	t.Run("exchange", func(t *testing.T) {
		stdout, _, code := run(t, "--release", "good", "--exchange")
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "azure stand-in, 72f988bf-86f1-41af-91ab-2d7cd011db47/"+checkClientID+": accepted")
	})
	t.Run("json", func(t *testing.T) {
		stdout, _, code := run(t, "--release", "broken", "--output", "json")
		assert.Equal(t, 1, code)
		var report identitycheck.Report
		require.NoError(t, json.Unmarshal([]byte(stdout), &report), stdout)
		require.NotEmpty(t, report.Pods)
		assert.Empty(t, report.Pods[0].Provider, "none")
		assert.Contains(t, report.Pods[0].Problems[0].Fix, "global.workloadIdentity.provider")
		var raw map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &raw))
		assert.Contains(t, raw, "pods", "lowercase field names")
	})
	t.Run("whole namespace fails when one release does", func(t *testing.T) {
		_, _, code := run(t)
		assert.Equal(t, 1, code)
	})
	t.Run("no pods matched", func(t *testing.T) {
		_, stderr, code := run(t, "--release", "absent")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, `no pods matched selector "app.kubernetes.io/instance=absent"`)
	})
	t.Run("bad flag", func(t *testing.T) {
		_, stderr, code := run(t, "--output", "yaml")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "expected table or json")
	})
}
