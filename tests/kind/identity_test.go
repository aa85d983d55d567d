package kind_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/podspec"
	"github.com/osmo-wi/charts/harness/project"
)

// The Azure and EKS webhooks run in the kind cluster as their projects deploy
// them (identitywebhook.InCluster, from TestMain): a chart installed with a
// cloud identity gets the webhook's environment and projected token in every
// pod the API server admits, its `helm test` pod (the same account and labels)
// finds the token file in its container under the real kubelet, and the
// token a pod of that account reads there has the audience the webhook asked
// for, the account as subject, and the webhook's lifetime.
func TestIdentityWebhooksInjectOnKind(t *testing.T) {
	cases := []struct {
		scenario, tokenEnv, audience string
		env                          map[string]string
		lifetime                     time.Duration
		labels                       map[string]string
	}{
		{"aks-workload-identity-shortcut", cloud.EnvAzureTokenFile, cloud.AzureAudience,
			map[string]string{cloud.EnvAzureClientID: "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b", cloud.EnvAzureTenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
				cloud.EnvAzureAuthorityHost: "https://login.microsoftonline.com/"},
			time.Hour, map[string]string{cloud.AzureUseLabel: "true"}},
		{"eks-irsa", cloud.EnvAWSTokenFile, cloud.AWSAudience,
			map[string]string{cloud.EnvAWSRoleARN: "arn:aws:iam::111122223333:role/osmo-runtime", cloud.EnvAWSRegion: identitywebhook.DefaultAWSRegion,
				"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			24 * time.Hour, nil},
	}
	c := clustertest.Shared(t)
	charts, err := chartdir.Shared()
	require.NoError(t, err)
	helm := chartdir.HelmIn(filepath.Dir(charts))
	helm.Kubeconfig = c.KubeconfigPath()
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			ns := clustertest.Namespace(t, c, "restricted")
			out, err := helm.InstallE(t.Context(), ns, "osmo-web-ui", filepath.Join(charts, "web-ui"),
				project.Path("charts/web-ui/ci/01-default-values.yaml"), project.Path("values-examples", tc.scenario, "web-ui.yaml"))
			require.NoError(t, err, out)
			t.Cleanup(func() { _, _ = helm.UninstallE(context.Background(), ns, "osmo-web-ui") })

			pods, err := c.Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=osmo-web-ui"})
			require.NoError(t, err)
			require.NotEmpty(t, pods.Items)
			for _, p := range pods.Items {
				for _, ctr := range p.Spec.Containers {
					literal, _ := podspec.Env(&ctr)
					for name, want := range tc.env {
						assert.Equal(t, want, literal[name], "pod %s container %s: %s", p.Name, ctr.Name, name)
					}
					file, err := podspec.Locate(&p.Spec, &ctr, literal[tc.tokenEnv])
					require.NoError(t, err, "pod %s: %s=%q", p.Name, tc.tokenEnv, literal[tc.tokenEnv])
					require.NotNil(t, file.Token(), "pod %s: a projected token at %s", p.Name, literal[tc.tokenEnv])
					assert.Equal(t, tc.audience, file.Token().Audience)
				}
			}

			out, err = helm.TestE(t.Context(), ns, "osmo-web-ui")
			require.NoError(t, err, "helm test (its script checks the injected variables and the token file):\n%s", out)
			assert.Regexp(t, `Phase:\s+Succeeded`, out)

			// A pod of the same account and labels, with a shell, reads the token the webhook projected.
			account := pods.Items[0].Spec.ServiceAccountName
			reader := restrictedPod("token-reader", corev1.RestartPolicyNever, "exec sleep 3600")
			reader.Spec.ServiceAccountName = account
			reader.Labels = tc.labels
			_, err = c.Client().CoreV1().Pods(ns).Create(t.Context(), reader, metav1.CreateOptions{})
			require.NoError(t, err)
			waitReady(t, c.Client().CoreV1().Pods(ns), "token-reader")
			admitted, err := c.Client().CoreV1().Pods(ns).Get(t.Context(), "token-reader", metav1.GetOptions{})
			require.NoError(t, err)
			literal, _ := podspec.Env(&admitted.Spec.Containers[0])
			token := strings.TrimSpace(kubectlExec(t, c, ns, "token-reader", "cat", literal[tc.tokenEnv]))
			claims := jwtClaims(t, token)
			assert.Equal(t, []any{tc.audience}, claims["aud"])
			assert.Equal(t, "system:serviceaccount:"+ns+":"+account, claims["sub"])
			assert.InDelta(t, tc.lifetime.Seconds(), claims["exp"].(float64)-claims["iat"].(float64), 1, "token lifetime")
		})
	}
}
