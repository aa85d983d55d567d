package tokenissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Header is a JWS header as Kubernetes writes it for ServiceAccount tokens.
type Header struct {
	Alg string `json:"alg"` // RS256 or ES256
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// Sign encodes claims as a compact JWS signed by key: RS256 for an RSA
// key, ES256 for a P-256 key, as header.Alg says. The header is written as
// given, so a test can sign under a kid that is not the key's.
func Sign(header Header, claims any, key crypto.Signer) (string, error) {
	headerJSON, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("tokenissuer: claims: %w", err)
	}
	input := b64(headerJSON) + "." + b64(claimsJSON)
	digest := sha256.Sum256([]byte(input))
	var signature []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if header.Alg != "RS256" {
			return "", fmt.Errorf("tokenissuer: an RSA key signs RS256, not %q", header.Alg)
		}
		signature, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	case *ecdsa.PrivateKey:
		if header.Alg != "ES256" {
			return "", fmt.Errorf("tokenissuer: a P-256 key signs ES256, not %q", header.Alg)
		}
		signature, err = signES256(k, digest[:])
	default:
		return "", fmt.Errorf("tokenissuer: key type %T signs neither RS256 nor ES256", key)
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64(signature), nil
}

// signES256 is JWS's ES256 signature: r and s, 32 bytes each (not ASN.1).
func signES256(key *ecdsa.PrivateKey, digest []byte) ([]byte, error) {
	r, s, err := ecdsa.Sign(rand.Reader, key, digest)
	if err != nil {
		return nil, err
	}
	return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
