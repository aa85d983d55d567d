// Package exchange answers, for one pod as the API server admitted it, the
// question a cloud answers in production: would it accept this pod's
// Kubernetes token for the identity the pod asks for? The cloud is a STAND-IN
// (cloudsts: loopback stand-ins for Entra ID, AWS STS and Google STS that
// verify the token as the clouds do); everything else is real.
//
// Prove, for the pod:
//
//  1. finds its cloud from its env and volumes: Azure (AZURE_FEDERATED_TOKEN_FILE
//     and the webhook's projected token), AWS (AWS_WEB_IDENTITY_TOKEN_FILE and
//     the aws-iam-token projected token), Google outside GKE
//     (GOOGLE_APPLICATION_CREDENTIALS, the chart's gcp-ksa volume holding the
//     projected token and the credential file from its ConfigMap);
//  2. obtains the token the kubelet would project: a TokenRequest for the
//     pod's ServiceAccount with the audience and expiration of the pod's
//     projected volume, bound to the pod (kind Pod, name, uid), written under a
//     temporary folder at the path the env names (in-pod /a/b is <tmp>/a/b);
//  3. runs the real SDK (azidentity, aws-sdk-go-v2's default chain,
//     golang.org/x/oauth2/google external account) with exactly the pod's env,
//     except what must change to reach the stand-in, which the Result lists
//     in Rewrites: the token file's host path; Azure's
//     DisableInstanceDiscovery; AWS_ENDPOINT_URL_STS, AWS_CA_BUNDLE (the
//     stand-in's CA) and absent shared config files for AWS; the credential
//     file's token_url, service_account_impersonation_url and
//     credential_source.file for Google; retries kept but without backoff;
//  4. returns what the SDK got: an access token, or its error as it surfaced it.
//
// Nothing leaves loopback: Azure and Google use the stand-in's loopback-only
// client (Server.Client), AWS a client whose dialer itself refuses every
// address off loopback and every DNS lookup (the SDK must build its own
// client to honour AWS_CA_BUNDLE, and its IMDS client re-derives the
// transport's dialer, so a transport-level check alone is bypassed). The
// first attempt stops the proof and fails it (Result.Refused, Result.Err).
//
// Register a cluster's issuer with KubernetesIssuer: discovery and keys read
// from the API server with a loopback-only client trusting the cluster CA.
//
// The AWS default chain reads only the process environment, so its config is
// loaded with the pod's AWS_* variables swapped into the process environment
// under a package mutex and restored at once (milliseconds; the exchange
// itself runs outside the lock). Only AWS_* variables change, and only for
// that window: a parallel caller that reads AWS_* itself could see them.
// Azure and Google take everything explicitly and touch no environment; a
// variable the pod lacks but this process sets (which azidentity would read
// instead) is an error, not a silent fallback.
//
// Federation is what the cloud holds for a Kubernetes account (an Entra
// federated credential, an IAM role trust policy, a Google pool provider and
// impersonation grant); Register puts it into a stand-in, and its variants
// (ForAccount, WithAudience, WithIssuer) make the negative cases.
package exchange
