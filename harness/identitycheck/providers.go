package identitycheck

import (
	"fmt"
	"strings"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/podspec"
)

// What the clouds' webhooks and the charts read and write (package cloud),
// and how a fix names the annotations.
const identityAnnotationList = cloud.AzureClientIDAnnotation + ", " + cloud.AWSRoleARNAnnotation + " or " + cloud.GKEServiceAccountAnnotation

// identityEnv are the variables the report shows of a container's env.
var identityEnv = func() map[string]bool {
	env := map[string]bool{}
	for _, name := range cloud.IdentityEnv {
		env[name] = true
	}
	return env
}()

// evidence is one thing that shows which provider a pod is set up for, and
// for GCP whether it federates outside GKE.
type evidence struct {
	provider    cloud.Provider
	federation  bool
	description string
	present     func(w *workload) bool
}

func accountAnnotated(key string) func(*workload) bool {
	return func(w *workload) bool { _, ok := w.accountAnnotation(key); return ok }
}

func containerEnv(names ...string) func(*workload) bool {
	return func(w *workload) bool { return podspec.HasEnv(&w.spec, names...) }
}

// evidenceOrder is the order the provider is decided in: the account's
// annotations, then the pod's label, then the injected env, then volumes.
var evidenceOrder = []evidence{
	{cloud.Azure, false, "account annotation " + cloud.AzureClientIDAnnotation, accountAnnotated(cloud.AzureClientIDAnnotation)},
	{cloud.Azure, false, "account annotation " + cloud.AzureTenantIDAnnotation, accountAnnotated(cloud.AzureTenantIDAnnotation)},
	{cloud.AWS, false, "account annotation " + cloud.AWSRoleARNAnnotation, accountAnnotated(cloud.AWSRoleARNAnnotation)},
	{cloud.GCP, false, "account annotation " + cloud.GKEServiceAccountAnnotation, accountAnnotated(cloud.GKEServiceAccountAnnotation)},
	{cloud.Azure, false, "pod label " + cloud.AzureUseLabel + "=true", func(w *workload) bool { return w.labels[cloud.AzureUseLabel] == "true" }},
	{cloud.Azure, false, "env " + cloud.EnvAzureTokenFile, containerEnv(cloud.EnvAzureTokenFile, cloud.EnvAzureClientID)},
	{cloud.AWS, false, "env " + cloud.EnvAWSRoleARN, containerEnv(cloud.EnvAWSRoleARN, cloud.EnvAWSTokenFile)},
	{cloud.GCP, true, "env " + cloud.EnvGoogleCredentials, containerEnv(cloud.EnvGoogleCredentials)},
	{cloud.Azure, false, "volume " + cloud.AzureTokenVolumePrefix + "…", func(w *workload) bool { return w.hasVolume(cloud.AzureTokenVolumePrefix) }},
	{cloud.AWS, false, "volume " + cloud.AWSTokenVolume, func(w *workload) bool { return w.hasVolume(cloud.AWSTokenVolume) }},
	{cloud.GCP, true, "token for " + cloud.GCPAudiencePrefix + "…", func(w *workload) bool { return w.hasTokenAudience(cloud.GCPAudiencePrefix) }},
}

// detectProvider returns the provider, whether it is GCP federation, and the
// evidence it was decided on. A GKE-annotated account whose pods also carry
// the federation files federates (the shortcut annotates the account for
// impersonation).
func detectProvider(w *workload) (provider cloud.Provider, federation bool, description string) {
	for _, e := range evidenceOrder {
		if !e.present(w) {
			continue
		}
		if e.provider == cloud.GCP && !e.federation {
			for _, f := range evidenceOrder {
				if f.federation && f.present(w) {
					return cloud.GCP, true, e.description + " and " + f.description
				}
			}
		}
		return e.provider, e.federation, e.description
	}
	return "", false, "no account annotation, pod label, env or token volume"
}

// rulesFor are the checks of what one provider's setup needs; each adds
// problems to the report.
func rulesFor(provider cloud.Provider, federation bool) func(w *workload, r *PodReport) {
	switch {
	case provider == cloud.Azure:
		return checkAzure
	case provider == cloud.AWS:
		return checkAWS
	case provider == cloud.GCP && federation:
		return checkGCPFederation
	case provider == cloud.GCP:
		return checkGKE
	}
	return checkNone
}

// evaluate builds one pod's report: what it has, and every problem with its fix.
func evaluate(w *workload) PodReport {
	r := PodReport{
		Namespace: w.namespace, Name: w.name, Kind: w.kind, Owner: w.owner,
		ServiceAccount: w.accountName, ServiceAccountExists: w.account != nil,
		Subject:    cloud.Subject(w.namespace, w.accountName),
		Issuer:     w.issuer,
		Containers: []ContainerIdentity{},
	}
	r.Provider, r.Federation, r.Evidence = detectProvider(w)
	for _, c := range w.containers() {
		identity := map[string]string{}
		for name, value := range envOf(c) {
			if identityEnv[name] {
				identity[name] = value
			}
		}
		r.Containers = append(r.Containers, ContainerIdentity{Name: c.Name, Init: c.Init, Program: program(c), Env: identity})
	}
	checkAccountAndPods(w, &r)
	rulesFor(r.Provider, r.Federation)(w, &r)
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
	clientID, hasClientID := w.accountAnnotation(cloud.AzureClientIDAnnotation)
	if hasClientID {
		r.AccountAnnotation = cloud.AzureClientIDAnnotation + "=" + clientID
	}
	restart := w.restartCommand()
	switch {
	case w.account == nil: // reported by checkAccountAndPods
	case !hasClientID || clientID == "":
		r.addProblem(fmt.Sprintf("ServiceAccount %q has no %s annotation: Entra ID cannot tell which managed identity the pod is", w.accountName, cloud.AzureClientIDAnnotation),
			fmt.Sprintf("set serviceAccount.annotations.%q or global.workloadIdentity.azure.clientId to the managed identity's client ID (on a pre-provisioned account: kubectl annotate serviceaccount %s -n %s %s=<client-id>), then restart the pods: %s",
				cloud.AzureClientIDAnnotation, w.accountName, w.namespace, cloud.AzureClientIDAnnotation, restart))
	case !cloud.IsGUID(clientID):
		r.addProblem(fmt.Sprintf("%s %q on ServiceAccount %q is not a GUID", cloud.AzureClientIDAnnotation, clientID, w.accountName),
			"set it to the managed identity's client ID (az identity show -n <identity> -g <group> --query clientId)")
	}

	label, labelled := w.labels[cloud.AzureUseLabel]
	if labelled {
		r.PodLabel = cloud.AzureUseLabel + "=" + label
	}
	if label != "true" {
		reason := fmt.Sprintf("the %s has no %s: \"true\" label", strings.ToLower(podOrTemplate(w)), cloud.AzureUseLabel)
		if labelled {
			reason = fmt.Sprintf("the %s label %s is %q, not \"true\"", strings.ToLower(podOrTemplate(w)), cloud.AzureUseLabel, label)
		}
		r.addProblem(reason+": the Azure webhook only mutates labelled pods, so nothing is injected",
			fmt.Sprintf("set extraPodLabels (or services.<component>.extraPodLabels) to {%s: \"true\"}, or use the shortcut global.workloadIdentity.provider=azure with azure.clientId, which labels every pod", cloud.AzureUseLabel))
		return
	}
	if !w.admitted {
		return
	}

	var notInjected, staleClientID []string
	for _, c := range w.containersExcept(cloud.AzureSkipContainersAnnotation) {
		env := envOf(c)
		tokenFile, injected := env[cloud.EnvAzureTokenFile]
		if !injected {
			notInjected = append(notInjected, c.Name)
			continue
		}
		if hasClientID && clientID != "" && env[cloud.EnvAzureClientID] != clientID {
			staleClientID = append(staleClientID, c.Name)
		}
		checkToken(w, r, c, cloud.EnvAzureTokenFile, tokenFile, cloud.AzureAudience,
			"let the Azure webhook mount its token: remove your own "+cloud.EnvAzureTokenFile+" and token volume, then restart the pods: "+restart)
	}
	if len(notInjected) > 0 {
		r.addProblem(fmt.Sprintf("the Azure webhook did not mutate the pod: %s is missing in %s, though the pod is labelled", cloud.EnvAzureTokenFile, containerList(notInjected)),
			fmt.Sprintf("install the Azure Workload Identity webhook (AKS: az aks update --enable-oidc-issuer --enable-workload-identity), or, if the pod predates its label or the account's annotation, restart it: %s", restart))
	}
	if len(staleClientID) > 0 {
		r.addProblem(fmt.Sprintf("%s in %s is not the account's %s %q: the pod predates the annotation", cloud.EnvAzureClientID, containerList(staleClientID), cloud.AzureClientIDAnnotation, clientID),
			"restart the pods so the webhook injects the current client ID: "+restart)
	}
}

func checkAWS(w *workload, r *PodReport) {
	roleARN, hasRoleARN := w.accountAnnotation(cloud.AWSRoleARNAnnotation)
	if hasRoleARN {
		r.AccountAnnotation = cloud.AWSRoleARNAnnotation + "=" + roleARN
	}
	restart := w.restartCommand()
	switch {
	case w.account == nil:
	case !hasRoleARN || roleARN == "":
		r.addProblem(fmt.Sprintf("ServiceAccount %q has no %s annotation: the EKS webhook injects nothing and no IAM role is assumed", w.accountName, cloud.AWSRoleARNAnnotation),
			fmt.Sprintf("set serviceAccount.annotations.%q or global.workloadIdentity.aws.roleArn (arn:aws:iam::<account>:role/<name>), then restart the pods: %s", cloud.AWSRoleARNAnnotation, restart))
		return
	case !cloud.IsRoleARN(roleARN):
		r.addProblem(fmt.Sprintf("%s %q on ServiceAccount %q is not an IAM role ARN", cloud.AWSRoleARNAnnotation, roleARN, w.accountName),
			"set it to arn:aws:iam::<12-digit account>:role/<name> (aws iam get-role --role-name <name> --query Role.Arn)")
	}
	if !w.admitted {
		return
	}
	audience := cloud.AWSAudience
	if custom, ok := w.accountAnnotation(cloud.AWSAudienceAnnotation); ok && custom != "" {
		audience = custom
	}

	var notInjected, staleRoleARN []string
	for _, c := range w.containersExcept(cloud.AWSSkipContainersAnnotation) {
		env := envOf(c)
		tokenFile, hasTokenFile := env[cloud.EnvAWSTokenFile]
		if _, hasRole := env[cloud.EnvAWSRoleARN]; !hasRole || !hasTokenFile {
			notInjected = append(notInjected, c.Name)
			continue
		}
		if hasRoleARN && env[cloud.EnvAWSRoleARN] != roleARN {
			staleRoleARN = append(staleRoleARN, c.Name)
		}
		checkToken(w, r, c, cloud.EnvAWSTokenFile, tokenFile, audience,
			fmt.Sprintf("let the EKS webhook project the token (audience %s, or the account's %s), then restart the pods: %s", cloud.AWSAudience, cloud.AWSAudienceAnnotation, restart))
	}
	if len(notInjected) > 0 {
		r.addProblem(fmt.Sprintf("the EKS pod identity webhook did not mutate the pod: %s or %s is missing in %s", cloud.EnvAWSRoleARN, cloud.EnvAWSTokenFile, containerList(notInjected)),
			fmt.Sprintf("install the EKS pod identity webhook (built into EKS; elsewhere amazon-eks-pod-identity-webhook), or, if the pod predates the account's %s annotation, restart it: %s", cloud.AWSRoleARNAnnotation, restart))
	}
	if len(staleRoleARN) > 0 {
		r.addProblem(fmt.Sprintf("%s in %s is not the account's %s %q: the pod predates the annotation", cloud.EnvAWSRoleARN, containerList(staleRoleARN), cloud.AWSRoleARNAnnotation, roleARN),
			"restart the pods so the webhook injects the current role: "+restart)
	}
}

func checkGKE(w *workload, r *PodReport) {
	googleAccount, _ := w.accountAnnotation(cloud.GKEServiceAccountAnnotation)
	r.AccountAnnotation = cloud.GKEServiceAccountAnnotation + "=" + googleAccount
	project, ok := cloud.GoogleServiceAccountProject(googleAccount)
	if !ok {
		r.addProblem(fmt.Sprintf("%s %q on ServiceAccount %q is not a Google service account address", cloud.GKEServiceAccountAnnotation, googleAccount, w.accountName),
			"set global.workloadIdentity.gcp.serviceAccount (or the annotation) to <name>@<project>.iam.gserviceaccount.com")
		return
	}
	r.CloudPrincipal = fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", project, w.namespace, w.accountName)
	r.Notes = append(r.Notes,
		"nothing is injected into the pod: on GKE the metadata server serves "+googleAccount+" to pods on node pools with Workload Identity (GKE_METADATA)",
		fmt.Sprintf("grant it: gcloud iam service-accounts add-iam-policy-binding %s --role roles/iam.workloadIdentityUser --member %q (use the cluster's project if it differs)", googleAccount, r.CloudPrincipal))
}

func checkGCPFederation(w *workload, r *PodReport) {
	if googleAccount, ok := w.accountAnnotation(cloud.GKEServiceAccountAnnotation); ok {
		r.AccountAnnotation = cloud.GKEServiceAccountAnnotation + "=" + googleAccount
	}
	providerFix := "set global.workloadIdentity.gcp.workloadIdentityProvider to the provider's full name (" + cloud.PoolProviderForm + "): the chart then mounts the token and credential file and sets " + cloud.EnvGoogleCredentials + " in every container"
	var missing []string
	for _, c := range w.containers() {
		credentialFile, ok := envOf(c)[cloud.EnvGoogleCredentials]
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
		token := tokenAt(&w.spec, c.Container, config.CredentialSource.File)
		switch {
		case token == nil:
			r.addProblem(fmt.Sprintf("the credential file reads its token from %s, but container %s has no projected ServiceAccount token there", config.CredentialSource.File, c.Name), providerFix)
			continue
		case token.Audience != config.Audience:
			r.addProblem(fmt.Sprintf("the token at %s has audience %q but the credential file's audience is %q: Google STS rejects it", token.File, token.Audience, config.Audience), providerFix)
		case !cloud.IsPoolProvider(token.Audience):
			r.addProblem(fmt.Sprintf("the token audience %q is not a workload identity pool provider (%s)", token.Audience, cloud.PoolProviderForm), providerFix)
		}
		if r.Token == nil {
			r.Token = token
		}
	}
	if len(missing) > 0 {
		r.addProblem(fmt.Sprintf("%s is not set in %s", cloud.EnvGoogleCredentials, containerList(missing)), providerFix)
	}
	if r.Token != nil {
		if principal, err := cloud.PoolPrincipal(r.Token.Audience, r.Subject); err == nil {
			r.CloudPrincipal = principal
		}
	}
}

func checkNone(w *workload, r *PodReport) {
	if w.account == nil {
		return // the identity would be on the account: its fix names the annotations
	}
	r.addProblem(fmt.Sprintf("no workload identity configured: ServiceAccount %q has no %s annotation, and the %s has no identity label, env or token",
		w.accountName, identityAnnotationList, strings.ToLower(podOrTemplate(w))),
		"set global.workloadIdentity.provider (azure, aws or gcp) with its id (azure.clientId, aws.roleArn, gcp.serviceAccount), or add the cloud's annotation with serviceAccount.annotations (Azure also needs the pod label "+cloud.AzureUseLabel+": \"true\")")
}

// checkToken checks that the container's token file (named by envName) is a
// projected ServiceAccount token with the audience the cloud expects, and
// records the first token found.
func checkToken(w *workload, r *PodReport, c podspec.Container, envName, file, audience, fix string) {
	token := tokenAt(&w.spec, c.Container, file)
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
