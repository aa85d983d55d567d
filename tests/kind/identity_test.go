package kind_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/exchange"
	"github.com/osmo-wi/charts/harness/identitycheck"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/podspec"
	"github.com/osmo-wi/charts/harness/podtemplate"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/standinimage"
)

// The Azure and EKS webhooks run in the kind cluster as their projects deploy
// them (identitywebhook.InCluster, from TestMain): a chart installed with a
// cloud identity gets the webhook's environment and projected token in every
// pod the API server admits, its `helm test` pod (the same account and labels)
// finds the token file in its container under the real kubelet, and the
// token a pod of that account reads there has the audience the webhook asked
// for, the account as subject, and the webhook's lifetime.
func TestIdentityWebhooksInjectOnKind(t *testing.T) {
	c := clustertest.Shared(t) // starts the stand-in (TestMain's hook): its address goes into the cases
	cases := []struct {
		scenario, tokenEnv, audience string
		provider                     cloud.Provider
		env                          map[string]string
		lifetime                     time.Duration
		labels                       map[string]string
	}{
		{"aks-workload-identity-shortcut", cloud.EnvAzureTokenFile, cloud.AzureAudience, cloud.Azure,
			map[string]string{cloud.EnvAzureClientID: "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b", cloud.EnvAzureTenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
				cloud.EnvAzureAuthorityHost: standIn.EntraAuthorityHost()},
			time.Hour, map[string]string{cloud.AzureUseLabel: "true"}},
		{"eks-irsa", cloud.EnvAWSTokenFile, cloud.AWSAudience, cloud.AWS,
			map[string]string{cloud.EnvAWSRoleARN: "arn:aws:iam::111122223333:role/osmo-runtime", cloud.EnvAWSRegion: identitywebhook.DefaultAWSRegion,
				"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			24 * time.Hour, nil},
	}
	charts, helm := sharedCharts(t, c)
	issuer := kindIssuer(t, c)
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			ns := clustertest.Namespace(t, c, "restricted")
			out, err := helm.InstallE(t.Context(), ns, "osmo-web-ui", filepath.Join(charts, "web-ui"),
				project.Path("charts/web-ui/ci/01-default-values.yaml"), project.Path("values-examples", tc.scenario, "web-ui.yaml"),
				trustStandIn(t, c, ns, tc.scenario))
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

			// The cloud trusts the account (as an operator registers it), and the
			// program in the web UI's pod exchanges its token with the real SDK.
			pod := pods.Items[0]
			fed, err := exchange.FederationFor(t.Context(), c.Client(), &pod, issuer, exchange.Options{})
			require.NoError(t, err)
			require.NoError(t, fed.Register(standIn))
			report := identityReport(t, c, ns, pod.Name, int(pod.Spec.Containers[0].Ports[0].ContainerPort))
			assert.Equal(t, string(tc.provider), report.Provider)
			assertExchanged(t, tc.provider, ns, account, issuer.URL, tc.audience)
		})
	}
}

// Google outside GKE needs no webhook: the chart itself projects the pool
// provider's token and mounts the external_account credential file, whose
// URLs are Google's own. With the cluster's DNS sending Google's hosts to the
// stand-in (TestMain), the program in the web UI's pod runs Google's default
// credentials on that file unchanged: the STS exchange of the kubelet's token,
// then the service account's impersonation, both accepted.
func TestGoogleFederationOnKind(t *testing.T) {
	c := clustertest.Shared(t)
	if noGoogle != "" {
		t.Skipf("google: the cloud stand-in cannot serve Google's hosts on port 443 here: %s", noGoogle)
	}
	const scenario = "gcp-workload-identity-federation"
	const pool = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster"
	const googleSA = "osmo-runtime@osmo-prod.iam.gserviceaccount.com"
	charts, helm := sharedCharts(t, c)
	ns := clustertest.Namespace(t, c, "restricted")
	out, err := helm.InstallE(t.Context(), ns, "osmo-web-ui", filepath.Join(charts, "web-ui"),
		project.Path("charts/web-ui/ci/01-default-values.yaml"), project.Path("values-examples", scenario, "web-ui.yaml"),
		trustStandIn(t, c, ns, scenario))
	require.NoError(t, err, out)
	t.Cleanup(func() { _, _ = helm.UninstallE(context.Background(), ns, "osmo-web-ui") })

	pods, err := c.Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=osmo-web-ui"})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	pod := pods.Items[0]
	ctr := pod.Spec.Containers[0]
	literal, _ := podspec.Env(&ctr)
	require.Equal(t, cloud.GCPCredentialFile, literal[cloud.EnvGoogleCredentials])
	file, err := podspec.Locate(&pod.Spec, &ctr, cloud.GCPTokenFile)
	require.NoError(t, err)
	require.NotNil(t, file.Token(), "a projected token at %s", cloud.GCPTokenFile)
	assert.Equal(t, pool, file.Token().Audience)

	out, err = helm.TestE(t.Context(), ns, "osmo-web-ui")
	require.NoError(t, err, out)
	assert.Regexp(t, `Phase:\s+Succeeded`, out)

	issuer := kindIssuer(t, c)
	fed, err := exchange.FederationFor(t.Context(), c.Client(), &pod, issuer, exchange.Options{})
	require.NoError(t, err)
	require.Equal(t, googleSA, fed.ServiceAccountEmail, "the service account the credential file impersonates")
	require.NoError(t, fed.Register(standIn))
	report := identityReport(t, c, ns, pod.Name, int(ctr.Ports[0].ContainerPort))
	assert.Equal(t, string(cloud.GCP), report.Provider)
	assert.Equal(t, pool+" as "+googleSA, report.Identity)
	assertExchanged(t, cloud.GCP, ns, pod.Spec.ServiceAccountName, issuer.URL, pool)
	principal, err := cloud.PoolPrincipal(pool, cloud.Subject(ns, pod.Spec.ServiceAccountName))
	require.NoError(t, err)
	var impersonated bool
	for _, e := range standIn.ExchangesFor(cloud.GCP) {
		impersonated = impersonated || (e.Impersonation && e.OK() && e.Identity == googleSA && e.Subject == principal)
	}
	assert.True(t, impersonated, "IAM Credentials issued %s's token to %s", googleSA, principal)
}

// kindIssuer is the kind cluster's service account issuer as a cloud
// registers it: tokens carry the issuer its discovery document names
// (https://kubernetes.default.svc.cluster.local), whose discovery and keys
// the stand-in reads from the API server's address here.
func kindIssuer(t *testing.T, c cluster.Cluster) cloudsts.Issuer {
	t.Helper()
	url, err := identitycheck.ClusterIssuer(t.Context(), c.Client())
	require.NoError(t, err)
	config := c.RESTConfig()
	return cloudsts.Issuer{URL: url, DiscoveryURL: config.Host, CAPEM: config.CAData}
}

// standInTrust is how a pod's program comes to trust the cloud stand-in, as
// an operator with a private CA gives it: the stand-in's CA in ConfigMap
// cloud-standin-ca (created in ns), a volume of it, its mount and
// SSL_CERT_FILE (Go's and so the SDKs' trust store) naming the file.
func standInTrust(t *testing.T, c cluster.Cluster, ns string) (corev1.Volume, corev1.VolumeMount, corev1.EnvVar) {
	t.Helper()
	_, err := c.Client().CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cloud-standin-ca"},
		Data:       map[string]string{"ca.crt": string(standIn.CAPEM())},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return corev1.Volume{Name: "cloud-standin-ca", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cloud-standin-ca"}}}},
		corev1.VolumeMount{Name: "cloud-standin-ca", MountPath: "/etc/cloud-standin", ReadOnly: true},
		corev1.EnvVar{Name: "SSL_CERT_FILE", Value: "/etc/cloud-standin/ca.crt"}
}

// trustStandIn is a values file for the web UI with standInTrust through the
// chart's extraVolumes, extraVolumeMounts and extraEnvs, and for AWS the
// stand-in as the STS endpoint (AWS_ENDPOINT_URL_STS, as for a private one).
func trustStandIn(t *testing.T, c cluster.Cluster, ns, scenario string) string {
	t.Helper()
	volume, mount, env := standInTrust(t, c, ns)
	envs := []corev1.EnvVar{env}
	if scenario == "eks-irsa" {
		envs = append(envs, corev1.EnvVar{Name: cloud.EnvAWSEndpointURLSTS, Value: standIn.AWSEndpoint()})
	}
	return writeJSON(t, map[string]any{"services": map[string]any{"ui": map[string]any{
		"extraEnvs": envs, "extraVolumes": []corev1.Volume{volume}, "extraVolumeMounts": []corev1.VolumeMount{mount},
	}}})
}

// standinIdentity is what a stand-in serves at /osmo-standin/identity.
type standinIdentity struct {
	Provider, Identity, Error string
	OK                        bool
	Attempts                  int
}

// identityReport waits until the stand-in in a pod reports an accepted
// exchange, read through the API server's pod proxy, and returns the report.
func identityReport(t *testing.T, c cluster.Cluster, ns, pod string, port int) standinIdentity {
	t.Helper()
	var report standinIdentity
	wait(t, time.Minute, fmt.Sprintf("the program in %s (port %d) exchanges its token", pod, port), func(ctx context.Context) (bool, error) {
		raw, err := c.Client().CoreV1().Pods(ns).ProxyGet("http", pod, strconv.Itoa(port), "/osmo-standin/identity", nil).DoRaw(ctx)
		if err != nil {
			return false, poll.NotYet("%v", err)
		}
		if err := json.Unmarshal(raw, &report); err != nil {
			return false, poll.Stop(fmt.Errorf("%s: %w", raw, err))
		}
		if !report.OK {
			return false, poll.NotYet("attempt %d: %s", report.Attempts, report.Error)
		}
		return true, nil
	})
	return report
}

// assertExchanged: the cloud stand-in issued a credential for a token of the
// account, with the issuer and audience the cloud registered.
func assertExchanged(t *testing.T, provider cloud.Provider, ns, account, issuer, audience string) {
	t.Helper()
	var seen bool
	for _, e := range standIn.ExchangesFor(provider) {
		if e.OK() && e.Subject == "system:serviceaccount:"+ns+":"+account {
			seen = true
			assert.Equal(t, issuer, e.Issuer)
			assert.Equal(t, []string{audience}, e.Audience)
		}
	}
	assert.True(t, seen, "the %s stand-in issued a credential for %s's token", provider, account)
}

// The workflow pod OSMO's backend creates from the service chart's pod
// templates (the workflow-pod-identity example: the Azure webhook's label and
// the osmo-workflow account the backend-operator release creates, annotated
// with the managed identity) runs on kind, and both its containers exchange
// the token the webhook projected, with the real SDK, from inside the pod.
func TestWorkflowPodProvesItsIdentityOnKind(t *testing.T) {
	c := clustertest.Shared(t)
	charts, helm := sharedCharts(t, c)
	ns := clustertest.Namespace(t, c, "restricted")
	example := func(chart string) string {
		return project.Path("values-examples", "workflow-pod-identity", chart+".yaml")
	}

	// Workflows in this namespace (the ci values put them in default).
	out, err := helm.InstallE(t.Context(), ns, "osmo-backend-operator", filepath.Join(charts, "backend-operator"),
		project.Path("charts/backend-operator/ci/01-default-values.yaml"), example("backend-operator"),
		writeJSON(t, map[string]any{"global": map[string]any{"backendNamespace": ns}}))
	require.NoError(t, err, out)
	t.Cleanup(func() { _, _ = helm.UninstallE(context.Background(), ns, "osmo-backend-operator") })

	// The service chart's config.yaml, as the OSMO service reads it; the ctrl
	// container's request cut from 1 CPU to fit the 2-core node.
	small := writeJSON(t, map[string]any{"services": map[string]any{"configs": map[string]any{"podTemplates": map[string]any{
		"default_ctrl": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "osmo-ctrl",
			"resources": map[string]any{"requests": map[string]any{"cpu": "50m", "memory": "64Mi"}}}}}},
	}}}})
	rendered, err := render.RenderFiles("service", render.Release{Name: "osmo-service", Namespace: ns}, example("service"), small)
	require.NoError(t, err)
	var config podtemplate.Config
	for _, cm := range render.Objects[*corev1.ConfigMap](rendered) {
		if strings.HasSuffix(cm.Name, "-configs") {
			config, err = podtemplate.ParseConfig(cm.Data["config.yaml"])
			require.NoError(t, err)
		}
	}
	values := maps.Clone(podtemplate.SampleValues)
	values["USER_CPU"] = "50m"
	pod, err := config.WorkflowPod("default", values)
	require.NoError(t, err)

	// What the service adds: name, images (a stand-in that only proves its
	// identity, as a user's workload might), a restricted security context;
	// and the stand-in's CA, which a user's image would carry for its cloud.
	volume, mount, trust := standInTrust(t, c, ns)
	pod.Name = "workflow-task"
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr[int64](1000),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	pod.Spec.Volumes = append(pod.Spec.Volumes, volume)
	var image string
	for _, s := range standinimage.List() {
		if s.Kind == standinimage.OSMO && image == "" {
			image = s.Reference // every OSMO stand-in image holds osmo-standin
		}
	}
	ports := map[string]int{}
	for i := range pod.Spec.Containers {
		ctr := &pod.Spec.Containers[i]
		ports[ctr.Name] = 8080 + i
		ctr.Image = image
		ctr.Command = []string{"osmo-standin", "identity", "--listen", ":" + strconv.Itoa(ports[ctr.Name])}
		ctr.Env = append(ctr.Env, trust)
		ctr.VolumeMounts = append(ctr.VolumeMounts, mount)
		ctr.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	}
	require.Len(t, ports, 2, "the user and osmo-ctrl containers")
	created, err := c.Client().CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	require.NoError(t, err, "the workflow pod is admitted in a restricted namespace")
	assert.Equal(t, "osmo-workflow", created.Spec.ServiceAccountName)
	waitReady(t, c.Client().CoreV1().Pods(ns), pod.Name)

	issuer := kindIssuer(t, c)
	fed, err := exchange.FederationFor(t.Context(), c.Client(), created, issuer, exchange.Options{})
	require.NoError(t, err)
	require.NoError(t, fed.Register(standIn))
	for name, port := range ports {
		report := identityReport(t, c, ns, pod.Name, port)
		assert.Equal(t, string(cloud.Azure), report.Provider, "container %s", name)
		assert.Equal(t, "72f988bf-86f1-41af-91ab-2d7cd011db47/6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b", report.Identity, "container %s: the webhook's tenant, the account's client ID", name)
	}
	assertExchanged(t, cloud.Azure, ns, "osmo-workflow", issuer.URL, cloud.AzureAudience)
}

func writeJSON(t *testing.T, values map[string]any) string {
	t.Helper()
	data, err := json.Marshal(values)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}
