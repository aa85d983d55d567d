package identity_test

// Exchange proofs: the pods the API server admitted (after the real webhooks
// injected their env) present the token the kubelet would project to the real
// cloud SDKs, and a loopback STAND-IN for each cloud's token endpoint
// (cloudsts) accepts or refuses it as the cloud would. See harness/exchange.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cloudsts/cloudststest"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/exchange"
	"github.com/osmo-wi/charts/harness/identitywebhook"
	"github.com/osmo-wi/charts/harness/podtemplate"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

// The identities the scenario files name.
const (
	exchangeClientID       = "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"
	exchangeTenantID       = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	exchangeRoleARN        = "arn:aws:iam::111122223333:role/osmo-runtime"
	exchangeGoogleProvider = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster"
	exchangeGoogleSA       = "osmo-runtime@osmo-prod.iam.gserviceaccount.com"
)

// exchangeScenario is a cloud scenario of values-examples/ and the identity
// its values name (the federation a cloud would hold for it, minus the account).
type exchangeScenario struct {
	name     string
	identity exchange.Federation
}

var exchangeScenarios = []exchangeScenario{
	// No tenant annotation: the webhook injects its own tenant.
	{"aks-workload-identity", exchange.Federation{Provider: cloud.Azure, TenantID: identitywebhook.DefaultAzureTenantID, ClientID: exchangeClientID}},
	{"aks-workload-identity-shortcut", exchange.Federation{Provider: cloud.Azure, TenantID: exchangeTenantID, ClientID: exchangeClientID}},
	{"eks-irsa", exchange.Federation{Provider: cloud.AWS, RoleARN: exchangeRoleARN}},
	{"gcp-workload-identity-federation", exchange.Federation{Provider: cloud.GCP, PoolProvider: exchangeGoogleProvider, ServiceAccountEmail: exchangeGoogleSA}},
}

// exchangeFederation is what the cloud holds for account in namespace: the
// scenario's identity, the cluster's issuer, the subject of that account.
func exchangeFederation(tb testing.TB, identity exchange.Federation, namespace, account string) exchange.Federation {
	f := identity
	f.Issuer, f.Namespace, f.ServiceAccount = exchangeIssuer(tb), namespace, account
	return f
}

// Every chart × every cloud scenario: each pod the API server admitted gets
// an access token from the cloud stand-in through the real SDK, and the
// stand-in's log shows the exchange for the pod's own account. For GCP the
// chart-rendered credential file drives the full flow: STS exchange, then
// impersonation of osmo-runtime@osmo-prod.iam.gserviceaccount.com.
func TestExchangeEveryChartEveryCloud(t *testing.T) {
	t.Parallel()
	c := local(t)
	type install struct {
		scenario  exchangeScenario
		values    func(chart string) string
		namespace string
	}
	var installs []install
	jobs := map[string]func() error{}
	for _, sc := range exchangeScenarios {
		s, err := scenario.Get(sc.name, project.Charts)
		require.NoError(t, err)
		in := install{scenario: sc, values: s.ValuesFile, namespace: clustertest.Namespace(t, c, "restricted")}
		installs = append(installs, in)
		for _, chart := range project.Charts {
			preProvision(t, in.namespace, s.ValuesFile(chart))
			jobs[sc.name+"/"+chart] = exchangeInstallJob(t, in.namespace, "osmo-"+chart, chartDir(t, chart), s.ValuesFile(chart))
		}
	}
	installed := exchangeConcurrently(jobs) // every release at once: installs mostly wait on the API server

	for _, in := range installs {
		t.Run(in.scenario.name, func(t *testing.T) {
			t.Parallel()
			for _, chart := range project.Charts {
				t.Run(chart, func(t *testing.T) {
					t.Parallel()
					require.NoError(t, installed[in.scenario.name+"/"+chart])
					release := "osmo-" + chart
					fed := exchangeFederation(t, in.scenario.identity, in.namespace, exchangeAccount(t, release, chart, in.values(chart)))
					stand := exchangeStandIn(t, fed.Provider)
					require.NoError(t, fed.Register(stand))
					for _, pod := range workloadPods(t, in.namespace, "app.kubernetes.io/instance="+release) {
						derived, err := exchange.FederationFor(t.Context(), c.Client(), &pod, fed.Issuer, exchange.Options{})
						require.NoError(t, err)
						assert.Equal(t, fed, derived, "pod %s asks for the identity the scenario names, as its own account", pod.Name)
						for _, container := range pod.Spec.Containers {
							r := exchange.ProveWith(t.Context(), c.Client(), &pod, stand, exchange.Options{Container: container.Name})
							exchangeAccepted(t, stand, r, fed)
						}
					}
				})
			}
		})
	}
}

// The exchange fails, with the error each SDK surfaces, when the cloud's
// federation does not match the pod: another account, another audience,
// a token from another cluster, or (Azure) a pod the webhook never mutated.
func TestExchangeRefusals(t *testing.T) {
	t.Parallel()
	c := local(t)
	otherCluster := exchangeStartOtherCluster(t)

	type refusal struct {
		name     string // what the case proves
		provider cloud.Provider
		release  string
		values   string // extra values file content ("" for none)
		prove    func(t *testing.T, pod corev1.Pod, fed exchange.Federation)
	}
	namespaces := map[cloud.Provider]string{}
	for _, provider := range cloud.Providers {
		namespaces[provider] = clustertest.Namespace(t, c, "restricted")
	}
	// Azure registrations add up per app in the shared stand-in (its address
	// is what the webhook injects), so each Azure case is its own app (client
	// ID); AWS and GCP cases each get their own stand-in.
	azureApp := func() string {
		return fmt.Sprintf("global: {workloadIdentity: {provider: azure, azure: {clientId: %q, tenantId: %q}}}", uuid.NewString(), exchangeTenantID)
	}
	cases := []refusal{}
	for _, provider := range cloud.Providers {
		cases = append(cases,
			refusal{name: "the cloud's federation names another account", provider: provider, prove: exchangeRefuseOtherAccount},
			refusal{name: "the cloud expects another audience", provider: provider, prove: exchangeRefuseOtherAudience},
			refusal{name: "a token from another cluster's key", provider: provider, prove: func(t *testing.T, pod corev1.Pod, fed exchange.Federation) {
				exchangeRefuseOtherCluster(t, otherCluster(t), pod, fed)
			}},
		)
	}
	cases = append(cases, refusal{name: "a pod without the azure.workload.identity/use label", provider: cloud.Azure, release: "osmo-nolabel",
		values: fmt.Sprintf("serviceAccount: {annotations: {azure.workload.identity/client-id: %q, azure.workload.identity/tenant-id: %q}}", uuid.NewString(), exchangeTenantID),
		prove:  exchangeRefuseUnlabelled})

	jobs := map[string]func() error{}
	scenarioOf := map[cloud.Provider]string{cloud.AWS: "eks-irsa", cloud.GCP: "gcp-workload-identity-federation"}
	for i := range cases {
		tc := &cases[i]
		values := []string{databasePassword(t)}
		switch {
		case tc.values != "":
			values = append(values, writeValues(t, tc.values))
		case tc.provider == cloud.Azure:
			values = append(values, writeValues(t, azureApp()))
		default:
			s, err := scenario.Get(scenarioOf[tc.provider], project.Charts)
			require.NoError(t, err)
			values = append(values, s.ValuesFile("router"))
		}
		if tc.release == "" {
			tc.release = fmt.Sprintf("osmo-case%d", i)
		}
		jobs[tc.release] = exchangeInstallJob(t, namespaces[tc.provider], tc.release, chartDir(t, "router"), values...)
	}
	installed := exchangeConcurrently(jobs)

	for _, tc := range cases {
		t.Run(string(tc.provider)+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, installed[tc.release])
			namespace := namespaces[tc.provider]
			pods := workloadPods(t, namespace, "app.kubernetes.io/instance="+tc.release)
			account := exchangeAccount(t, tc.release, "router")
			require.Equal(t, account, pods[0].Spec.ServiceAccountName)
			identity := map[cloud.Provider]exchange.Federation{
				cloud.Azure: {Provider: cloud.Azure, TenantID: exchangeTenantID, ClientID: exchangeClientIDOf(t, namespace, account)},
				cloud.AWS:   {Provider: cloud.AWS, RoleARN: exchangeRoleARN},
				cloud.GCP:   {Provider: cloud.GCP, PoolProvider: exchangeGoogleProvider, ServiceAccountEmail: exchangeGoogleSA},
			}[tc.provider]
			tc.prove(t, pods[0], exchangeFederation(t, identity, namespace, account))
		})
	}
}

// exchangeRefuseOtherAccount registers the federation for another account of
// the namespace: the token's subject does not match.
func exchangeRefuseOtherAccount(t *testing.T, pod corev1.Pod, fed exchange.Federation) {
	exchangeRefuseMismatch(t, pod, fed, fed.ForAccount("osmo-someone-else"), cloudsts.CheckSubject, map[cloud.Provider]exchangeWant{
		cloud.Azure: {code: "AADSTS700213", message: "No matching federated identity record found for presented assertion subject"},
		cloud.AWS:   {code: "AccessDenied", message: ":sub ="},
		cloud.GCP:   {code: "unauthorized_client", message: "rejected by the attribute condition"},
	})
}

// exchangeRefuseOtherAudience registers the federation for another audience
// than the one the pod's projected token carries.
func exchangeRefuseOtherAudience(t *testing.T, pod corev1.Pod, fed exchange.Federation) {
	exchangeRefuseMismatch(t, pod, fed, fed.WithAudience("api://osmo-another-audience"), cloudsts.CheckAudience, map[cloud.Provider]exchangeWant{
		cloud.Azure: {code: "AADSTS700212", message: "No matching federated identity record found for presented assertion audience"},
		cloud.AWS:   {code: "AccessDenied", message: ":aud ="},
		cloud.GCP:   {code: "invalid_grant", message: "does not match the expected audience"},
	})
}

// exchangeRefuseMismatch registers, instead of the pod's federation fed, one
// that does not match the pod, and checks the cloud's refusal failed on check.
func exchangeRefuseMismatch(t *testing.T, pod corev1.Pod, fed, registered exchange.Federation, check cloudsts.Check, wants map[cloud.Provider]exchangeWant) {
	stand := exchangeStandIn(t, registered.Provider)
	require.NoError(t, registered.Register(stand))
	r := exchange.Prove(t.Context(), local(t).Client(), &pod, stand)
	want := wants[fed.Provider]
	want.check = check
	exchangeRefused(t, stand, r, fed, want)
}

// exchangeRefuseOtherCluster presents a token the second cluster minted for
// an account of the same namespace and name. As issued it names its own
// issuer, which the cloud does not trust (refused on issuer). The cloud is then
// told that issuer name with the first cluster's keys (two clusters sharing an
// issuer name, e.g. the default https://kubernetes.default.svc.cluster.local):
// the signature check must reject it.
func exchangeRefuseOtherCluster(t *testing.T, other *cluster.Local, pod corev1.Pod, fed exchange.Federation) {
	audience := map[cloud.Provider]string{cloud.Azure: cloud.AzureAudience, cloud.AWS: cloud.AWSAudience, cloud.GCP: fed.PoolProvider}[fed.Provider]
	token := exchangeForeignToken(t, other, fed.Namespace, fed.ServiceAccount, audience)
	stand := exchangeStandIn(t, fed.Provider)
	require.NoError(t, fed.Register(stand))
	kube := local(t).Client()

	r := exchange.ProveWith(t.Context(), kube, &pod, stand, exchange.Options{Token: token})
	assert.Equal(t, other.IssuerURL(), r.Issuer, "the token names the other cluster")
	exchangeRefused(t, stand, r, fed, map[cloud.Provider]exchangeWant{
		cloud.Azure: {code: "AADSTS700211", message: "No matching federated identity record found for presented assertion issuer"},
		cloud.AWS:   {code: "InvalidIdentityToken", message: "No OpenIDConnect provider found"},
		cloud.GCP:   {code: "invalid_grant", message: "does not match the expected ones"},
	}[fed.Provider].with(cloudsts.CheckIssuer))

	first := local(t)
	// The name the token claims (discovery served by the other cluster), the first cluster's keys.
	sameName, err := exchange.KubernetesIssuer(other.IssuerURL(), slices.Concat(first.CA().CertPEM(), other.CA().CertPEM()))
	require.NoError(t, err)
	sameName.JWKSURL = first.IssuerURL() + "/openid/v1/jwks"
	require.NoError(t, fed.WithIssuer(sameName).Register(stand))
	r = exchange.ProveWith(t.Context(), kube, &pod, stand, exchange.Options{Token: token})
	exchangeRefused(t, stand, r, fed, map[cloud.Provider]exchangeWant{
		cloud.Azure: {code: "AADSTS700027", message: "signature validation"},
		cloud.AWS:   {code: "InvalidIdentityToken", message: "the issuer publishes no key with kid"},
		cloud.GCP:   {code: "invalid_grant", message: "Invalid ID Token signature"},
	}[fed.Provider].with(cloudsts.CheckSignature))
}

// exchangeRefuseUnlabelled: without the pod label the Azure webhook never
// mutates the pod, so there is no env: the SDK fails before any exchange,
// although the cloud trusts the account.
func exchangeRefuseUnlabelled(t *testing.T, pod corev1.Pod, fed exchange.Federation) {
	kube := local(t).Client()
	require.NoError(t, fed.Register(standIn))
	clouds, err := exchange.Detect(&pod, "")
	require.NoError(t, err)
	assert.Empty(t, clouds, "the webhook injected nothing")
	r := exchange.Prove(t.Context(), kube, &pod, standIn)
	assert.ErrorIs(t, r.Err, exchange.ErrNoIdentity)

	r = exchange.ProveWith(t.Context(), kube, &pod, standIn, exchange.Options{Provider: cloud.Azure})
	t.Log(r)
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "no client ID specified", "azidentity's own error")
	assert.Empty(t, r.AccessToken)
	assert.Empty(t, r.TokenFile, "no token was presented")
	for _, e := range standIn.ExchangesFor(cloud.Azure) {
		assert.False(t, e.Subject == fed.Subject() || e.Identity == fed.TenantID+"/"+fed.ClientID, "the stand-in saw a request for the unlabelled pod: %+v", e)
	}
}

// Workflow pods: the OSMO service builds them from the service chart's pod
// templates; run under osmo-workflow (created by the backend-operator chart),
// they get the webhook's env and their token is accepted. Azure is the
// documented scenario; the AWS variant annotates osmo-workflow for IRSA; the
// GCP variant (workflow-pod-identity-gcp, outside GKE: no webhook) has the pod
// template mount the projected token and the backend-operator release's
// credential file, and the exchange goes on to impersonate the Google account.
func TestExchangeWorkflowPods(t *testing.T) {
	t.Parallel()
	c := local(t)
	workflowPodIdentity, err := scenario.Get("workflow-pod-identity", project.Charts)
	require.NoError(t, err)
	workflowPodIdentityGCP, err := scenario.Get("workflow-pod-identity-gcp", project.Charts)
	require.NoError(t, err)
	const workflowRole = "arn:aws:iam::111122223333:role/osmo-workflow"
	variants := []struct {
		provider cloud.Provider
		values   map[string][]string // chart -> values files
		identity exchange.Federation
	}{
		{cloud.Azure, map[string][]string{
			"backend-operator": {workflowPodIdentity.ValuesFile("backend-operator")},
			"service":          {workflowPodIdentity.ValuesFile("service")},
		}, exchange.Federation{Provider: cloud.Azure, TenantID: identitywebhook.DefaultAzureTenantID, ClientID: exchangeClientID}},
		{cloud.AWS, map[string][]string{
			"backend-operator": {writeValues(t, `workflowServiceAccount: {create: true, name: osmo-workflow, annotations: {eks.amazonaws.com/role-arn: "`+workflowRole+`"}}`)},
			"service": {writeValues(t, `gateway: {oauth2Proxy: {enabled: false}, authz: {enabled: false}}
services:
  configFile: {enabled: true}
  configs:
    enabled: true
    podTemplates:
      workflow_workload_identity: {spec: {serviceAccountName: osmo-workflow}}
    pools:
      default: {common_pod_template: [default_user, default_ctrl, workflow_workload_identity]}`)},
		}, exchange.Federation{Provider: cloud.AWS, RoleARN: workflowRole}},
		{cloud.GCP, map[string][]string{
			"backend-operator": {workflowPodIdentityGCP.ValuesFile("backend-operator")},
			"service":          {workflowPodIdentityGCP.ValuesFile("service")},
		}, exchange.Federation{Provider: cloud.GCP, PoolProvider: exchangeGoogleProvider, ServiceAccountEmail: exchangeGoogleSA}},
	}
	namespaces := map[cloud.Provider]string{}
	jobs := map[string]func() error{}
	for _, v := range variants {
		namespaces[v.provider] = clustertest.Namespace(t, c, "restricted")
		for chart, files := range v.values {
			jobs[string(v.provider)+"/"+chart] = exchangeInstallJob(t, namespaces[v.provider], "osmo-"+chart, chartDir(t, chart), files...)
		}
	}
	installed := exchangeConcurrently(jobs)

	for _, v := range variants {
		t.Run(string(v.provider), func(t *testing.T) {
			t.Parallel()
			for chart := range v.values {
				require.NoError(t, installed[string(v.provider)+"/"+chart])
			}
			namespace := namespaces[v.provider]
			pod := exchangeWorkflowPod(t, namespace, "osmo-service")
			assert.Equal(t, "osmo-workflow", pod.Spec.ServiceAccountName)
			user := env(pod.Spec.Containers[0])
			switch v.provider {
			case cloud.Azure:
				assert.Equal(t, "true", pod.Labels[cloud.AzureUseLabel])
				assert.Equal(t, exchangeClientID, user[cloud.EnvAzureClientID])
				assert.Equal(t, identitywebhook.DefaultAzureTenantID, user[cloud.EnvAzureTenantID])
				assert.Equal(t, standIn.EntraAuthorityHost(), user[cloud.EnvAzureAuthorityHost])
				assert.NotEmpty(t, user[cloud.EnvAzureTokenFile])
			case cloud.AWS:
				assert.Equal(t, workflowRole, user[cloud.EnvAWSRoleARN])
				assert.NotEmpty(t, user[cloud.EnvAWSTokenFile])
				assert.True(t, slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == cloud.AWSTokenVolume }), cloud.AWSTokenVolume+" volume")
			case cloud.GCP:
				exchangeWorkflowPodGCP(t, pod)
			}
			fed := exchangeFederation(t, v.identity, namespace, "osmo-workflow")
			if v.provider == cloud.GCP { // no webhook: what the pod asks for comes from the pod template and the backend-operator's credential file
				derived, err := exchange.FederationFor(t.Context(), c.Client(), &pod, fed.Issuer, exchange.Options{})
				require.NoError(t, err)
				assert.Equal(t, fed, derived, "the workflow pod asks for the scenario's provider and Google account, as osmo-workflow")
			}
			stand := exchangeStandIn(t, v.provider)
			require.NoError(t, fed.Register(stand))
			for _, container := range pod.Spec.Containers {
				r := exchange.ProveWith(t.Context(), c.Client(), &pod, stand, exchange.Options{Container: container.Name})
				exchangeAccepted(t, stand, r, fed)
			}
		})
	}
}

// exchangeWorkflowPodGCP checks the GCP wiring the pod template gave a workflow
// pod: the gcp-ksa volume (a token for the pool provider, and the credential
// file of the backend-operator release's ConfigMap, in the pod's namespace),
// mounted with GOOGLE_APPLICATION_CREDENTIALS in every container, and the
// account the backend-operator release created.
func exchangeWorkflowPodGCP(t *testing.T, pod corev1.Pod) {
	t.Helper()
	kube := local(t).Client()
	const directory = cloud.GCPTokenDir
	i := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == cloud.GCPTokenVolume })
	require.GreaterOrEqual(t, i, 0, "gcp-ksa volume")
	volume := pod.Spec.Volumes[i]
	require.NotNil(t, volume.Projected, "gcp-ksa is a projected volume")
	var audience, configMap string
	for _, source := range volume.Projected.Sources {
		if source.ServiceAccountToken != nil {
			audience = source.ServiceAccountToken.Audience
		}
		if source.ConfigMap != nil {
			configMap = source.ConfigMap.Name
		}
	}
	assert.Equal(t, exchangeGoogleProvider, audience, "the projected token is for the pool provider")
	assert.Equal(t, "osmo-backend-operator-gcp-credentials", configMap)
	cm, err := kube.CoreV1().ConfigMaps(pod.Namespace).Get(t.Context(), configMap, metav1.GetOptions{})
	require.NoError(t, err, "the credential ConfigMap the workflow pod mounts exists in its namespace")
	assert.Equal(t, "osmo-backend-operator", cm.Labels["app.kubernetes.io/instance"], "rendered by the backend-operator release")
	assert.Contains(t, cm.Data["credential-configuration.json"], exchangeGoogleProvider)

	require.Len(t, pod.Spec.Containers, 2, "the user and osmo-ctrl containers")
	for _, container := range pod.Spec.Containers {
		assert.Equal(t, directory+"/credential-configuration.json", env(container)[cloud.EnvGoogleCredentials], "container %s", container.Name)
		assert.True(t, slices.ContainsFunc(container.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == cloud.GCPTokenVolume && m.MountPath == directory && m.ReadOnly
		}), "container %s mounts gcp-ksa at %s", container.Name, directory)
	}

	sa, err := kube.CoreV1().ServiceAccounts(pod.Namespace).Get(t.Context(), pod.Spec.ServiceAccountName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "osmo-backend-operator", sa.Labels["app.kubernetes.io/instance"], "osmo-workflow is the backend-operator release's")
	assert.Equal(t, exchangeGoogleSA, sa.Annotations[cloud.GKEServiceAccountAnnotation])
}

// exchangeWorkflowPod builds the default pool's pod from the service chart's
// configs ConfigMap as the OSMO service does, adds what the service adds (name,
// images, a restricted security context), creates it and waits until it runs.
func exchangeWorkflowPod(t *testing.T, namespace, serviceRelease string) corev1.Pod {
	t.Helper()
	kube := local(t).Client()
	configMaps, err := kube.CoreV1().ConfigMaps(namespace).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + serviceRelease})
	require.NoError(t, err)
	i := slices.IndexFunc(configMaps.Items, func(cm corev1.ConfigMap) bool {
		return strings.HasSuffix(cm.Name, "-configs") && cm.Data["config.yaml"] != ""
	})
	require.GreaterOrEqual(t, i, 0, "the service chart's configs ConfigMap (config.yaml) in %s", namespace)
	config, err := podtemplate.ParseConfig(configMaps.Items[i].Data["config.yaml"])
	require.NoError(t, err)
	pod, err := config.WorkflowPod("default", podtemplate.SampleValues)
	require.NoError(t, err)

	pod.Name = "workflow-" + strings.ToLower(uuid.NewString()[:8])
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](1000),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].Image = "ubuntu:24.04" // kwok runs no image: any reference will do
		pod.Spec.Containers[i].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
	created, err := kube.CoreV1().Pods(namespace).Create(t.Context(), pod, metav1.CreateOptions{})
	require.NoError(t, err, "the workflow pod is admitted in a restricted namespace")
	err = poll.Until(t.Context(), "workflow pod "+created.Name+" to run", 200*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		current, err := kube.CoreV1().Pods(namespace).Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false, poll.Stop(err)
		}
		created = current
		if created.Status.Phase != corev1.PodRunning {
			return false, poll.NotYet("phase %s", created.Status.Phase)
		}
		return true, nil
	})
	require.NoError(t, err)
	return *created
}

// exchangeWant is how a refusal must surface: the SDK's error carries the
// code and message, the stand-in recorded the failed check.
type exchangeWant struct {
	code, message string
	check         cloudsts.Check
}

func (w exchangeWant) with(check cloudsts.Check) exchangeWant {
	w.check = check
	return w
}

// exchangeRefused asserts the SDK surfaced the refusal and the stand-in
// refused this pod's token for the expected reason.
func exchangeRefused(t *testing.T, stand *cloudsts.Server, r exchange.Result, fed exchange.Federation, want exchangeWant) {
	t.Helper()
	t.Log(r)
	require.Error(t, r.Err, "the exchange must fail")
	assert.Empty(t, r.AccessToken)
	assert.Empty(t, r.Refused, "nothing left loopback")
	if fed.Provider == cloud.AWS {
		var apiErr smithy.APIError
		if assert.True(t, errors.As(r.Err, &apiErr), "the AWS SDK surfaces an API error: %v", r.Err) {
			assert.Equal(t, want.code, apiErr.ErrorCode())
			assert.Contains(t, apiErr.ErrorMessage(), want.message)
		}
	} else {
		assert.Contains(t, r.Err.Error(), want.code)
		assert.Contains(t, r.Err.Error(), want.message)
	}
	var seen []cloudsts.Exchange
	for _, e := range stand.ExchangesFor(fed.Provider) {
		if !e.Impersonation && e.Subject == r.Subject && e.Issuer == r.Issuer && e.Failed == want.check {
			seen = append(seen, e)
		}
	}
	assert.NotEmpty(t, seen, "the stand-in refused %s on the %s check (its log: %+v)", r.Subject, want.check, r.Exchanges)
	assert.Equal(t, r.Subject, fed.Subject(), "the token presented is the pod's account's")
}

// exchangeAccepted asserts the SDK obtained a stand-in token for the pod's own
// account, and the stand-in's log shows that exchange.
func exchangeAccepted(t *testing.T, stand *cloudsts.Server, r exchange.Result, fed exchange.Federation) {
	t.Helper()
	if !assert.Truef(t, r.OK(), "%s\nrewrites: %q\nstand-in log: %+v", r, r.Rewrites, r.Exchanges) {
		return
	}
	t.Log(r)
	assert.Equal(t, fed.Subject(), r.Subject, "pod %s", r.Pod)
	assert.Equal(t, fed.Issuer.URL, r.Issuer, "pod %s", r.Pod)
	logged := func(provider cloud.Provider, identity, subject string) {
		t.Helper()
		ok := slices.ContainsFunc(stand.ExchangesFor(provider), func(e cloudsts.Exchange) bool {
			return e.OK() && e.Identity == identity && e.Subject == subject
		})
		assert.True(t, ok, "the stand-in's %s log shows an accepted exchange of %s for %s", provider, subject, identity)
	}
	switch fed.Provider {
	case cloud.Azure:
		assert.Equal(t, fed.TenantID+"/"+fed.ClientID, r.Identity)
		assert.Equal(t, []string{cloud.AzureAudience}, r.Audience)
		assert.True(t, strings.HasPrefix(r.AccessToken, "cloudsts-stand-in-entra."), r.AccessToken)
		logged(cloud.Azure, r.Identity, fed.Subject())
	case cloud.AWS:
		assert.Equal(t, fed.RoleARN, r.Identity)
		assert.Equal(t, []string{cloud.AWSAudience}, r.Audience)
		assert.True(t, strings.HasPrefix(r.AccessToken, "cloudsts-stand-in-aws."), r.AccessToken)
		logged(cloud.AWS, r.Identity, fed.Subject())
	case cloud.GCP:
		assert.Equal(t, fed.PoolProvider+" as "+fed.ServiceAccountEmail, r.Identity)
		assert.Equal(t, []string{fed.PoolProvider}, r.Audience)
		assert.True(t, strings.HasPrefix(r.AccessToken, "cloudsts-stand-in-google-sa."), "impersonated: %s", r.AccessToken)
		logged(cloud.GCP, fed.PoolProvider, fed.Subject())
		principal, err := cloud.PoolPrincipal(fed.PoolProvider, fed.Subject())
		require.NoError(t, err)
		logged(cloud.GCP, fed.ServiceAccountEmail, principal)
	}
}

// exchangeStandIn is the stand-in a proof runs against: for Azure the
// package's (the webhook injects its address into pods), for AWS and GCP one
// per test, because a stand-in trusts one subject per role or provider and
// several accounts share the scenario's role and provider.
func exchangeStandIn(t *testing.T, provider cloud.Provider) *cloudsts.Server {
	if provider == cloud.Azure {
		return standIn
	}
	return cloudststest.Start(t)
}

// exchangeIssuer is the cluster's service account issuer as a cloud registers it.
func exchangeIssuer(tb testing.TB) cloudsts.Issuer {
	c := local(tb)
	issuer, err := exchange.KubernetesIssuer(c.IssuerURL(), c.CA().CertPEM())
	require.NoError(tb, err)
	return issuer
}

// exchangeStartOtherCluster starts a second local cluster in the background
// (no webhooks) and returns a function that waits for it; it is stopped when
// the test ends.
func exchangeStartOtherCluster(t *testing.T) func(t *testing.T) *cluster.Local {
	var (
		done  = make(chan struct{})
		other *cluster.Local
		err   error
	)
	go func() {
		defer close(done)
		other, err = cluster.StartLocal(context.Background(), cluster.Options{Provider: cluster.ProviderLocal, Out: exchangeDiscard{}})
	}()
	t.Cleanup(func() {
		<-done
		if other != nil {
			other.Stop(context.Background())
		}
	})
	return func(t *testing.T) *cluster.Local {
		t.Helper()
		<-done
		require.NoError(t, err, "second local cluster")
		return other
	}
}

type exchangeDiscard struct{}

func (exchangeDiscard) Write(p []byte) (int, error) { return len(p), nil }

// exchangeForeignToken is what the other cluster issues for an account of the
// same namespace and name (unbound: the pod exists only in the first cluster).
func exchangeForeignToken(t *testing.T, other *cluster.Local, namespace, account, audience string) string {
	t.Helper()
	kube := other.Client()
	_, err := kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = kube.CoreV1().ServiceAccounts(namespace).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	response, err := kube.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), account, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return response.Status.Token
}

// exchangeClientIDOf reads the client id an account is annotated with.
func exchangeClientIDOf(t *testing.T, namespace, account string) string {
	t.Helper()
	sa, err := local(t).Client().CoreV1().ServiceAccounts(namespace).Get(t.Context(), account, metav1.GetOptions{})
	require.NoError(t, err)
	return sa.Annotations[cloud.AzureClientIDAnnotation]
}

// exchangeAccount is the account a chart's pods run under, as the chart renders it.
func exchangeAccount(tb testing.TB, release, chart string, valuesFiles ...string) string {
	tb.Helper()
	// Lowest first, as the installs pass it: the database password source the
	// service and router charts require (the values given win).
	if chart == "service" || chart == "router" {
		valuesFiles = append([]string{databasePassword(tb)}, valuesFiles...)
	}
	account, err := render.ServiceAccountOf(chart, render.Release{Name: release, Namespace: "osmo"}, valuesFiles...)
	require.NoError(tb, err)
	return account
}

// exchangeInstallJob is a job for exchangeConcurrently: helm install of one
// chart, waiting for readiness (InstallE: a job runs off the test's goroutine).
func exchangeInstallJob(tb testing.TB, namespace, release, chartDir string, valuesFiles ...string) func() error {
	h, ctx := helm(tb), tb.Context()
	return func() error {
		_, err := h.InstallE(ctx, namespace, release, chartDir, valuesFiles...)
		return err
	}
}

// exchangeConcurrently runs every job at once and returns each one's error.
// Installs mostly wait on the API server, so they run outside the test
// runner's -parallel limit (2 on this machine by default).
func exchangeConcurrently(jobs map[string]func() error) map[string]error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs = map[string]error{}
	)
	for name, job := range jobs {
		wg.Go(func() {
			err := job()
			mu.Lock()
			defer mu.Unlock()
			errs[name] = err
		})
	}
	wg.Wait()
	return errs
}
