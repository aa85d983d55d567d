package tokenissuer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/tokenissuer"
)

// A verifier that reads the issuer's discovery and keys, as a cloud does,
// accepts both kinds of token it signs.
func TestTokensVerifyAgainstThePublishedKeys(t *testing.T) {
	issuer, err := tokenissuer.Start(tokenissuer.Options{})
	require.NoError(t, err)
	defer issuer.Close()
	now := time.Now()
	claims := issuer.ProjectedClaims("apps", "api", []string{"sts.amazonaws.com"}, now, time.Hour)
	verifier := cloudsts.Issuer{URL: issuer.URL(), CAPEM: issuer.CAPEM()}

	for name, sign := range map[string]func(any) (string, error){"RS256": issuer.Sign, "ES256": issuer.SignES256} {
		token, err := sign(claims)
		require.NoError(t, err, name)
		verified, err := verifier.Verify(t.Context(), token, now)
		require.NoError(t, err, name)
		assert.Equal(t, "system:serviceaccount:apps:api", verified.Subject, name)
		assert.True(t, verified.HasAudience("sts.amazonaws.com"), name)
	}
}

func TestSignRefusesAMismatchedAlgorithm(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = tokenissuer.Sign(tokenissuer.Header{Alg: "RS256", Kid: "k"}, map[string]any{}, key)
	assert.ErrorContains(t, err, "signs ES256")
}

// Options.Name is the iss a verifier must be told, while discovery is
// served elsewhere (an in-cluster issuer name this machine cannot resolve).
func TestNamedIssuer(t *testing.T) {
	const inCluster = "https://kubernetes.default.svc.cluster.local"
	issuer, err := tokenissuer.Start(tokenissuer.Options{Name: inCluster})
	require.NoError(t, err)
	defer issuer.Close()
	assert.Equal(t, inCluster, issuer.URL())
	token, err := issuer.Sign(issuer.ProjectedClaims("apps", "api", []string{"aud"}, time.Now(), time.Hour))
	require.NoError(t, err)
	_, err = cloudsts.Issuer{URL: inCluster, DiscoveryURL: issuer.ServerURL(), CAPEM: issuer.CAPEM()}.Verify(t.Context(), token, time.Now())
	assert.NoError(t, err)
}

// Options.Discovery publishes more endpoints on the issuer's server, and never
// replaces the issuer or its keys.
func TestDiscoveryNamesMoreEndpoints(t *testing.T) {
	issuer, err := tokenissuer.Start(tokenissuer.Options{Discovery: map[string]string{
		"token_endpoint": "/token", "issuer": "/elsewhere", "jwks_uri": "/elsewhere",
	}})
	require.NoError(t, err)
	defer issuer.Close()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(issuer.CAPEM()))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(issuer.ServerURL() + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	var discovery map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&discovery))
	assert.Equal(t, issuer.ServerURL()+"/token", discovery["token_endpoint"])
	assert.Equal(t, issuer.URL(), discovery["issuer"])
	assert.Equal(t, issuer.ServerURL()+"/openid/v1/jwks", discovery["jwks_uri"])
}
