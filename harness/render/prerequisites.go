package render

import (
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Prerequisite is a Secret or ConfigMap a release's pods need and the release
// does not create: an operator creates it before installing (the deploy
// guide's db-secret and mek-config, the backend operator's login Secret).
// Keys are those the pods name (a volume without items, or envFrom, names
// none); optional references are left out: the kubelet starts without them.
type Prerequisite struct {
	Kind string // "Secret" or "ConfigMap"
	Name string
	Keys []string
}

// Prerequisites lists what the rendered releases' pods (workloads and hooks)
// need from outside them, by kind and name: for releases sharing a namespace,
// what none of them creates.
func Prerequisites(renders ...*Result) []Prerequisite {
	created := map[string]bool{}
	for _, r := range renders {
		for _, s := range Objects[*corev1.Secret](r) {
			created["Secret/"+s.Name] = true
		}
		for _, cm := range Objects[*corev1.ConfigMap](r) {
			created["ConfigMap/"+cm.Name] = true
		}
	}
	needs := map[string]*Prerequisite{}
	need := func(kind, name string, optional *bool, keys ...string) {
		if name == "" || (optional != nil && *optional) || created[kind+"/"+name] {
			return
		}
		p := needs[kind+"/"+name]
		if p == nil {
			p = &Prerequisite{Kind: kind, Name: name}
			needs[kind+"/"+name] = p
		}
		for _, k := range keys {
			if !slices.Contains(p.Keys, k) {
				p.Keys = append(p.Keys, k)
			}
		}
	}
	var specs []*corev1.PodSpec
	for _, r := range renders {
		specs = append(specs, podSpecs(r)...)
	}
	for _, spec := range specs {
		for _, v := range spec.Volumes {
			if s := v.Secret; s != nil {
				need("Secret", s.SecretName, s.Optional, itemKeys(s.Items)...)
			}
			if cm := v.ConfigMap; cm != nil {
				need("ConfigMap", cm.Name, cm.Optional, itemKeys(cm.Items)...)
			}
			if v.Projected == nil {
				continue
			}
			for _, source := range v.Projected.Sources {
				if s := source.Secret; s != nil {
					need("Secret", s.Name, s.Optional, itemKeys(s.Items)...)
				}
				if cm := source.ConfigMap; cm != nil {
					need("ConfigMap", cm.Name, cm.Optional, itemKeys(cm.Items)...)
				}
			}
		}
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			for _, from := range c.EnvFrom {
				if s := from.SecretRef; s != nil {
					need("Secret", s.Name, s.Optional)
				}
				if cm := from.ConfigMapRef; cm != nil {
					need("ConfigMap", cm.Name, cm.Optional)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if s := e.ValueFrom.SecretKeyRef; s != nil {
					need("Secret", s.Name, s.Optional, s.Key)
				}
				if cm := e.ValueFrom.ConfigMapKeyRef; cm != nil {
					need("ConfigMap", cm.Name, cm.Optional, cm.Key)
				}
			}
		}
	}
	out := make([]Prerequisite, 0, len(needs))
	for _, p := range needs {
		sort.Strings(p.Keys)
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+"/"+out[i].Name < out[j].Kind+"/"+out[j].Name })
	return out
}

// Placeholder is the object with a placeholder for every key: a YAML file
// (a `.yaml` key, which OSMO's programs may read as --config) is an empty
// mapping, anything else a line of text.
func (p Prerequisite) Placeholder(namespace string) metav1.Object {
	data := map[string]string{}
	for _, k := range p.Keys {
		data[k] = "placeholder-" + k + "\n"
		if strings.HasSuffix(k, ".yaml") || strings.HasSuffix(k, ".yml") {
			data[k] = "{}\n"
		}
	}
	meta := metav1.ObjectMeta{Name: p.Name, Namespace: namespace, Labels: map[string]string{"osmo-charts.test/placeholder": "true"}}
	if p.Kind == "Secret" {
		return &corev1.Secret{ObjectMeta: meta, StringData: data}
	}
	return &corev1.ConfigMap{ObjectMeta: meta, Data: data}
}

func itemKeys(items []corev1.KeyToPath) []string {
	var keys []string
	for _, item := range items {
		keys = append(keys, item.Key)
	}
	return keys
}

// podSpecs are the pod specs of every workload and hook pod in the render.
func podSpecs(r *Result) []*corev1.PodSpec {
	var specs []*corev1.PodSpec
	for _, d := range Objects[*appsv1.Deployment](r) {
		specs = append(specs, &d.Spec.Template.Spec)
	}
	for _, s := range Objects[*appsv1.StatefulSet](r) {
		specs = append(specs, &s.Spec.Template.Spec)
	}
	for _, d := range Objects[*appsv1.DaemonSet](r) {
		specs = append(specs, &d.Spec.Template.Spec)
	}
	for _, j := range Objects[*batchv1.Job](r) {
		specs = append(specs, &j.Spec.Template.Spec)
	}
	for _, j := range Objects[*batchv1.CronJob](r) {
		specs = append(specs, &j.Spec.JobTemplate.Spec.Template.Spec)
	}
	for _, p := range Objects[*corev1.Pod](r) {
		specs = append(specs, &p.Spec)
	}
	return specs
}

// Images are the images of every workload and hook pod in the render, sorted,
// each once.
func Images(r *Result) []string {
	var images []string
	for _, spec := range podSpecs(r) {
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			if !slices.Contains(images, c.Image) {
				images = append(images, c.Image)
			}
		}
	}
	sort.Strings(images)
	return images
}
