package exchange

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
)

// azure runs azidentity's WorkloadIdentityCredential (what
// DefaultAzureCredential builds from this env) with the pod's env passed
// explicitly: client, tenant, token file and authority host.
func (p *proof) azure() {
	env := p.env
	if err := processEnvLeak(env, cloud.EnvAzureClientID, cloud.EnvAzureTenantID, cloud.EnvAzureTokenFile, cloud.EnvAzureAuthorityHost); err != nil {
		p.Err = err
		return
	}
	p.Identity = env[cloud.EnvAzureTenantID] + "/" + env[cloud.EnvAzureClientID]
	if env[cloud.EnvAzureTenantID] == "" && env[cloud.EnvAzureClientID] == "" {
		p.Identity = ""
	}
	var tokenFile string
	if inPod := env[cloud.EnvAzureTokenFile]; inPod != "" {
		var err error
		if tokenFile, err = p.presentToken(inPod); err != nil {
			p.Err = err
			return
		}
	}
	authority := env[cloud.EnvAzureAuthorityHost]
	if p.opts.RedirectAzureAuthority && authority != p.standIn.EntraAuthorityHost() {
		p.rewrite("%s=%q replaced by the stand-in's %s (Options.RedirectAzureAuthority)", cloud.EnvAzureAuthorityHost, authority, p.standIn.EntraAuthorityHost())
		authority = p.standIn.EntraAuthorityHost()
	}
	if err := p.checkAuthorityHost(authority); err != nil {
		p.Err = err
		return
	}
	p.rewrite("DisableInstanceDiscovery: MSAL would otherwise ask login.microsoftonline.com about the stand-in's authority, which it does not know")
	p.rewrite("retries kept, without backoff between them")
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     azcloud.Configuration{ActiveDirectoryAuthorityHost: authority}, // "": public cloud, refused off loopback
			Transport: p.loopbackClient(),
			Retry:     policy.RetryOptions{RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
		},
		ClientID:                 env[cloud.EnvAzureClientID],
		TenantID:                 env[cloud.EnvAzureTenantID],
		TokenFilePath:            tokenFile,
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		p.Err = err
		return
	}
	token, err := cred.GetToken(p.ctx, policy.TokenRequestOptions{Scopes: p.scopes})
	if err != nil {
		p.Err = err
		return
	}
	p.AccessToken = token.Token
}

// checkAuthorityHost refuses a loopback authority that is not this stand-in
// (the SDK would present the token to some other local server); an authority
// off loopback is left to the transport, which refuses it loudly.
func (p *proof) checkAuthorityHost(authority string) error {
	if authority == "" {
		return nil
	}
	u, err := url.Parse(authority)
	if err != nil || !cloudsts.IsLoopbackHost(u.Hostname()) {
		return nil
	}
	if strings.TrimSuffix(authority, "/") != strings.TrimSuffix(p.standIn.EntraAuthorityHost(), "/") {
		return fmt.Errorf("exchange: the pod's %s is %s, a loopback address that is not this stand-in (%s): the webhook was started for another stand-in",
			cloud.EnvAzureAuthorityHost, authority, p.standIn.EntraAuthorityHost())
	}
	return nil
}

// loopbackClient is the stand-in's loopback-only client (which refuses and
// records in the stand-in every host off loopback), also recording refusals
// for this proof.
func (p *proof) loopbackClient() *http.Client {
	client := p.standIn.Client()
	client.Transport = recordRefusals{base: client.Transport, proof: p}
	return client
}

type recordRefusals struct {
	base  http.RoundTripper
	proof *proof
}

func (r recordRefusals) RoundTrip(req *http.Request) (*http.Response, error) {
	if !cloudsts.IsLoopbackHost(req.URL.Hostname()) {
		r.proof.refuse(req.Method + " " + req.URL.Redacted())
	}
	return r.base.RoundTrip(req)
}
