// Package tokenissuer stands in for a Kubernetes cluster's ServiceAccount
// token issuer where a test has no cluster: it signs tokens shaped like
// projected ServiceAccount tokens (RS256 or ES256) and serves their OIDC
// discovery document and JWKS over HTTPS (a testca certificate), as a cloud
// reads them. The discovery document can name more endpoints (Options.Discovery)
// for an OAuth2 client that reads them, such as oauth2-proxy; the issuer serves
// none of those. Sign is the harness's one JWT signer.
package tokenissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/osmo-wi/charts/harness/testca"
)

// Options shape the issuer; the zero value is an issuer named by its own URL.
type Options struct {
	// Name is the iss of its tokens and the discovery document's issuer; ""
	// means the URL it serves on. Set it to an issuer this machine cannot
	// resolve (https://kubernetes.default.svc.cluster.local) to test a
	// verifier's separate discovery URL.
	Name string
	// JWKSURI is the jwks_uri it publishes; "" means <server>/openid/v1/jwks.
	JWKSURI string
	// RSAKey signs RS256 tokens; nil generates one. RSA keys take tens of
	// milliseconds to generate: tests share one with NewRSAKey.
	RSAKey *rsa.PrivateKey
	// Discovery adds fields to the discovery document, each an endpoint given
	// as a path on the issuer's server ("token_endpoint": "/token" publishes
	// <server>/token); nothing is served there. An OAuth2 client's OIDC
	// discovery (oauth2-proxy's) needs authorization_endpoint and
	// token_endpoint. It never replaces issuer or jwks_uri.
	Discovery map[string]string
}

// Issuer is a running token issuer; Close stops it.
type Issuer struct {
	name, serverURL string
	caPEM           []byte
	rsaKey          *rsa.PrivateKey
	rsaKid          string
	ecKey           *ecdsa.PrivateKey
	ecKid           string
	server          *http.Server
	served          chan error
}

// NewRSAKey is a 2048-bit key, the smallest a cloud accepts.
func NewRSAKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// Start serves discovery and keys on a random 127.0.0.1 port until Close.
func Start(opts Options) (*Issuer, error) {
	i := &Issuer{rsaKey: opts.RSAKey}
	var err error
	if i.rsaKey == nil {
		if i.rsaKey, err = NewRSAKey(); err != nil {
			return nil, err
		}
	}
	if i.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if i.rsaKid, err = keyID(&i.rsaKey.PublicKey); err != nil {
		return nil, err
	}
	if i.ecKid, err = keyID(&i.ecKey.PublicKey); err != nil {
		return nil, err
	}
	ca, err := testca.New("tokenissuer CA (tests only)")
	if err != nil {
		return nil, err
	}
	cert, err := ca.ServingCert()
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	i.caPEM, i.serverURL, i.name = ca.CertPEM(), "https://"+listener.Addr().String(), opts.Name
	if i.name == "" {
		i.name = i.serverURL
	}
	jwksURI := opts.JWKSURI
	if jwksURI == "" {
		jwksURI = i.serverURL + "/openid/v1/jwks"
	}
	discovery := map[string]any{
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
	}
	for field, path := range opts.Discovery {
		discovery[field] = i.serverURL + path
	}
	discovery["issuer"], discovery["jwks_uri"] = i.name, jwksURI
	i.server = &http.Server{Handler: i.routes(discovery), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 10 * time.Second}
	i.served = make(chan error, 1)
	go func() { i.served <- i.server.ServeTLS(listener, "", "") }()
	return i, nil
}

// keyID names a key as kube-apiserver does: the unpadded base64url SHA-256 of
// its DER public key, so two issuers share a kid only if they share the key.
func keyID(public any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return b64(sum[:]), nil
}

func (i *Issuer) routes(discovery map[string]any) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, discovery)
	})
	mux.HandleFunc("GET /openid/v1/jwks", func(w http.ResponseWriter, _ *http.Request) {
		rsaPub := i.rsaKey.PublicKey
		ecPoint, err := i.ecKey.PublicKey.Bytes() // 0x04 || x || y, 32 bytes each
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]any{"keys": []map[string]string{
			{"use": "sig", "kty": "RSA", "kid": i.rsaKid, "alg": "RS256", "n": b64(rsaPub.N.Bytes()), "e": b64(big.NewInt(int64(rsaPub.E)).Bytes())},
			{"use": "sig", "kty": "EC", "kid": i.ecKid, "alg": "ES256", "crv": "P-256", "x": b64(ecPoint[1:33]), "y": b64(ecPoint[33:])},
		}})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// Close stops serving.
func (i *Issuer) Close() error {
	err := i.server.Close()
	if served := <-i.served; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}

// URL is the issuer as its tokens name it (iss).
func (i *Issuer) URL() string { return i.name }

// ServerURL is where discovery and keys are served (URL unless Options.Name was set).
func (i *Issuer) ServerURL() string { return i.serverURL }

// CAPEM is the CA a verifier must trust to read discovery and keys.
func (i *Issuer) CAPEM() []byte { return append([]byte(nil), i.caPEM...) }

// RSAKeyID and ECKeyID are the kids of the published keys.
func (i *Issuer) RSAKeyID() string { return i.rsaKid }
func (i *Issuer) ECKeyID() string  { return i.ecKid }

// Sign signs claims with the issuer's RSA key (RS256), as kube-apiserver does.
func (i *Issuer) Sign(claims any) (string, error) {
	return Sign(Header{Alg: "RS256", Kid: i.rsaKid, Typ: "JWT"}, claims, i.rsaKey)
}

// SignES256 signs claims with the issuer's P-256 key.
func (i *Issuer) SignES256(claims any) (string, error) {
	return Sign(Header{Alg: "ES256", Kid: i.ecKid, Typ: "JWT"}, claims, i.ecKey)
}

// ProjectedClaims are those of a projected ServiceAccount token (the pinned Kubernetes'
// shape) for namespace/serviceAccount with the audiences, issued at now,
// bound to a pod named after the account.
func (i *Issuer) ProjectedClaims(namespace, serviceAccount string, audiences []string, now time.Time, lifetime time.Duration) map[string]any {
	return map[string]any{
		"iss": i.name,
		"sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
		"aud": audiences,
		"exp": now.Add(lifetime).Unix(),
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

// String names the issuer in test logs.
func (i *Issuer) String() string {
	return fmt.Sprintf("token issuer %s (served at %s)", i.name, i.serverURL)
}
