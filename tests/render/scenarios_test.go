package render_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/podtemplate"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

const (
	exampleClientID = "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"
	exampleTenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// promise is what a scenario guarantees for one chart's render.
type promise func(t *testing.T, chart string, r *render.Result)

// promises: every scenario folder needs one, so no example file merely "renders".
var promises = map[string]promise{
	"minimal": func(t *testing.T, chart string, r *render.Result) {
		sa := requireAccount(t, r, "osmo-"+chart)
		assert.Empty(t, sa.Annotations, "no identity configured")
		for _, p := range pods(r) {
			assert.Equal(t, sa.Name, p.Spec.ServiceAccountName, describe(p))
			assert.Empty(t, p.Spec.ImagePullSecrets, describe(p))
			assert.NotContains(t, p.Meta.Labels, "azure.workload.identity/use", describe(p))
		}
		for _, p := range workloadPods(r) {
			if p.Meta.Labels["app.kubernetes.io/component"] == "gateway-envoy" {
				assert.Equal(t, "envoyproxy/envoy:v1.29.0", p.Spec.Containers[0].Image, "NVIDIA's Envoy image: "+describe(p))
				continue
			}
			assert.Regexp(t, `^nvcr\.io/nvidia/osmo/[a-z-]+:6\.4\.0$`, p.Spec.Containers[0].Image, describe(p))
		}
	},
	"aks-workload-identity": func(t *testing.T, chart string, r *render.Result) {
		account := "osmo-" + chart
		if chart == "service" { // the seed: a pre-provisioned account
			account = "my-workload-identity-sa"
			assert.Empty(t, serviceAccounts(r), "the pre-provisioned account is not rendered")
		} else {
			sa := requireAccount(t, r, account)
			assert.Equal(t, exampleClientID, sa.Annotations["azure.workload.identity/client-id"])
		}
		for _, p := range workloadPods(r) {
			assert.Equal(t, account, p.Spec.ServiceAccountName, describe(p))
			assert.Equal(t, "true", p.Meta.Labels["azure.workload.identity/use"], describe(p))
		}
	},
	"aks-workload-identity-shortcut": func(t *testing.T, chart string, r *render.Result) {
		sa := requireAccount(t, r, "osmo-"+chart)
		assert.Equal(t, map[string]string{"azure.workload.identity/client-id": exampleClientID, "azure.workload.identity/tenant-id": exampleTenantID}, sa.Annotations)
		for _, p := range pods(r) {
			assert.Equal(t, "true", p.Meta.Labels["azure.workload.identity/use"], describe(p))
		}
	},
	"eks-irsa": func(t *testing.T, chart string, r *render.Result) {
		sa := requireAccount(t, r, "osmo-"+chart)
		assert.Equal(t, "arn:aws:iam::111122223333:role/osmo-runtime", sa.Annotations["eks.amazonaws.com/role-arn"])
		for _, p := range pods(r) {
			assert.Equal(t, sa.Name, p.Spec.ServiceAccountName, describe(p))
		}
	},
	"gke-workload-identity": func(t *testing.T, chart string, r *render.Result) {
		sa := requireAccount(t, r, "osmo-"+chart)
		assert.Equal(t, "osmo-runtime@osmo-prod.iam.gserviceaccount.com", sa.Annotations["iam.gke.io/gcp-service-account"])
		for _, p := range workloadPods(r) {
			assert.Nil(t, findVolume(p.Spec.Volumes, "gcp-ksa"), "%s: on GKE the metadata server serves the identity", describe(p))
		}
	},
	"gcp-workload-identity-federation": func(t *testing.T, chart string, r *render.Result) {
		requireAccount(t, r, "osmo-"+chart)
		for _, p := range workloadPods(r) {
			volume := findVolume(p.Spec.Volumes, "gcp-ksa")
			require.NotNil(t, volume, describe(p))
			assert.Equal(t, "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster",
				volume.Projected.Sources[0].ServiceAccountToken.Audience, describe(p))
		}
	},
	"preprovisioned-serviceaccount": func(t *testing.T, chart string, r *render.Result) {
		assert.Empty(t, serviceAccounts(r), "the chart renders no account")
		for _, p := range pods(r) {
			assert.Equal(t, "osmo-preprovisioned", p.Spec.ServiceAccountName, describe(p))
		}
		for _, s := range bindingSubjects(r) {
			assert.Equal(t, "osmo-preprovisioned", s.Name)
		}
	},
	"workflow-pod-identity": func(t *testing.T, chart string, r *render.Result) {
		switch chart {
		case "service":
			config := serviceConfig(t, r)
			assert.Equal(t, []any{"default_user", "default_ctrl", "workflow_workload_identity"}, dig(config, "pools", "default", "common_pod_template"))
			assert.Equal(t, "osmo-workflow", dig(config, "pod_templates", "workflow_workload_identity", "spec", "serviceAccountName"))
			assert.Equal(t, "true", dig(config, "pod_templates", "workflow_workload_identity", "metadata", "labels", "azure.workload.identity/use"))
			assert.NotNil(t, dig(config, "pod_templates", "default_user"), "the default templates are kept")
		case "backend-operator":
			sa := requireAccount(t, r, "osmo-workflow")
			assert.Equal(t, exampleClientID, sa.Annotations["azure.workload.identity/client-id"])
			requireAccount(t, r, "osmo-backend-operator")
		default:
			sa := requireAccount(t, r, "osmo-"+chart)
			assert.Equal(t, exampleClientID, sa.Annotations["azure.workload.identity/client-id"])
		}
	},
	"workflow-pod-identity-gcp": func(t *testing.T, chart string, r *render.Result) {
		const (
			provider    = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster"
			credentials = "/var/run/secrets/tokens/gcp-ksa/credential-configuration.json"
			configMap   = "osmo-backend-operator-gcp-credentials" // the backend-operator release's, named in the service's pod template
		)
		switch chart {
		case "service":
			// The default pool's pod, merged as the OSMO service merges it.
			config, err := podtemplate.ParseConfig(serviceConfigText(t, r))
			require.NoError(t, err)
			workflow, err := config.WorkflowPod("default", podtemplate.SampleValues)
			require.NoError(t, err)
			assert.Equal(t, "osmo-workflow", workflow.Spec.ServiceAccountName)
			volume := findVolume(workflow.Spec.Volumes, "gcp-ksa")
			require.NotNil(t, volume, "the workflow pod's gcp-ksa volume")
			require.NotNil(t, volume.Projected)
			require.Len(t, volume.Projected.Sources, 2)
			token, file := volume.Projected.Sources[0].ServiceAccountToken, volume.Projected.Sources[1].ConfigMap
			require.NotNil(t, token)
			assert.Equal(t, provider, token.Audience)
			assert.Equal(t, "token", token.Path)
			require.NotNil(t, file)
			assert.Equal(t, configMap, file.Name)
			assert.Equal(t, []corev1.KeyToPath{{Key: "credential-configuration.json", Path: "credential-configuration.json"}}, file.Items)
			var names []string
			for _, c := range workflow.Spec.Containers {
				names = append(names, c.Name)
				assert.Contains(t, c.Env, corev1.EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: credentials}, "container %s", c.Name)
				assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "gcp-ksa", MountPath: "/var/run/secrets/tokens/gcp-ksa", ReadOnly: true}, "container %s", c.Name)
				assert.NotEmpty(t, c.Resources.Limits, "container %s keeps its default template's resources (merged by name)", c.Name)
			}
			assert.Equal(t, []string{"user", "osmo-ctrl"}, names, "merged by name: no extra containers")
		case "backend-operator":
			sa := requireAccount(t, r, "osmo-workflow")
			assert.Equal(t, "osmo-runtime@osmo-prod.iam.gserviceaccount.com", sa.Annotations["iam.gke.io/gcp-service-account"])
			found := false
			for _, cm := range render.Objects[*corev1.ConfigMap](r) {
				if cm.Name == configMap {
					found = true
					assert.Contains(t, cm.Data["credential-configuration.json"], provider)
				}
			}
			assert.True(t, found, "the backend-operator release renders %s, which workflow pods mount", configMap)
		}
		requireAccount(t, r, "osmo-"+chart)
		for _, p := range workloadPods(r) {
			volume := findVolume(p.Spec.Volumes, "gcp-ksa")
			require.NotNil(t, volume, describe(p))
			assert.Equal(t, provider, volume.Projected.Sources[0].ServiceAccountToken.Audience, describe(p))
		}
	},
	"gateway-idp": func(t *testing.T, chart string, r *render.Result) {
		for _, p := range pods(r) {
			assert.Equal(t, "true", p.Meta.Labels["azure.workload.identity/use"], describe(p))
		}
		if chart != "service" {
			return
		}
		parts := map[string]bool{}
		for _, d := range render.Objects[*appsv1.Deployment](r) {
			parts[d.Spec.Selector.MatchLabels["app.kubernetes.io/component"]] = true
		}
		for _, part := range []string{"gateway-envoy", "gateway-oauth2-proxy", "gateway-authz"} {
			assert.True(t, parts[part], "the gateway's %s runs in front of the service", part)
		}
		proxy := gwMustDeployment(t, r, "osmo-service-gateway-oauth2-proxy")
		args := proxy.Spec.Template.Spec.Containers[0].Args
		assert.Contains(t, args, "--client-id=0b9f3c2a-7d41-4c8e-9e2f-5a6b7c8d9e01", "the IdP's client")
		assert.Contains(t, args, "--oidc-issuer-url=https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
		assert.Contains(t, args, "--redirect-url=https://osmo.example.com/oauth2/callback", "logins come back to the gateway's hostname")
		assert.Equal(t, "oauth2-proxy-secrets", findVolume(proxy.Spec.Template.Spec.Volumes, "oauth2-proxy-secrets").Secret.SecretName,
			"the client and cookie secrets come from the operator's Secret")
	},
	"private-registry": func(t *testing.T, chart string, r *render.Result) {
		want := []corev1.LocalObjectReference{{Name: "osmo-registry"}, {Name: "osmo-registry-mirror"}}
		for _, p := range pods(r) {
			assert.Equal(t, want, p.Spec.ImagePullSecrets, describe(p))
		}
		for _, d := range render.Objects[*appsv1.Deployment](r) {
			image := d.Spec.Template.Spec.Containers[0].Image
			assert.True(t, strings.HasPrefix(image, "registry.example.com/osmo/"), "%s: %s", d.Name, image)
			switch {
			case d.Name == "osmo-service":
				assert.Contains(t, image, "@sha256:", "the API service is pinned by digest")
			case chart != "service":
				assert.True(t, strings.HasSuffix(image, ":6.4.0-hotfix.1"), "%s: %s", d.Name, image)
			}
		}
	},
}

// Every chart × every scenario in values-examples/ renders and keeps its promise.
func TestScenarios(t *testing.T) {
	all, err := scenario.All(render.Charts)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for _, s := range all {
		keep, ok := promises[s.Name]
		t.Run(s.Name, func(t *testing.T) {
			require.True(t, ok, "scenario %s has no promise in scenarios_test.go: say what it guarantees", s.Name)
			forEachChart(t, func(t *testing.T, chart string) {
				r, err := render.RenderFiles(chart, release, s.ValuesFile(chart))
				require.NoError(t, err)
				keep(t, chart, r)
			})
		})
	}
}

// Every example file starts with a comment saying what it shows, as ci files do.
func TestScenarioFilesSayWhatTheyShow(t *testing.T) {
	all, err := scenario.All(render.Charts)
	require.NoError(t, err)
	for _, s := range all {
		for _, chart := range render.Charts {
			data, err := readFile(s.ValuesFile(chart))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(data, "# "+s.Name+": "), "%s must start with `# %s: <what it shows>`", s.ValuesFile(chart), s.Name)
		}
	}
}

func requireAccount(t *testing.T, r *render.Result, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, ok := serviceAccounts(r)[name]
	require.True(t, ok, "ServiceAccount %s is rendered", name)
	return sa
}

// serviceConfig is the service chart's config.yaml, parsed.
func serviceConfig(t *testing.T, r *render.Result) map[string]any {
	t.Helper()
	config := map[string]any{}
	require.NoError(t, yaml.Unmarshal([]byte(serviceConfigText(t, r)), &config))
	return config
}

// serviceConfigText is the service chart's config.yaml, as rendered.
func serviceConfigText(t *testing.T, r *render.Result) string {
	t.Helper()
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		if cm.Name == "osmo-service-configs" {
			return cm.Data["config.yaml"]
		}
	}
	t.Fatal("no osmo-service-configs ConfigMap")
	return ""
}

// dig walks nested maps; nil when a key is missing.
func dig(m any, keys ...string) any {
	for _, key := range keys {
		table, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = table[key]
	}
	return m
}

// The Argo CD and Flux examples' values blocks render on the charts they name.
func TestGitOpsExamplesRender(t *testing.T) {
	releases, err := scenario.GitOps()
	require.NoError(t, err)
	require.Len(t, releases, 2*len(render.Charts), "an Argo CD Application and a Flux HelmRelease per chart")
	for _, r := range releases {
		t.Run(r.Kind+"/"+r.Chart, func(t *testing.T) {
			result, err := renderE(r.Chart, r.Values, render.Release{Name: r.Release, Namespace: "osmo"})
			require.NoError(t, err)
			assert.NotEmpty(t, workloadPods(result))
		})
	}
}
