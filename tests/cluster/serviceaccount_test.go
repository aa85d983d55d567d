package cluster_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster/clustertest"
)

// A token requested for a custom audience (as workload identity projects one
// for api://AzureADTokenExchange or sts.amazonaws.com) carries that audience
// and the cluster's issuer, and verifies against the keys the issuer
// publishes anonymously, the way a cloud token exchange checks it.
func TestServiceAccountTokenVerifiesAgainstIssuerDiscovery(t *testing.T) {
	t.Parallel()
	l := local(t)
	ns := clustertest.Namespace(t, l, "restricted")
	const audience = "api://osmo-test-audience"
	accounts := l.Client().CoreV1().ServiceAccounts(ns)
	_, err := accounts.Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "workload"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         []string{audience},
		ExpirationSeconds: ptr(int64(600)),
	}}
	response, err := accounts.CreateToken(context.Background(), "workload", request, metav1.CreateOptions{})
	require.NoError(t, err)

	header, claims, signed, signature := splitJWT(t, response.Status.Token)
	assert.Equal(t, l.IssuerURL(), claims.Issuer)
	assert.Equal(t, []string{audience}, []string(claims.Audience))
	assert.Equal(t, "system:serviceaccount:"+ns+":workload", claims.Subject)
	assert.Equal(t, "RS256", header.Algorithm)

	// No credentials: only the cluster CA, as an outside verifier would have.
	anonymous := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: l.CA().CertPool()},
	}}
	var discovery struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, anonymous, claims.Issuer+"/.well-known/openid-configuration", &discovery)
	assert.Equal(t, claims.Issuer, discovery.Issuer)
	require.True(t, strings.HasPrefix(discovery.JWKSURI, claims.Issuer+"/"), "jwks_uri %q must be under the issuer", discovery.JWKSURI)

	var keys jsonWebKeySet
	getJSON(t, anonymous, discovery.JWKSURI, &keys)
	key := keys.rsaKey(t, header.KeyID)
	digest := sha256.Sum256([]byte(signed))
	assert.NoError(t, rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], signature), "token signature against the issuer's JWKS")
}

type jwtHeader struct {
	Algorithm string `json:"alg"`
	KeyID     string `json:"kid"`
}

type jwtClaims struct {
	Issuer   string      `json:"iss"`
	Subject  string      `json:"sub"`
	Audience stringOrSet `json:"aud"`
}

// stringOrSet is the JWT "aud" claim: one string or a list.
type stringOrSet []string

func (s *stringOrSet) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(data, (*[]string)(s))
}

// splitJWT decodes a compact JWS without trusting it.
func splitJWT(t *testing.T, token string) (header jwtHeader, claims jwtClaims, signed string, signature []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT has three parts")
	decode := func(part string, into any) {
		data, err := base64.RawURLEncoding.DecodeString(part)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, into))
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	return header, claims, parts[0] + "." + parts[1], signature
}

type jsonWebKeySet struct {
	Keys []struct {
		KeyType string `json:"kty"`
		KeyID   string `json:"kid"`
		N       string `json:"n"`
		E       string `json:"e"`
	} `json:"keys"`
}

func (s jsonWebKeySet) rsaKey(t *testing.T, keyID string) *rsa.PublicKey {
	t.Helper()
	for _, k := range s.Keys {
		if k.KeyID != keyID || k.KeyType != "RSA" {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		require.NoError(t, err)
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		require.NoError(t, err)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	require.FailNowf(t, "no key", "the issuer's JWKS has no RSA key with kid %q: %+v", keyID, s.Keys)
	return nil
}

func getJSON(t *testing.T, client *http.Client, url string, into any) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s anonymously", url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(into), "GET %s", url)
}
