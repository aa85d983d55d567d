package identitycheck

import (
	"fmt"
	"regexp"
	"strings"
)

// Provider is the cloud identity a pod is set up for.
type Provider string

const (
	ProviderAzure         Provider = "azure"          // AKS Workload Identity: the Azure webhook injects env and a token
	ProviderAWS           Provider = "aws"            // IRSA: the EKS pod identity webhook injects env and a token
	ProviderGCP           Provider = "gcp"            // GKE Workload Identity: the metadata server serves it, nothing is injected
	ProviderGCPFederation Provider = "gcp-federation" // outside GKE: the chart mounts a token and an external_account file
	ProviderNone          Provider = "none"           // no identity configured (a failure)
)

// What the clouds' webhooks and the charts read and write.
const (
	azureClientIDAnnotation       = "azure.workload.identity/client-id"
	azureTenantIDAnnotation       = "azure.workload.identity/tenant-id"
	azureUseLabel                 = "azure.workload.identity/use"
	azureSkipContainersAnnotation = "azure.workload.identity/skip-containers"
	azureVolumePrefix             = "azure-workload-identity-reserved-"
	azureAudience                 = "api://AzureADTokenExchange"

	awsRoleARNAnnotation        = "eks.amazonaws.com/role-arn"
	awsAudienceAnnotation       = "eks.amazonaws.com/audience"
	awsSkipContainersAnnotation = "eks.amazonaws.com/skip-containers"
	awsVolume                   = "aws-iam-token"
	awsDefaultAudience          = "sts.amazonaws.com"

	gkeServiceAccountAnnotation = "iam.gke.io/gcp-service-account"
	gcpProviderAudiencePrefix   = "//iam.googleapis.com/"

	envAzureClientID       = "AZURE_CLIENT_ID"
	envAzureTenantID       = "AZURE_TENANT_ID"
	envAzureTokenFile      = "AZURE_FEDERATED_TOKEN_FILE"
	envAWSRoleARN          = "AWS_ROLE_ARN"
	envAWSTokenFile        = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envGoogleCredentials   = "GOOGLE_APPLICATION_CREDENTIALS"
	identityAnnotationList = azureClientIDAnnotation + ", " + awsRoleARNAnnotation + " or " + gkeServiceAccountAnnotation
)

// identityEnv are the variables the report shows: what the webhooks inject
// and what the cloud SDKs read to find their identity.
var identityEnv = map[string]bool{
	envAzureClientID: true, envAzureTenantID: true, envAzureTokenFile: true, "AZURE_AUTHORITY_HOST": true,
	"AZURE_KUBERNETES_TOKEN_PROXY": true, "AZURE_KUBERNETES_SNI_NAME": true, "AZURE_KUBERNETES_CA_FILE": true,
	envAWSRoleARN: true, envAWSTokenFile: true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true, "AWS_STS_REGIONAL_ENDPOINTS": true,
	envGoogleCredentials: true,
}

// Well-formed ids, as the charts validate them.
var (
	guidPattern              = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	roleARNPattern           = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`)
	googleAccountPattern     = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]@([a-z0-9][a-z0-9.-]*)\.iam\.gserviceaccount\.com$`)
	poolProviderPattern      = regexp.MustCompile(`^//iam\.googleapis\.com/(projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+)/providers/[a-z0-9-]+$`)
	poolProviderExpectedForm = "//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>"
)

// evidence is one thing that shows which provider a pod is set up for.
type evidence struct {
	provider    Provider
	description string
	present     func(w *workload) bool
}

func accountAnnotated(key string) func(*workload) bool {
	return func(w *workload) bool { _, ok := w.accountAnnotation(key); return ok }
}

func containerEnv(names ...string) func(*workload) bool {
	return func(w *workload) bool { return w.anyContainerHasEnv(names...) }
}

// evidenceOrder is the order the provider is decided in: the account's
// annotations, then the pod's label, then the injected env, then volumes.
var evidenceOrder = []evidence{
	{ProviderAzure, "account annotation " + azureClientIDAnnotation, accountAnnotated(azureClientIDAnnotation)},
	{ProviderAzure, "account annotation " + azureTenantIDAnnotation, accountAnnotated(azureTenantIDAnnotation)},
	{ProviderAWS, "account annotation " + awsRoleARNAnnotation, accountAnnotated(awsRoleARNAnnotation)},
	{ProviderGCP, "account annotation " + gkeServiceAccountAnnotation, accountAnnotated(gkeServiceAccountAnnotation)},
	{ProviderAzure, "pod label " + azureUseLabel + "=true", func(w *workload) bool { return w.labels[azureUseLabel] == "true" }},
	{ProviderAzure, "env " + envAzureTokenFile, containerEnv(envAzureTokenFile, envAzureClientID)},
	{ProviderAWS, "env " + envAWSRoleARN, containerEnv(envAWSRoleARN, envAWSTokenFile)},
	{ProviderGCPFederation, "env " + envGoogleCredentials, containerEnv(envGoogleCredentials)},
	{ProviderAzure, "volume " + azureVolumePrefix + "…", func(w *workload) bool { return w.hasVolume(azureVolumePrefix) }},
	{ProviderAWS, "volume " + awsVolume, func(w *workload) bool { return w.hasVolume(awsVolume) }},
	{ProviderGCPFederation, "token for " + gcpProviderAudiencePrefix + "…", func(w *workload) bool { return w.hasTokenAudience(gcpProviderAudiencePrefix) }},
}

// detectProvider returns the provider and the evidence it was decided on. A
// GKE-annotated account whose pods also carry the federation files is GCP
// federation (the shortcut annotates the account for impersonation).
func detectProvider(w *workload) (Provider, string) {
	for _, e := range evidenceOrder {
		if !e.present(w) {
			continue
		}
		if e.provider == ProviderGCP {
			for _, f := range evidenceOrder {
				if f.provider == ProviderGCPFederation && f.present(w) {
					return ProviderGCPFederation, e.description + " and " + f.description
				}
			}
		}
		return e.provider, e.description
	}
	return ProviderNone, "no account annotation, pod label, env or token volume"
}

// providerRules check what one provider needs; each adds problems to the report.
var providerRules = map[Provider]func(w *workload, r *PodReport){
	ProviderAzure:         checkAzure,
	ProviderAWS:           checkAWS,
	ProviderGCP:           checkGKE,
	ProviderGCPFederation: checkGCPFederation,
	ProviderNone:          checkNone,
}

// evaluate builds one pod's report: what it has, and every problem with its fix.
func evaluate(w *workload) PodReport {
	r := PodReport{
		Namespace: w.namespace, Name: w.name, Kind: w.kind, Owner: w.owner,
		ServiceAccount: w.accountName, ServiceAccountExists: w.account != nil,
		Subject:    fmt.Sprintf("system:serviceaccount:%s:%s", w.namespace, w.accountName),
		Issuer:     w.issuer,
		Containers: []ContainerIdentity{},
	}
	r.Provider, r.Evidence = detectProvider(w)
	for _, c := range w.containers() {
		env := map[string]string{}
		for name, value := range c.env() {
			if identityEnv[name] {
				env[name] = value
			}
		}
		r.Containers = append(r.Containers, ContainerIdentity{Name: c.Name, Init: c.init, Program: c.program(), Env: env})
	}
	checkAccountAndPods(w, &r)
	providerRules[r.Provider](w, &r)
	r.OK = len(r.Problems) == 0
	return r
}

// checkAccountAndPods: the account must exist, and a Deployment must have pods.
func checkAccountAndPods(w *workload, r *PodReport) {
	if w.account == nil {
		reason := fmt.Sprintf("ServiceAccount %q does not exist in namespace %q", w.accountName, w.namespace)
		if w.kind == "Deployment" {
			reason += fmt.Sprintf(", so Deployment %s cannot create its pods", w.name)
		}
		r.addProblem(reason, fmt.Sprintf("create it with your cloud's identity annotation (kubectl create serviceaccount %s -n %s, then kubectl annotate it with %s), or set serviceAccount.create=true so the chart creates it",
			w.accountName, w.namespace, identityAnnotationList))
	} else if w.kind == "Deployment" {
		if w.creationFailure != "" {
			r.addProblem(fmt.Sprintf("Deployment %s has no pods: %s", w.name, w.creationFailure),
				fmt.Sprintf("fix what the message names (kubectl describe deployment %s -n %s), then run the check again", w.name, w.namespace))
		} else {
			r.addProblem(fmt.Sprintf("Deployment %s has no pods yet", w.name),
				fmt.Sprintf("wait for the rollout (kubectl rollout status deployment/%s -n %s), then run the check again", w.name, w.namespace))
		}
	}
	if w.creationFailure != "" {
		r.Notes = append(r.Notes, "ReplicaFailure: "+w.creationFailure)
	}
}

func checkAzure(w *workload, r *PodReport) {
	clientID, hasClientID := w.accountAnnotation(azureClientIDAnnotation)
	if hasClientID {
		r.AccountAnnotation = azureClientIDAnnotation + "=" + clientID
	}
	restart := w.restartCommand()
	switch {
	case w.account == nil: // reported by checkAccountAndPods
	case !hasClientID || clientID == "":
		r.addProblem(fmt.Sprintf("ServiceAccount %q has no %s annotation: Entra ID cannot tell which managed identity the pod is", w.accountName, azureClientIDAnnotation),
			fmt.Sprintf("set serviceAccount.annotations.%q or global.workloadIdentity.azure.clientId to the managed identity's client ID (on a pre-provisioned account: kubectl annotate serviceaccount %s -n %s %s=<client-id>), then restart the pods: %s",
				azureClientIDAnnotation, w.accountName, w.namespace, azureClientIDAnnotation, restart))
	case !guidPattern.MatchString(clientID):
		r.addProblem(fmt.Sprintf("%s %q on ServiceAccount %q is not a GUID", azureClientIDAnnotation, clientID, w.accountName),
			"set it to the managed identity's client ID (az identity show -n <identity> -g <group> --query clientId)")
	}

	label, labelled := w.labels[azureUseLabel]
	if labelled {
		r.PodLabel = azureUseLabel + "=" + label
	}
	if label != "true" {
		reason := fmt.Sprintf("the %s has no %s: \"true\" label", strings.ToLower(podOrTemplate(w)), azureUseLabel)
		if labelled {
			reason = fmt.Sprintf("the %s label %s is %q, not \"true\"", strings.ToLower(podOrTemplate(w)), azureUseLabel, label)
		}
		r.addProblem(reason+": the Azure webhook only mutates labelled pods, so nothing is injected",
			fmt.Sprintf("set extraPodLabels (or services.<component>.extraPodLabels) to {%s: \"true\"}, or use the shortcut global.workloadIdentity.provider=azure with azure.clientId, which labels every pod", azureUseLabel))
		return
	}
	if !w.admitted {
		return
	}

	var notInjected, staleClientID []string
	for _, c := range w.containersExcept(azureSkipContainersAnnotation) {
		env := c.env()
		tokenFile, injected := env[envAzureTokenFile]
		if !injected {
			notInjected = append(notInjected, c.Name)
			continue
		}
		if hasClientID && clientID != "" && env[envAzureClientID] != clientID {
			staleClientID = append(staleClientID, c.Name)
		}
		checkToken(w, r, c, envAzureTokenFile, tokenFile, azureAudience,
			"let the Azure webhook mount its token: remove your own "+envAzureTokenFile+" and token volume, then restart the pods: "+restart)
	}
	if len(notInjected) > 0 {
		r.addProblem(fmt.Sprintf("the Azure webhook did not mutate the pod: %s is missing in %s, though the pod is labelled", envAzureTokenFile, containerList(notInjected)),
			fmt.Sprintf("install the Azure Workload Identity webhook (AKS: az aks update --enable-oidc-issuer --enable-workload-identity), or, if the pod predates its label or the account's annotation, restart it: %s", restart))
	}
	if len(staleClientID) > 0 {
		r.addProblem(fmt.Sprintf("%s in %s is not the account's %s %q: the pod predates the annotation", envAzureClientID, containerList(staleClientID), azureClientIDAnnotation, clientID),
			"restart the pods so the webhook injects the current client ID: "+restart)
	}
}

func checkAWS(w *workload, r *PodReport) {
	roleARN, hasRoleARN := w.accountAnnotation(awsRoleARNAnnotation)
	if hasRoleARN {
		r.AccountAnnotation = awsRoleARNAnnotation + "=" + roleARN
	}
	restart := w.restartCommand()
	switch {
	case w.account == nil:
	case !hasRoleARN || roleARN == "":
		r.addProblem(fmt.Sprintf("ServiceAccount %q has no %s annotation: the EKS webhook injects nothing and no IAM role is assumed", w.accountName, awsRoleARNAnnotation),
			fmt.Sprintf("set serviceAccount.annotations.%q or global.workloadIdentity.aws.roleArn (arn:aws:iam::<account>:role/<name>), then restart the pods: %s", awsRoleARNAnnotation, restart))
		return
	case !roleARNPattern.MatchString(roleARN):
		r.addProblem(fmt.Sprintf("%s %q on ServiceAccount %q is not an IAM role ARN", awsRoleARNAnnotation, roleARN, w.accountName),
			"set it to arn:aws:iam::<12-digit account>:role/<name> (aws iam get-role --role-name <name> --query Role.Arn)")
	}
	if !w.admitted {
		return
	}
	audience := awsDefaultAudience
	if custom, ok := w.accountAnnotation(awsAudienceAnnotation); ok && custom != "" {
		audience = custom
	}

	var notInjected, staleRoleARN []string
	for _, c := range w.containersExcept(awsSkipContainersAnnotation) {
		env := c.env()
		tokenFile, hasTokenFile := env[envAWSTokenFile]
		if _, hasRole := env[envAWSRoleARN]; !hasRole || !hasTokenFile {
			notInjected = append(notInjected, c.Name)
			continue
		}
		if hasRoleARN && env[envAWSRoleARN] != roleARN {
			staleRoleARN = append(staleRoleARN, c.Name)
		}
		checkToken(w, r, c, envAWSTokenFile, tokenFile, audience,
			fmt.Sprintf("let the EKS webhook project the token (audience %s, or the account's %s), then restart the pods: %s", awsDefaultAudience, awsAudienceAnnotation, restart))
	}
	if len(notInjected) > 0 {
		r.addProblem(fmt.Sprintf("the EKS pod identity webhook did not mutate the pod: %s or %s is missing in %s", envAWSRoleARN, envAWSTokenFile, containerList(notInjected)),
			fmt.Sprintf("install the EKS pod identity webhook (built into EKS; elsewhere amazon-eks-pod-identity-webhook), or, if the pod predates the account's %s annotation, restart it: %s", awsRoleARNAnnotation, restart))
	}
	if len(staleRoleARN) > 0 {
		r.addProblem(fmt.Sprintf("%s in %s is not the account's %s %q: the pod predates the annotation", envAWSRoleARN, containerList(staleRoleARN), awsRoleARNAnnotation, roleARN),
			"restart the pods so the webhook injects the current role: "+restart)
	}
}

func checkGKE(w *workload, r *PodReport) {
	googleAccount, _ := w.accountAnnotation(gkeServiceAccountAnnotation)
	r.AccountAnnotation = gkeServiceAccountAnnotation + "=" + googleAccount
	match := googleAccountPattern.FindStringSubmatch(googleAccount)
	if match == nil {
		r.addProblem(fmt.Sprintf("%s %q on ServiceAccount %q is not a Google service account address", gkeServiceAccountAnnotation, googleAccount, w.accountName),
			"set global.workloadIdentity.gcp.serviceAccount (or the annotation) to <name>@<project>.iam.gserviceaccount.com")
		return
	}
	r.CloudPrincipal = fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", match[1], w.namespace, w.accountName)
	r.Notes = append(r.Notes,
		"nothing is injected into the pod: on GKE the metadata server serves "+googleAccount+" to pods on node pools with Workload Identity (GKE_METADATA)",
		fmt.Sprintf("grant it: gcloud iam service-accounts add-iam-policy-binding %s --role roles/iam.workloadIdentityUser --member %q (use the cluster's project if it differs)", googleAccount, r.CloudPrincipal))
}

func checkGCPFederation(w *workload, r *PodReport) {
	if googleAccount, ok := w.accountAnnotation(gkeServiceAccountAnnotation); ok {
		r.AccountAnnotation = gkeServiceAccountAnnotation + "=" + googleAccount
	}
	providerFix := "set global.workloadIdentity.gcp.workloadIdentityProvider to the provider's full name (" + poolProviderExpectedForm + "): the chart then mounts the token and credential file and sets " + envGoogleCredentials + " in every container"
	var missing []string
	for _, c := range w.containers() {
		credentialFile, ok := c.env()[envGoogleCredentials]
		if !ok {
			missing = append(missing, c.Name)
			continue
		}
		config, problem := readCredentialConfiguration(w, c, credentialFile)
		if problem != "" {
			r.addProblem(problem, "upgrade the release so the chart writes the credential file again (helm upgrade … --reuse-values), or "+providerFix)
			continue
		}
		if config.CredentialSource.File == "" {
			r.addProblem(fmt.Sprintf("the credential file %s has no credential_source.file: the pod's token is not used", credentialFile), providerFix)
			continue
		}
		token := tokenAt(w.spec, c.Container, config.CredentialSource.File)
		switch {
		case token == nil:
			r.addProblem(fmt.Sprintf("the credential file reads its token from %s, but container %s has no projected ServiceAccount token there", config.CredentialSource.File, c.Name), providerFix)
			continue
		case token.Audience != config.Audience:
			r.addProblem(fmt.Sprintf("the token at %s has audience %q but the credential file's audience is %q: Google STS rejects it", token.File, token.Audience, config.Audience), providerFix)
		case !poolProviderPattern.MatchString(token.Audience):
			r.addProblem(fmt.Sprintf("the token audience %q is not a workload identity pool provider (%s)", token.Audience, poolProviderExpectedForm), providerFix)
		}
		if r.Token == nil {
			r.Token = token
		}
	}
	if len(missing) > 0 {
		r.addProblem(fmt.Sprintf("%s is not set in %s", envGoogleCredentials, containerList(missing)), providerFix)
	}
	if r.Token != nil {
		if match := poolProviderPattern.FindStringSubmatch(r.Token.Audience); match != nil {
			r.CloudPrincipal = "principal://iam.googleapis.com/" + match[1] + "/subject/" + r.Subject
		}
	}
}

func checkNone(w *workload, r *PodReport) {
	if w.account == nil {
		return // the identity would be on the account: its fix names the annotations
	}
	r.addProblem(fmt.Sprintf("no workload identity configured: ServiceAccount %q has no %s annotation, and the %s has no identity label, env or token",
		w.accountName, identityAnnotationList, strings.ToLower(podOrTemplate(w))),
		"set global.workloadIdentity.provider (azure, aws or gcp) with its id (azure.clientId, aws.roleArn, gcp.serviceAccount), or add the cloud's annotation with serviceAccount.annotations (Azure also needs the pod label "+azureUseLabel+": \"true\")")
}

// checkToken checks that the container's token file (named by envName) is a
// projected ServiceAccount token with the audience the cloud expects, and
// records the first token found.
func checkToken(w *workload, r *PodReport, c containerRef, envName, file, audience, fix string) {
	token := tokenAt(w.spec, c.Container, file)
	if token == nil {
		r.addProblem(fmt.Sprintf("container %s: %s=%s but no projected ServiceAccount token is mounted there", c.Name, envName, file), fix)
		return
	}
	if token.Audience != audience {
		r.addProblem(fmt.Sprintf("container %s: the token at %s has audience %q; the cloud expects %q", c.Name, file, token.Audience, audience), fix)
	}
	if r.Token == nil {
		r.Token = token
	}
}

func podOrTemplate(w *workload) string {
	if w.admitted {
		return "Pod"
	}
	return "Pod template"
}

func containerList(names []string) string {
	if len(names) == 1 {
		return "container " + names[0]
	}
	return "containers " + strings.Join(names, ", ")
}
