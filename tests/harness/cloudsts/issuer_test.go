package cloudsts_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osmo-wi/charts/tests/harness/cloud"
	"github.com/osmo-wi/charts/tests/harness/cloudsts"
)

// RSA keys are slow to generate: one for "this cluster", one for "another
// cluster", shared by every test.
var (
	clusterKey      = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	otherClusterKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
)

func mustRSA() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
}

// fakeIssuer is a cluster's service-account issuer as a cloud sees it: OIDC
// discovery and a JWKS over HTTPS, and tokens shaped like a projected
// ServiceAccount token (what TokenRequest returns on a v1.34 cluster).
type fakeIssuer struct {
	url       string // iss, and where discovery is served unless issuerName is set
	serverURL string // where discovery is served
	caPEM     []byte
	rsaKid    string
	ecKey     *ecdsa.PrivateKey
	ecKid     string
}

type issuerOptions struct {
	issuerName string // iss and discovery "issuer" when not the server's URL
	jwksURI    string // jwks_uri when not <server>/openid/v1/jwks
}

func newFakeIssuer(t *testing.T, opts issuerOptions) *fakeIssuer {
	t.Helper()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIssuer{rsaKid: "rsa-" + t.Name(), ecKey: ecKey, ecKid: "ec-" + t.Name()}
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	f.url, f.serverURL = srv.URL, srv.URL
	if opts.issuerName != "" {
		f.url = opts.issuerName
	}
	jwksURI := srv.URL + "/openid/v1/jwks"
	if opts.jwksURI != "" {
		jwksURI = opts.jwksURI
	}
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, map[string]any{
			"issuer":                                f.url,
			"jwks_uri":                              jwksURI,
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /openid/v1/jwks", func(w http.ResponseWriter, r *http.Request) {
		pub := clusterKey().PublicKey
		writeTestJSON(w, map[string]any{"keys": []map[string]string{
			{"use": "sig", "kty": "RSA", "kid": f.rsaKid, "alg": "RS256", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())},
			{"use": "sig", "kty": "EC", "kid": f.ecKid, "alg": "ES256", "crv": "P-256", "x": b64(pad32(f.ecKey.X)), "y": b64(pad32(f.ecKey.Y))},
		}})
	})
	f.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return f
}

func (f *fakeIssuer) issuer() cloudsts.Issuer { return cloudsts.Issuer{URL: f.url, CAPEM: f.caPEM} }

// claims are those of a projected token for namespace/serviceAccount with
// the kubelet's default 1 h lifetime, issued at now.
func (f *fakeIssuer) claims(namespace, serviceAccount, audience string, now time.Time) map[string]any {
	return map[string]any{
		"iss": f.url,
		"sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
		"aud": []string{audience},
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"jti": rand.Text(),
		"kubernetes.io": map[string]any{
			"namespace":      namespace,
			"node":           map[string]string{"name": "kwok-node-0", "uid": "8f0c1b7e-0000-4000-8000-000000000001"},
			"pod":            map[string]string{"name": serviceAccount + "-7d9f8", "uid": "8f0c1b7e-0000-4000-8000-000000000002"},
			"serviceaccount": map[string]string{"name": serviceAccount, "uid": "8f0c1b7e-0000-4000-8000-000000000003"},
		},
	}
}

// signRS256 signs with this cluster's key, or with key under this cluster's
// kid (a token minted by another cluster that happens to reuse the kid).
func (f *fakeIssuer) signRS256(t *testing.T, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	return f.signRS256WithHeader(t, map[string]string{"alg": "RS256", "kid": f.rsaKid}, claims, key)
}

func (f *fakeIssuer) signRS256WithHeader(t *testing.T, header map[string]string, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	if key == nil {
		key = clusterKey()
	}
	input := jwsInput(t, header, claims)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

func (f *fakeIssuer) signES256(t *testing.T, claims map[string]any) string {
	t.Helper()
	input := jwsInput(t, map[string]string{"alg": "ES256", "kid": f.ecKid}, claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, f.ecKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(append(pad32(r), pad32(s)...))
}

func jwsInput(t *testing.T, header map[string]string, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(c)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func pad32(n *big.Int) []byte { return n.FillBytes(make([]byte, 32)) }

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

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
