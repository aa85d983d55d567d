package cloudsts_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cloudsts/cloudststest"
)

const (
	awsRoleARN  = "arn:aws:iam::111122223333:role/apps-api"
	awsAudience = "sts.amazonaws.com"
)

// awsEnv sets the environment the EKS pod identity webhook injects, plus
// isolation from this machine's AWS settings (shared files, static keys, the
// exported AWS_CA_BUNDLE).
func awsEnv(t *testing.T, s *cloudsts.Server, roleARN, tokenFile, caBundle string) {
	t.Helper()
	dir := t.TempDir()
	for name, value := range map[string]string{
		"AWS_ROLE_ARN":                roleARN,
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_REGION":                  "us-east-1",
		"AWS_ENDPOINT_URL_STS":        s.AWSEndpoint(),
		"AWS_CA_BUNDLE":               caBundle,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(name, value)
	}
	unsetenv(t, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS")
}

// noBackoffRetryer keeps the SDK's standard retries (it retries
// InvalidIdentityToken) without the seconds of backoff between them.
func noBackoffRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// TestAWSWebIdentity runs the SDK's default chain (web identity from the
// environment) against the AWS STS stand-in.
func TestAWSWebIdentity(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	otherCluster := newFakeIssuer(t, issuerOptions{})
	s, clk := startStandIn(t)
	if err := s.TrustAWS(cloudsts.AWSRole{RoleARN: awsRoleARN, Issuer: cluster.issuer(), Subject: "system:serviceaccount:apps:api"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	for _, tc := range []struct {
		name     string // what the case proves
		token    string
		roleARN  string
		clock    time.Duration
		subject  string
		failed   cloudsts.Check
		result   string // recorded result and the API error code
		detail   string // in the error message, when the code alone is ambiguous
		attempts int    // requests the SDK makes (it retries InvalidIdentityToken)
	}{
		{name: "the trusted subject assumes the role",
			token: cluster.signRS256(t, cluster.claims("apps", "api", awsAudience, now), nil), result: "ok", attempts: 1},
		{name: "another service account is denied by the sub condition",
			token: cluster.signRS256(t, cluster.claims("apps", "worker", awsAudience, now), nil), subject: "system:serviceaccount:apps:worker", failed: cloudsts.CheckSubject, result: "AccessDenied", attempts: 1},
		{name: "a token for another audience is denied by the aud condition",
			token: cluster.signRS256(t, cluster.claims("apps", "api", entraAudience, now), nil), failed: cloudsts.CheckAudience, result: "AccessDenied", attempts: 1},
		{name: "a token from another issuer has no OIDC provider",
			token: otherCluster.signRS256(t, otherCluster.claims("apps", "api", awsAudience, now), nil), failed: cloudsts.CheckIssuer, result: "InvalidIdentityToken", detail: "No OpenIDConnect provider found", attempts: 3},
		{name: "a token signed by another cluster's key is invalid, and retried",
			token: cluster.signRS256(t, cluster.claims("apps", "api", awsAudience, now), otherClusterKey()), failed: cloudsts.CheckSignature, result: "InvalidIdentityToken", attempts: 3},
		{name: "an expired token is refused",
			token: cluster.signRS256(t, cluster.claims("apps", "api", awsAudience, now), nil), clock: 2 * time.Hour, failed: cloudsts.CheckLifetime, result: "ExpiredTokenException", attempts: 1},
		{name: "an unknown role is denied",
			token: cluster.signRS256(t, cluster.claims("apps", "api", awsAudience, now), nil), roleARN: "arn:aws:iam::111122223333:role/other", failed: cloudsts.CheckIdentity, result: "AccessDenied", attempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.set(tc.clock)
			roleARN, subject := awsRoleARN, "system:serviceaccount:apps:api"
			if tc.roleARN != "" {
				roleARN = tc.roleARN
			}
			if tc.subject != "" {
				subject = tc.subject
			}
			awsEnv(t, s, roleARN, writeToken(t, tc.token), "")
			before := len(s.ExchangesFor(cloud.AWS))
			cfg, err := config.LoadDefaultConfig(t.Context(), config.WithHTTPClient(s.Client()), config.WithRetryer(noBackoffRetryer))
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(t.Context())
			if tc.result == "ok" {
				if err != nil {
					t.Fatalf("Retrieve: %v", err)
				}
				if !strings.HasPrefix(creds.SessionToken, "cloudsts-stand-in-aws.") || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
					t.Errorf("credentials %q/%q were not issued by the stand-in", creds.AccessKeyID, creds.SessionToken)
				}
				if !creds.CanExpire || time.Until(creds.Expires) < 50*time.Minute {
					t.Errorf("credentials expire at %s, want about an hour from now", creds.Expires)
				}
			} else {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.result {
					t.Fatalf("Retrieve error = %v, want API error %s", err, tc.result)
				}
				if !strings.Contains(apiErr.ErrorMessage(), "cloudsts stand-in") || !strings.Contains(apiErr.ErrorMessage(), tc.detail) {
					t.Errorf("error message %q does not name the stand-in or lacks %q", apiErr.ErrorMessage(), tc.detail)
				}
			}
			exchanges := s.ExchangesFor(cloud.AWS)[before:]
			if len(exchanges) != tc.attempts {
				t.Errorf("the SDK made %d requests, want %d: %+v", len(exchanges), tc.attempts, exchanges)
			}
			got := lastExchange(t, s, cloud.AWS)
			checkExchange(t, got, subject, tc.failed, tc.result)
			if got.Identity != roleARN {
				t.Errorf("stand-in recorded role %q, want %q", got.Identity, roleARN)
			}
		})
	}
}

// TestAWSWebIdentityFromEnvironmentOnly is an application that sets nothing
// in code: endpoint and trust come from AWS_ENDPOINT_URL_STS and
// AWS_CA_BUNDLE alone (no loopback guard here: the SDK builds its client).
func TestAWSWebIdentityFromEnvironmentOnly(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	s := cloudststest.Start(t)
	if err := s.TrustAWS(cloudsts.AWSRole{RoleARN: awsRoleARN, Issuer: cluster.issuer(), Subject: "system:serviceaccount:apps:api"}); err != nil {
		t.Fatal(err)
	}
	caFile, err := s.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	awsEnv(t, s, awsRoleARN, writeToken(t, cluster.signRS256(t, cluster.claims("apps", "api", awsAudience, time.Now()), nil)), caFile)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(t.Context()); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	checkExchange(t, lastExchange(t, s, cloud.AWS), "system:serviceaccount:apps:api", "", "ok")
}
