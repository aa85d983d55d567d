package cloudsts_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
)

const (
	googleProvider = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/cluster-pool/providers/cluster"
	googleScope    = "https://www.googleapis.com/auth/cloud-platform"
	grantedSA      = "api@apps-project.iam.gserviceaccount.com"
	otherSA        = "admin@apps-project.iam.gserviceaccount.com"
)

// googleCredentialFile is the external_account file a chart mounts, with the
// token URL (and impersonation URL) rewritten to the stand-in.
func googleCredentialFile(t *testing.T, s *cloudsts.Server, tokenFile, impersonate string) []byte {
	t.Helper()
	file := map[string]any{
		"type":               "external_account",
		"audience":           googleProvider,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          s.GoogleTokenURL(),
		"credential_source":  map[string]string{"file": tokenFile},
	}
	if impersonate != "" {
		file["service_account_impersonation_url"] = s.GoogleImpersonationURL(impersonate)
	}
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func googleToken(t *testing.T, s *cloudsts.Server, credentialFile []byte) (*oauth2.Token, error) {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, s.Client())
	creds, err := google.CredentialsFromJSONWithType(ctx, credentialFile, google.ExternalAccount, googleScope)
	if err != nil {
		t.Fatal(err)
	}
	return creds.TokenSource.Token()
}

// TestGoogleWorkloadIdentityFederation runs x/oauth2's external account
// credentials against the Google STS stand-in.
func TestGoogleWorkloadIdentityFederation(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	otherCluster := newFakeIssuer(t, issuerOptions{})
	s, clk := startStandIn(t)
	if err := s.TrustGoogle(cloudsts.GoogleProvider{Audience: googleProvider, Issuer: cluster.issuer(), Subject: "system:serviceaccount:apps:api"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	for _, tc := range []struct {
		name    string // what the case proves
		token   string
		clock   time.Duration
		subject string
		failed  cloudsts.Check
		result  string
		message string // in the SDK's error
	}{
		{name: "the allowed subject gets a federated token",
			token: cluster.signRS256(t, cluster.claims("apps", "api", googleProvider, now), nil), result: "ok"},
		{name: "the https: form of the provider is a default allowed audience",
			token: cluster.signRS256(t, cluster.claims("apps", "api", "https:"+googleProvider, now), nil), result: "ok"},
		{name: "another service account is rejected by the attribute condition",
			token: cluster.signRS256(t, cluster.claims("apps", "worker", googleProvider, now), nil), subject: "system:serviceaccount:apps:worker", failed: cloudsts.CheckSubject, result: "unauthorized_client", message: "rejected by the attribute condition"},
		{name: "a token for another audience is rejected",
			token: cluster.signRS256(t, cluster.claims("apps", "api", awsAudience, now), nil), failed: cloudsts.CheckAudience, result: "invalid_grant", message: "does not match the expected audience"},
		{name: "a token from another issuer is rejected",
			token: otherCluster.signRS256(t, otherCluster.claims("apps", "api", googleProvider, now), nil), failed: cloudsts.CheckIssuer, result: "invalid_grant", message: "does not match the expected ones"},
		{name: "a token signed by another cluster's key is rejected",
			token: cluster.signRS256(t, cluster.claims("apps", "api", googleProvider, now), otherClusterKey()), failed: cloudsts.CheckSignature, result: "invalid_grant", message: "signature"},
		{name: "an expired token is rejected",
			token: cluster.signRS256(t, cluster.claims("apps", "api", googleProvider, now), nil), clock: 2 * time.Hour, failed: cloudsts.CheckLifetime, result: "invalid_grant", message: "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.set(tc.clock)
			subject := "system:serviceaccount:apps:api"
			if tc.subject != "" {
				subject = tc.subject
			}
			token, err := googleToken(t, s, googleCredentialFile(t, s, writeToken(t, tc.token), ""))
			if tc.result == "ok" {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if !strings.HasPrefix(token.AccessToken, "cloudsts-stand-in-google-sts.") {
					t.Errorf("access token %q was not issued by the stand-in", token.AccessToken)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.result) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Token error = %v, want one containing %q and %q", err, tc.result, tc.message)
			}
			got := lastExchange(t, s, cloud.GCP)
			checkExchange(t, got, subject, tc.failed, tc.result)
			if got.Identity != googleProvider {
				t.Errorf("stand-in recorded provider %q, want %q", got.Identity, googleProvider)
			}
		})
	}
}

// TestGoogleServiceAccountImpersonation adds the second hop: the federated
// token impersonates a service account that granted the pod's principal.
func TestGoogleServiceAccountImpersonation(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	s, _ := startStandIn(t)
	subject := "system:serviceaccount:apps:api"
	if err := s.TrustGoogle(cloudsts.GoogleProvider{Audience: googleProvider, Issuer: cluster.issuer(), Subject: subject}); err != nil {
		t.Fatal(err)
	}
	principal, err := cloud.PoolPrincipal(googleProvider, subject)
	if err != nil {
		t.Fatal(err)
	}
	if want := "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/cluster-pool/subject/system:serviceaccount:apps:api"; principal != want {
		t.Fatalf("PoolPrincipal = %q, want %q", principal, want)
	}
	if err := s.GrantGoogleImpersonation(principal, grantedSA); err != nil {
		t.Fatal(err)
	}
	tokenFile := writeToken(t, cluster.signRS256(t, cluster.claims("apps", "api", googleProvider, time.Now()), nil))

	for _, tc := range []struct {
		name   string // what the case proves
		email  string
		failed cloudsts.Check
		result string
	}{
		{name: "a granted service account is impersonated", email: grantedSA, result: "ok"},
		{name: "a service account that granted nothing is denied", email: otherSA, failed: cloudsts.CheckGrant, result: "PERMISSION_DENIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, err := googleToken(t, s, googleCredentialFile(t, s, tokenFile, tc.email))
			if tc.result == "ok" {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if !strings.HasPrefix(token.AccessToken, "cloudsts-stand-in-google-sa.") || time.Until(token.Expiry) < 50*time.Minute {
					t.Errorf("token %q expiring %s is not the stand-in's service account token", token.AccessToken, token.Expiry)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.result) {
				t.Fatalf("Token error = %v, want one containing %s", err, tc.result)
			}
			checkExchange(t, lastExchange(t, s, cloud.GCP), subject, "", "ok")
			got := lastImpersonation(t, s)
			checkExchange(t, got, principal, tc.failed, tc.result)
			if got.Identity != tc.email {
				t.Errorf("stand-in recorded service account %q, want %q", got.Identity, tc.email)
			}
		})
	}
}
