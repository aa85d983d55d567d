package cloudsts_test

import (
	"crypto/rsa"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/tokenissuer"
)

// RSA keys are slow to generate: one for "this cluster", one for "another
// cluster", shared by every test.
var (
	clusterKey      = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	otherClusterKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
)

func mustRSA() *rsa.PrivateKey {
	key, err := tokenissuer.NewRSAKey()
	if err != nil {
		panic(err)
	}
	return key
}

// fakeIssuer is a cluster's service-account issuer as a cloud sees it: OIDC
// discovery and a JWKS over HTTPS, and tokens shaped like a projected
// ServiceAccount token (what TokenRequest returns on the pinned Kubernetes).
type fakeIssuer struct{ *tokenissuer.Issuer }

type issuerOptions struct {
	issuerName string // iss and discovery "issuer" when not the server's URL
	jwksURI    string // jwks_uri when not <server>/openid/v1/jwks
}

func newFakeIssuer(t *testing.T, opts issuerOptions) *fakeIssuer {
	t.Helper()
	issuer, err := tokenissuer.Start(tokenissuer.Options{Name: opts.issuerName, JWKSURI: opts.jwksURI, RSAKey: clusterKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { issuer.Close() })
	return &fakeIssuer{issuer}
}

func (f *fakeIssuer) issuer() cloudsts.Issuer { return cloudsts.Issuer{URL: f.URL(), CAPEM: f.CAPEM()} }

// claims are those of a projected token for namespace/serviceAccount with
// the kubelet's default 1 h lifetime, issued at now.
func (f *fakeIssuer) claims(namespace, serviceAccount, audience string, now time.Time) map[string]any {
	return f.ProjectedClaims(namespace, serviceAccount, []string{audience}, now, time.Hour)
}

// signRS256 signs with this cluster's key, or with key under this cluster's
// kid (a token minted by another cluster that happens to reuse the kid).
func (f *fakeIssuer) signRS256(t *testing.T, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	return f.signRS256WithHeader(t, tokenissuer.Header{Alg: "RS256", Kid: f.RSAKeyID()}, claims, key)
}

func (f *fakeIssuer) signRS256WithHeader(t *testing.T, header tokenissuer.Header, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	if key == nil {
		key = clusterKey()
	}
	token, err := tokenissuer.Sign(header, claims, key)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (f *fakeIssuer) signES256(t *testing.T, claims map[string]any) string {
	t.Helper()
	token, err := f.SignES256(claims)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// writeToken writes a token where a projected volume would put it.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// unsetenv removes variables for the test (an empty value is not the same
// as unset for every SDK) and restores them after.
func unsetenv(t *testing.T, names ...string) {
	for _, name := range names {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// clock is a replaceable Server.Now, safe to move while the server runs.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) set(offset time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = offset
}

// startStandIn starts a stand-in on a test clock.
func startStandIn(t *testing.T) (*cloudsts.Server, *clock) {
	t.Helper()
	c := &clock{}
	s := &cloudsts.Server{Now: c.Now}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if refused := s.Refused(); len(refused) > 0 {
			t.Errorf("requests off loopback were refused (an SDK leaked towards a real cloud): %q", refused)
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s, c
}

// lastExchange is the stand-in's record of the last token exchange with
// provider's endpoint ("" for no route); lastImpersonation of the last
// Google impersonation.
func lastExchange(t *testing.T, s *cloudsts.Server, provider cloud.Provider) cloudsts.Exchange {
	t.Helper()
	return last(t, s, provider, false)
}

func lastImpersonation(t *testing.T, s *cloudsts.Server) cloudsts.Exchange {
	t.Helper()
	return last(t, s, cloud.GCP, true)
}

func last(t *testing.T, s *cloudsts.Server, provider cloud.Provider, impersonation bool) cloudsts.Exchange {
	t.Helper()
	all := s.ExchangesFor(provider)
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Impersonation == impersonation {
			return all[i]
		}
	}
	t.Fatalf("the stand-in recorded no %q exchange (impersonation %v): the SDK never reached it", provider, impersonation)
	return cloudsts.Exchange{}
}

// checkExchange asserts what the stand-in saw and decided.
func checkExchange(t *testing.T, got cloudsts.Exchange, subject string, failed cloudsts.Check, result string) {
	t.Helper()
	if got.Subject != subject {
		t.Errorf("stand-in saw subject %q, want %q", got.Subject, subject)
	}
	if got.Failed != failed {
		t.Errorf("stand-in failed check %q, want %q (detail: %s)", got.Failed, failed, got.Detail)
	}
	if got.Result != result {
		t.Errorf("stand-in result %q, want %q (detail: %s)", got.Result, result, got.Detail)
	}
	if !got.OK() && !strings.Contains(got.Detail, "cloudsts stand-in") {
		t.Errorf("error detail does not name the stand-in: %s", got.Detail)
	}
}
