// Package cloud owns the vocabulary of the three clouds' workload identity:
// the provider names the charts take, the ServiceAccount annotations and pod
// label the charts write and the webhooks read, the env the webhooks inject
// and the SDKs read, token audiences and paths, and the id patterns the
// charts validate with (a test checks the chart's patterns equal these).
package cloud

// Provider is a cloud whose workload identity a pod can carry, named as the
// charts' global.workloadIdentity.provider names it.
type Provider string

const (
	// Azure is AKS Workload Identity: the Azure webhook injects env and a
	// projected token into pods labelled AzureUseLabel.
	Azure Provider = "azure"
	// AWS is IRSA: the EKS pod identity webhook injects env and a projected
	// token into pods whose account has AWSRoleARNAnnotation.
	AWS Provider = "aws"
	// GCP is GKE Workload Identity (GKE's metadata server serves the
	// identity; nothing is injected) or, outside GKE, workload identity
	// federation (the chart mounts a pool token and an external_account file).
	GCP Provider = "gcp"
)

// Providers are the three, in the order the charts document them.
var Providers = []Provider{Azure, AWS, GCP}

// Azure: what the charts write and the Azure Workload Identity webhook reads
// and injects (AZURE_AUTHORITY_HOST too, from its cloud environment).
const (
	AzureClientIDAnnotation       = "azure.workload.identity/client-id" // on the account: the managed identity's client ID
	AzureTenantIDAnnotation       = "azure.workload.identity/tenant-id" // on the account; absent: the webhook's tenant
	AzureSkipContainersAnnotation = "azure.workload.identity/skip-containers"
	AzureUseLabel                 = "azure.workload.identity/use" // on the pod: "true", or the webhook never sees it
	AzureTokenVolumePrefix        = "azure-workload-identity-reserved-"
	AzureAudience                 = "api://AzureADTokenExchange" // of the projected token; Entra's federated credential default
	// AzureScope is what the exchanges ask Entra ID for: any scope proves the
	// federated credential (OSMO's storage clients ask for their own).
	AzureScope = "https://management.azure.com/.default"

	EnvAzureClientID      = "AZURE_CLIENT_ID"
	EnvAzureTenantID      = "AZURE_TENANT_ID"
	EnvAzureTokenFile     = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAzureAuthorityHost = "AZURE_AUTHORITY_HOST"
)

// AWS: what the charts write and the EKS pod identity webhook reads and injects.
const (
	AWSRoleARNAnnotation        = "eks.amazonaws.com/role-arn" // on the account: the IAM role to assume
	AWSAudienceAnnotation       = "eks.amazonaws.com/audience" // on the account; absent: AWSAudience
	AWSSkipContainersAnnotation = "eks.amazonaws.com/skip-containers"
	AWSTokenVolume              = "aws-iam-token"
	AWSTokenFile                = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
	AWSAudience                 = "sts.amazonaws.com" // of the projected token; the IAM OIDC provider's default

	EnvAWSRoleARN   = "AWS_ROLE_ARN"
	EnvAWSTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvAWSRegion    = "AWS_REGION"
	// EnvAWSEndpointURLSTS points the SDK's STS client elsewhere; the generic
	// AWS_ENDPOINT_URL is not used for credential fetching.
	EnvAWSEndpointURLSTS = "AWS_ENDPOINT_URL_STS"
)

// GCP: what the charts write. Outside GKE no webhook helps: the chart mounts
// a projected token for the pool provider and an external_account credential
// file from a ConfigMap in GCPTokenDir, and points EnvGoogleCredentials at it.
const (
	GKEServiceAccountAnnotation = "iam.gke.io/gcp-service-account" // on the account: the Google service account
	GCPTokenVolume              = "gcp-ksa"
	GCPTokenDir                 = "/var/run/secrets/tokens/gcp-ksa"
	GCPTokenFile                = GCPTokenDir + "/token"
	GCPCredentialFile           = GCPTokenDir + "/credential-configuration.json"
	// GCPAudiencePrefix starts every pool provider's name, which is also the
	// audience of the token the chart projects for it.
	GCPAudiencePrefix = "//iam.googleapis.com/"

	EnvGoogleCredentials = "GOOGLE_APPLICATION_CREDENTIALS"
	// GoogleScope is what the exchanges ask Google for (what OSMO's storage
	// clients' default credentials ask for).
	GoogleScope = "https://www.googleapis.com/auth/cloud-platform"
)

// The hosts of Google's token endpoints, as the charts' credential file names
// them (token_url, service_account_impersonation_url): a cluster's DNS can
// send them elsewhere (Private Google Access does; so do the kind tests, to
// the stand-in).
var GoogleHosts = []string{"sts.googleapis.com", "iamcredentials.googleapis.com"}

// IdentityEnv are the variables the webhooks inject and the SDKs read to find
// their identity: what an identity report shows of a container's env.
var IdentityEnv = []string{
	EnvAzureClientID, EnvAzureTenantID, EnvAzureTokenFile, EnvAzureAuthorityHost,
	"AZURE_KUBERNETES_TOKEN_PROXY", "AZURE_KUBERNETES_SNI_NAME", "AZURE_KUBERNETES_CA_FILE",
	EnvAWSRoleARN, EnvAWSTokenFile, EnvAWSRegion, "AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS",
	EnvGoogleCredentials,
}

// Subject is the sub claim of a Kubernetes ServiceAccount's tokens, the
// subject a cloud's federation names.
func Subject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}
