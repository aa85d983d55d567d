package identitycheck

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/podspec"
)

// workload is what the rules read: a pod as the API server admitted it, or
// the pod template of a Deployment that has no pod.
type workload struct {
	kind            string // "Pod" or "Deployment"
	namespace, name string
	owner           string // controller to restart, "deployment/x"; "" for a bare pod
	labels          map[string]string
	annotations     map[string]string
	spec            corev1.PodSpec
	admitted        bool   // the webhooks have seen it (a pod); false for a template
	creationFailure string // why a Deployment's pods could not be created, from its ReplicaFailure condition

	accountName string
	account     *corev1.ServiceAccount // nil: the account does not exist
	configMaps  map[string]*corev1.ConfigMap
	issuer      string
}

// accountAnnotation is an annotation of the account (false when the account is missing).
func (w *workload) accountAnnotation(key string) (string, bool) {
	if w.account == nil {
		return "", false
	}
	value, ok := w.account.Annotations[key]
	return value, ok
}

// containers are the init containers, then the containers: both webhooks mutate both.
func (w *workload) containers() []podspec.Container { return podspec.Containers(&w.spec) }

// containersExcept are the containers not named in a comma-separated skip
// annotation of the pod (the webhooks' skip-containers).
func (w *workload) containersExcept(skipAnnotation string) []podspec.Container {
	skip := map[string]bool{}
	for _, name := range strings.Split(w.annotations[skipAnnotation], ",") {
		skip[strings.TrimSpace(name)] = true
	}
	var kept []podspec.Container
	for _, c := range w.containers() {
		if !skip[c.Name] {
			kept = append(kept, c)
		}
	}
	return kept
}

// restartCommand re-creates the pod so the webhooks see it again.
func (w *workload) restartCommand() string {
	if w.owner != "" && !strings.HasPrefix(w.owner, "replicaset/") && !strings.HasPrefix(w.owner, "job/") {
		return "kubectl rollout restart " + w.owner + " -n " + w.namespace
	}
	return "kubectl delete pod " + w.name + " -n " + w.namespace + " (and create it again)"
}

// envOf maps a container's env; a variable taken from elsewhere (valueFrom)
// maps to "<from …>".
func envOf(c podspec.Container) map[string]string {
	literal, elsewhere := podspec.Env(c.Container)
	for name, from := range elsewhere {
		literal[name] = "<from " + from + ">"
	}
	return literal
}

// program is the command line the container starts: its command and arguments as
// the pod spec gives them (empty when the image's own entrypoint runs).
func program(c podspec.Container) []string {
	return append(append([]string{}, c.Command...), c.Args...)
}

// tokenAt is the projected ServiceAccount token the container reads at file, if any.
func tokenAt(spec *corev1.PodSpec, c *corev1.Container, file string) *Token {
	f, err := podspec.Locate(spec, c, file)
	if err != nil || f.Token() == nil {
		return nil
	}
	projection := f.Token()
	token := &Token{Volume: f.Volume.Name, Audience: projection.Audience, MountPath: f.Mount.MountPath, File: file}
	if projection.ExpirationSeconds != nil {
		token.ExpirationSeconds = *projection.ExpirationSeconds
	}
	return token
}

// configMapItemAt is the ConfigMap (name and key) the container reads at file, if any.
func configMapItemAt(spec *corev1.PodSpec, c *corev1.Container, file string) (name, key string, ok bool) {
	f, err := podspec.Locate(spec, c, file)
	if err != nil {
		return "", "", false
	}
	for _, source := range f.Sources {
		if source.ConfigMap != "" {
			return source.ConfigMap, source.Key, true
		}
	}
	return "", "", false
}

// hasVolume reports whether the pod has a volume whose name starts with prefix.
func (w *workload) hasVolume(prefix string) bool {
	for _, v := range w.spec.Volumes {
		if strings.HasPrefix(v.Name, prefix) {
			return true
		}
	}
	return false
}

// hasTokenAudience reports whether any projected token's audience starts with prefix.
func (w *workload) hasTokenAudience(prefix string) bool {
	for _, token := range podspec.TokenProjections(&w.spec) {
		if strings.HasPrefix(token.Audience, prefix) {
			return true
		}
	}
	return false
}

// credentialConfiguration is the part of a Google external_account file the check reads.
type credentialConfiguration struct {
	Type             string `json:"type"`
	Audience         string `json:"audience"`
	CredentialSource struct {
		File string `json:"file"`
	} `json:"credential_source"`
}

// readCredentialConfiguration reads the external_account file the container
// finds at file, from the ConfigMap mounted there; problem says what is wrong.
func readCredentialConfiguration(w *workload, c podspec.Container, file string) (config credentialConfiguration, problem string) {
	name, key, ok := configMapItemAt(&w.spec, c.Container, file)
	if !ok {
		return config, fmt.Sprintf("container %s: %s=%s but no mounted ConfigMap provides that file", c.Name, cloud.EnvGoogleCredentials, file)
	}
	cm, known := w.configMaps[name]
	if !known || cm == nil {
		return config, fmt.Sprintf("ConfigMap %q, which holds the credential file %s, does not exist", name, file)
	}
	text, ok := cm.Data[key]
	if !ok {
		return config, fmt.Sprintf("ConfigMap %q has no key %q (the credential file %s)", name, key, file)
	}
	if err := json.Unmarshal([]byte(text), &config); err != nil {
		return config, fmt.Sprintf("ConfigMap %q key %q is not JSON: %v", name, key, err)
	}
	if config.Type != "external_account" {
		return config, fmt.Sprintf("the credential file %s has type %q, not external_account", file, config.Type)
	}
	return config, ""
}
