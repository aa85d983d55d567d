package cloudsts

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ClockSkew is the leeway allowed on exp, nbf and iat, as token services allow
// for clocks that drift between the cluster and the cloud.
const ClockSkew = 5 * time.Minute

// Issuer says where a token issuer (a cluster's service-account issuer)
// publishes its keys. Only URL is required.
type Issuer struct {
	// URL is the issuer exactly as tokens carry it in iss, and as the
	// discovery document names it.
	URL string
	// DiscoveryURL, if set, is fetched instead of URL to read the discovery
	// document and the JWKS: for an issuer such as
	// https://kubernetes.default.svc.cluster.local that cannot be resolved
	// here, or whose jwks_uri names an address off loopback. The jwks_uri's
	// path is then read from DiscoveryURL's scheme and host.
	DiscoveryURL string
	// JWKSURL, if set, overrides the discovery document's jwks_uri.
	JWKSURL string
	// HTTPClient reads discovery and keys. If nil, a loopback-only client is
	// built trusting CAPEM (or the system roots when CAPEM is empty).
	HTTPClient *http.Client
	// CAPEM is the PEM CA bundle that signed the discovery server's
	// certificate (for a local API server: its cluster CA).
	CAPEM []byte
}

// Check names the verification step a token failed.
type Check string

const (
	CheckRequest   Check = "request"   // the exchange request itself is malformed
	CheckFormat    Check = "format"    // the token is not a well-formed JWT
	CheckIdentity  Check = "identity"  // no such tenant/client, role or provider registered
	CheckIssuer    Check = "issuer"    // iss is not the registered issuer
	CheckDiscovery Check = "discovery" // the issuer's discovery document or JWKS could not be read
	CheckSignature Check = "signature" // no key with the token's kid, or the signature does not verify
	CheckLifetime  Check = "lifetime"  // expired, not yet valid, or issued in the future
	CheckAudience  Check = "audience"  // aud does not contain the expected audience
	CheckSubject   Check = "subject"   // sub is not the registered subject
	CheckGrant     Check = "grant"     // the caller is not granted what it asked for (impersonation)
)

// VerifyError is a token that failed one Check.
type VerifyError struct {
	Check Check
	Err   error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("cloudsts stand-in: token failed the %s check: %v", e.Check, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

func failed(check Check, format string, args ...any) *VerifyError {
	return &VerifyError{Check: check, Err: fmt.Errorf(format, args...)}
}

// Claims are the registered claims of a token, plus all claims as decoded.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	NotBefore time.Time // zero when absent
	IssuedAt  time.Time // zero when absent
	All       map[string]any
}

// HasAudience reports whether aud contains want.
func (c *Claims) HasAudience(want string) bool { return slices.Contains(c.Audience, want) }

// token is a JWT split into its parts, not yet verified.
type token struct {
	header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	claims       Claims
	signingInput string
	signature    []byte
}

// parseToken decodes a compact JWS without verifying anything but its shape.
func parseToken(raw string) (*token, error) {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return nil, failed(CheckFormat, "a JWT has 3 dot-separated parts, this token has %d", len(parts))
	}
	var t token
	headerJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, failed(CheckFormat, "header is not base64url: %v", err)
	}
	if err := json.Unmarshal(headerJSON, &t.header); err != nil {
		return nil, failed(CheckFormat, "header is not JSON: %v", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, failed(CheckFormat, "payload is not base64url: %v", err)
	}
	if t.signature, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		return nil, failed(CheckFormat, "signature is not base64url: %v", err)
	}
	t.signingInput = parts[0] + "." + parts[1]
	if err := decodeClaims(payload, &t.claims); err != nil {
		return nil, failed(CheckFormat, "%v", err)
	}
	return &t, nil
}

func decodeClaims(payload []byte, c *Claims) error {
	var raw struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *json.Number    `json:"exp"`
		Nbf *json.Number    `json:"nbf"`
		Iat *json.Number    `json:"iat"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return fmt.Errorf("claims are not a JSON object: %v", err)
	}
	if err := json.Unmarshal(payload, &c.All); err != nil {
		return fmt.Errorf("claims are not a JSON object: %v", err)
	}
	c.Issuer, c.Subject = raw.Iss, raw.Sub
	if len(raw.Aud) > 0 {
		var one string
		if json.Unmarshal(raw.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(raw.Aud, &c.Audience); err != nil {
			return fmt.Errorf("aud is neither a string nor a list of strings: %s", raw.Aud)
		}
	}
	for _, f := range []struct {
		name string
		num  *json.Number
		dst  *time.Time
	}{{"exp", raw.Exp, &c.Expiry}, {"nbf", raw.Nbf, &c.NotBefore}, {"iat", raw.Iat, &c.IssuedAt}} {
		if f.num == nil {
			continue
		}
		secs, err := f.num.Float64()
		if err != nil {
			return fmt.Errorf("%s is not a number of seconds: %q", f.name, f.num.String())
		}
		*f.dst = time.Unix(int64(secs), 0).UTC()
	}
	if c.Expiry.IsZero() {
		return errors.New("exp is missing: token services refuse tokens without an expiry")
	}
	return nil
}

// ReadClaims decodes a token's claims without verifying anything, for a
// caller that shows what it presents (the stand-in verifies on exchange).
func ReadClaims(rawToken string) (*Claims, error) {
	t, err := parseToken(rawToken)
	if err != nil {
		return nil, err
	}
	return &t.claims, nil
}

// Verify checks a token's shape, issuer, signature (against the issuer's
// published keys) and lifetime at now. Audience and subject are the caller's
// to check against what it registered. A failure is a *VerifyError.
func (iss Issuer) Verify(ctx context.Context, rawToken string, now time.Time) (*Claims, error) {
	t, err := parseToken(rawToken)
	if err != nil {
		return nil, err
	}
	if err := iss.verify(ctx, t, now); err != nil {
		return nil, err
	}
	return &t.claims, nil
}

func (iss Issuer) verify(ctx context.Context, t *token, now time.Time) *VerifyError {
	if t.claims.Issuer != iss.URL {
		return failed(CheckIssuer, "iss is %q, the registered issuer is %q", t.claims.Issuer, iss.URL)
	}
	keys, err := iss.fetchKeys(ctx)
	if err != nil {
		return failed(CheckDiscovery, "%v", err)
	}
	if err := verifySignature(t, keys); err != nil {
		return failed(CheckSignature, "%v", err)
	}
	return checkLifetime(&t.claims, now)
}

func checkLifetime(c *Claims, now time.Time) *VerifyError {
	switch {
	case now.After(c.Expiry.Add(ClockSkew)):
		return failed(CheckLifetime, "token expired at %s, it is now %s (leeway %s)", c.Expiry.Format(time.RFC3339), now.UTC().Format(time.RFC3339), ClockSkew)
	case !c.NotBefore.IsZero() && now.Before(c.NotBefore.Add(-ClockSkew)):
		return failed(CheckLifetime, "token is not valid before %s, it is now %s", c.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case !c.IssuedAt.IsZero() && now.Before(c.IssuedAt.Add(-ClockSkew)):
		return failed(CheckLifetime, "token was issued in the future (%s), it is now %s", c.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// fetchKeys reads the discovery document, checks it names this issuer, then
// reads the JWKS it points to. Keys are read on every exchange (no cache), so
// a rotated or replaced cluster key takes effect at once.
func (iss Issuer) fetchKeys(ctx context.Context) ([]jwk, error) {
	client := iss.HTTPClient
	if client == nil {
		var err error
		if client, err = NewLoopbackClient(iss.CAPEM); err != nil {
			return nil, err
		}
	}
	base := iss.URL
	if iss.DiscoveryURL != "" {
		base = iss.DiscoveryURL
	}
	discoveryURL := strings.TrimSuffix(base, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, client, discoveryURL, &doc); err != nil {
		return nil, fmt.Errorf("reading the issuer's discovery document: %w", err)
	}
	if doc.Issuer != iss.URL {
		return nil, fmt.Errorf("discovery document %s names issuer %q, expected %q", discoveryURL, doc.Issuer, iss.URL)
	}
	jwksURL := doc.JWKSURI
	switch {
	case iss.JWKSURL != "":
		jwksURL = iss.JWKSURL
	case jwksURL == "":
		return nil, fmt.Errorf("discovery document %s has no jwks_uri", discoveryURL)
	case iss.DiscoveryURL != "":
		rerooted, err := reroot(jwksURL, iss.DiscoveryURL)
		if err != nil {
			return nil, err
		}
		jwksURL = rerooted
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := getJSON(ctx, client, jwksURL, &set); err != nil {
		return nil, fmt.Errorf("reading the issuer's JWKS: %w", err)
	}
	return set.Keys, nil
}

// reroot moves rawURL's path and query onto base's scheme and host.
func reroot(rawURL, base string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("jwks_uri %q: %v", rawURL, err)
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("DiscoveryURL %q: %v", base, err)
	}
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String(), nil
}

func getJSON(ctx context.Context, client *http.Client, rawURL string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	// kube-apiserver serves its JWKS only as application/jwk-set+json (406 otherwise).
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %v", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s (a cluster's discovery endpoints need anonymous read access: bind system:service-account-issuer-discovery to system:unauthenticated)", rawURL, resp.Status, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: not JSON: %v", rawURL, err)
	}
	return nil
}

func verifySignature(t *token, keys []jwk) error {
	if t.header.Alg != "RS256" && t.header.Alg != "ES256" {
		return fmt.Errorf("alg %q is not accepted (RS256 or ES256)", t.header.Alg)
	}
	if t.header.Kid == "" {
		return errors.New("token header has no kid")
	}
	i := slices.IndexFunc(keys, func(k jwk) bool { return k.Kid == t.header.Kid })
	if i < 0 {
		return fmt.Errorf("the issuer publishes no key with kid %q (a token from another cluster?)", t.header.Kid)
	}
	key := keys[i]
	if key.Alg != "" && key.Alg != t.header.Alg {
		return fmt.Errorf("key %q is for %s, the token says %s", key.Kid, key.Alg, t.header.Alg)
	}
	digest := sha256.Sum256([]byte(t.signingInput))
	switch t.header.Alg {
	case "RS256":
		pub, err := rsaKey(key)
		if err != nil {
			return err
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature); err != nil {
			return fmt.Errorf("RS256 signature does not verify with key %q (signed by another key?)", key.Kid)
		}
	case "ES256":
		pub, err := ecKey(key)
		if err != nil {
			return err
		}
		if len(t.signature) != 64 {
			return fmt.Errorf("ES256 signature is %d bytes, expected 64", len(t.signature))
		}
		r, s := new(big.Int).SetBytes(t.signature[:32]), new(big.Int).SetBytes(t.signature[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			return fmt.Errorf("ES256 signature does not verify with key %q (signed by another key?)", key.Kid)
		}
	}
	return nil
}

func rsaKey(k jwk) (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("key %q is %s, RS256 needs RSA", k.Kid, k.Kty)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(k.N)
	e, err2 := base64.RawURLEncoding.DecodeString(k.E)
	if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("key %q has a malformed n or e", k.Kid)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("key %q is %d bits, at least 2048 are required", k.Kid, pub.N.BitLen())
	}
	return pub, nil
}

func ecKey(k jwk) (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" {
		return nil, fmt.Errorf("key %q is %s %s, ES256 needs EC P-256", k.Kid, k.Kty, k.Crv)
	}
	x, err1 := base64.RawURLEncoding.DecodeString(k.X)
	y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
	if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("key %q has a malformed x or y", k.Kid)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
	if err != nil {
		return nil, fmt.Errorf("key %q: %v", k.Kid, err)
	}
	return pub, nil
}
