package exchange_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cloudsts/cloudststest"
	"github.com/osmo-wi/charts/harness/exchange"
	"github.com/osmo-wi/charts/harness/tokenissuer"
)

const (
	testNamespace = "apps"
	testAccount   = "api"
	testClientID  = "5a0f1b2c-0000-4000-8000-0000000000a1"
	testTenantID  = "72f988bf-0000-4000-8000-00000000c0de"
	testRoleARN   = "arn:aws:iam::111122223333:role/apps-api"
	testProvider  = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/cluster"
	testGoogleSA  = "api@apps-project.iam.gserviceaccount.com"
)

// fakeCluster is an API server as far as the exchange needs one: a fake
// clientset whose TokenRequests are signed by an issuer that publishes its keys.
type fakeCluster struct {
	kube     *fake.Clientset
	issuer   cloudsts.Issuer
	mu       sync.Mutex
	requests []*authenticationv1.TokenRequest
}

func newFakeCluster(t *testing.T, objects ...runtime.Object) *fakeCluster {
	t.Helper()
	tokens, err := tokenissuer.Start(tokenissuer.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { tokens.Close() })
	f := &fakeCluster{kube: fake.NewClientset(objects...), issuer: cloudsts.Issuer{URL: tokens.URL(), CAPEM: tokens.CAPEM()}}
	f.kube.PrependReactor("create", "serviceaccounts", func(action k8stesting.Action) (bool, runtime.Object, error) {
		create := action.(k8stesting.CreateAction)
		if action.GetSubresource() != "token" {
			return false, nil, nil
		}
		request := create.GetObject().(*authenticationv1.TokenRequest)
		f.mu.Lock()
		f.requests = append(f.requests, request.DeepCopy())
		f.mu.Unlock()
		lifetime := time.Duration(*request.Spec.ExpirationSeconds) * time.Second
		claims := tokens.ProjectedClaims(action.GetNamespace(), create.(k8stesting.CreateActionImpl).Name, request.Spec.Audiences, time.Now(), lifetime)
		out := request.DeepCopy()
		var err error
		out.Status.Token, err = tokens.Sign(claims)
		return true, out, err
	})
	return f
}

// testPod is a pod as the API server returns it, with a projected token
// volume mounted at dir holding tokenPath for audience, and env.
func testPod(volume, dir, tokenPath, audience string, env map[string]string, extra ...corev1.VolumeProjection) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: "api-7d9f8", UID: "8f0c1b7e-0000-4000-8000-000000000002"},
		Spec: corev1.PodSpec{ServiceAccountName: testAccount, Containers: []corev1.Container{{
			Name: "api", VolumeMounts: []corev1.VolumeMount{{Name: volume, MountPath: dir, ReadOnly: true}},
		}}},
	}
	for name, value := range env {
		pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: name, Value: value})
	}
	sources := append([]corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
		Audience: audience, ExpirationSeconds: ptr.To[int64](3600), Path: tokenPath,
	}}}, extra...)
	pod.Spec.Volumes = []corev1.Volume{{Name: volume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}}}
	return pod
}

func subject() string { return "system:serviceaccount:" + testNamespace + ":" + testAccount }

func TestProveAzure(t *testing.T) {
	cluster := newFakeCluster(t)
	s := cloudststest.Start(t)
	fed := exchange.Federation{Provider: cloud.Azure, Issuer: cluster.issuer, Namespace: testNamespace, ServiceAccount: testAccount, TenantID: testTenantID, ClientID: testClientID}
	require.NoError(t, fed.Register(s))
	pod := testPod("azure-identity-token", "/var/run/secrets/azure/tokens", "azure-identity-token", "api://AzureADTokenExchange", map[string]string{
		"AZURE_CLIENT_ID": testClientID, "AZURE_TENANT_ID": testTenantID,
		"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST": s.EntraAuthorityHost(),
	})

	r := exchange.Prove(t.Context(), cluster.kube, pod, s)
	require.True(t, r.OK(), "%s", r)
	assert.Equal(t, cloud.Azure, r.Provider)
	assert.Equal(t, testTenantID+"/"+testClientID, r.Identity)
	assert.Equal(t, subject(), r.Subject)
	assert.True(t, strings.HasPrefix(r.AccessToken, "cloudsts-stand-in-entra."))
	require.Len(t, r.Exchanges, 1)
	assert.True(t, r.Exchanges[0].OK())

	require.Len(t, cluster.requests, 1)
	spec := cluster.requests[0].Spec
	assert.Equal(t, []string{"api://AzureADTokenExchange"}, spec.Audiences)
	assert.Equal(t, int64(3600), *spec.ExpirationSeconds)
	assert.Equal(t, &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}, spec.BoundObjectRef, "bound to the pod, as the kubelet's")

	derived, err := exchange.FederationFor(t.Context(), cluster.kube, pod, cluster.issuer, exchange.Options{})
	require.NoError(t, err)
	assert.Equal(t, fed, derived)

	t.Run("an authority off loopback is refused loudly", func(t *testing.T) {
		leaky := pod.DeepCopy()
		for i, e := range leaky.Spec.Containers[0].Env {
			if e.Name == "AZURE_AUTHORITY_HOST" {
				leaky.Spec.Containers[0].Env[i].Value = "https://login.microsoftonline.com/"
			}
		}
		other := cloudsts.Server{} // its own refusals, so this test's stand-in stays clean
		require.NoError(t, other.Start(t.Context()))
		defer other.Stop()
		r := exchange.Prove(t.Context(), cluster.kube, leaky, &other)
		assert.False(t, r.OK())
		require.NotEmpty(t, r.Refused)
		assert.Contains(t, r.Refused[0], "login.microsoftonline.com")
		assert.ErrorContains(t, r.Err, "leave loopback")

		r = exchange.ProveWith(t.Context(), cluster.kube, leaky, s, exchange.Options{RedirectAzureAuthority: true})
		assert.True(t, r.OK(), "%s", r)
	})
}

// The AWS SDK is configured per call from the pod's env: this process's
// AWS_* variables (this machine exports AWS_CA_BUNDLE) never reach it, and
// proofs running at once never make the pod's env visible to the process.
func TestProveAWSIgnoresTheProcessEnvironment(t *testing.T) {
	cluster := newFakeCluster(t)
	s := cloudststest.Start(t)
	require.NoError(t, exchange.Federation{Provider: cloud.AWS, Issuer: cluster.issuer, Namespace: testNamespace, ServiceAccount: testAccount, RoleARN: testRoleARN}.Register(s))
	pod := testPod(cloud.AWSTokenVolume, "/var/run/secrets/eks.amazonaws.com/serviceaccount", "token", cloud.AWSAudience, map[string]string{
		cloud.EnvAWSRoleARN: testRoleARN, cloud.EnvAWSTokenFile: cloud.AWSTokenFile,
		cloud.EnvAWSRegion: "us-west-2", "AWS_DEFAULT_REGION": "us-west-2", "AWS_STS_REGIONAL_ENDPOINTS": "regional",
	})
	host := map[string]string{
		"AWS_CA_BUNDLE":         "/etc/ssl/certs/ca-certificates.crt", // as this machine exports it
		"AWS_ACCESS_KEY_ID":     "AKIAHOSTKEYMUSTNOTLEAK",             // would win over web identity if it leaked in
		"AWS_SECRET_ACCESS_KEY": "host-secret",
		"AWS_ROLE_ARN":          "arn:aws:iam::999999999999:role/the-host",
		"AWS_ENDPOINT_URL_STS":  "https://127.0.0.1:1",
		"AWS_REGION":            "eu-north-1",
	}
	for name, value := range host {
		t.Setenv(name, value)
	}

	watching, sawPodEnv := make(chan struct{}), make(chan bool, 1)
	go func() { // what a goroutine reading the environment during the proofs sees
		saw := false
		for {
			select {
			case <-watching:
				sawPodEnv <- saw
				return
			default:
				saw = saw || os.Getenv("AWS_ROLE_ARN") != host["AWS_ROLE_ARN"]
			}
		}
	}()
	var wg sync.WaitGroup
	results := make([]exchange.Result, 8)
	for i := range results {
		wg.Go(func() { results[i] = exchange.Prove(t.Context(), cluster.kube, pod, s) })
	}
	wg.Wait()
	close(watching)

	for _, r := range results {
		require.True(t, r.OK(), "%s", r)
		assert.Equal(t, testRoleARN, r.Identity)
		assert.True(t, strings.HasPrefix(r.AccessToken, "cloudsts-stand-in-aws."))
	}
	for _, e := range s.ExchangesFor(cloud.AWS) {
		assert.Equal(t, testRoleARN, e.Identity, "the stand-in saw the pod's role, not the host's")
	}
	assert.False(t, <-sawPodEnv, "the process environment never held the pod's env")
	for name, value := range host {
		assert.Equal(t, value, os.Getenv(name), "%s untouched", name)
	}
}

func TestProveGoogleWithImpersonation(t *testing.T) {
	credentialFile := `{"type": "external_account", "audience": "` + testProvider + `",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "https://sts.googleapis.com/v1/token",
  "credential_source": {"file": "/var/run/secrets/tokens/gcp-ksa/token", "format": {"type": "text"}},
  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/` + testGoogleSA + `:generateAccessToken"}`
	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: "api-gcp-credentials"}, Data: map[string]string{"credential-configuration.json": credentialFile}}
	cluster := newFakeCluster(t, configMap)
	s := cloudststest.Start(t)
	pod := testPod("gcp-ksa", "/var/run/secrets/tokens/gcp-ksa", "token", testProvider,
		map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": "/var/run/secrets/tokens/gcp-ksa/credential-configuration.json"},
		corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: configMap.Name},
			Items:                []corev1.KeyToPath{{Key: "credential-configuration.json", Path: "credential-configuration.json"}},
		}})
	fed, err := exchange.FederationFor(t.Context(), cluster.kube, pod, cluster.issuer, exchange.Options{})
	require.NoError(t, err)
	assert.Equal(t, testProvider, fed.PoolProvider)
	assert.Equal(t, testGoogleSA, fed.ServiceAccountEmail)

	r := exchange.Prove(t.Context(), cluster.kube, pod, s)
	assert.False(t, r.OK(), "nothing registered yet")
	assert.ErrorContains(t, r.Err, "invalid_target")

	require.NoError(t, fed.Register(s))
	r = exchange.Prove(t.Context(), cluster.kube, pod, s)
	require.True(t, r.OK(), "%s", r)
	assert.Equal(t, testProvider+" as "+testGoogleSA, r.Identity)
	assert.True(t, strings.HasPrefix(r.AccessToken, "cloudsts-stand-in-google-sa."), "impersonated: %s", r.AccessToken)
	require.Len(t, r.Exchanges, 2, "STS, then impersonation")
	assert.True(t, r.Exchanges[1].Impersonation)
}

func TestProveWithoutIdentity(t *testing.T) {
	cluster := newFakeCluster(t)
	s := cloudststest.Start(t)
	pod := testPod("other", "/data", "token", "", nil)
	r := exchange.Prove(t.Context(), cluster.kube, pod, s)
	assert.ErrorIs(t, r.Err, exchange.ErrNoIdentity)

	r = exchange.ProveWith(t.Context(), cluster.kube, pod, s, exchange.Options{Provider: cloud.Azure})
	assert.ErrorContains(t, r.Err, "no client ID specified", "azidentity's own error")
	assert.Empty(t, s.Exchanges(), "no request reached the stand-in")

	r = exchange.ProveWith(t.Context(), cluster.kube, pod, s, exchange.Options{Provider: cloud.AWS})
	assert.False(t, r.OK())
	require.NotEmpty(t, r.Refused, "with no web identity env the default chain asks the instance metadata service: %v", r.Err)
	assert.Contains(t, r.Refused[0], "169.254.169.254")
	t.Logf("refused %q in %s: %v", r.Refused, r.Duration, r.Err)
	assert.ErrorContains(t, r.Err, "leave loopback")

	t.Setenv("AZURE_CLIENT_ID", "from-the-host")
	r = exchange.ProveWith(t.Context(), cluster.kube, pod, s, exchange.Options{Provider: cloud.Azure})
	assert.ErrorContains(t, r.Err, "[AZURE_CLIENT_ID]", "the host's value would stand in for the pod's missing one")
}
