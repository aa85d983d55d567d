package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/osmo-wi/charts/harness/cloud"
)

// impersonationURLPattern takes the service account out of an
// external_account file's service_account_impersonation_url.
var impersonationURLPattern = regexp.MustCompile(`/serviceAccounts/([^/:]+):generateAccessToken$`)

// googleCredentialFile is the part of an external_account file the proof reads.
type googleCredentialFile struct {
	Type                           string `json:"type"`
	Audience                       string `json:"audience"`
	TokenURL                       string `json:"token_url"`
	ServiceAccountImpersonationURL string `json:"service_account_impersonation_url"`
	CredentialSource               struct {
		File string `json:"file"`
		URL  string `json:"url"`
	} `json:"credential_source"`
}

// google runs golang.org/x/oauth2/google's external account credentials on
// the credential file GOOGLE_APPLICATION_CREDENTIALS names (what
// FindDefaultCredentials reads), with its endpoints rewritten to the stand-in.
func (p *proof) google() {
	inPod := p.env[cloud.EnvGoogleCredentials]
	if inPod == "" {
		p.Err = fmt.Errorf("pod %s container %s has no %s: Google's SDK would look for other credentials (the metadata server), which exist only on GKE",
			p.Pod, p.Container, cloud.EnvGoogleCredentials)
		return
	}
	hostFile, _, err := p.files.materialize(p.ctx, inPod)
	if err != nil {
		p.Err = err
		return
	}
	raw, err := os.ReadFile(hostFile)
	if err != nil {
		p.Err = err
		return
	}
	rewritten, err := p.rewriteGoogleCredentialFile(inPod, raw)
	if err != nil {
		p.Err = err
		return
	}
	ctx := context.WithValue(p.ctx, oauth2.HTTPClient, p.loopbackClient())
	creds, err := google.CredentialsFromJSONWithType(ctx, rewritten, google.ExternalAccount, p.scopes...)
	if err != nil {
		p.Err = err
		return
	}
	token, err := creds.TokenSource.Token()
	if err != nil {
		p.Err = err
		return
	}
	p.AccessToken = token.AccessToken
}

// rewriteGoogleCredentialFile points the file at the stand-in and at the
// token's host path, keeping every other field as the chart rendered it.
func (p *proof) rewriteGoogleCredentialFile(inPod string, raw []byte) ([]byte, error) {
	var file googleCredentialFile
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w", inPod, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	if file.Type != "external_account" {
		return nil, fmt.Errorf("%s has type %q: only external_account files (workload identity federation) are proven", inPod, file.Type)
	}
	if file.CredentialSource.File == "" {
		return nil, fmt.Errorf("%s has no credential_source.file (url-sourced: %q): only file-sourced Kubernetes tokens are proven", inPod, file.CredentialSource.URL)
	}
	p.Identity = file.Audience
	tokenHost, err := p.presentToken(file.CredentialSource.File)
	if err != nil {
		return nil, err
	}
	fields["credential_source"].(map[string]any)["file"] = tokenHost
	fields["token_url"] = p.standIn.GoogleTokenURL()
	p.rewrite("%s token_url %q replaced by the stand-in's %s, credential_source.file by %s", inPod, file.TokenURL, p.standIn.GoogleTokenURL(), tokenHost)
	if file.ServiceAccountImpersonationURL != "" {
		m := impersonationURLPattern.FindStringSubmatch(file.ServiceAccountImpersonationURL)
		if m == nil {
			return nil, fmt.Errorf("%s: service_account_impersonation_url %q does not end in /serviceAccounts/<email>:generateAccessToken", inPod, file.ServiceAccountImpersonationURL)
		}
		p.Identity += " as " + m[1]
		fields["service_account_impersonation_url"] = p.standIn.GoogleImpersonationURL(m[1])
		p.rewrite("%s service_account_impersonation_url %q replaced by the stand-in's %s", inPod, file.ServiceAccountImpersonationURL, p.standIn.GoogleImpersonationURL(m[1]))
	}
	return json.Marshal(fields)
}
