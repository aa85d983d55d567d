package cloudsts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cloudsts/cloudststest"
)

const (
	entraTenant   = "72f988bf-0000-4000-8000-00000000c0de"
	entraClientID = "5a0f1b2c-0000-4000-8000-0000000000a1"
	armScope      = "https://management.azure.com/.default"
	entraAudience = "api://AzureADTokenExchange"
)

func entraOptions(s *cloudsts.Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     azcloud.Configuration{ActiveDirectoryAuthorityHost: s.EntraAuthorityHost()},
		Transport: s.Client(),
	}
}

// TestEntraWorkloadIdentity runs azidentity's WorkloadIdentityCredential, as
// a pod with the Azure webhook's env would, against the Entra ID stand-in.
func TestEntraWorkloadIdentity(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	otherCluster := newFakeIssuer(t, issuerOptions{})
	s, clk := startStandIn(t)
	if err := s.TrustEntra(cloudsts.EntraCredential{TenantID: entraTenant, ClientID: entraClientID, Issuer: cluster.issuer(), Subject: "system:serviceaccount:apps:api"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	for _, tc := range []struct {
		name     string // what the case proves
		token    string
		clientID string
		clock    time.Duration // how far the stand-in's clock runs ahead
		subject  string        // as the stand-in must see it
		failed   cloudsts.Check
		result   string // the stand-in's recorded result; the SDK error must contain it
	}{
		{name: "the registered subject gets a token",
			token: cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, now), nil), subject: "system:serviceaccount:apps:api", result: "ok"},
		{name: "an ES256 token verifies too",
			token: cluster.signES256(t, cluster.claims("apps", "api", entraAudience, now)), subject: "system:serviceaccount:apps:api", result: "ok"},
		{name: "another service account is refused on subject",
			token: cluster.signRS256(t, cluster.claims("apps", "worker", entraAudience, now), nil), subject: "system:serviceaccount:apps:worker", failed: cloudsts.CheckSubject, result: "AADSTS700213"},
		{name: "a token for another audience is refused",
			token: cluster.signRS256(t, cluster.claims("apps", "api", "sts.amazonaws.com", now), nil), subject: "system:serviceaccount:apps:api", failed: cloudsts.CheckAudience, result: "AADSTS700212"},
		{name: "a token from another issuer is refused",
			token: otherCluster.signRS256(t, otherCluster.claims("apps", "api", entraAudience, now), nil), subject: "system:serviceaccount:apps:api", failed: cloudsts.CheckIssuer, result: "AADSTS700211"},
		{name: "a token signed by another cluster's key is refused",
			token: cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, now), otherClusterKey()), subject: "system:serviceaccount:apps:api", failed: cloudsts.CheckSignature, result: "AADSTS700027"},
		{name: "an expired token is refused",
			token: cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, now), nil), clock: 2 * time.Hour, subject: "system:serviceaccount:apps:api", failed: cloudsts.CheckLifetime, result: "AADSTS700024"},
		{name: "an unknown client id is refused",
			token: cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, now), nil), clientID: "00000000-0000-4000-8000-00000000dead", subject: "system:serviceaccount:apps:api", failed: cloudsts.CheckIdentity, result: "AADSTS700016"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.set(tc.clock)
			clientID := entraClientID
			if tc.clientID != "" {
				clientID = tc.clientID
			}
			cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
				ClientOptions:            entraOptions(s),
				ClientID:                 clientID,
				TenantID:                 entraTenant,
				TokenFilePath:            writeToken(t, tc.token),
				DisableInstanceDiscovery: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			token, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{armScope}})
			if tc.result == "ok" {
				if err != nil {
					t.Fatalf("GetToken: %v", err)
				}
				if !strings.HasPrefix(token.Token, "cloudsts-stand-in-entra.") {
					t.Errorf("access token %q was not issued by the stand-in", token.Token)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.result) {
				t.Fatalf("GetToken error = %v, want one containing %s", err, tc.result)
			}
			got := lastExchange(t, s, cloud.Azure)
			checkExchange(t, got, tc.subject, tc.failed, tc.result)
			if want := entraTenant + "/" + clientID; got.Identity != want {
				t.Errorf("stand-in recorded identity %q, want %q", got.Identity, want)
			}
		})
	}
}

// TestEntraDefaultAzureCredential runs the chain an unmodified application
// uses, configured only by the environment the Azure webhook injects.
func TestEntraDefaultAzureCredential(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	s := cloudststest.Start(t)
	if err := s.TrustEntra(cloudsts.EntraCredential{TenantID: entraTenant, ClientID: entraClientID, Issuer: cluster.issuer(), Subject: "system:serviceaccount:apps:api"}); err != nil {
		t.Fatal(err)
	}
	tokenFile := writeToken(t, cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, time.Now()), nil))
	for name, value := range map[string]string{
		"AZURE_CLIENT_ID":            entraClientID,
		"AZURE_TENANT_ID":            entraTenant,
		"AZURE_FEDERATED_TOKEN_FILE": tokenFile,
		"AZURE_AUTHORITY_HOST":       s.EntraAuthorityHost(),
	} {
		t.Setenv(name, value)
	}
	unsetenv(t, "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_TOKEN_CREDENTIALS")
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Transport: s.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{armScope}}); err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	checkExchange(t, lastExchange(t, s, cloud.Azure), "system:serviceaccount:apps:api", "", "ok")
}

// TestEntraInstanceDiscoveryLeakIsRefused proves the loopback guard: without
// DisableInstanceDiscovery MSAL first asks login.microsoftonline.com, and
// that request must fail at once and be recorded, not reach the network.
func TestEntraInstanceDiscoveryLeakIsRefused(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	s := &cloudsts.Server{}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.TrustEntra(cloudsts.EntraCredential{TenantID: entraTenant, ClientID: entraClientID, Issuer: cluster.issuer(), Subject: "system:serviceaccount:apps:api"}); err != nil {
		t.Fatal(err)
	}
	options := entraOptions(s)
	options.Retry = policy.RetryOptions{MaxRetries: -1} // the refusal is final; don't wait out retries
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: options,
		ClientID:      entraClientID,
		TenantID:      entraTenant,
		TokenFilePath: writeToken(t, cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, time.Now()), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err == nil {
		t.Fatal("GetToken succeeded although instance discovery must leave loopback")
	}
	refused := s.Refused()
	if len(refused) == 0 || !strings.Contains(refused[0], "login.microsoftonline.com") {
		t.Fatalf("refused requests = %q, want the instance discovery request to login.microsoftonline.com (error: %v)", refused, err)
	}
	if len(s.ExchangesFor(cloud.Azure)) != 0 {
		t.Errorf("the token endpoint was reached although discovery failed: %+v", s.Exchanges())
	}
	t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
}
