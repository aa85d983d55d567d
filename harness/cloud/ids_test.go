package cloud_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/osmo-wi/charts/harness/cloud"
)

func TestParseRoleARN(t *testing.T) {
	for _, tc := range []struct {
		arn  string
		want cloud.RoleARN
		ok   bool
	}{
		{"arn:aws:iam::111122223333:role/osmo-runtime", cloud.RoleARN{Partition: "aws", Account: "111122223333", Name: "osmo-runtime"}, true},
		{"arn:aws-us-gov:iam::111122223333:role/team/osmo", cloud.RoleARN{Partition: "aws-us-gov", Account: "111122223333", Name: "osmo"}, true},
		{"arn:aws:iam::11112222333:role/short-account", cloud.RoleARN{}, false},
		{"arn:aws:iam::111122223333:user/not-a-role", cloud.RoleARN{}, false},
		{"arn:awsx:iam::111122223333:role/bad-partition", cloud.RoleARN{}, false},
	} {
		got, ok := cloud.ParseRoleARN(tc.arn)
		assert.Equal(t, tc.ok, ok, tc.arn)
		assert.Equal(t, tc.want, got, tc.arn)
	}
}

func TestGoogleServiceAccountProject(t *testing.T) {
	for _, tc := range []struct {
		email, project string
		ok             bool
	}{
		{"osmo-runtime@osmo-prod.iam.gserviceaccount.com", "osmo-prod", true},
		{"osmo@osmo-prod.iam.gserviceaccount.com", "", false}, // 4 characters: Google wants 6 to 30
		{"osmo-runtime-@osmo-prod.iam.gserviceaccount.com", "", false},
		{"osmo-runtime@osmo-prod.example.com", "", false},
	} {
		project, ok := cloud.GoogleServiceAccountProject(tc.email)
		assert.Equal(t, tc.ok, ok, tc.email)
		assert.Equal(t, tc.project, project, tc.email)
	}
}

func TestPoolPrincipal(t *testing.T) {
	const provider = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster"
	principal, err := cloud.PoolPrincipal(provider, cloud.Subject("osmo", "osmo-router"))
	assert.NoError(t, err)
	assert.Equal(t, "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/subject/system:serviceaccount:osmo:osmo-router", principal)
	_, err = cloud.PoolPrincipal("//iam.googleapis.com/projects/osmo/locations/global/workloadIdentityPools/p/providers/q", "x")
	assert.ErrorContains(t, err, "not a workload identity pool provider")
}
