package identitycheck

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cloud"
)

const (
	testClientID = "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"
	testRoleARN  = "arn:aws:iam::111122223333:role/osmo-runtime"
	testPool     = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster"
)

// testWorkload is a pod of deployment/osmo-router in namespace ns,
// running under account sa, with one container "router".
func testWorkload(account map[string]string) *workload {
	w := &workload{
		kind: "Pod", namespace: "ns", name: "osmo-router-abc12-xyz", owner: "deployment/osmo-router",
		labels: map[string]string{}, annotations: map[string]string{}, admitted: true,
		spec:        corev1.PodSpec{ServiceAccountName: "sa", Containers: []corev1.Container{{Name: "router"}}},
		accountName: "sa", issuer: "https://issuer.example",
	}
	if account != nil {
		w.account = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa", Annotations: account}}
	}
	return w
}

// withToken mounts a projected token for audience at dir/file in every container and sets env to its path.
func withToken(w *workload, volume, dir, file, audience, env string) *workload {
	w.spec.Volumes = append(w.spec.Volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: file, Audience: audience}}},
	}}})
	for i := range w.spec.Containers {
		c := &w.spec.Containers[i]
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volume, MountPath: dir})
		if env != "" {
			c.Env = append(c.Env, corev1.EnvVar{Name: env, Value: dir + "/" + file})
		}
	}
	return w
}

func withEnv(w *workload, name, value string) *workload {
	for i := range w.spec.Containers {
		w.spec.Containers[i].Env = append(w.spec.Containers[i].Env, corev1.EnvVar{Name: name, Value: value})
	}
	return w
}

func withLabel(w *workload, key, value string) *workload { w.labels[key] = value; return w }

func azureInjected(w *workload, clientID string) *workload {
	withToken(w, cloud.AzureTokenVolumePrefix+"0123", "/var/run/secrets/azure/wi", "token/azure-identity-token", cloud.AzureAudience, cloud.EnvAzureTokenFile)
	withEnv(w, cloud.EnvAzureTenantID, "72f988bf-86f1-41af-91ab-2d7cd011db47")
	if clientID != "" {
		withEnv(w, cloud.EnvAzureClientID, clientID)
	}
	return w
}

func awsInjected(w *workload, audience string) *workload {
	withToken(w, cloud.AWSTokenVolume, "/var/run/secrets/eks.amazonaws.com/serviceaccount", "token", audience, cloud.EnvAWSTokenFile)
	return withEnv(w, cloud.EnvAWSRoleARN, testRoleARN)
}

// gcpFederated mounts the chart's gcp-ksa volume (token + credential file) with
// the ConfigMap holding configAudience.
func gcpFederated(w *workload, tokenAudience, configAudience string, configMapExists bool) *workload {
	const dir = "/var/run/secrets/tokens/gcp-ksa"
	withToken(w, "gcp-ksa", dir, "token", tokenAudience, "")
	w.spec.Volumes[len(w.spec.Volumes)-1].Projected.Sources = append(w.spec.Volumes[len(w.spec.Volumes)-1].Projected.Sources,
		corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "gcp-credentials"},
			Items: []corev1.KeyToPath{{Key: "credential-configuration.json", Path: "credential-configuration.json"}}}})
	withEnv(w, cloud.EnvGoogleCredentials, dir+"/credential-configuration.json")
	w.configMaps = map[string]*corev1.ConfigMap{"gcp-credentials": nil}
	if configMapExists {
		config := `{"type":"external_account","audience":"` + configAudience + `","credential_source":{"file":"` + dir + `/token"}}`
		w.configMaps["gcp-credentials"] = &corev1.ConfigMap{Data: map[string]string{"credential-configuration.json": config}}
	}
	return w
}

// Each case: a pod as the API server would hold it, the provider detected, and
// the problems (a word of the reason and of the fix) the check must name.
func TestRules(t *testing.T) {
	type want struct{ reason, fix string }
	cases := []struct {
		name       string
		workload   *workload
		provider   cloud.Provider
		federation bool
		problems   []want
	}{
		{"azure: annotated, labelled, injected", azureInjected(withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "true"), testClientID),
			cloud.Azure, false, nil},
		{"azure: pod without the use label", testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}),
			cloud.Azure, false, []want{{"only mutates labelled pods", "extraPodLabels"}}},
		{"azure: label \"false\"", withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "false"),
			cloud.Azure, false, []want{{`is "false", not "true"`, "global.workloadIdentity.provider=azure"}}},
		{"azure: labelled, account without client-id (webhook injects the rest)", azureInjected(withLabel(testWorkload(map[string]string{}), cloud.AzureUseLabel, "true"), ""),
			cloud.Azure, false, []want{{"has no azure.workload.identity/client-id annotation", "global.workloadIdentity.azure.clientId"}}},
		{"azure: client-id not a GUID", azureInjected(withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: "my-app"}), cloud.AzureUseLabel, "true"), "my-app"),
			cloud.Azure, false, []want{{"is not a GUID", "az identity show"}}},
		{"azure: labelled and annotated, webhook absent", withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "true"),
			cloud.Azure, false, []want{{"did not mutate the pod", "kubectl rollout restart deployment/osmo-router -n ns"}}},
		{"azure: pod predates the client-id annotation", azureInjected(withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "true"), ""),
			cloud.Azure, false, []want{{"the pod predates the annotation", "rollout restart"}}},
		{"azure: token audience wrong", withEnv(withToken(withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "true"),
			"own", "/var/run/secrets/azure/wi", "token/azure-identity-token", "sts.amazonaws.com", cloud.EnvAzureTokenFile), cloud.EnvAzureClientID, testClientID),
			cloud.Azure, false, []want{{`audience "sts.amazonaws.com"; the cloud expects "api://AzureADTokenExchange"`, "remove your own"}}},
		{"azure: skipped container is not required", func() *workload {
			w := azureInjected(withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "true"), testClientID)
			w.spec.Containers = append(w.spec.Containers, corev1.Container{Name: "sidecar"})
			w.annotations[cloud.AzureSkipContainersAnnotation] = "sidecar"
			return w
		}(), cloud.Azure, false, nil},

		{"aws: annotated and injected", awsInjected(testWorkload(map[string]string{cloud.AWSRoleARNAnnotation: testRoleARN}), cloud.AWSAudience), cloud.AWS, false, nil},
		{"aws: custom audience annotation honoured", awsInjected(testWorkload(map[string]string{cloud.AWSRoleARNAnnotation: testRoleARN, cloud.AWSAudienceAnnotation: "osmo"}), "osmo"), cloud.AWS, false, nil},
		{"aws: token audience wrong", awsInjected(testWorkload(map[string]string{cloud.AWSRoleARNAnnotation: testRoleARN}), "api://AzureADTokenExchange"),
			cloud.AWS, false, []want{{`the cloud expects "sts.amazonaws.com"`, "let the EKS webhook project the token"}}},
		{"aws: annotated, webhook absent", testWorkload(map[string]string{cloud.AWSRoleARNAnnotation: testRoleARN}),
			cloud.AWS, false, []want{{"EKS pod identity webhook did not mutate", "rollout restart"}}},
		{"aws: account lost its role-arn (pod still injected)", awsInjected(testWorkload(map[string]string{}), cloud.AWSAudience),
			cloud.AWS, false, []want{{"has no eks.amazonaws.com/role-arn annotation", "global.workloadIdentity.aws.roleArn"}}},
		{"aws: malformed ARN", testWorkload(map[string]string{cloud.AWSRoleARNAnnotation: "osmo-runtime"}),
			cloud.AWS, false, []want{{"is not an IAM role ARN", "arn:aws:iam::"}, {"did not mutate", "install the EKS pod identity webhook"}}},

		{"gke: annotated", testWorkload(map[string]string{cloud.GKEServiceAccountAnnotation: "osmo-runtime@osmo-prod.iam.gserviceaccount.com"}), cloud.GCP, false, nil},
		{"gke: not an address", testWorkload(map[string]string{cloud.GKEServiceAccountAnnotation: "osmo-runtime"}),
			cloud.GCP, false, []want{{"is not a Google service account address", "global.workloadIdentity.gcp.serviceAccount"}}},

		{"gcp federation: token and credential file agree", gcpFederated(testWorkload(map[string]string{}), testPool, testPool, true), cloud.GCP, true, nil},
		{"gcp federation with impersonation annotation", gcpFederated(testWorkload(map[string]string{cloud.GKEServiceAccountAnnotation: "osmo-runtime@osmo-prod.iam.gserviceaccount.com"}), testPool, testPool, true), cloud.GCP, true, nil},
		{"gcp federation: ConfigMap missing", gcpFederated(testWorkload(map[string]string{}), testPool, testPool, false),
			cloud.GCP, true, []want{{`ConfigMap "gcp-credentials"`, "helm upgrade"}}},
		{"gcp federation: audiences differ", gcpFederated(testWorkload(map[string]string{}), "https://example.com", testPool, true),
			cloud.GCP, true, []want{{"Google STS rejects it", "workloadIdentityProvider"}}},

		{"none", testWorkload(map[string]string{}), "", false, []want{{"no workload identity configured", "global.workloadIdentity.provider"}}},
		{"none, account missing: only the account", testWorkload(nil), "", false, []want{{`ServiceAccount "sa" does not exist in namespace "ns"`, "serviceAccount.create=true"}}},
		{"deployment whose account is missing", func() *workload {
			w := testWorkload(nil)
			w.kind, w.name, w.admitted, w.creationFailure = "Deployment", "osmo-router", false, `pods "osmo-router-abc12-" is forbidden: error looking up service account ns/sa: serviceaccount "sa" not found`
			return withLabel(w, cloud.AzureUseLabel, "true")
		}(), cloud.Azure, false, []want{{"so Deployment osmo-router cannot create its pods", "kubectl create serviceaccount sa -n ns"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluate(tc.workload)
			assert.Equal(t, tc.provider, r.Provider, "detected from %s", r.Evidence)
			assert.Equal(t, tc.federation, r.Federation, "detected from %s", r.Evidence)
			assert.Equal(t, len(tc.problems) == 0, r.OK, "problems: %+v", r.Problems)
			require.Len(t, r.Problems, len(tc.problems), "%+v", r.Problems)
			for i, want := range tc.problems {
				assert.Contains(t, r.Problems[i].Reason, want.reason)
				assert.Contains(t, r.Problems[i].Fix, want.fix)
			}
			assert.Equal(t, "system:serviceaccount:ns:sa", r.Subject)
		})
	}
}

func TestReportOutput(t *testing.T) {
	good := evaluate(azureInjected(withLabel(testWorkload(map[string]string{cloud.AzureClientIDAnnotation: testClientID}), cloud.AzureUseLabel, "true"), testClientID))
	bad := evaluate(testWorkload(map[string]string{}))
	bad.Name = "osmo-router-abc12-zzz"
	report := &Report{Namespace: "ns", Selector: "app.kubernetes.io/instance=osmo-router", Issuer: "https://issuer.example", Pods: []PodReport{good, bad}}
	assert.False(t, report.OK())
	assert.Len(t, report.Failing(), 1)

	var table bytes.Buffer
	require.NoError(t, report.WriteTable(&table))
	text := table.String()
	t.Log("\n" + text)
	header := strings.Index(text, "POD")
	require.GreaterOrEqual(t, header, 0)
	for _, column := range []string{"PROVIDER", "ACCOUNT", "STATUS"} {
		assert.Contains(t, text[header:strings.Index(text[header:], "\n")+header], column)
	}
	for _, want := range []string{"NOT OK (1 problem)", "AZURE_CLIENT_ID=" + testClientID, "audience api://AzureADTokenExchange",
		"subject     system:serviceaccount:ns:sa", "issuer      https://issuer.example", "fix", "global.workloadIdentity.provider", "1 of 2 would get their identity"} {
		assert.Contains(t, text, want)
	}

	raw, err := json.Marshal(report)
	require.NoError(t, err)
	var decoded map[string]any
	require.NoError(t, json.Unmarshal(raw, &decoded))
	pod := decoded["pods"].([]any)[0].(map[string]any)
	for _, key := range []string{"name", "provider", "serviceAccount", "serviceAccountExists", "accountAnnotation", "podLabel", "containers", "token", "subject", "issuer", "ok"} {
		assert.Contains(t, pod, key)
	}
	again, _ := json.Marshal(report)
	assert.Equal(t, string(raw), string(again), "stable")

	report.Pods[1].OK, report.Pods[1].Problems = true, nil
	assert.True(t, report.OK())
	report.Pods[0].AddProblem("token exchange refused", "register the subject")
	assert.False(t, report.OK())
}

func TestOptionsSelector(t *testing.T) {
	cases := []struct {
		opts Options
		want string
	}{
		{Options{}, ""},
		{Options{Release: "osmo"}, "app.kubernetes.io/instance=osmo"},
		{Options{Selector: "app=x", Release: "osmo"}, "app=x,app.kubernetes.io/instance=osmo"},
	}
	for _, tc := range cases {
		got, err := tc.opts.LabelSelector()
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
	_, err := Options{Selector: "a in (b"}.LabelSelector()
	assert.Error(t, err)
}

// A Deployment is reported on its own when it has no pod, or when its template
// names a missing account (new pods never come, old ones may still run).
func TestDeploymentsWithoutPods(t *testing.T) {
	deployment := func(name, account string) appsv1.Deployment {
		return appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: account}},
		}}
	}
	pod := func(app string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: app + "-1", Labels: map[string]string{"app": app}}}
	}
	accounts := map[string]*corev1.ServiceAccount{"present": {}, "missing": nil}
	got := deploymentsWithoutPods(
		[]appsv1.Deployment{deployment("running", "present"), deployment("no-pods", "present"), deployment("stuck-upgrade", "missing")},
		[]corev1.Pod{pod("running"), pod("stuck-upgrade")}, accounts)
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
	}
	assert.Equal(t, []string{"no-pods", "stuck-upgrade"}, names)
}
