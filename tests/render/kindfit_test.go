package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

// scenario.KindFit, derived from each chart's values.yaml, reaches every pod
// of every chart × scenario (the schema accepts it): each container pulls
// IfNotPresent, each workload container asks for no more than
// scenario.KindFitRequests, each
// Deployment and HPA runs one replica, and the service's gateway login (the
// OAuth2 Proxy, whose image is not loaded on kind) is off. A component added
// to a chart without resources or pull policy keys of the usual shape shows
// here, before it fails to schedule on kind.
func TestKindFitReachesEveryPod(t *testing.T) {
	all, err := scenario.All(render.Charts)
	require.NoError(t, err)
	cpu, memory := resource.MustParse(scenario.KindFitRequests["cpu"].(string)), resource.MustParse(scenario.KindFitRequests["memory"].(string))
	for _, chart := range render.Charts {
		fit, err := scenario.KindFitFile(project.Path("charts", chart), t.TempDir())
		require.NoError(t, err)
		for _, s := range all {
			t.Run(chart+"/"+s.Name, func(t *testing.T) {
				r, err := render.RenderFiles(chart, release, s.ValuesFile(chart), fit)
				require.NoError(t, err)
				for _, p := range pods(r) {
					for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
						assert.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy, "%s container %s", p.Owner, c.Name)
						if p.Hook {
							continue // the test pods' fixed 10m and 16Mi
						}
						if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
							assert.LessOrEqual(t, q.Cmp(cpu), 0, "%s container %s requests %s CPU", p.Owner, c.Name, q.String())
						}
						if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
							assert.LessOrEqual(t, q.Cmp(memory), 0, "%s container %s requests %s memory", p.Owner, c.Name, q.String())
						}
					}
				}
				for _, d := range render.Objects[*appsv1.Deployment](r) {
					if d.Spec.Replicas != nil {
						assert.EqualValues(t, 1, *d.Spec.Replicas, "Deployment %s", d.Name)
					}
					assert.NotContains(t, d.Name, "oauth2-proxy")
				}
				for _, h := range render.Objects[*autoscalingv2.HorizontalPodAutoscaler](r) {
					require.NotNil(t, h.Spec.MinReplicas, "HPA %s", h.Name)
					assert.EqualValues(t, 1, *h.Spec.MinReplicas, "HPA %s", h.Name)
				}
			})
		}
	}
}

// render.Prerequisites names what an operator creates before installing:
// the deploy guide's Secrets and ConfigMap for the service (with the keys its
// pods read), the backend operator's login Secret, and nothing the release
// creates itself (an extraObjects Secret).
func TestPrerequisitesAreWhatTheOperatorCreates(t *testing.T) {
	service, err := renderE("service", withoutIdP(values(t, "services: {configFile: {enabled: true}}")), release)
	require.NoError(t, err)
	assert.Equal(t, []render.Prerequisite{
		{Kind: "ConfigMap", Name: "mek-config", Keys: []string{"mek.yaml"}},
		{Kind: "Secret", Name: "db-secret", Keys: []string{"db-password"}},
		{Kind: "Secret", Name: "redis-secret", Keys: []string{"redis-password"}},
	}, render.Prerequisites(service))

	operator, err := renderE("backend-operator", values(t, "{}"), release)
	require.NoError(t, err)
	assert.Equal(t, []render.Prerequisite{{Kind: "Secret", Name: "svc-osmo-admin", Keys: []string{"password"}}}, render.Prerequisites(operator))
	withSecret, err := renderE("backend-operator", values(t, `
extraObjects:
  - {apiVersion: v1, kind: Secret, metadata: {name: svc-osmo-admin}, stringData: {password: x}}`), release)
	require.NoError(t, err)
	assert.Empty(t, render.Prerequisites(withSecret), "the release creates it")
}
