// Package podspec reads a pod spec as the kubelet would: the account the pod
// runs under, its containers and their env, and which volume item provides a
// file a container reads (a projected ServiceAccount token, a ConfigMap or
// Secret key). It reads the spec only; fetching ConfigMaps, Secrets or tokens
// is the caller's.
package podspec

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ServiceAccount is the account a pod runs under ("default" when unset).
func ServiceAccount(spec *corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}

// Container is one container of a pod, init or not.
type Container struct {
	*corev1.Container
	Init bool
}

// Containers are the init containers, then the containers: what the
// identity webhooks mutate, in the kubelet's start order.
func Containers(spec *corev1.PodSpec) []Container {
	all := make([]Container, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		all = append(all, Container{Container: &spec.InitContainers[i], Init: true})
	}
	for i := range spec.Containers {
		all = append(all, Container{Container: &spec.Containers[i]})
	}
	return all
}

// Env is a container's env as written in the spec: literal values, and for
// each variable taken from elsewhere (valueFrom), where from ("configmap
// name/key", "secret name/key", a field path), which only the kubelet resolves.
func Env(c *corev1.Container) (literal, elsewhere map[string]string) {
	literal, elsewhere = map[string]string{}, map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			elsewhere[e.Name] = valueSource(e.ValueFrom)
			continue
		}
		literal[e.Name] = e.Value
	}
	return literal, elsewhere
}

func valueSource(from *corev1.EnvVarSource) string {
	switch {
	case from.ConfigMapKeyRef != nil:
		return "configmap " + from.ConfigMapKeyRef.Name + "/" + from.ConfigMapKeyRef.Key
	case from.SecretKeyRef != nil:
		return "secret " + from.SecretKeyRef.Name + "/" + from.SecretKeyRef.Key
	case from.FieldRef != nil:
		return from.FieldRef.FieldPath
	case from.ResourceFieldRef != nil:
		return from.ResourceFieldRef.Resource
	}
	return "elsewhere"
}

// HasEnv reports whether any (init) container sets one of names.
func HasEnv(spec *corev1.PodSpec, names ...string) bool {
	for _, c := range Containers(spec) {
		for _, e := range c.Env {
			for _, name := range names {
				if e.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// TokenProjections are the pod's projected ServiceAccount tokens, every volume's.
func TokenProjections(spec *corev1.PodSpec) []*corev1.ServiceAccountTokenProjection {
	var tokens []*corev1.ServiceAccountTokenProjection
	for _, v := range spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, source := range v.Projected.Sources {
			if source.ServiceAccountToken != nil {
				tokens = append(tokens, source.ServiceAccountToken)
			}
		}
	}
	return tokens
}

// ConfigMaps are the ConfigMaps the pod's volumes hold, plain or projected.
func ConfigMaps(spec *corev1.PodSpec) []string {
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

// File is where a file a container reads comes from.
type File struct {
	Path     string              // in the container, cleaned
	Mount    *corev1.VolumeMount // the mount at the deepest folder above Path
	Volume   *corev1.Volume
	InVolume string // Path inside the volume (after the mount's subPath)
	// Sources are the volume's items that may be at InVolume, in the
	// volume's order: the first that exists is the file.
	Sources []Source
}

// Source is one volume item that may provide a file.
type Source struct {
	Token     *corev1.ServiceAccountTokenProjection // a projected ServiceAccount token
	ConfigMap string                                // or the ConfigMap's Key
	Secret    string                                // or the Secret's Key
	Key       string
	// IfPresent: the object is projected without items, so it provides the
	// file only if it has Key; the next source may hold it otherwise.
	IfPresent bool
}

// Token is the projected ServiceAccount token at the file, if it is one: the
// first token source, unless a source before it certainly holds the file.
func (f File) Token() *corev1.ServiceAccountTokenProjection {
	for _, s := range f.Sources {
		if s.Token != nil || !s.IfPresent {
			return s.Token
		}
	}
	return nil
}

// Locate finds what provides file in container c of the pod: the volume
// mounted at the deepest folder above it, and that volume's items at the
// file's path. The error says why the file would not exist in the pod.
func Locate(spec *corev1.PodSpec, c *corev1.Container, file string) (File, error) {
	f := File{Path: path.Clean(file)}
	for i, m := range c.VolumeMounts {
		dir := path.Clean(m.MountPath)
		if strings.HasPrefix(f.Path, dir+"/") && (f.Mount == nil || len(dir) > len(path.Clean(f.Mount.MountPath))) {
			f.Mount = &c.VolumeMounts[i]
		}
	}
	if f.Mount == nil {
		return f, fmt.Errorf("container %s: no volume is mounted where %s lives", c.Name, f.Path)
	}
	f.InVolume = strings.TrimPrefix(f.Path, path.Clean(f.Mount.MountPath)+"/")
	if f.Mount.SubPath != "" {
		f.InVolume = path.Join(f.Mount.SubPath, f.InVolume)
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == f.Mount.Name {
			f.Volume = &spec.Volumes[i]
		}
	}
	if f.Volume == nil {
		return f, fmt.Errorf("container %s mounts volume %q, which the pod does not define", c.Name, f.Mount.Name)
	}
	f.Sources = sourcesAt(f.Volume, f.InVolume)
	if len(f.Sources) == 0 {
		return f, fmt.Errorf("volume %q (mounted for %s) has no projected token, ConfigMap or Secret item at %q", f.Volume.Name, f.Path, f.InVolume)
	}
	return f, nil
}

// sourcesAt are the items of volume that may be at rel.
func sourcesAt(volume *corev1.Volume, rel string) []Source {
	var sources []Source
	add := func(source Source, items []corev1.KeyToPath) {
		if key, ifPresent, ok := itemKey(items, rel); ok {
			source.Key, source.IfPresent = key, ifPresent
			sources = append(sources, source)
		}
	}
	switch {
	case volume.Projected != nil:
		for _, s := range volume.Projected.Sources {
			switch {
			case s.ServiceAccountToken != nil && path.Clean(s.ServiceAccountToken.Path) == rel:
				sources = append(sources, Source{Token: s.ServiceAccountToken})
			case s.ConfigMap != nil:
				add(Source{ConfigMap: s.ConfigMap.Name}, s.ConfigMap.Items)
			case s.Secret != nil:
				add(Source{Secret: s.Secret.Name}, s.Secret.Items)
			}
		}
	case volume.ConfigMap != nil:
		add(Source{ConfigMap: volume.ConfigMap.Name}, volume.ConfigMap.Items)
	case volume.Secret != nil:
		add(Source{Secret: volume.Secret.SecretName}, volume.Secret.Items)
	}
	return sources
}

// itemKey maps a path inside the volume to the key projected there: the
// item whose path it is, or, without items, the key of the same name (which
// the object may lack).
func itemKey(items []corev1.KeyToPath, rel string) (key string, ifPresent, ok bool) {
	if len(items) == 0 {
		return rel, true, !strings.Contains(rel, "/")
	}
	for _, item := range items {
		if path.Clean(item.Path) == rel {
			return item.Key, false, true
		}
	}
	return "", false, false
}
