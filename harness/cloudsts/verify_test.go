package cloudsts_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/testca"
	"github.com/osmo-wi/charts/harness/tokenissuer"
)

// TestIssuerVerify proves each verification check on its own, without an SDK
// in the way: every case changes one thing from a valid token.
func TestIssuerVerify(t *testing.T) {
	cluster := newFakeIssuer(t, issuerOptions{})
	now := time.Now()
	valid := func() map[string]any { return cluster.claims("apps", "api", "aud", now) }
	with := func(key string, value any) map[string]any {
		c := valid()
		if value == nil {
			delete(c, key)
		} else {
			c[key] = value
		}
		return c
	}
	signed := cluster.signRS256(t, valid(), nil)
	parts := strings.Split(signed, ".")
	tampered := parts[0] + "." + b64([]byte(`{"iss":"`+cluster.URL()+`","sub":"system:serviceaccount:kube-system:admin","aud":"aud","exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`}`)) + "." + parts[2]

	for _, tc := range []struct {
		name   string // what the case proves
		token  string
		at     time.Time
		failed cloudsts.Check // "" means the token verifies
	}{
		{name: "an RS256 token from the cluster verifies", token: signed},
		{name: "an ES256 token from the cluster verifies", token: cluster.signES256(t, valid())},
		{name: "a token just past exp verifies within the clock skew", token: signed, at: now.Add(time.Hour + time.Minute)},
		{name: "a payload changed after signing fails the signature", token: tampered, failed: cloudsts.CheckSignature},
		{name: "a key of another cluster under the same kid fails the signature", token: cluster.signRS256(t, valid(), otherClusterKey()), failed: cloudsts.CheckSignature},
		{name: "an unknown kid fails the signature", token: cluster.signRS256WithHeader(t, tokenissuer.Header{Alg: "RS256", Kid: "rotated-away"}, valid(), nil), failed: cloudsts.CheckSignature},
		{name: "alg none fails the signature", token: b64([]byte(`{"alg":"none","kid":"`+cluster.RSAKeyID()+`"}`)) + "." + parts[1] + ".", failed: cloudsts.CheckSignature},
		{name: "another iss fails the issuer", token: cluster.signRS256(t, with("iss", "https://127.0.0.1:1"), nil), failed: cloudsts.CheckIssuer},
		{name: "past exp plus skew fails the lifetime", token: signed, at: now.Add(time.Hour + cloudsts.ClockSkew + time.Second), failed: cloudsts.CheckLifetime},
		{name: "nbf in the future fails the lifetime", token: cluster.signRS256(t, with("nbf", now.Add(time.Hour).Unix()), nil), failed: cloudsts.CheckLifetime},
		{name: "iat in the future fails the lifetime", token: cluster.signRS256(t, with("iat", now.Add(time.Hour).Unix()), nil), failed: cloudsts.CheckLifetime},
		{name: "a token without exp is malformed", token: cluster.signRS256(t, with("exp", nil), nil), failed: cloudsts.CheckFormat},
		{name: "two parts are not a JWT", token: parts[0] + "." + parts[1], failed: cloudsts.CheckFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = now
			}
			claims, err := cluster.issuer().Verify(t.Context(), tc.token, at)
			if tc.failed == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if claims.Subject != "system:serviceaccount:apps:api" || !claims.HasAudience("aud") {
					t.Errorf("claims = %+v", claims)
				}
				return
			}
			var verr *cloudsts.VerifyError
			if !errors.As(err, &verr) || verr.Check != tc.failed {
				t.Fatalf("Verify error = %v, want the %s check to fail", err, tc.failed)
			}
		})
	}
}

// TestIssuerDiscovery covers where keys come from: a cluster whose issuer
// name cannot be resolved here, a discovery document for another issuer, and
// a cluster that refuses anonymous discovery.
func TestIssuerDiscovery(t *testing.T) {
	const inCluster = "https://kubernetes.default.svc.cluster.local"
	cluster := newFakeIssuer(t, issuerOptions{issuerName: inCluster, jwksURI: "https://172.18.0.2:6443/openid/v1/jwks"})
	token := cluster.signRS256(t, cluster.claims("apps", "api", "aud", time.Now()), nil)
	another := newFakeIssuer(t, issuerOptions{})

	forbidden := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"kind":"Status","reason":"Forbidden"}`, http.StatusForbidden)
	}))
	defer forbidden.Close()

	for _, tc := range []struct {
		name   string // what the case proves
		issuer cloudsts.Issuer
		want   string // in the error; "" means the token verifies
	}{
		{name: "a discovery base stands in for the issuer host, and the jwks_uri is read from it",
			issuer: cloudsts.Issuer{URL: inCluster, DiscoveryURL: cluster.ServerURL(), CAPEM: cluster.CAPEM()}},
		{name: "an explicit JWKS URL overrides jwks_uri",
			issuer: cloudsts.Issuer{URL: inCluster, DiscoveryURL: cluster.ServerURL(), JWKSURL: cluster.ServerURL() + "/openid/v1/jwks", CAPEM: cluster.CAPEM()}},
		{name: "an issuer host off loopback is refused, not resolved",
			issuer: cloudsts.Issuer{URL: inCluster, CAPEM: cluster.CAPEM()}, want: "tests may reach only loopback hosts"},
		{name: "a CA that did not sign the discovery server is refused",
			issuer: cloudsts.Issuer{URL: inCluster, DiscoveryURL: cluster.ServerURL(), CAPEM: otherCA(t)}, want: "certificate"},
		{name: "a discovery document naming another issuer is refused",
			issuer: cloudsts.Issuer{URL: inCluster, DiscoveryURL: another.ServerURL(), CAPEM: slices.Concat(cluster.CAPEM(), another.CAPEM())}, want: "names issuer"},
		{name: "a cluster refusing anonymous discovery says which binding is missing",
			issuer: cloudsts.Issuer{URL: inCluster, DiscoveryURL: forbidden.URL, HTTPClient: forbidden.Client()}, want: "system:service-account-issuer-discovery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.issuer.Verify(t.Context(), token, time.Now())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var verr *cloudsts.VerifyError
			if !errors.As(err, &verr) || verr.Check != cloudsts.CheckDiscovery || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify error = %v, want a discovery failure containing %q", err, tc.want)
			}
		})
	}
}

// otherCA is a CA that signed no discovery server.
func otherCA(t *testing.T) []byte {
	ca, err := testca.New("a CA that signed nothing (tests only)")
	if err != nil {
		t.Fatal(err)
	}
	return ca.CertPEM()
}

// TestLoopbackGuard proves the client handed to SDKs never leaves loopback.
func TestLoopbackGuard(t *testing.T) {
	s := &cloudsts.Server{} // not startStandIn: its cleanup fails a test with refusals
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	client := s.Client()
	for _, target := range []string{"https://login.microsoftonline.com/common/discovery/instance", "https://sts.amazonaws.com/", "https://sts.googleapis.com/v1/token", "https://10.0.0.1/"} {
		resp, err := client.Post(target, "application/x-www-form-urlencoded", strings.NewReader("x=1"))
		if err == nil {
			resp.Body.Close()
			t.Errorf("POST %s went through", target)
		} else if !strings.Contains(err.Error(), "tests may reach only loopback hosts") {
			t.Errorf("POST %s: %v, want the loopback refusal", target, err)
		}
	}
	if got := len(s.Refused()); got != 4 {
		t.Errorf("Refused() has %d entries, want 4", got)
	}
	resp, err := client.Get(s.URL() + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "cloudsts stand-in") {
		t.Errorf("GET /nowhere = %s %q, want a 404 naming the stand-in", resp.Status, body)
	}
	if got := lastExchange(t, s, ""); got.Endpoint != "GET /nowhere" {
		t.Errorf("unknown route recorded as %+v", got)
	}
}
