package cloudsts

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/testca"
)

const (
	resultOK      = "ok"
	standInName   = "cloudsts stand-in"
	headerStandIn = "X-Cloudsts-Stand-In" // names the provider that answered, "none" for no route
)

// Exchange is one request a stand-in endpoint answered.
type Exchange struct {
	Time time.Time
	// Provider is the cloud whose endpoint answered: Entra ID (azure), STS
	// (aws), Google STS or IAM Credentials (gcp); "" for a request no
	// stand-in route serves.
	Provider cloud.Provider
	// Impersonation marks Google IAM Credentials' generateAccessToken, the
	// step after the Google STS exchange.
	Impersonation bool
	Endpoint      string // method and path
	// Identity is what was asked for: "tenant/clientID", the role ARN, the
	// provider audience, or the service account email.
	Identity string
	// Issuer, Subject and Audience are the token's claims as presented
	// (unverified when the exchange failed); for impersonation Subject is
	// the principal the bearer token was issued to.
	Issuer   string
	Subject  string
	Audience []string
	// Result is "ok" or the cloud's error code (AADSTS700213, AccessDenied,
	// invalid_grant, ...); Failed is the check that failed; Detail the message.
	Result string
	Failed Check
	Detail string
}

// OK reports whether the exchange issued a credential.
func (e Exchange) OK() bool { return e.Result == resultOK }

// Server is the stand-in for the three clouds' token endpoints. The zero value
// is ready to Start; register identities before or after starting.
type Server struct {
	// Now is the clock tokens are checked against; nil means time.Now.
	Now func() time.Time
	// Addr is the IP address to listen on; "" means 127.0.0.1. Another
	// address (a kind network's gateway, for pods) is added to the certificate.
	Addr string
	// Port is the port to listen on; 0 picks a free one. 443 serves clients
	// that reach the clouds' own URLs, their hosts resolved to Addr.
	Port int
	// Hosts are DNS names added to the certificate: the clouds' own hosts
	// (cloud.GoogleHosts) where a cluster's DNS sends them to Addr.
	Hosts []string

	mu           sync.Mutex
	entra        map[entraApp][]EntraCredential
	awsRoles     map[string]AWSRole
	google       map[string]GoogleProvider
	grants       map[string][]string // service account email -> principals
	googleBearer map[string]googleSession
	exchanges    []Exchange
	refused      []string

	caPEM    []byte
	url      string
	listener net.Listener
	http     *http.Server
	served   chan error
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Start generates a CA (testca) and a serving certificate for 127.0.0.1, ::1
// and localhost (and Addr and Hosts), and serves HTTPS on Port (a random one
// by default) of Addr (127.0.0.1 by default) until Stop.
// Tests use cloudststest.Start, which also fails the test on a leak.
func (s *Server) Start(ctx context.Context) error {
	if s.http != nil {
		return errors.New("cloudsts stand-in: already started")
	}
	ca, err := testca.New("cloudsts stand-in CA (tests only)")
	if err != nil {
		return fmt.Errorf("cloudsts stand-in: generating its CA: %w", err)
	}
	addr, hosts := s.Addr, slices.Concat(testca.LoopbackNames, s.Hosts)
	if addr == "" {
		addr = "127.0.0.1"
	} else {
		hosts = append(hosts, addr)
	}
	cert, err := ca.ServingCert(hosts...)
	if err != nil {
		return fmt.Errorf("cloudsts stand-in: generating its certificate: %w", err)
	}
	var lc net.ListenConfig
	listener, err := lc.Listen(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(s.Port)))
	if err != nil {
		return fmt.Errorf("cloudsts stand-in: listening on %s: %w", addr, err)
	}
	s.caPEM = ca.CertPEM()
	s.listener = listener
	s.url = "https://" + listener.Addr().String()
	s.http = &http.Server{
		Handler:           s.routes(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.served = make(chan error, 1)
	go func() { s.served <- s.http.ServeTLS(listener, "", "") }()
	return nil
}

// Stop closes the listener and every connection.
func (s *Server) Stop() error {
	if s.http == nil {
		return nil
	}
	err := s.http.Close()
	if served := <-s.served; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	s.http = nil
	if err != nil {
		return fmt.Errorf("cloudsts stand-in: stopping: %w", err)
	}
	return nil
}

// URL is the stand-in's base URL, https://127.0.0.1:<port>.
func (s *Server) URL() string { return s.url }

// EntraAuthorityHost is the value for azidentity's
// cloud.Configuration.ActiveDirectoryAuthorityHost or AZURE_AUTHORITY_HOST.
func (s *Server) EntraAuthorityHost() string { return s.url + "/" }

// AWSEndpoint is the value for AWS_ENDPOINT_URL_STS.
func (s *Server) AWSEndpoint() string { return s.url }

// GoogleTokenURL is the value for an external_account file's token_url.
func (s *Server) GoogleTokenURL() string { return s.url + "/v1/token" }

// GoogleImpersonationURL is the value for an external_account file's
// service_account_impersonation_url.
func (s *Server) GoogleImpersonationURL(serviceAccountEmail string) string {
	return s.url + "/v1/projects/-/serviceAccounts/" + serviceAccountEmail + ":generateAccessToken"
}

// CAPEM is the PEM of the CA that signed the stand-in's certificate.
func (s *Server) CAPEM() []byte { return slices.Clone(s.caPEM) }

// WriteCAFile writes CAPEM to dir/cloudsts-ca.pem (for AWS_CA_BUNDLE or
// SSL_CERT_FILE) and returns the path.
func (s *Server) WriteCAFile(dir string) (string, error) {
	path := filepath.Join(dir, "cloudsts-ca.pem")
	if err := os.WriteFile(path, s.caPEM, 0o644); err != nil {
		return "", fmt.Errorf("cloudsts stand-in: writing the CA file: %w", err)
	}
	return path, nil
}

// Client returns a client that trusts only the stand-in's CA and refuses, and
// records in Refused, every request off loopback. Call it after Start.
func (s *Server) Client() *http.Client {
	transport, err := newTransport(s.caPEM)
	if err != nil {
		panic(err) // the CA is generated by Start: unreachable unless Start was not called
	}
	refuse := func(r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refused = append(s.refused, r.Method+" "+r.URL.Redacted())
	}
	return &http.Client{Transport: LoopbackOnly{Base: transport, Refused: refuse}, Timeout: 30 * time.Second}
}

// Refused lists the requests Client refused for leaving loopback.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refused)
}

// Exchanges returns every request answered so far, oldest first.
func (s *Server) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.exchanges)
}

// ExchangesFor returns the exchanges that went to one provider's endpoints
// ("" for requests no route serves).
func (s *Server) ExchangesFor(provider cloud.Provider) []Exchange {
	var out []Exchange
	for _, e := range s.Exchanges() {
		if e.Provider == provider {
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) record(e Exchange) {
	e.Time = s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exchanges = append(s.exchanges, e)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.entraDiscovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.entraToken)
	mux.HandleFunc("POST /{$}", s.awsSTS)
	mux.HandleFunc("POST /v1/token", s.googleToken)
	mux.HandleFunc("POST /v1/projects/-/serviceAccounts/{nameAndMethod}", s.googleGenerateAccessToken)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		detail := fmt.Sprintf("%s: no stand-in endpoint for %s %s", standInName, r.Method, r.URL.Path)
		s.record(Exchange{Endpoint: r.Method + " " + r.URL.Path, Result: "not_found", Failed: CheckRequest, Detail: detail})
		w.Header().Set(headerStandIn, "none")
		http.Error(w, detail, http.StatusNotFound)
	})
	return mux
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}
