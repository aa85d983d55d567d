package testca_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/osmo-wi/charts/harness/testca"
)

// A client trusting the CA reaches a server with its certificate on every
// loopback name; a client trusting another CA does not.
func TestServingCertIsTrustedThroughTheCA(t *testing.T) {
	ca, err := testca.New("testca test CA (tests only)")
	require.NoError(t, err)
	cert, err := ca.ServingCert()
	require.NoError(t, err)
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server.StartTLS()
	defer server.Close()

	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.CertPool()}}}
	resp, err := trusting.Get(server.URL)
	require.NoError(t, err)
	resp.Body.Close()

	other, err := testca.New("another CA")
	require.NoError(t, err)
	distrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: other.CertPool()}}}
	_, err = distrusting.Get(server.URL)
	assert.ErrorContains(t, err, "certificate")
}
