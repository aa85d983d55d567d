package identity_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/podspec"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/scenario"
)

const (
	injectClientID = "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"
	injectTenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	injectRoleARN  = "arn:aws:iam::111122223333:role/osmo-runtime"
)

// injectInstall installs the four charts with a scenario into a fresh
// restricted namespace (creating the pre-provisioned account a scenario names,
// as an operator would) and returns the namespace and every pod the API server admitted.
func injectInstall(t *testing.T, scenarioName string) (string, []corev1.Pod) {
	t.Helper()
	s, err := scenario.Get(scenarioName, project.Charts)
	require.NoError(t, err)
	c := local(t)
	namespace := clustertest.Namespace(t, c, "restricted")
	for _, chart := range project.Charts {
		preProvision(t, namespace, s.ValuesFile(chart))
		helm(t).Install(t, namespace, "osmo-"+chart, chartDir(t, chart), s.ValuesFile(chart))
	}
	return namespace, workloadPods(t, namespace, "")
}

// projectedToken is the audience of the projected ServiceAccount token the
// container reads at tokenFile.
func projectedToken(t *testing.T, p corev1.Pod, c corev1.Container, tokenFile string) string {
	t.Helper()
	file, err := podspec.Locate(&p.Spec, &c, tokenFile)
	if err != nil || file.Token() == nil {
		t.Errorf("pod %s container %s: no projected token mounted at %s (%v)", p.Name, c.Name, tokenFile, err)
		return ""
	}
	return file.Token().Audience
}

// Azure, explicit and shortcut, across all four charts: every pod the API server
// admits carries the webhook's env and a projected token for api://AzureADTokenExchange.
func TestAzureWebhookInjectsEveryPod(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"aks-workload-identity":          identitywebhook.DefaultAzureTenantID, // no tenant annotation: the webhook's own
		"aks-workload-identity-shortcut": injectTenantID,
	}
	for name, tenant := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, pods := injectInstall(t, name)
			charts := map[string]bool{}
			for _, p := range pods {
				charts[p.Labels["app.kubernetes.io/name"]] = true
				for _, c := range p.Spec.Containers {
					e := env(c)
					assert.Equal(t, injectClientID, e[cloud.EnvAzureClientID], "pod %s", p.Name)
					assert.Equal(t, tenant, e[cloud.EnvAzureTenantID], "pod %s", p.Name)
					assert.Equal(t, standIn.EntraAuthorityHost(), e[cloud.EnvAzureAuthorityHost], "pod %s", p.Name)
					require.NotEmpty(t, e[cloud.EnvAzureTokenFile], "pod %s", p.Name)
					assert.Equal(t, cloud.AzureAudience, projectedToken(t, p, c, e[cloud.EnvAzureTokenFile]), "pod %s", p.Name)
				}
			}
			assert.Len(t, charts, len(project.Charts), "pods of every chart were admitted")
		})
	}
}

// Without the pod label the webhook is never called; without the account's
// client-id annotation it injects an empty AZURE_CLIENT_ID: either way, no identity.
func TestAzureWebhookNegativeCases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, values string
		check        func(t *testing.T, p corev1.Pod)
	}{
		{"pod without the use label", `serviceAccount: {annotations: {azure.workload.identity/client-id: ` + injectClientID + `}}`,
			func(t *testing.T, p corev1.Pod) {
				for _, c := range p.Spec.Containers {
					assert.NotContains(t, env(c), cloud.EnvAzureTokenFile, "pod %s was mutated", p.Name)
					assert.NotContains(t, env(c), cloud.EnvAzureClientID, "pod %s was mutated", p.Name)
				}
			}},
		{"account without the client-id annotation", `extraPodLabels: {azure.workload.identity/use: "true"}`,
			func(t *testing.T, p corev1.Pod) {
				for _, c := range p.Spec.Containers {
					e := env(c)
					assert.Contains(t, e, cloud.EnvAzureTokenFile, "the labelled pod is mutated")
					assert.Empty(t, e[cloud.EnvAzureClientID], "but with no client id to exchange the token for")
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			namespace := clustertest.Namespace(t, local(t), "restricted")
			values := filepath.Join(t.TempDir(), "values.yaml")
			require.NoError(t, os.WriteFile(values, []byte(tc.values), 0o644))
			helm(t).Install(t, namespace, "osmo-router", chartDir(t, "router"), databasePassword(t), values)
			for _, p := range workloadPods(t, namespace, "app.kubernetes.io/instance=osmo-router") {
				tc.check(t, p)
			}
		})
	}
}

// AWS: every pod of every chart carries AWS_ROLE_ARN, the web identity token
// file and the aws-iam-token volume for sts.amazonaws.com.
func TestEKSWebhookInjectsEveryPod(t *testing.T) {
	t.Parallel()
	_, pods := injectInstall(t, "eks-irsa")
	charts := map[string]bool{}
	for _, p := range pods {
		charts[p.Labels["app.kubernetes.io/name"]] = true
		for _, c := range p.Spec.Containers {
			e := env(c)
			assert.Equal(t, injectRoleARN, e[cloud.EnvAWSRoleARN], "pod %s", p.Name)
			assert.Equal(t, identitywebhook.DefaultAWSRegion, e[cloud.EnvAWSRegion], "pod %s", p.Name)
			require.NotEmpty(t, e[cloud.EnvAWSTokenFile], "pod %s", p.Name)
			assert.Equal(t, cloud.AWSAudience, projectedToken(t, p, c, e[cloud.EnvAWSTokenFile]), "pod %s", p.Name)
		}
		assert.NotNil(t, findVolume(p, cloud.AWSTokenVolume), "pod %s", p.Name)
	}
	assert.Len(t, charts, len(project.Charts), "pods of every chart were admitted")
}

// GKE: the account carries iam.gke.io/gcp-service-account and every pod runs
// under it (GKE's metadata server does the rest; nothing is injected).
func TestGKEAccountAnnotatedAndUsed(t *testing.T) {
	t.Parallel()
	namespace, pods := injectInstall(t, "gke-workload-identity")
	for _, p := range pods {
		sa, err := local(t).Client().CoreV1().ServiceAccounts(namespace).Get(t.Context(), p.Spec.ServiceAccountName, metav1.GetOptions{})
		require.NoError(t, err, "pod %s runs under an existing account", p.Name)
		assert.Equal(t, "osmo-runtime@osmo-prod.iam.gserviceaccount.com", sa.Annotations[cloud.GKEServiceAccountAnnotation], "account %s", sa.Name)
		assert.Equal(t, "osmo-"+p.Labels["app.kubernetes.io/name"], sa.Name, "the release name osmo-<chart> holds the chart name: no repetition")
	}
}

func findVolume(p corev1.Pod, name string) *corev1.Volume {
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == name {
			return &p.Spec.Volumes[i]
		}
	}
	return nil
}
