package cloudsts

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/cloud"
)

// AWSRole is an IAM role whose trust policy lets tokens from Issuer (an IAM
// OIDC provider) assume it, with the StringEquals conditions
// "<provider>:sub" = Subject and "<provider>:aud" = Audience.
type AWSRole struct {
	RoleARN  string // arn:aws:iam::<account>:role/<name>
	Issuer   Issuer
	Subject  string // e.g. system:serviceaccount:<namespace>:<serviceaccount>
	Audience string // "" means sts.amazonaws.com, the EKS default
}

var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// TrustAWS registers a role and its trust policy.
func (s *Server) TrustAWS(r AWSRole) error {
	if !cloud.IsRoleARN(r.RoleARN) || r.Issuer.URL == "" || r.Subject == "" {
		return fmt.Errorf("%s for AWS STS: a role needs a RoleARN like arn:aws:iam::123456789012:role/name, Issuer.URL and Subject, got %+v", standInName, r)
	}
	if r.Audience == "" {
		r.Audience = cloud.AWSAudience
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.awsRoles == nil {
		s.awsRoles = map[string]AWSRole{}
	}
	s.awsRoles[r.RoleARN] = r
	return nil
}

type awsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type awsAssumeRoleWithWebIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result  struct {
		SubjectFromWebIdentityToken string `xml:"SubjectFromWebIdentityToken"`
		Audience                    string `xml:"Audience"`
		AssumedRoleUser             struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Credentials awsCredentials `xml:"Credentials"`
		Provider    string         `xml:"Provider"`
	} `xml:"AssumeRoleWithWebIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type awsErrorResponse struct {
	XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func (s *Server) awsSTS(w http.ResponseWriter, r *http.Request) {
	ex := Exchange{Provider: cloud.AWS, Endpoint: r.Method + " " + r.URL.Path}
	if err := r.ParseForm(); err != nil {
		ex.Failed = CheckRequest
		s.awsFail(w, ex, http.StatusBadRequest, "MalformedInput", "the request body is not a valid form: "+err.Error())
		return
	}
	form := r.PostForm
	if action, version := form.Get("Action"), form.Get("Version"); action != "AssumeRoleWithWebIdentity" || version != "2011-06-15" {
		ex.Failed = CheckRequest
		s.awsFail(w, ex, http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("Could not find operation %s for version %s (the stand-in serves only AssumeRoleWithWebIdentity, 2011-06-15)", action, version))
		return
	}
	roleARN, sessionName, webIdentityToken := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("WebIdentityToken")
	ex.Identity = roleARN
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		secs, err := strconv.Atoi(d)
		if err != nil || secs < 900 || secs > 43200 {
			ex.Failed = CheckRequest
			s.awsFail(w, ex, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d))
			return
		}
		duration = time.Duration(secs) * time.Second
	}
	if !sessionNamePattern.MatchString(sessionName) || webIdentityToken == "" {
		ex.Failed = CheckRequest
		s.awsFail(w, ex, http.StatusBadRequest, "ValidationError",
			fmt.Sprintf("1 validation error detected: RoleSessionName %q must match [\\w+=,.@-]{2,64} and WebIdentityToken must be set", sessionName))
		return
	}

	tok, err := parseToken(webIdentityToken)
	if err != nil {
		ex.Failed = CheckFormat
		s.awsFail(w, ex, http.StatusBadRequest, "InvalidIdentityToken", "Couldn't parse the web identity token: "+err.Error())
		return
	}
	claims := tok.claims
	ex.Issuer, ex.Subject, ex.Audience = claims.Issuer, claims.Subject, claims.Audience

	s.mu.Lock()
	role, known := s.awsRoles[roleARN]
	s.mu.Unlock()
	if !known {
		ex.Failed = CheckIdentity
		s.awsFail(w, ex, http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity (no such role registered: Server.TrustAWS)")
		return
	}
	if claims.Issuer != role.Issuer.URL {
		ex.Failed = CheckIssuer
		s.awsFail(w, ex, http.StatusBadRequest, "InvalidIdentityToken", fmt.Sprintf("No OpenIDConnect provider found in your account for %s", claims.Issuer))
		return
	}
	now := s.now()
	if verr := role.Issuer.verify(r.Context(), tok, now); verr != nil {
		ex.Failed = verr.Check
		switch {
		case verr.Check == CheckDiscovery:
			s.awsFail(w, ex, http.StatusBadRequest, "IDPCommunicationError", "Couldn't retrieve verification key from your identity provider: "+verr.Err.Error())
		case verr.Check == CheckLifetime && now.After(claims.Expiry):
			s.awsFail(w, ex, http.StatusBadRequest, "ExpiredTokenException",
				fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), claims.Expiry.Unix()))
		default:
			s.awsFail(w, ex, http.StatusBadRequest, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS: "+verr.Err.Error())
		}
		return
	}
	if !claims.HasAudience(role.Audience) {
		ex.Failed = CheckAudience
		s.awsFail(w, ex, http.StatusForbidden, "AccessDenied",
			fmt.Sprintf("Not authorized to perform sts:AssumeRoleWithWebIdentity (trust policy condition %s:aud = %q, token aud %q)", providerHost(role.Issuer.URL), role.Audience, claims.Audience))
		return
	}
	if claims.Subject != role.Subject {
		ex.Failed = CheckSubject
		s.awsFail(w, ex, http.StatusForbidden, "AccessDenied",
			fmt.Sprintf("Not authorized to perform sts:AssumeRoleWithWebIdentity (trust policy condition %s:sub = %q, token sub %q)", providerHost(role.Issuer.URL), role.Subject, claims.Subject))
		return
	}

	arn, _ := cloud.ParseRoleARN(roleARN) // a registered role's ARN (TrustAWS checks it)
	partition, account, roleName := arn.Partition, arn.Account, arn.Name
	var out awsAssumeRoleWithWebIdentityResponse
	out.Result.SubjectFromWebIdentityToken = claims.Subject
	out.Result.Audience = role.Audience
	out.Result.AssumedRoleUser.Arn = fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partition, account, roleName, sessionName)
	out.Result.AssumedRoleUser.AssumedRoleID = "AROA" + strings.ToUpper(randomHex(9))[:17] + ":" + sessionName
	out.Result.Credentials = awsCredentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(randomHex(8)),
		SecretAccessKey: randomHex(20),
		SessionToken:    "cloudsts-stand-in-aws." + randomHex(32),
		Expiration:      now.Add(duration).UTC().Format(time.RFC3339),
	}
	out.Result.Provider = fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, account, providerHost(role.Issuer.URL))
	out.RequestID = randomUUID()
	ex.Result = resultOK
	s.record(ex)
	writeXML(w, http.StatusOK, out)
}

// providerHost is how IAM names an OIDC provider: the issuer without https://.
func providerHost(issuer string) string { return strings.TrimPrefix(issuer, "https://") }

// awsFail answers in STS's ErrorResponse shape, naming the stand-in in the
// message, and records the exchange.
func (s *Server) awsFail(w http.ResponseWriter, ex Exchange, status int, code, message string) {
	ex.Result = code
	ex.Detail = standInName + " for AWS STS: " + message
	s.record(ex)
	writeXML(w, status, awsErrorResponse{Type: "Sender", Code: code, Message: ex.Detail, RequestID: randomUUID()})
}

func writeXML(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set(headerStandIn, string(cloud.AWS))
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(body)
}
