package standin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cloudsts/cloudststest"
	"github.com/osmo-wi/charts/harness/exchange"
	"github.com/osmo-wi/charts/harness/tokenissuer"
)

// TestStandinBinaryExchangesItsIdentity runs `osmo-standin identity` as a pod
// would run it, with the environment the webhooks inject and a projected
// token file signed by a Kubernetes-like issuer, against the loopback cloud
// stand-in: the real SDK's exchange is accepted for the registered account
// and refused, with the cloud's error, for another one; the outcome is what
// /osmo-standin/identity serves.
func TestStandinBinaryExchangesItsIdentity(t *testing.T) {
	issuer, err := tokenissuer.Start(tokenissuer.Options{Name: "https://kubernetes.default.svc.cluster.local"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = issuer.Close() })
	stand := cloudststest.Start(t)
	trusted := cloudsts.Issuer{URL: issuer.URL(), DiscoveryURL: issuer.ServerURL(), CAPEM: issuer.CAPEM()}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caFile, stand.CAPEM(), 0o600))

	const tenant, client, role = "72f988bf-86f1-41af-91ab-2d7cd011db47", "6f2a8c1e-3b4d-4e5f-9a7b-0c1d2e3f4a5b", "arn:aws:iam::111122223333:role/osmo-runtime"
	require.NoError(t, exchange.Federation{Provider: cloud.Azure, Issuer: trusted, Namespace: "osmo", ServiceAccount: "osmo-router",
		TenantID: tenant, ClientID: client}.Register(stand))
	require.NoError(t, exchange.Federation{Provider: cloud.AWS, Issuer: trusted, Namespace: "osmo", ServiceAccount: "osmo-router",
		RoleARN: role}.Register(stand))
	const pool, googleSA = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/osmo-pool/providers/osmo-cluster",
		"osmo-runtime@osmo-prod.iam.gserviceaccount.com"
	require.NoError(t, exchange.Federation{Provider: cloud.GCP, Issuer: trusted, Namespace: "osmo", ServiceAccount: "osmo-router",
		PoolProvider: pool, ServiceAccountEmail: googleSA}.Register(stand))

	cases := []struct {
		name, account, audience string
		provider                cloud.Provider
		env                     map[string]string
		ok                      bool
		refusal                 string
	}{
		{"azure, registered account", "osmo-router", cloud.AzureAudience, cloud.Azure, map[string]string{
			cloud.EnvAzureClientID: client, cloud.EnvAzureTenantID: tenant, cloud.EnvAzureAuthorityHost: stand.EntraAuthorityHost()}, true, ""},
		{"azure, another account", "osmo-worker", cloud.AzureAudience, cloud.Azure, map[string]string{
			cloud.EnvAzureClientID: client, cloud.EnvAzureTenantID: tenant, cloud.EnvAzureAuthorityHost: stand.EntraAuthorityHost()}, false, "AADSTS700213"},
		{"aws, registered account", "osmo-router", cloud.AWSAudience, cloud.AWS, map[string]string{
			cloud.EnvAWSRoleARN: role, cloud.EnvAWSRegion: "us-west-2", cloud.EnvAWSEndpointURLSTS: stand.AWSEndpoint()}, true, ""},
		{"aws, another account", "osmo-worker", cloud.AWSAudience, cloud.AWS, map[string]string{
			cloud.EnvAWSRoleARN: role, cloud.EnvAWSRegion: "us-west-2", cloud.EnvAWSEndpointURLSTS: stand.AWSEndpoint()}, false, "AccessDenied"},
		{"gcp, registered account", "osmo-router", pool, cloud.GCP, nil, true, ""},
		{"gcp, another account", "osmo-worker", pool, cloud.GCP, nil, false, "unauthorized_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token, err := issuer.Sign(issuer.ProjectedClaims("osmo", tc.account, []string{tc.audience}, time.Now(), time.Hour))
			require.NoError(t, err)
			tokenFile := filepath.Join(t.TempDir(), "token")
			require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
			env := map[string]string{"SSL_CERT_FILE": caFile, "HOME": t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			switch tc.provider {
			case cloud.Azure:
				env[cloud.EnvAzureTokenFile] = tokenFile
			case cloud.AWS:
				env[cloud.EnvAWSTokenFile] = tokenFile
			case cloud.GCP:
				// The chart's external_account file, its endpoints the stand-in's
				// (in a pod they are Google's, resolved to the stand-in).
				env[cloud.EnvGoogleCredentials] = writeCredentialFile(t, map[string]any{
					"type": "external_account", "audience": pool,
					"subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": stand.GoogleTokenURL(),
					"service_account_impersonation_url": stand.GoogleImpersonationURL(googleSA),
					"credential_source":                 map[string]any{"file": tokenFile},
				})
			}
			port := freePort(t)
			p := startProgram(t, "osmo-standin", []string{"identity", "--listen", "127.0.0.1:" + strconv.Itoa(port)}, env)

			var report struct {
				Provider, Identity, Error string
				OK                        bool
				Attempts                  int
			}
			require.Eventually(t, func() bool {
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/osmo-standin/identity", port))
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				return json.NewDecoder(resp.Body).Decode(&report) == nil && report.Attempts > 0
			}, 30*time.Second, 100*time.Millisecond, "a report; stderr: %s", p.stderr)
			assert.Equal(t, string(tc.provider), report.Provider)
			if tc.provider == cloud.GCP {
				assert.Equal(t, pool+" as "+googleSA, report.Identity)
			}
			assert.Equal(t, tc.ok, report.OK, "report: %+v", report)
			if tc.refusal != "" {
				assert.Contains(t, report.Error, tc.refusal, "the cloud's refusal, as the SDK surfaced it")
			}
		})
	}
}

func writeCredentialFile(t *testing.T, file map[string]any) string {
	t.Helper()
	data, err := json.Marshal(file)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "credential-configuration.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}
