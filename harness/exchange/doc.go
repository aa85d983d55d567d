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
//  3. runs the real SDK (azidentity, aws-sdk-go-v2's credential providers as
//     its default chain picks them from the env, golang.org/x/oauth2/google
//     external account) with exactly the pod's env, except what must change
//     to reach the stand-in, which the Result lists in Rewrites: the token
//     file's host path; Azure's DisableInstanceDiscovery; for AWS the STS
//     endpoint (the stand-in, as AWS_ENDPOINT_URL_STS would set it), the
//     stand-in's CA as the only trusted root, and no shared config files;
//     the credential file's token_url, service_account_impersonation_url and
//     credential_source.file for Google; retries kept but without backoff;
//  4. returns what the SDK got: an access token, or its error as it surfaced it.
//
// Nothing leaves loopback: Azure and Google use the stand-in's loopback-only
// client (Server.Client), AWS a client whose dialer itself refuses every
// address off loopback and every DNS lookup (its IMDS client re-derives the
// transport's dialer, so a transport-level check alone is bypassed). The
// first attempt stops the proof and fails it (Result.Refused, Result.Err).
//
// Register a cluster's issuer with KubernetesIssuer: discovery and keys read
// from the API server with a loopback-only client trusting the cluster CA.
//
// No SDK reads or is given this process's environment for the pod's
// identity, so proofs run concurrently and leave the process as it was. The
// AWS default chain (config.LoadDefaultConfig) reads only the process
// environment, so the proof configures aws-sdk-go-v2 per call instead: the
// pod's region, an STS client with the stand-in as BaseEndpoint, the
// credentials provider the chain would pick from the pod's env (static keys,
// web identity, container credentials, instance metadata, in its order) and
// the loopback client. Azure and Google take everything explicitly too; a
// variable the pod lacks but this process sets (which azidentity would read
// instead) is an error, not a silent fallback.
//
// Federation is what the cloud holds for a Kubernetes account (an Entra
// federated credential, an IAM role trust policy, a Google pool provider and
// impersonation grant); Register puts it into a stand-in, and its variants
// (ForAccount, WithAudience, WithIssuer) make the negative cases.
package exchange
