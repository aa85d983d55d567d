package identitycheck

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
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
func (w *workload) containers() []containerRef {
	refs := make([]containerRef, 0, len(w.spec.InitContainers)+len(w.spec.Containers))
	for i := range w.spec.InitContainers {
		refs = append(refs, containerRef{Container: &w.spec.InitContainers[i], init: true})
	}
	for i := range w.spec.Containers {
		refs = append(refs, containerRef{Container: &w.spec.Containers[i]})
	}
	return refs
}

// containersExcept are the containers not named in a comma-separated skip
// annotation of the pod (the webhooks' skip-containers).
func (w *workload) containersExcept(skipAnnotation string) []containerRef {
	skip := map[string]bool{}
	for _, name := range strings.Split(w.annotations[skipAnnotation], ",") {
		skip[strings.TrimSpace(name)] = true
	}
	var refs []containerRef
	for _, c := range w.containers() {
		if !skip[c.Name] {
			refs = append(refs, c)
		}
	}
	return refs
}

// restartCommand re-creates the pod so the webhooks see it again.
func (w *workload) restartCommand() string {
	if w.owner != "" && !strings.HasPrefix(w.owner, "replicaset/") && !strings.HasPrefix(w.owner, "job/") {
		return "kubectl rollout restart " + w.owner + " -n " + w.namespace
	}
	return "kubectl delete pod " + w.name + " -n " + w.namespace + " (and create it again)"
}

type containerRef struct {
	*corev1.Container
	init bool
}

// env maps the container's literal env; a variable taken from elsewhere
// (valueFrom) maps to "<from …>".
func (c containerRef) env() map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		value := e.Value
		if e.ValueFrom != nil {
			value = "<from " + valueSource(e.ValueFrom) + ">"
		}
		env[e.Name] = value
	}
	return env
}

func valueSource(from *corev1.EnvVarSource) string {
	switch {
	case from.ConfigMapKeyRef != nil:
		return "configmap " + from.ConfigMapKeyRef.Name + "/" + from.ConfigMapKeyRef.Key
	case from.SecretKeyRef != nil:
		return "secret " + from.SecretKeyRef.Name + "/" + from.SecretKeyRef.Key
	case from.FieldRef != nil:
		return from.FieldRef.FieldPath
	default:
		return "elsewhere"
	}
}

func anyContainerHasEnv(spec corev1.PodSpec, name string) bool {
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range containers {
			for _, e := range c.Env {
				if e.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// mountedFile finds the volume that provides file in the container: the
// volume mounted at the deepest folder above it, and file's path inside it.
func mountedFile(spec corev1.PodSpec, c *corev1.Container, file string) (*corev1.Volume, *corev1.VolumeMount, string) {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		dir := strings.TrimSuffix(m.MountPath, "/") + "/"
		if strings.HasPrefix(file, dir) && (best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = m
		}
	}
	if best == nil {
		return nil, nil, ""
	}
	rel := strings.TrimPrefix(file, strings.TrimSuffix(best.MountPath, "/")+"/")
	if best.SubPath != "" {
		rel = path.Join(best.SubPath, rel)
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == best.Name {
			return &spec.Volumes[i], best, rel
		}
	}
	return nil, best, rel
}

// tokenAt is the projected ServiceAccount token the container reads at file, if any.
func tokenAt(spec corev1.PodSpec, c *corev1.Container, file string) *Token {
	volume, mount, rel := mountedFile(spec, c, file)
	if volume == nil || volume.Projected == nil {
		return nil
	}
	for _, source := range volume.Projected.Sources {
		token := source.ServiceAccountToken
		if token == nil || path.Clean(token.Path) != path.Clean(rel) {
			continue
		}
		found := &Token{Volume: volume.Name, Audience: token.Audience, MountPath: mount.MountPath, File: file}
		if token.ExpirationSeconds != nil {
			found.ExpirationSeconds = *token.ExpirationSeconds
		}
		return found
	}
	return nil
}

// configMapItemAt is the ConfigMap (name and key) the container reads at file, if any.
func configMapItemAt(spec corev1.PodSpec, c *corev1.Container, file string) (name, key string, ok bool) {
	volume, _, rel := mountedFile(spec, c, file)
	if volume == nil {
		return "", "", false
	}
	var projections []*corev1.ConfigMapProjection
	if volume.ConfigMap != nil {
		projections = append(projections, &corev1.ConfigMapProjection{LocalObjectReference: volume.ConfigMap.LocalObjectReference, Items: volume.ConfigMap.Items})
	}
	if volume.Projected != nil {
		for _, source := range volume.Projected.Sources {
			if source.ConfigMap != nil {
				projections = append(projections, source.ConfigMap)
			}
		}
	}
	for _, projection := range projections {
		if len(projection.Items) == 0 && !strings.Contains(rel, "/") {
			return projection.Name, rel, true // every key, each as a file of its name
		}
		for _, item := range projection.Items {
			if path.Clean(item.Path) == path.Clean(rel) {
				return projection.Name, item.Key, true
			}
		}
	}
	return "", "", false
}

// referencedConfigMaps are the ConfigMaps a pod's volumes project.
func referencedConfigMaps(spec corev1.PodSpec) []string {
	var names []string
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			names = append(names, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, source := range v.Projected.Sources {
				if source.ConfigMap != nil {
					names = append(names, source.ConfigMap.Name)
				}
			}
		}
	}
	return names
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
	for _, v := range w.spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, source := range v.Projected.Sources {
			if source.ServiceAccountToken != nil && strings.HasPrefix(source.ServiceAccountToken.Audience, prefix) {
				return true
			}
		}
	}
	return false
}

// anyContainerHasEnv reports whether any container sets one of names.
func (w *workload) anyContainerHasEnv(names ...string) bool {
	for _, name := range names {
		if anyContainerHasEnv(w.spec, name) {
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
func readCredentialConfiguration(w *workload, c containerRef, file string) (config credentialConfiguration, problem string) {
	name, key, ok := configMapItemAt(w.spec, c.Container, file)
	if !ok {
		return config, fmt.Sprintf("container %s: %s=%s but no mounted ConfigMap provides that file", c.Name, envGoogleCredentials, file)
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

// program is the command line the container starts: its command and arguments as
// the pod spec gives them (empty when the image's own entrypoint runs).
func (c containerRef) program() []string {
	return append(append([]string{}, c.Command...), c.Args...)
}
