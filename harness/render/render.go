// Package render renders the charts in process exactly as `helm install` does
// (Helm's loader, chartutil.ToRenderValues with the schema enforced, and
// engine.Render), then decodes every manifest strictly into its k8s.io/api
// type: an unknown or duplicate field is an error, not a silently dropped key.
package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// KubeVersion is the Kubernetes version the harness clusters run, and the one
// renders assume (Helm's offline default would be v1.20).
var KubeVersion = string(versions.Kubernetes)

// Charts are the four application charts, in install order.
var Charts = project.Charts

// Release names the release a render is for.
type Release struct {
	Name      string
	Namespace string
	IsUpgrade bool
}

// Manifest is one rendered object.
type Manifest struct {
	Source string         // template that produced it, e.g. "router/templates/workloads.yaml"
	Text   string         // the YAML as rendered
	Object runtime.Object // the strictly decoded typed object
	Hook   bool           // a Helm hook (e.g. the `helm test` pod), not a release resource
}

// Result is a whole render: manifests in Helm's install order, hooks last, and NOTES.txt.
type Result struct {
	Manifests []Manifest
	Notes     string
}

// Chart loads charts/<name> with the library chart from charts/common, never a
// packaged copy left in charts/<name>/charts/ by `helm dependency build`, which
// could be stale. Every call returns a new chart: rendering mutates it.
func Chart(name string) (*chart.Chart, error) {
	files, err := chartFiles(name)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", name, err)
	}
	if name == "common" {
		return ch, nil
	}
	common, err := Chart("common")
	if err != nil {
		return nil, err
	}
	var deps []*chart.Chart
	for _, dep := range ch.Dependencies() {
		if dep.Name() != "common" {
			deps = append(deps, dep)
		}
	}
	ch.SetDependencies(append(deps, common)...)
	return ch, nil
}

// chartFiles reads a chart folder once and keeps its files in memory.
var (
	filesMu    sync.Mutex
	filesCache = map[string][]*loader.BufferedFile{}
)

func chartFiles(name string) ([]*loader.BufferedFile, error) {
	filesMu.Lock()
	defer filesMu.Unlock()
	if files, ok := filesCache[name]; ok {
		return files, nil
	}
	dir := project.Path("charts", name)
	var files []*loader.BufferedFile
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == "charts" { // packaged dependencies: the fresh library chart replaces them
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: filepath.ToSlash(rel), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read chart %s: %w", name, err)
	}
	filesCache[name] = files
	return files, nil
}

// Capabilities are those of the harness clusters.
func Capabilities() *chartutil.Capabilities {
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: KubeVersion, Major: versions.Kubernetes.Major(), Minor: versions.Kubernetes.Minor()}
	return caps
}

// Render renders a chart with user values as `helm install` (or upgrade) would.
func Render(ch *chart.Chart, values map[string]any, rel Release) (*Result, error) {
	if values == nil {
		values = map[string]any{}
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, values); err != nil {
		return nil, err
	}
	options := chartutil.ReleaseOptions{Name: rel.Name, Namespace: rel.Namespace, IsInstall: !rel.IsUpgrade, IsUpgrade: rel.IsUpgrade, Revision: 1}
	top, err := chartutil.ToRenderValues(ch, values, options, Capabilities())
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	return decode(ch.Name(), files)
}

// RenderFiles renders with values files merged in order, as `helm install -f a -f b`.
func RenderFiles(chartName string, rel Release, valueFiles ...string) (*Result, error) {
	values, err := ReadValues(valueFiles...)
	if err != nil {
		return nil, err
	}
	ch, err := Chart(chartName)
	if err != nil {
		return nil, err
	}
	return Render(ch, values, rel)
}

// ReadValues merges values files in order, later files winning, as Helm's -f does.
func ReadValues(files ...string) (map[string]any, error) {
	merged := map[string]any{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		merged = chartutil.MergeTables(values, merged)
	}
	return merged, nil
}

// decode splits the rendered files into manifests, decodes each once, strictly,
// and orders them as Helm installs them (kinds in InstallOrder, hooks last).
func decode(chartName string, files map[string]string) (*Result, error) {
	result := &Result{Notes: files[path.Join(chartName, "templates", "NOTES.txt")]}
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || path.Base(name)[0] == '_' {
			continue
		}
		for _, doc := range splitDocuments(files[name]) {
			if err := result.add(name, doc); err != nil {
				return nil, err
			}
		}
	}
	rank := map[string]int{}
	for i, kind := range releaseutil.InstallOrder {
		rank[kind] = i + 1
	}
	order := func(m Manifest) int {
		if m.Hook {
			return len(rank) + 2
		}
		if r, ok := rank[m.Object.GetObjectKind().GroupVersionKind().Kind]; ok {
			return r
		}
		return len(rank) + 1 // unknown kinds install last, as in Helm
	}
	sort.SliceStable(result.Manifests, func(i, j int) bool { return order(result.Manifests[i]) < order(result.Manifests[j]) })
	return result, nil
}

// splitDocuments cuts a rendered file into its YAML documents at "---" lines,
// dropping those with nothing but blank lines and comments. (Helm's
// regexp-based SplitManifests cost a tenth of the render time.)
func splitDocuments(text string) []string {
	var docs []string
	var current strings.Builder
	flush := func() {
		if doc := current.String(); hasContent(doc) {
			docs = append(docs, doc)
		}
		current.Reset()
	}
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, "---"); ok && (strings.TrimSpace(rest) == "" || rest[0] == ' ' || rest[0] == '#') {
			flush()
			continue
		}
		current.WriteString(line)
	}
	flush()
	return docs
}

func hasContent(doc string) bool {
	for line := range strings.Lines(doc) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return true
		}
	}
	return false
}

func (r *Result) add(source, text string) error {
	obj, err := decodeStrict([]byte(text))
	if err != nil {
		return fmt.Errorf("%s: strict decode: %w\n%s", source, err, text)
	}
	meta, err := apimeta.Accessor(obj)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	_, hook := meta.GetAnnotations()[release.HookAnnotation]
	r.Manifests = append(r.Manifests, Manifest{Source: source, Text: text, Object: obj, Hook: hook})
	return nil
}

// decodeStrict decodes one manifest into its client-go scheme type, refusing
// duplicate keys and fields the type does not have, matched case-sensitively
// as the API server does (it would drop or reject them). One YAML-to-JSON pass
// and one decode: apimachinery's strict serializer decodes twice and
// dominated render time.
func decodeStrict(manifest []byte) (runtime.Object, error) {
	data, err := yaml.YAMLToJSONStrict(manifest)
	if err != nil {
		return nil, err
	}
	var meta metav1.TypeMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, err
	}
	obj, err := scheme.Scheme.New(schema.FromAPIVersionAndKind(meta.APIVersion, meta.Kind))
	if err != nil {
		return nil, err
	}
	strictErrs, err := kjson.UnmarshalStrict(data, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strictErrs) > 0 {
		return nil, errors.Join(strictErrs...)
	}
	return obj, nil
}

// Objects returns the rendered objects of type T (e.g. *appsv1.Deployment), hooks included.
func Objects[T runtime.Object](r *Result) []T {
	var out []T
	for _, m := range r.Manifests {
		if obj, ok := m.Object.(T); ok {
			out = append(out, obj)
		}
	}
	return out
}

// Text is every manifest joined as a multi-document YAML stream.
func (r *Result) Text() string {
	var b strings.Builder
	for _, m := range r.Manifests {
		b.WriteString("---\n")
		b.WriteString(m.Text)
		b.WriteString("\n")
	}
	return b.String()
}

// ServiceAccountOf is the account a chart's pods run under for a release and
// values files: what the cluster tests expect the API server to use.
func ServiceAccountOf(chartName string, rel Release, valueFiles ...string) (string, error) {
	r, err := RenderFiles(chartName, rel, valueFiles...)
	if err != nil {
		return "", err
	}
	deployments := Objects[*appsv1.Deployment](r)
	if len(deployments) == 0 {
		return "", fmt.Errorf("chart %s renders no Deployment", chartName)
	}
	return deployments[0].Spec.Template.Spec.ServiceAccountName, nil
}
