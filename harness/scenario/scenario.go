// Package scenario lists the real-world scenarios under values-examples/: one
// folder per scenario, one values file per chart. Every test layer (render,
// lifecycle, identity, exchange) iterates the same list, so a new scenario
// file is rendered, installed and asserted everywhere.
package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/project"
)

// Scenario is one folder of values-examples/.
type Scenario struct {
	Name string
	Dir  string
}

// ValuesFile is the scenario's values file for a chart.
func (s Scenario) ValuesFile(chart string) string {
	return filepath.Join(s.Dir, chart+".yaml")
}

// All returns every scenario, sorted by name; each must hold a file for each chart.
func All(charts []string) ([]Scenario, error) {
	root := project.Path("values-examples")
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []Scenario
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "gitops" {
			continue
		}
		s := Scenario{Name: e.Name(), Dir: filepath.Join(root, e.Name())}
		for _, chart := range charts {
			if _, err := os.Stat(s.ValuesFile(chart)); err != nil {
				return nil, fmt.Errorf("scenario %s has no values file for chart %s: %w", s.Name, chart, err)
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one scenario by name.
func Get(name string, charts []string) (Scenario, error) {
	all, err := All(charts)
	if err != nil {
		return Scenario{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("no scenario %q under values-examples/", name)
}

// PreProvisionedAccount reads a values file and reports the account it expects
// to exist already (serviceAccount.create: false), with the annotations the
// file says it carries: what an operator creates before installing.
func PreProvisionedAccount(valuesFile string) (name string, annotations map[string]string, ok bool, err error) {
	data, err := os.ReadFile(valuesFile)
	if err != nil {
		return "", nil, false, err
	}
	var values struct {
		ServiceAccount struct {
			Create      *bool          `json:"create"`
			Name        string         `json:"name"`
			Annotations map[string]any `json:"annotations"`
		} `json:"serviceAccount"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return "", nil, false, fmt.Errorf("%s: %w", valuesFile, err)
	}
	sa := values.ServiceAccount
	if sa.Create == nil || *sa.Create || sa.Name == "" {
		return "", nil, false, nil
	}
	annotations = map[string]string{}
	for k, v := range sa.Annotations {
		annotations[k] = fmt.Sprint(v)
	}
	return sa.Name, annotations, true, nil
}

// InNamespace gives the `--set` assignments that keep a release's workflows in
// its own namespace: the backend-operator chart runs workflow pods, and renders
// its Roles and workflow account, in global.backendNamespace (NVIDIA's default
// "osmo-namespace", which an operator sets to the workflow namespace). Tests and
// the demo install every release into a namespace of its own, so the workflows
// go there too; the other charts ignore the key (global stays open).
func InNamespace(namespace string) []string {
	return []string{"global.backendNamespace=" + namespace}
}
