package render_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/osmo-wi/charts/harness/render"
)

// Every component runs as a Deployment named after the release.
func TestEachChartRunsItsComponents(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		r := renderChart(t, chart, nil)
		var components []string
		for _, d := range render.Objects[*appsv1.Deployment](r) {
			assert.True(t, strings.HasPrefix(d.Name, "osmo-"+chart), "%s is named after the release and chart", d.Name)
			components = append(components, d.Spec.Selector.MatchLabels["app.kubernetes.io/component"])
		}
		assert.ElementsMatch(t, componentLabels[chart], components)
	})
}

// Every pod uses exactly the resolved ServiceAccount name, and every binding names it.
func TestEveryPodRunsUnderTheResolvedServiceAccount(t *testing.T) {
	cases := []struct {
		name    string
		values  string
		account string
		created bool
	}{
		{"default name", `{}`, "osmo-%s", true},
		{"renamed created account", `serviceAccount: {create: true, name: renamed-sa}`, "renamed-sa", true},
		{"pre-provisioned account", `serviceAccount: {create: false, name: operator-made-sa}`, "operator-made-sa", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachChart(t, func(t *testing.T, chart string) {
				account := tc.account
				if strings.Contains(account, "%s") {
					account = fmt.Sprintf(account, chart)
				}
				r := renderChart(t, chart, values(t, tc.values))
				all := pods(r)
				require.NotEmpty(t, all)
				for _, p := range all {
					assert.Equal(t, account, p.Spec.ServiceAccountName, describe(p))
				}
				_, created := serviceAccounts(r)[account]
				assert.Equal(t, tc.created, created, "ServiceAccount %s rendered", account)
				for _, subject := range bindingSubjects(r) {
					if subject.Kind == rbacv1.ServiceAccountKind {
						assert.Equal(t, account, subject.Name, "binding subject")
						assert.Equal(t, release.Namespace, subject.Namespace, "binding subject namespace")
					}
				}
				assert.Contains(t, r.Notes, fmt.Sprintf("every pod runs under %q", account), "NOTES.txt names the account")
			})
		})
	}
}

func bindingSubjects(r *render.Result) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, b := range render.Objects[*rbacv1.RoleBinding](r) {
		out = append(out, b.Subjects...)
	}
	for _, b := range render.Objects[*rbacv1.ClusterRoleBinding](r) {
		out = append(out, b.Subjects...)
	}
	return out
}

// The backend operator's RBAC is bound to the resolved account and is least privilege.
func TestOperatorRBACIsLeastPrivilege(t *testing.T) {
	r := renderChart(t, "backend-operator", values(t, `serviceAccount: {create: false, name: ops-sa}`))
	require.NotEmpty(t, bindingSubjects(r))
	var rules []rbacv1.PolicyRule
	for _, role := range render.Objects[*rbacv1.Role](r) {
		rules = append(rules, role.Rules...)
	}
	for _, role := range render.Objects[*rbacv1.ClusterRole](r) {
		rules = append(rules, role.Rules...)
	}
	require.NotEmpty(t, rules)
	for _, rule := range rules {
		assert.NotContains(t, rule.Verbs, "*", "rule %v", rule)
		assert.NotContains(t, rule.Resources, "*", "rule %v", rule)
		assert.NotContains(t, rule.APIGroups, "*", "rule %v", rule)
	}
}

// A pre-provisioned account is never rendered, so Helm never creates, changes or deletes it.
func TestPreProvisionedAccountIsNeverRendered(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		r := renderChart(t, chart, values(t, `
serviceAccount:
  create: false
  name: team-sa
  annotations: {azure.workload.identity/client-id: "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"}
global: {workloadIdentity: {provider: aws, aws: {roleArn: "arn:aws:iam::111122223333:role/x"}}}`))
		for _, m := range r.Manifests {
			sa, ok := m.Object.(*corev1.ServiceAccount)
			if ok {
				assert.NotEqual(t, "team-sa", sa.Name, "the pre-provisioned account is rendered by %s", m.Source)
			}
		}
		assert.Contains(t, r.Notes, "pre-provisioned")
	})
}

// Label and annotation values always render as strings, even unquoted booleans and numbers.
func TestLabelAndAnnotationValuesRenderAsStrings(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		vals := perComponent(chart, map[string]any{
			"extraPodLabels":      map[string]any{"azure.workload.identity/use": true, "tier": 3},
			"extraPodAnnotations": map[string]any{"sidecar.istio.io/inject": false, "weight": 10},
		})
		vals["serviceAccount"] = map[string]any{"annotations": map[string]any{"example.com/flag": true}, "labels": map[string]any{"team-size": 7}}
		vals["extraPodLabels"] = map[string]any{"spot": true}
		r := renderChart(t, chart, vals)
		for _, p := range workloadPods(r) {
			assert.Equal(t, "true", p.Meta.Labels["azure.workload.identity/use"], describe(p))
			assert.Equal(t, "3", p.Meta.Labels["tier"], describe(p))
			assert.Equal(t, "true", p.Meta.Labels["spot"], describe(p))
			assert.Equal(t, "false", p.Meta.Annotations["sidecar.istio.io/inject"], describe(p))
			assert.Equal(t, "10", p.Meta.Annotations["weight"], describe(p))
		}
		sa := serviceAccounts(r)["osmo-"+chart]
		require.NotNil(t, sa)
		assert.Equal(t, "true", sa.Annotations["example.com/flag"])
		assert.Equal(t, "7", sa.Labels["team-size"])
		// In the text too: a quoted string, never a YAML boolean the API would reject.
		assert.Contains(t, r.Text(), `"azure.workload.identity/use": "true"`)
	})
}

// Empty annotations, labels and pull secrets render nothing at all; an empty annotation
// value from a GitOps base file never reaches the account.
func TestEmptyValuesRenderNothing(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		r := renderChart(t, chart, values(t, `
imagePullSecrets: []
extraPodLabels: {}
extraPodAnnotations: {}
serviceAccount: {annotations: {"eks.amazonaws.com/role-arn": ""}, labels: {}}
global: {imagePullSecrets: [], imagePullSecret: "", extraPodLabels: {}, extraPodAnnotations: {}}`))
		forbidden := []string{"imagePullSecrets", `: ""`, "annotations: {}", "labels: {}", `- name: ""`, ": null", "nodeSelector", "tolerations", "affinity", "args: []"}
		if chart == "backend-operator" {
			forbidden = slices.DeleteFunc(forbidden, func(s string) bool { return s == "tolerations" }) // NVIDIA's default global.tolerations is not empty
		}
		for _, text := range forbidden {
			assert.Empty(t, linesContaining(r, text), "lines containing %q", text)
		}
		for _, p := range pods(r) {
			assert.Empty(t, p.Spec.ImagePullSecrets, describe(p))
		}
		for _, sa := range serviceAccounts(r) {
			assert.Empty(t, sa.Annotations, "ServiceAccount %s", sa.Name)
		}
		for _, p := range workloadPods(r) {
			for key := range p.Meta.Annotations {
				assert.True(t, strings.HasPrefix(key, "checksum/"), "%s: annotation %s was not asked for", describe(p), key)
			}
		}
	})
}

// Pull secrets: both forms, every source, de-duplicated in order; the legacy string too.
func TestPullSecretsAcceptBothFormsAndDeduplicate(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		r := renderChart(t, chart, values(t, `
global:
  imagePullSecrets: [shared, {name: mirror}, shared]
  imagePullSecret: legacy
imagePullSecrets: [{name: mirror}, chart-only, legacy]`))
		want := []corev1.LocalObjectReference{{Name: "shared"}, {Name: "mirror"}, {Name: "legacy"}, {Name: "chart-only"}}
		for _, p := range pods(r) {
			assert.Equal(t, want, p.Spec.ImagePullSecrets, describe(p))
		}
	})
}

// The shortcut derives each cloud's annotations and labels; explicit ones win.
func TestWorkloadIdentityShortcut(t *testing.T) {
	const clientID, tenantID = "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b", "72f988bf-86f1-41af-91ab-2d7cd011db47"
	cases := []struct {
		name        string
		values      string
		annotations map[string]string
		podLabels   map[string]string
	}{
		{"azure", `global: {workloadIdentity: {provider: azure, azure: {clientId: ` + clientID + `, tenantId: ` + tenantID + `}}}`,
			map[string]string{"azure.workload.identity/client-id": clientID, "azure.workload.identity/tenant-id": tenantID},
			map[string]string{"azure.workload.identity/use": "true"}},
		{"azure without tenant", `global: {workloadIdentity: {provider: azure, azure: {clientId: ` + clientID + `}}}`,
			map[string]string{"azure.workload.identity/client-id": clientID},
			map[string]string{"azure.workload.identity/use": "true"}},
		{"aws", `global: {workloadIdentity: {provider: aws, aws: {roleArn: "arn:aws-us-gov:iam::111122223333:role/path/osmo"}}}`,
			map[string]string{"eks.amazonaws.com/role-arn": "arn:aws-us-gov:iam::111122223333:role/path/osmo"}, nil},
		{"gcp", `global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: osmo-sa@proj-1.iam.gserviceaccount.com}}}`,
			map[string]string{"iam.gke.io/gcp-service-account": "osmo-sa@proj-1.iam.gserviceaccount.com"}, nil},
		{"explicit values win", `
global: {workloadIdentity: {provider: azure, azure: {clientId: ` + clientID + `}}}
serviceAccount: {annotations: {azure.workload.identity/client-id: "11111111-2222-3333-4444-555555555555"}}
extraPodLabels: {azure.workload.identity/use: "false"}`,
			map[string]string{"azure.workload.identity/client-id": "11111111-2222-3333-4444-555555555555"},
			map[string]string{"azure.workload.identity/use": "false"}},
		{"off", `global: {workloadIdentity: {provider: "", azure: {clientId: not-checked-when-off}}}`, map[string]string{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachChart(t, func(t *testing.T, chart string) {
				r := renderChart(t, chart, values(t, tc.values))
				sa := serviceAccounts(r)["osmo-"+chart]
				require.NotNil(t, sa)
				assert.Equal(t, tc.annotations, nonNil(sa.Annotations))
				for _, p := range workloadPods(r) {
					for k, v := range tc.podLabels {
						assert.Equal(t, v, p.Meta.Labels[k], describe(p))
					}
					if tc.podLabels == nil {
						assert.NotContains(t, p.Meta.Labels, "azure.workload.identity/use", describe(p))
					}
				}
			})
		})
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// GCP outside GKE: projected token with the provider audience, credential file, env.
func TestGCPFederationMountsTokenAndCredentialFile(t *testing.T) {
	const provider = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/k8s"
	forEachChart(t, func(t *testing.T, chart string) {
		vals := values(t, `global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: osmo-sa@proj-1.iam.gserviceaccount.com, workloadIdentityProvider: "`+provider+`"}}}`)
		r := renderChart(t, chart, vals)
		var configMap *corev1.ConfigMap
		for _, cm := range render.Objects[*corev1.ConfigMap](r) {
			if cm.Name == "osmo-"+chart+"-gcp-credentials" {
				configMap = cm
			}
		}
		require.NotNil(t, configMap, "credential ConfigMap")
		config := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(configMap.Data["credential-configuration.json"]), &config))
		assert.Equal(t, "external_account", config["type"])
		assert.Equal(t, provider, config["audience"])
		assert.Equal(t, "urn:ietf:params:oauth:token-type:jwt", config["subject_token_type"])
		assert.Equal(t, "https://sts.googleapis.com/v1/token", config["token_url"])
		assert.Equal(t, "/var/run/secrets/tokens/gcp-ksa/token", config["credential_source"].(map[string]any)["file"])
		assert.Contains(t, config["service_account_impersonation_url"], "osmo-sa@proj-1.iam.gserviceaccount.com:generateAccessToken")

		for _, p := range workloadPods(r) {
			volume := findVolume(p.Spec.Volumes, "gcp-ksa")
			require.NotNil(t, volume, describe(p))
			require.NotNil(t, volume.Projected, describe(p))
			token := volume.Projected.Sources[0].ServiceAccountToken
			require.NotNil(t, token)
			assert.Equal(t, provider, token.Audience)
			assert.Equal(t, "token", token.Path)
			assert.Equal(t, configMap.Name, volume.Projected.Sources[1].ConfigMap.Name)
			container := p.Spec.Containers[0]
			assert.Contains(t, container.VolumeMounts, corev1.VolumeMount{Name: "gcp-ksa", MountPath: "/var/run/secrets/tokens/gcp-ksa", ReadOnly: true})
			assert.Contains(t, container.Env, corev1.EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: "/var/run/secrets/tokens/gcp-ksa/credential-configuration.json"})
		}
		assert.Contains(t, r.Notes, "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/subject/system:serviceaccount:osmo:osmo-"+chart)
	})
}

// A user env var of the same name replaces the derived one: no duplicate names.
func TestUserEnvReplacesDerivedEnv(t *testing.T) {
	const provider = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"
	vals := values(t, `global: {workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "`+provider+`"}}}
extraEnvs: [{name: GOOGLE_APPLICATION_CREDENTIALS, value: /custom.json}]`)
	r := renderChart(t, "router", vals)
	env := render.Objects[*appsv1.Deployment](r)[0].Spec.Template.Spec.Containers[0].Env
	password := corev1.EnvVar{Name: "OSMO_POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db-secret"}, Key: "db-password"}}} // withDatabasePassword's MEK file
	assert.Equal(t, []corev1.EnvVar{{Name: "OSMO_SCHEMA_VERSION", Value: "public"}, password, {Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: "/custom.json"}}, env)
}

func findVolume(volumes []corev1.Volume, name string) *corev1.Volume {
	for i := range volumes {
		if volumes[i].Name == name {
			return &volumes[i]
		}
	}
	return nil
}

// Two releases, in one namespace or in two, never produce the same object.
func TestReleasesCoexistWithoutCollisions(t *testing.T) {
	// Values that render every optional object (RBAC, workflow account, GCP ConfigMap).
	const everything = `
global: {workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"}}}
workflowServiceAccount: {create: true}`
	pairs := []struct {
		name string
		a, b render.Release
	}{
		{"two releases in one namespace", render.Release{Name: "team-a", Namespace: "osmo"}, render.Release{Name: "team-b", Namespace: "osmo"}},
		{"one release name in two namespaces", render.Release{Name: "osmo", Namespace: "team-a"}, render.Release{Name: "osmo", Namespace: "team-b"}},
	}
	for _, pair := range pairs {
		t.Run(pair.name, func(t *testing.T) {
			seen := map[string]string{}
			for _, rel := range []render.Release{pair.a, pair.b} {
				for _, chart := range render.Charts {
					vals := values(t, everything)
					if chart != "backend-operator" {
						delete(vals, "workflowServiceAccount")
					}
					r, err := renderE(chart, vals, rel)
					require.NoError(t, err)
					for _, m := range r.Manifests {
						key := objectKey(t, m.Object, rel.Namespace)
						owner := fmt.Sprintf("%s/%s", rel.Namespace, rel.Name)
						if previous, dup := seen[key]; dup && previous != owner {
							t.Errorf("%s is rendered by both %s and %s", key, previous, owner)
						}
						seen[key] = owner
					}
				}
			}
		})
	}
}

// objectKey is kind/namespace/name, with no namespace for the cluster-scoped kinds the charts render.
func objectKey(t *testing.T, obj runtime.Object, releaseNamespace string) string {
	meta, ok := obj.(metav1.Object)
	require.True(t, ok)
	kind := fmt.Sprintf("%T", obj)
	switch obj.(type) {
	case *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *schedulingv1.PriorityClass:
		return kind + "//" + meta.GetName()
	}
	ns := meta.GetNamespace()
	if ns == "" {
		ns = releaseNamespace
	}
	return kind + "/" + ns + "/" + meta.GetName()
}

// Selectors hold only name, instance and component; user labels never change them.
func TestSelectorsAreStableWhateverTheLabels(t *testing.T) {
	forEachChart(t, func(t *testing.T, chart string) {
		plain := renderChart(t, chart, nil)
		labelled := perComponent(chart, map[string]any{"extraPodLabels": map[string]any{"app.kubernetes.io/name": "hijack", "app.kubernetes.io/component": "hijack", "new-label": "x"}})
		labelled["extraPodLabels"] = map[string]any{"app.kubernetes.io/instance": "hijack"}
		labelled["global"] = map[string]any{"extraPodLabels": map[string]any{"team": "a"}, "workloadIdentity": map[string]any{"provider": "azure", "azure": map[string]any{"clientId": "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b"}}}
		changed := renderChart(t, chart, labelled)

		selectors := func(r *render.Result) map[string]map[string]string {
			out := map[string]map[string]string{}
			for _, d := range render.Objects[*appsv1.Deployment](r) {
				out[d.Name] = d.Spec.Selector.MatchLabels
				assert.Equal(t, []string{"app.kubernetes.io/component", "app.kubernetes.io/instance", "app.kubernetes.io/name"}, slices.Sorted(maps.Keys(d.Spec.Selector.MatchLabels)))
				for k, v := range d.Spec.Selector.MatchLabels {
					assert.Equal(t, v, d.Spec.Template.Labels[k], "pod template of %s keeps selector label %s", d.Name, k)
				}
			}
			for _, s := range render.Objects[*corev1.Service](r) {
				out["Service/"+s.Name] = s.Spec.Selector
			}
			return out
		}
		assert.Equal(t, selectors(plain), selectors(changed))
		for _, p := range workloadPods(changed) {
			assert.Equal(t, "x", p.Meta.Labels["new-label"], describe(p))
		}
	})
}

// Every pod passes Pod Security "restricted", checked by the admission plugin's own evaluator.
func TestPodsPassPodSecurityRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	restricted := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	forEachChart(t, func(t *testing.T, chart string) {
		for _, vals := range []string{`{}`, `global: {workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"}}}`} {
			r := renderChart(t, chart, values(t, vals))
			for _, p := range pods(r) {
				for _, result := range evaluator.EvaluatePod(restricted, &p.Meta, &p.Spec) {
					assert.True(t, result.Allowed, "%s: %s: %s", describe(p), result.ForbiddenReason, result.ForbiddenDetail)
				}
				c := p.Spec.Containers[0].SecurityContext
				require.NotNil(t, c, describe(p))
				assert.True(t, *c.ReadOnlyRootFilesystem, describe(p))
			}
		}
	})
}

// The seed usage from DESIGN.md works verbatim on the service chart.
func TestSeedUsageWorksVerbatim(t *testing.T) {
	const seed = `
serviceAccount:
  create: false
  name: "my-workload-identity-sa"
  annotations:
    azure.workload.identity/client-id: "<client-id>"
services:
  service:
    extraPodLabels:
      azure.workload.identity/use: "true"
`
	r := renderChart(t, "service", values(t, seed))
	assert.Empty(t, serviceAccounts(r), "the pre-provisioned account is not rendered")
	for _, p := range workloadPods(r) {
		assert.Equal(t, "my-workload-identity-sa", p.Spec.ServiceAccountName, describe(p))
		if p.Owner == "Deployment/osmo-service" {
			assert.Equal(t, "true", p.Meta.Labels["azure.workload.identity/use"])
		} else {
			assert.NotContains(t, p.Meta.Labels, "azure.workload.identity/use", describe(p))
		}
	}
	assert.Contains(t, r.Notes, "azure.workload.identity/client-id: <client-id>", "NOTES tell the operator which annotation the account needs")
	assert.Contains(t, r.Notes, "system:serviceaccount:osmo:my-workload-identity-sa")
}

// Images: location, tag and digest resolve component -> global -> default; numbers as written.
func TestImageReferences(t *testing.T) {
	cases := []struct {
		name, values, want string
	}{
		{"default", `{}`, "nvcr.io/nvidia/osmo/router:6.4.0"},
		{"global location and tag", `global: {osmoImageLocation: reg.example.com/osmo/, osmoImageTag: "6.5"}`, "reg.example.com/osmo/router:6.5"},
		{"a numeric tag renders as written", `global: {osmoImageTag: 20240101}`, "nvcr.io/nvidia/osmo/router:20240101"},
		{"component wins", `global: {osmoImageLocation: g.example.com, osmoImageTag: g}
services: {service: {imageLocation: c.example.com, imageTag: c, imageName: edge}}`, "c.example.com/edge:c"},
		{"digest pins", `services: {service: {imageDigest: "sha256:` + strings.Repeat("ab", 32) + `"}}`, "nvcr.io/nvidia/osmo/router@sha256:" + strings.Repeat("ab", 32)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := renderChart(t, "router", values(t, tc.values))
			assert.Equal(t, tc.want, render.Objects[*appsv1.Deployment](r)[0].Spec.Template.Spec.Containers[0].Image)
		})
	}
}

// NOTES.txt names the account, the subject and the next step for the configured provider.
func TestNotesTellTheNextStep(t *testing.T) {
	cases := []struct{ provider, values, want string }{
		{"azure", `global: {workloadIdentity: {provider: azure, azure: {clientId: 6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b}}}`, "az identity federated-credential create"},
		{"aws", `serviceAccount: {annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/osmo"}}`, "<issuer>:sub = system:serviceaccount:osmo:osmo-%s"},
		{"gcp", `global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: osmo-sa@proj-1.iam.gserviceaccount.com}}}`, `--member "serviceAccount:proj-1.svc.id.goog[osmo/osmo-%s]"`},
		{"none", `{}`, "Set global.workloadIdentity.provider"},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			forEachChart(t, func(t *testing.T, chart string) {
				r := renderChart(t, chart, values(t, tc.values))
				want := tc.want
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, chart)
				}
				assert.Contains(t, r.Notes, want)
				if tc.provider != "none" {
					assert.Contains(t, r.Notes, "Workload identity: "+tc.provider)
					assert.Contains(t, r.Notes, "Federated credential subject: system:serviceaccount:osmo:osmo-"+chart)
				}
			})
		})
	}
}

// Object names derive from the release: "<release>-<chart>", or the release
// name alone when it already holds the chart name (no "osmo-router-router").
func TestNamesDeriveFromTheRelease(t *testing.T) {
	cases := []struct{ release, want string }{
		{"osmo", "osmo-%s"},
		{"osmo-%s", "osmo-%s"},
		{"team-a", "team-a-%s"},
	}
	for _, tc := range cases {
		forEachChart(t, func(t *testing.T, chart string) {
			rel := render.Release{Name: strings.ReplaceAll(tc.release, "%s", chart), Namespace: "osmo"}
			r, err := renderE(chart, nil, rel)
			require.NoError(t, err)
			want := strings.ReplaceAll(tc.want, "%s", chart)
			assert.Contains(t, serviceAccounts(r), want, "release %s", rel.Name)
			for _, d := range render.Objects[*appsv1.Deployment](r) {
				assert.True(t, strings.HasPrefix(d.Name, want), "%s starts with %s", d.Name, want)
				assert.NotContains(t, d.Name, chart+"-"+chart)
			}
		})
	}
}

// TestExtraObjectsRenderWithTheRelease: every chart renders extraObjects, an
// object or a string, through tpl with the release, in the release namespace,
// and the schema refuses an object without kind.
func TestExtraObjectsRenderWithTheRelease(t *testing.T) {
	for _, chart := range render.Charts {
		t.Run(chart, func(t *testing.T) {
			r := renderChart(t, chart, values(t, `
extraObjects:
  - apiVersion: v1
    kind: Secret
    metadata:
      name: "{{ .Release.Name }}-login"
    stringData:
      password: placeholder
  - |
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: {{ .Release.Name }}-pdb
    spec:
      maxUnavailable: 1
      selector:
        matchLabels:
          app.kubernetes.io/instance: {{ .Release.Name }}
`))
			secrets := render.Objects[*corev1.Secret](r)
			require.Len(t, secrets, 1)
			assert.Equal(t, "osmo-login", secrets[0].Name)
			assert.Equal(t, "placeholder", secrets[0].StringData["password"])
			pdbs := render.Objects[*policyv1.PodDisruptionBudget](r)
			require.Len(t, pdbs, 1)
			assert.Equal(t, "osmo-pdb", pdbs[0].Name)
			assert.Equal(t, "osmo", pdbs[0].Spec.Selector.MatchLabels["app.kubernetes.io/instance"])

			_, err := renderE(chart, values(t, "extraObjects: [{apiVersion: v1, metadata: {name: x}}]"), release)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "extraObjects")
		})
	}
}
