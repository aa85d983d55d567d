package scenario

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/project"
)

// GitOpsRelease is one chart release declared in values-examples/gitops/: an
// Argo CD Application or a Flux HelmRelease, with the values it passes to Helm.
type GitOpsRelease struct {
	File    string         // the example file
	Kind    string         // Application or HelmRelease
	Chart   string         // chart folder name, from the source path
	Release string         // the Helm release name it produces
	Values  map[string]any // valuesObject (Argo CD) or spec.values (Flux)
}

// GitOps reads every release declared in values-examples/gitops/*.yaml.
func GitOps() ([]GitOpsRelease, error) {
	files, err := filepath.Glob(project.Path("values-examples", "gitops", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []GitOpsRelease
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			release, ok, err := parseGitOps(doc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if ok {
				release.File = file
				out = append(out, release)
			}
		}
	}
	return out, nil
}

// gitOpsObject holds the fields of both kinds that say which chart and values.
type gitOpsObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Source struct { // Argo CD Application
			Path string `json:"path"`
			Helm struct {
				ReleaseName  string         `json:"releaseName"`
				ValuesObject map[string]any `json:"valuesObject"`
			} `json:"helm"`
		} `json:"source"`
		Chart struct { // Flux HelmRelease
			Spec struct {
				Chart string `json:"chart"`
			} `json:"spec"`
		} `json:"chart"`
		Values map[string]any `json:"values"`
	} `json:"spec"`
}

func parseGitOps(doc []byte) (GitOpsRelease, bool, error) {
	var obj gitOpsObject
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		return GitOpsRelease{}, false, err
	}
	switch obj.Kind {
	case "Application":
		release := obj.Spec.Source.Helm.ReleaseName
		if release == "" {
			release = obj.Metadata.Name
		}
		return GitOpsRelease{Kind: obj.Kind, Chart: path.Base(obj.Spec.Source.Path), Release: release, Values: obj.Spec.Source.Helm.ValuesObject}, true, nil
	case "HelmRelease":
		return GitOpsRelease{Kind: obj.Kind, Chart: path.Base(obj.Spec.Chart.Spec.Chart), Release: obj.Metadata.Name, Values: obj.Spec.Values}, true, nil
	}
	return GitOpsRelease{}, false, nil
}
