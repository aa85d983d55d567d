// Package versions owns the pinned Kubernetes and tool versions: versions.env
// (which tools/install.sh sources), embedded and exposed as typed values.
package versions

import (
	_ "embed"
	"fmt"
	"strings"
)

// Version is a pinned release as its project tags it, e.g. "v1.2.3".
type Version string

// Major is the version's first number ("1" for v1.2.3).
func (v Version) Major() string { return v.part(0) }

// Minor is the version's second number ("2" for v1.2.3).
func (v Version) Minor() string { return v.part(1) }

// WithoutV is the version without its leading "v" ("1.2.3"), as some flags take it.
func (v Version) WithoutV() string { return strings.TrimPrefix(string(v), "v") }

func (v Version) part(i int) string {
	parts := strings.Split(v.WithoutV(), ".")
	if i >= len(parts) {
		return ""
	}
	return parts[i]
}

//go:embed versions.env
var file string

// Pinned maps every key of versions.env to its version.
var Pinned = mustParse(file)

// The pinned versions, one per tool tools/install.sh builds.
var (
	Kubernetes            = pinned("KUBERNETES") // control plane, kubectl, renders, kind's node image
	Etcd                  = pinned("ETCD")
	Kwok                  = pinned("KWOK")
	Helm                  = pinned("HELM")  // helm v3, the tool "helm"
	Helm4                 = pinned("HELM4") // helm v4, the tool "helm4"
	HelmDocs              = pinned("HELM_DOCS")
	ChartTesting          = pinned("CHART_TESTING") // ct
	EKSPodIdentityWebhook = pinned("EKS_POD_IDENTITY_WEBHOOK")
	AzureWorkloadIdentity = pinned("AZURE_WORKLOAD_IDENTITY") // the Azure Workload Identity webhook
	OAuth2Proxy           = pinned("OAUTH2_PROXY")            // the gateway's oauth2-proxy (tests/gateway)
	Ratelimit             = pinned("RATELIMIT")               // envoyproxy/ratelimit's config loader (tools/ratelimit-config)

	// What the kind node image carries (tools/kindimage).
	CoreDNS              = pinned("COREDNS")
	Pause                = pinned("PAUSE")
	CNIPlugins           = pinned("CNI_PLUGINS")
	LocalPathProvisioner = pinned("LOCAL_PATH_PROVISIONER")
	CRITools             = pinned("CRI_TOOLS") // crictl
	DebianSuite          = pinned("DEBIAN_SUITE")
)

// KindNodeImage is the kind node image tools/kindimage builds for the pinned
// Kubernetes (`make kind-image`). Its registry is one nobody serves: the
// image is made on this machine, never pulled.
var KindNodeImage = LocalRegistry + "kind-node:" + string(Kubernetes)

// LocalRegistry names the images built on this machine (the kind node image,
// what it preloads, the OSMO stand-ins' build names): no registry serves it,
// so they are loaded, never pulled.
const LocalRegistry = "osmo-charts.local/"

// Images of the cloud identity webhooks, built of the pinned binaries into the
// kind node image, which the webhooks run from in a kind cluster.
var (
	AzureWebhookImage = LocalRegistry + "azure-wi-webhook:" + string(AzureWorkloadIdentity)
	EKSWebhookImage   = LocalRegistry + "amazon-eks-pod-identity-webhook:" + string(EKSPodIdentityWebhook)
)

// The webhooks' own deployment manifests, which `make kind-image` copies from
// their modules into .bin beside the node image.
const (
	AzureWebhookManifest = "azure-wi-webhook.yaml"
	EKSWebhookManifest   = "eks-pod-identity-webhook.yaml"
)

// KindEtcdImageTag is the tag of the etcd image the kind node image carries
// (registry.k8s.io/etcd, as kubeadm names it): the pinned etcd.
func KindEtcdImageTag() string { return Etcd.WithoutV() + "-0" }

// Parse reads versions.env's format: KEY=value lines, blank lines and # comments.
// Anything else is an error, so the shell and Go never read the file differently.
func Parse(text string) (map[string]Version, error) {
	pinned := map[string]Version{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || !isShellName(key) || value == "" || strings.ContainsAny(value, " \t'\"$`\\#") {
			return nil, fmt.Errorf("versions.env line %d: %q is not KEY=value (a shell variable name, an unquoted version)", i+1, line)
		}
		if _, seen := pinned[key]; seen {
			return nil, fmt.Errorf("versions.env line %d: %s is set twice", i+1, key)
		}
		pinned[key] = Version(value)
	}
	return pinned, nil
}

func isShellName(key string) bool {
	for i, r := range key {
		if !(r == '_' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return key != ""
}

func mustParse(text string) map[string]Version {
	pinned, err := Parse(text)
	if err != nil {
		panic("versions: " + err.Error())
	}
	return pinned
}

func pinned(key string) Version {
	v, ok := Pinned[key]
	if !ok {
		panic("versions: versions.env has no " + key)
	}
	return v
}
