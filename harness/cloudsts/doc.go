// Package cloudsts is a STAND-IN for the token endpoints of three clouds: Entra
// ID (Azure), AWS STS and Google STS. The real endpoints cannot be reached from
// this machine, so tests point the real cloud SDKs at this local HTTPS server
// instead; nothing here talks to, or proves anything about, a real cloud
// beyond the request and reply shapes the SDKs use (see
// shared/IDENTITY-PROOF.md).
//
// What the stand-in does verify, as the clouds do, is the Kubernetes
// ServiceAccount token a workload presents: it fetches the issuer's OIDC
// discovery document and JWKS, checks the RS256/ES256 signature with the key
// whose kid matches, then the issuer, the lifetime (exp/nbf/iat against
// Server.Now, so expiry is testable despite the 600 s minimum token lifetime),
// the audience and the subject against what was registered for the identity
// (an Entra federated credential, an AWS role trust policy, a Google workload
// identity pool provider). Every exchange is recorded (Server.Exchanges) so a
// test can assert the exchange really happened and for whom.
//
// Every error the stand-in returns, over HTTP or as a Go error, names itself
// as "cloudsts stand-in" so no log can pass it off as a real cloud's answer.
//
// Routes, all on one server (Server.URL), each where its SDK expects it:
//
//	Entra ID    GET  /{tenant}/v2.0/.well-known/openid-configuration
//	            POST /{tenant}/oauth2/v2.0/token
//	AWS STS     POST /   (Action=AssumeRoleWithWebIdentity)
//	Google STS  POST /v1/token
//	            POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken
//
// Pointing each SDK at the stand-in (use Server.Client, which trusts the
// stand-in's CA and refuses every host off loopback, so a request leaking
// towards a real cloud fails loudly instead of hanging on retries):
//
//   - azidentity: ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost:
//     s.EntraAuthorityHost()}, Transport: s.Client()} and
//     DisableInstanceDiscovery: true (otherwise MSAL asks
//     login.microsoftonline.com for instance metadata first). From the
//     environment: AZURE_AUTHORITY_HOST=s.EntraAuthorityHost().
//   - aws-sdk-go-v2: AWS_ENDPOINT_URL_STS=s.AWSEndpoint() (the generic
//     AWS_ENDPOINT_URL is not used for credentials) and either
//     config.WithHTTPClient(s.Client()) with AWS_CA_BUNDLE set to "" (this
//     machine exports AWS_CA_BUNDLE, and the SDK refuses to add a CA bundle to
//     a client it did not build), or no custom client and AWS_CA_BUNDLE set to
//     a file holding s.CAPEM() (see WriteCAFile).
//   - golang.org/x/oauth2 (external_account): "token_url": s.GoogleTokenURL(),
//     optionally "service_account_impersonation_url":
//     s.GoogleImpersonationURL(email), and the client passed through
//     context.WithValue(ctx, oauth2.HTTPClient, s.Client()).
package cloudsts
