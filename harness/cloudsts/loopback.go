package cloudsts

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// LoopbackOnly is an http.RoundTripper that sends requests for loopback hosts
// (127.0.0.0/8, ::1, localhost) through Base and refuses every other host
// with an error, so an SDK that leaks towards a real cloud fails at once.
type LoopbackOnly struct {
	// Base sends the loopback requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Refused, if set, is told of every refused request (Server.Client uses
	// it to fail the test even when an SDK swallows the error).
	Refused func(*http.Request)
}

// RoundTrip implements http.RoundTripper.
func (l LoopbackOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if !IsLoopbackHost(req.URL.Hostname()) {
		if l.Refused != nil {
			l.Refused(req)
		}
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("cloudsts stand-in: refused %s %s: tests may reach only loopback hosts "+
			"(127.0.0.1, ::1, localhost); a request left for a real endpoint, so point the SDK at the stand-in "+
			"(authority host / AWS_ENDPOINT_URL_STS / token_url) and, for Azure, set DisableInstanceDiscovery",
			req.Method, req.URL.Redacted())
	}
	base := l.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// IsLoopbackHost reports whether host (no port) is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// NewLoopbackClient returns an *http.Client that trusts only the given PEM CA
// bundles (the system roots when none is given), never uses a proxy, and
// refuses every host off loopback.
func NewLoopbackClient(caPEMs ...[]byte) (*http.Client, error) {
	transport, err := newTransport(caPEMs...)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: LoopbackOnly{Base: transport}, Timeout: 30 * time.Second}, nil
}

func newTransport(caPEMs ...[]byte) (*http.Transport, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	var roots *x509.CertPool
	for _, pem := range caPEMs {
		if len(pem) == 0 {
			continue
		}
		if roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cloudsts stand-in: CA bundle holds no PEM certificate (%d bytes): pass the CA's PEM, not a path or DER", len(pem))
		}
	}
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return transport, nil
}
