package render_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad values fail at render with the exact message a user sees from `helm install`:
// the key, the value and what is expected, never a template stack trace alone.
func TestBadValuesFailWithAClearMessage(t *testing.T) {
	// Messages from the charts' own validation, wrapped the way Helm reports a `fail`.
	validation := func(chart string, lines ...string) string {
		return "execution error at (" + chart + "/templates/validate.yaml:2:4): \n" + chart + ": invalid values:\n- " + strings.Join(lines, "\n- ")
	}
	// Messages from values.schema.json, as Helm formats them.
	schema := func(chart string, lines ...string) string {
		return "values don't meet the specifications of the schema(s) in the following chart(s):\n" + chart + ":\n- " + strings.Join(lines, "\n- ") + "\n"
	}
	cases := []struct {
		name   string
		chart  string
		values string
		want   string
	}{
		{"create false without a name", "service", `serviceAccount: {create: false}`,
			validation("service", "serviceAccount.name: required when serviceAccount.create is false (set it to the pre-provisioned ServiceAccount the pods run under)")},
		{"typo in a top-level key", "router", `serviceAcount: {create: false}`,
			schema("router", "at '': additional properties 'serviceAcount' not allowed")},
		{"typo inside serviceAccount", "web-ui", `serviceAccount: {annotation: {a: b}}`,
			schema("web-ui", "at '/serviceAccount': additional properties 'annotation' not allowed")},
		{"typo inside a component", "service", `services: {worker: {extraPodLabel: {a: b}}}`,
			schema("service", "at '/services/worker': additional properties 'extraPodLabel' not allowed")},
		{"unknown component", "router", `services: {routr: {replicas: 2}}`,
			schema("router", "at '/services': additional properties 'routr' not allowed")},
		{"labels as a list", "router", `extraPodLabels: [azure.workload.identity/use]`,
			schema("router", "at '/extraPodLabels': got array, want object")},
		{"label value as a map", "backend-operator", `services: {listener: {extraPodLabels: {team: {name: a}}}}`,
			schema("backend-operator", "at '/services/listener/extraPodLabels/team': got object, want boolean or number or string")},
		{"annotations as a string", "service", `serviceAccount: {annotations: "azure.workload.identity/client-id=abc"}`,
			schema("service", "at '/serviceAccount/annotations': got string, want object")},
		{"global labels as a list", "web-ui", `global: {extraPodLabels: [a]}`,
			schema("web-ui", "at '/global/extraPodLabels': got array, want object")},
		{"pull secrets as a string", "router", `imagePullSecrets: regcred`,
			schema("router", "at '/imagePullSecrets': got string, want array")},
		{"pull secret entry without a name", "router", `imagePullSecrets: [{secret: regcred}]`,
			schema("router", "at '/imagePullSecrets/0': 'oneOf' failed, none matched\n  - at '/imagePullSecrets/0': got object, want string\n  - at '/imagePullSecrets/0': validation failed\n    - at '/imagePullSecrets/0': missing property 'name'\n    - at '/imagePullSecrets/0': additional properties 'secret' not allowed")},
		{"create as a string", "backend-operator", `serviceAccount: {create: "false"}`,
			schema("backend-operator", "at '/serviceAccount/create': got string, want boolean")},
		{"malformed Azure client id", "router", `global: {workloadIdentity: {provider: azure, azure: {clientId: my-client}}}`,
			validation("router", `global.workloadIdentity.azure.clientId: "my-client" is not a GUID (expected the managed identity's client ID, like 00000000-0000-0000-0000-000000000000)`)},
		{"Azure without a client id", "web-ui", `global: {workloadIdentity: {provider: azure}}`,
			validation("web-ui", "global.workloadIdentity.azure.clientId: required when global.workloadIdentity.provider is azure (the managed identity's client ID, a GUID)")},
		{"malformed Azure tenant id", "router", `global: {workloadIdentity: {provider: azure, azure: {clientId: 6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b, tenantId: contoso.onmicrosoft.com}}}`,
			validation("router", `global.workloadIdentity.azure.tenantId: "contoso.onmicrosoft.com" is not a GUID (expected the Entra ID tenant ID, like 00000000-0000-0000-0000-000000000000)`)},
		{"malformed AWS role ARN", "backend-operator", `global: {workloadIdentity: {provider: aws, aws: {roleArn: "arn:aws:iam::1234:role/osmo"}}}`,
			validation("backend-operator", `global.workloadIdentity.aws.roleArn: "arn:aws:iam::1234:role/osmo" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`)},
		{"AWS user ARN instead of a role", "router", `global: {workloadIdentity: {provider: aws, aws: {roleArn: "arn:aws:iam::111122223333:user/osmo"}}}`,
			validation("router", `global.workloadIdentity.aws.roleArn: "arn:aws:iam::111122223333:user/osmo" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`)},
		{"malformed GCP service account", "service", `global: {workloadIdentity: {provider: gcp, gcp: {serviceAccount: osmo@gmail.com}}}`,
			validation("service", `global.workloadIdentity.gcp.serviceAccount: "osmo@gmail.com" is not a Google service account address (expected <name>@<project>.iam.gserviceaccount.com)`)},
		{"malformed GCP provider", "router", `global: {workloadIdentity: {provider: gcp, gcp: {workloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/k"}}}`,
			validation("router", `global.workloadIdentity.gcp.workloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/k" is not a workload identity pool provider (expected //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)`)},
		{"GCP with neither account nor provider", "web-ui", `global: {workloadIdentity: {provider: gcp}}`,
			validation("web-ui", "global.workloadIdentity.gcp: serviceAccount or workloadIdentityProvider is required when global.workloadIdentity.provider is gcp")},
		{"unknown provider", "router", `global: {workloadIdentity: {provider: Azure}}`,
			validation("router", `global.workloadIdentity.provider: "Azure" is not supported (expected "", azure, aws or gcp)`)},
		{"pool naming a missing pod template", "service", `services: {configs: {pools: {gpu: {common_pod_template: [default_user, workflow_identity]}}}}`,
			validation("service", `services.configs.pools.gpu.common_pod_template[1]: pod template "workflow_identity" is not defined (expected one of: default_ctrl, default_user under services.configs.podTemplates)`)},
		{"invalid label value", "router", `extraPodLabels: {team: "data science"}`,
			validation("router", `extraPodLabels.team: "data science" is not a valid label value (expected at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit)`)},
		{"invalid label name", "web-ui", `services: {webUi: {extraPodLabels: {"-team": a}}}`,
			validation("web-ui", `services.webUi.extraPodLabels: "-team" is not a valid label name (expected [prefix/]name, the name at most 63 characters of letters, digits, '-', '_' and '.')`)},
		{"duplicate env var", "router", `services: {router: {extraEnv: [{name: A, value: "1"}, {name: A, value: "2"}]}}`,
			validation("router", `services.router.extraEnv: "A" is set twice (each variable name once)`)},
		{"every problem reported at once", "router", `
serviceAccount: {create: false}
global: {workloadIdentity: {provider: aws, aws: {roleArn: nope}}}
extraPodLabels: {team: "a b"}`,
			validation("router",
				"serviceAccount.name: required when serviceAccount.create is false (set it to the pre-provisioned ServiceAccount the pods run under)",
				`global.workloadIdentity.aws.roleArn: "nope" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`,
				`extraPodLabels.team: "a b" is not a valid label value (expected at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit)`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderE(tc.chart, values(t, tc.values), release)
			require.Error(t, err, "values must be refused:\n%s", tc.values)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
