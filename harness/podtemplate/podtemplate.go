// Package podtemplate builds a workflow pod the way the OSMO service does from
// the service chart's config.yaml: a pool names pod templates in
// common_pod_template; they are merged in order (maps recursively, list items
// with the same `name` merged, unnamed items appended, scalars replaced), and
// the runtime placeholders such as {{USER_CPU}} are filled in.
package podtemplate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Config is the part of the service chart's config.yaml that builds workflow pods,
// under the keys OSMO's loader reads (src/service/core/config/configmap_loader.py).
type Config struct {
	PodTemplates map[string]map[string]any `json:"pod_templates"`
	Pools        map[string]Pool           `json:"pools"`
}

// Pool is one pool of config.yaml.
type Pool struct {
	CommonPodTemplate []string `json:"common_pod_template"`
}

// ParseConfig reads config.yaml as the service chart renders it.
func ParseConfig(text string) (Config, error) {
	var c Config
	if err := yaml.Unmarshal([]byte(text), &c); err != nil {
		return Config{}, fmt.Errorf("config.yaml: %w", err)
	}
	return c, nil
}

// ForPool merges the pool's templates in order.
func (c Config) ForPool(pool string) (map[string]any, error) {
	p, ok := c.Pools[pool]
	if !ok {
		return nil, fmt.Errorf("pool %q is not defined (pools: %s)", pool, strings.Join(slices.Sorted(maps.Keys(c.Pools)), ", "))
	}
	merged := map[string]any{}
	for _, name := range p.CommonPodTemplate {
		template, ok := c.PodTemplates[name]
		if !ok {
			return nil, fmt.Errorf("pool %q: pod template %q is not defined", pool, name)
		}
		merged = Merge(merged, template)
	}
	return merged, nil
}

// SampleValues fill the runtime placeholders of OSMO's default templates the
// way the service does for a small workflow task.
var SampleValues = map[string]string{
	"USER_CONTAINER_NAME": "user", "USER_CPU": "500m", "USER_MEMORY": "512Mi", "USER_GPU": "0", "USER_STORAGE": "1Gi",
}

// WorkflowPod is the pod the service builds for a task in pool: the pool's
// templates merged in order, placeholders filled with values, strictly decoded.
func (c Config) WorkflowPod(pool string, values map[string]string) (*corev1.Pod, error) {
	merged, err := c.ForPool(pool)
	if err != nil {
		return nil, err
	}
	filled, err := Fill(merged, values)
	if err != nil {
		return nil, err
	}
	return Pod(filled)
}

// Merge returns base with overlay merged over it; neither input is modified.
func Merge(base, overlay map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(overlay))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overlay {
		out[k] = mergeValue(out[k], v)
	}
	return out
}

func mergeValue(base, overlay any) any {
	switch o := overlay.(type) {
	case map[string]any:
		if b, ok := base.(map[string]any); ok {
			return Merge(b, o)
		}
	case []any:
		if b, ok := base.([]any); ok {
			return mergeList(b, o)
		}
	}
	return overlay
}

// mergeList merges items that carry the same `name`, keeps base order, and
// appends overlay items that have no name or a new one.
func mergeList(base, overlay []any) []any {
	out := slices.Clone(base)
	for _, item := range overlay {
		name, named := itemName(item)
		index := -1
		if named {
			index = slices.IndexFunc(out, func(existing any) bool {
				other, ok := itemName(existing)
				return ok && other == name
			})
		}
		if index < 0 {
			out = append(out, item)
			continue
		}
		out[index] = mergeValue(out[index], item)
	}
	return out
}

func itemName(item any) (string, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		return "", false
	}
	name, ok := m["name"].(string)
	return name, ok
}

var placeholder = regexp.MustCompile(`\{\{([A-Z0-9_]+)\}\}`)

// Fill replaces every {{NAME}} placeholder in string values (and keys) with
// values[NAME]; a placeholder without a value is an error naming it.
func Fill(template map[string]any, values map[string]string) (map[string]any, error) {
	var missing []string
	filled := fill(template, values, &missing).(map[string]any)
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("no value for placeholder(s) %s", strings.Join(slices.Compact(missing), ", "))
	}
	return filled, nil
}

func fill(node any, values map[string]string, missing *[]string) any {
	switch n := node.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, v := range n {
			out[fillString(k, values, missing)] = fill(v, values, missing)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = fill(v, values, missing)
		}
		return out
	case string:
		return fillString(n, values, missing)
	}
	return node
}

func fillString(s string, values map[string]string, missing *[]string) string {
	return placeholder.ReplaceAllStringFunc(s, func(match string) string {
		name := match[2 : len(match)-2]
		value, ok := values[name]
		if !ok {
			*missing = append(*missing, match)
			return match
		}
		return value
	})
}

// Pod decodes a merged, filled template into a Pod, strictly: a field the API
// does not know is an error, as the API server would refuse it.
func Pod(template map[string]any) (*corev1.Pod, error) {
	data, err := yaml.Marshal(template)
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(data, pod); err != nil {
		return nil, fmt.Errorf("pod template: %w", err)
	}
	return pod, nil
}
