package cloudsts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/cloud"
)

// EntraCredential is a federated identity credential on an Entra ID app
// registration or managed identity: tokens from Issuer with this Subject and
// Audience may sign in as ClientID in TenantID. An app may have several.
type EntraCredential struct {
	TenantID string
	ClientID string
	Issuer   Issuer
	Subject  string // e.g. system:serviceaccount:<namespace>:<serviceaccount>
	Audience string // "" means api://AzureADTokenExchange, Entra's default
}

type entraApp struct{ tenant, client string }

// TrustEntra registers a federated identity credential.
func (s *Server) TrustEntra(c EntraCredential) error {
	if c.TenantID == "" || c.ClientID == "" || c.Issuer.URL == "" || c.Subject == "" {
		return fmt.Errorf("%s for Entra ID: a federated credential needs TenantID, ClientID, Issuer.URL and Subject, got %+v", standInName, c)
	}
	if c.Audience == "" {
		c.Audience = cloud.AzureAudience
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entra == nil {
		s.entra = map[entraApp][]EntraCredential{}
	}
	app := entraApp{c.TenantID, c.ClientID}
	s.entra[app] = append(s.entra[app], c)
	return nil
}

func (s *Server) entraTenantKnown(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for app := range s.entra {
		if app.tenant == tenant {
			return true
		}
	}
	return false
}

// entraDiscovery serves the tenant's OIDC metadata, which MSAL reads before
// every first token request; its issuer host must equal the authority host.
func (s *Server) entraDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !s.entraTenantKnown(tenant) {
		s.entraFail(w, Exchange{Provider: cloud.Azure, Endpoint: r.Method + " " + r.URL.Path, Identity: tenant, Failed: CheckIdentity},
			http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. No federated credential is registered for it (Server.TrustEntra).", tenant))
		return
	}
	base := "https://" + r.Host + "/" + tenant
	writeJSON(w, http.StatusOK, cloud.Azure, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "cloudsts stand-in",
	})
}

func (s *Server) entraToken(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	ex := Exchange{Provider: cloud.Azure, Endpoint: r.Method + " " + r.URL.Path, Identity: tenant + "/"}
	if err := r.ParseForm(); err != nil {
		ex.Failed = CheckRequest
		s.entraFail(w, ex, http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form: "+err.Error())
		return
	}
	clientID, assertion := r.PostForm.Get("client_id"), r.PostForm.Get("client_assertion")
	ex.Identity += clientID
	for _, want := range [][2]string{
		{"grant_type", "client_credentials"},
		{"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
	} {
		if got := r.PostForm.Get(want[0]); got != want[1] {
			ex.Failed = CheckRequest
			s.entraFail(w, ex, http.StatusBadRequest, "invalid_request", 900144,
				fmt.Sprintf("The request body must contain '%s' = '%s' for a federated credential, got '%s'.", want[0], want[1], got))
			return
		}
	}
	if clientID == "" || assertion == "" {
		ex.Failed = CheckRequest
		s.entraFail(w, ex, http.StatusBadRequest, "invalid_request", 7000218, "The request body must contain the following parameters: 'client_id' and 'client_assertion'.")
		return
	}
	if scope := r.PostForm.Get("scope"); !isClientCredentialsScope(scope) {
		ex.Failed = CheckRequest
		s.entraFail(w, ex, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	tok, err := parseToken(assertion)
	if err != nil {
		ex.Failed = CheckFormat
		s.entraFail(w, ex, http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed: "+err.Error())
		return
	}
	claims := tok.claims
	ex.Issuer, ex.Subject, ex.Audience = claims.Issuer, claims.Subject, claims.Audience

	s.mu.Lock()
	creds := slices.Clone(s.entra[entraApp{tenant, clientID}])
	s.mu.Unlock()
	if len(creds) == 0 {
		ex.Failed = CheckIdentity
		if !s.entraTenantKnown(tenant) {
			s.entraFail(w, ex, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
			return
		}
		s.entraFail(w, ex, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. No federated credential is registered for it (Server.TrustEntra).", clientID, tenant))
		return
	}

	creds = slices.DeleteFunc(creds, func(c EntraCredential) bool { return c.Issuer.URL != claims.Issuer })
	if len(creds) == 0 {
		ex.Failed = CheckIssuer
		s.entraFail(w, ex, http.StatusUnauthorized, "invalid_client", 700211,
			fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", claims.Issuer))
		return
	}
	now := s.now()
	if verr := creds[0].Issuer.verify(r.Context(), tok, now); verr != nil {
		ex.Failed = verr.Check
		switch verr.Check {
		case CheckLifetime:
			s.entraFail(w, ex, http.StatusUnauthorized, "invalid_client", 700024,
				fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. (%v)",
					now.UTC().Format(time.RFC3339), claims.NotBefore.Format(time.RFC3339), claims.Expiry.Format(time.RFC3339), verr.Err))
		case CheckDiscovery:
			s.entraFail(w, ex, http.StatusUnauthorized, "invalid_client", 50166, "Request to External OIDC endpoint failed: "+verr.Err.Error())
		default:
			s.entraFail(w, ex, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: "+verr.Err.Error())
		}
		return
	}
	creds = slices.DeleteFunc(creds, func(c EntraCredential) bool { return !claims.HasAudience(c.Audience) })
	if len(creds) == 0 {
		ex.Failed = CheckAudience
		s.entraFail(w, ex, http.StatusUnauthorized, "invalid_client", 700212,
			fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", strings.Join(claims.Audience, ",")))
		return
	}
	if !slices.ContainsFunc(creds, func(c EntraCredential) bool { return c.Subject == claims.Subject }) {
		ex.Failed = CheckSubject
		s.entraFail(w, ex, http.StatusUnauthorized, "invalid_client", 700213,
			fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.", claims.Subject))
		return
	}
	ex.Result = resultOK
	s.record(ex)
	writeJSON(w, http.StatusOK, cloud.Azure, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     3599,
		"ext_expires_in": 3599,
		"access_token":   "cloudsts-stand-in-entra." + randomHex(24),
	})
}

// entraFail answers in Entra's error shape, naming the stand-in in the
// description, and records the exchange.
func (s *Server) entraFail(w http.ResponseWriter, ex Exchange, status int, code string, aadsts int, message string) {
	now := s.now().UTC()
	traceID, correlationID := randomUUID(), randomUUID()
	ex.Result = fmt.Sprintf("AADSTS%d", aadsts)
	ex.Detail = fmt.Sprintf("%s for Entra ID: AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
		standInName, aadsts, message, traceID, correlationID, now.Format("2006-01-02 15:04:05Z"))
	s.record(ex)
	writeJSON(w, status, cloud.Azure, map[string]any{
		"error":             code,
		"error_description": ex.Detail,
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          traceID,
		"correlation_id":    correlationID,
	})
}

// isClientCredentialsScope reports whether scope names resources as
// "<resource>/.default", beside the OIDC scopes MSAL always adds.
func isClientCredentialsScope(scope string) bool {
	resources := slices.DeleteFunc(strings.Fields(scope), func(s string) bool {
		return s == "openid" || s == "profile" || s == "offline_access"
	})
	return len(resources) > 0 && !slices.ContainsFunc(resources, func(s string) bool { return !strings.HasSuffix(s, "/.default") })
}

func writeJSON(w http.ResponseWriter, status int, provider cloud.Provider, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set(headerStandIn, string(provider))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func randomUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
