package cloudsts

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/cloud"
)

// GoogleProvider is a workload identity pool provider: tokens from Issuer
// whose sub is Subject (the pool's attribute condition,
// assertion.sub == Subject, with google.subject mapped from assertion.sub)
// are exchanged for a federated access token of the principal
// cloud.PoolPrincipal(Audience, Subject).
type GoogleProvider struct {
	// Audience is the provider's resource name, as the credential file's
	// audience and the exchange's audience field carry it:
	// //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>
	Audience string
	Issuer   Issuer
	Subject  string
	// AllowedAudiences are the token aud values accepted; empty means
	// Google's default: Audience with or without an https: prefix.
	AllowedAudiences []string
}

type googleSession struct {
	principal string
	provider  GoogleProvider
	expiry    time.Time
}

// TrustGoogle registers a workload identity pool provider.
func (s *Server) TrustGoogle(p GoogleProvider) error {
	if _, err := cloud.PoolPrincipal(p.Audience, p.Subject); err != nil {
		return fmt.Errorf("%s for Google STS: provider audience: %w", standInName, err)
	}
	if p.Issuer.URL == "" || p.Subject == "" {
		return fmt.Errorf("%s for Google STS: a provider needs Issuer.URL and Subject, got %+v", standInName, p)
	}
	if len(p.AllowedAudiences) == 0 {
		p.AllowedAudiences = []string{p.Audience, "https:" + p.Audience}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.google == nil {
		s.google = map[string]GoogleProvider{}
	}
	s.google[p.Audience] = p
	return nil
}

// GrantGoogleImpersonation lets principal (see cloud.PoolPrincipal) mint access
// tokens for the service account, as roles/iam.workloadIdentityUser does.
func (s *Server) GrantGoogleImpersonation(principal, serviceAccountEmail string) error {
	if !strings.HasPrefix(principal, "principal://iam.googleapis.com/") || !strings.Contains(serviceAccountEmail, "@") {
		return fmt.Errorf("%s for Google STS: grant needs a principal://iam.googleapis.com/... principal and a service account email, got %q and %q", standInName, principal, serviceAccountEmail)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants == nil {
		s.grants = map[string][]string{}
	}
	s.grants[serviceAccountEmail] = append(s.grants[serviceAccountEmail], principal)
	return nil
}

func (s *Server) googleToken(w http.ResponseWriter, r *http.Request) {
	ex := Exchange{Provider: cloud.GCP, Endpoint: r.Method + " " + r.URL.Path}
	if err := r.ParseForm(); err != nil {
		ex.Failed = CheckRequest
		s.googleFail(w, ex, "invalid_request", "The request body is not a valid form: "+err.Error())
		return
	}
	form := r.PostForm
	ex.Identity = form.Get("audience")
	for _, want := range []struct {
		field string
		ok    []string
	}{
		{"grant_type", []string{"urn:ietf:params:oauth:grant-type:token-exchange"}},
		{"requested_token_type", []string{"urn:ietf:params:oauth:token-type:access_token"}},
		{"subject_token_type", []string{"urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token"}},
	} {
		if got := form.Get(want.field); !slices.Contains(want.ok, got) {
			ex.Failed = CheckRequest
			s.googleFail(w, ex, "invalid_request", fmt.Sprintf("Invalid value for %q: %q, expected one of %q.", want.field, got, want.ok))
			return
		}
	}
	tok, err := parseToken(form.Get("subject_token"))
	if err != nil {
		ex.Failed = CheckFormat
		s.googleFail(w, ex, "invalid_grant", "Unable to parse the ID Token: "+err.Error())
		return
	}
	claims := tok.claims
	ex.Issuer, ex.Subject, ex.Audience = claims.Issuer, claims.Subject, claims.Audience
	s.mu.Lock()
	provider, known := s.google[ex.Identity]
	s.mu.Unlock()
	if !known {
		ex.Failed = CheckIdentity
		s.googleFail(w, ex, "invalid_target", fmt.Sprintf(`The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist. (%q is not registered: Server.TrustGoogle)`, ex.Identity))
		return
	}
	if claims.Issuer != provider.Issuer.URL {
		ex.Failed = CheckIssuer
		s.googleFail(w, ex, "invalid_grant", fmt.Sprintf("The issuer in ID Token %s does not match the expected ones: %s.", claims.Issuer, provider.Issuer.URL))
		return
	}
	now := s.now()
	if verr := provider.Issuer.verify(r.Context(), tok, now); verr != nil {
		ex.Failed = verr.Check
		switch verr.Check {
		case CheckDiscovery:
			s.googleFail(w, ex, "invalid_grant", "Unable to retrieve the OIDC provider's signing keys: "+verr.Err.Error())
		case CheckLifetime:
			s.googleFail(w, ex, "invalid_grant", "The ID Token is not within its valid time range: "+verr.Err.Error())
		default:
			s.googleFail(w, ex, "invalid_grant", "Invalid ID Token signature: "+verr.Err.Error())
		}
		return
	}
	if !slices.ContainsFunc(provider.AllowedAudiences, claims.HasAudience) {
		ex.Failed = CheckAudience
		s.googleFail(w, ex, "invalid_grant", fmt.Sprintf("The audience in ID Token %q does not match the expected audience %s.", claims.Audience, provider.AllowedAudiences[0]))
		return
	}
	if claims.Subject != provider.Subject {
		ex.Failed = CheckSubject
		s.googleFail(w, ex, "unauthorized_client", fmt.Sprintf("The given credential is rejected by the attribute condition. (assertion.sub == %q, token sub %q)", provider.Subject, claims.Subject))
		return
	}
	principal, _ := cloud.PoolPrincipal(provider.Audience, claims.Subject)
	accessToken := "cloudsts-stand-in-google-sts." + randomHex(24)
	s.mu.Lock()
	if s.googleBearer == nil {
		s.googleBearer = map[string]googleSession{}
	}
	s.googleBearer[accessToken] = googleSession{principal: principal, provider: provider, expiry: now.Add(time.Hour)}
	s.mu.Unlock()
	ex.Result = resultOK
	s.record(ex)
	writeJSON(w, http.StatusOK, cloud.GCP, map[string]any{
		"access_token":      accessToken,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type":        "Bearer",
		"expires_in":        3599,
	})
}

// googleFail answers in Google STS's OAuth error shape, naming the stand-in
// in the description, and records the exchange.
func (s *Server) googleFail(w http.ResponseWriter, ex Exchange, code, message string) {
	ex.Result = code
	ex.Detail = standInName + " for Google STS: " + message
	s.record(ex)
	writeJSON(w, http.StatusBadRequest, cloud.GCP, map[string]string{"error": code, "error_description": ex.Detail})
}

// googleGenerateAccessToken is IAM Credentials' generateAccessToken: the
// bearer is a federated token from googleToken, and its principal must be
// granted impersonation of the service account.
func (s *Server) googleGenerateAccessToken(w http.ResponseWriter, r *http.Request) {
	ex := Exchange{Provider: cloud.GCP, Impersonation: true, Endpoint: r.Method + " " + r.URL.Path}
	email, method, _ := strings.Cut(r.PathValue("nameAndMethod"), ":")
	ex.Identity = email
	if method != "generateAccessToken" {
		ex.Failed = CheckRequest
		s.googleIAMFail(w, ex, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Method %q is not served (only generateAccessToken).", method))
		return
	}
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	session, known := s.googleBearer[bearer]
	granted := slices.Contains(s.grants[email], session.principal)
	s.mu.Unlock()
	now := s.now()
	if !hasBearer || !known || now.After(session.expiry) {
		ex.Failed = CheckIdentity
		s.googleIAMFail(w, ex, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. (the bearer is not a live token from this stand-in's /v1/token)")
		return
	}
	ex.Subject, ex.Issuer, ex.Audience = session.principal, session.provider.Issuer.URL, []string{session.provider.Audience}
	var body struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Scope) == 0 {
		ex.Failed = CheckRequest
		s.googleIAMFail(w, ex, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("The request needs a JSON body with a non-empty scope list, got %.200s", raw))
		return
	}
	if !granted {
		ex.Failed = CheckGrant
		s.googleIAMFail(w, ex, http.StatusForbidden, "PERMISSION_DENIED",
			fmt.Sprintf("Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist). (%s is not granted impersonation of %s: Server.GrantGoogleImpersonation)", session.principal, email))
		return
	}
	lifetime := time.Hour
	if body.Lifetime != "" {
		d, err := time.ParseDuration(body.Lifetime)
		if err != nil || d <= 0 || d > 12*time.Hour {
			ex.Failed = CheckRequest
			s.googleIAMFail(w, ex, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("lifetime %q must be a duration in seconds such as 3600s, at most 43200s", body.Lifetime))
			return
		}
		lifetime = d
	}
	ex.Result = resultOK
	s.record(ex)
	writeJSON(w, http.StatusOK, cloud.GCP, map[string]string{
		"accessToken": "cloudsts-stand-in-google-sa." + randomHex(24),
		"expireTime":  now.Add(lifetime).UTC().Format(time.RFC3339),
	})
}

// googleIAMFail answers in Google APIs' error shape, naming the stand-in.
func (s *Server) googleIAMFail(w http.ResponseWriter, ex Exchange, status int, code, message string) {
	ex.Result = code
	ex.Detail = standInName + " for Google IAM Credentials: " + message
	s.record(ex)
	writeJSON(w, status, cloud.GCP, map[string]any{
		"error": map[string]any{"code": status, "message": ex.Detail, "status": code},
	})
}
