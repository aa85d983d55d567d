package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// KindFitRequests are the requests KindFit gives every container: enough
// for an idle stand-in, small enough for a few dozen releases on one node.
var KindFitRequests = map[string]any{"cpu": "5m", "memory": "16Mi"}

// KindFit is the values overlay that fits a chart's pods onto one kind node
// of a small machine, derived from the values.yaml in chartDir (this
// checkout's chart, or an earlier version's) so that it follows every
// component the chart has, and only keys its schema knows:
//   - every resources block that asks for something (requests or limits)
//     requests KindFitRequests instead: NVIDIA's defaults ask for about 2
//     CPUs and 3 GiB per chart, and a test installs dozens of releases on a
//     2-core node;
//   - every replicas and minReplicas (an HPA's floor) is 1: one node holds
//     every replica anyway, and NVIDIA's defaults start 3 routers, 3 API
//     servers and 3 loggers per release, each rolled one by one behind a
//     startup probe;
//   - every imagePullPolicy is IfNotPresent: the images are loaded into the
//     node (the OSMO stand-ins under the charts' names), and no registry
//     serves them, so `Always` could never start a pod;
//   - the gateway's login is off (gateway.oauth2Proxy and gateway.authz,
//     where the chart has them), as in the service's ci values: no image of the OAuth2 Proxy is
//     loaded, and no IdP answers inside the cluster.
//
// Lists (pod templates, policies) are left alone: an overlay would replace them.
func KindFit(chartDir string) (map[string]any, error) {
	path := filepath.Join(chartDir, "values.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	overlay := fit(values)
	if overlay == nil {
		overlay = map[string]any{}
	}
	gateway, _ := values["gateway"].(map[string]any)
	for _, part := range []string{"oauth2Proxy", "authz"} {
		if _, ok := gateway[part].(map[string]any); !ok {
			continue
		}
		fitted, _ := overlay["gateway"].(map[string]any)
		if fitted == nil {
			fitted = map[string]any{}
			overlay["gateway"] = fitted
		}
		p, _ := fitted[part].(map[string]any)
		if p == nil {
			p = map[string]any{}
			fitted[part] = p
		}
		p["enabled"] = false
	}
	return overlay, nil
}

// KindFitFile is KindFit written to a new values file in dir.
func KindFitFile(chartDir, dir string) (string, error) {
	overlay, err := KindFit(chartDir)
	if err != nil {
		return "", err
	}
	data, err := yaml.Marshal(overlay)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, filepath.Base(chartDir)+"-kind-fit-*.yaml")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	return f.Name(), errors.Join(err, f.Close())
}

// fit is the overlay for one values map; nil when nothing in it needs one.
func fit(values map[string]any) map[string]any {
	overlay := map[string]any{}
	for key, v := range values {
		switch v := v.(type) {
		case string:
			if key == "imagePullPolicy" {
				overlay[key] = "IfNotPresent"
			}
		case float64, int, int64:
			if key == "replicas" || key == "minReplicas" {
				overlay[key] = 1
			}
		case map[string]any:
			if key == "resources" && (v["requests"] != nil || v["limits"] != nil) {
				overlay[key] = map[string]any{"requests": KindFitRequests}
				continue
			}
			if sub := fit(v); sub != nil {
				overlay[key] = sub
			}
		}
	}
	if len(overlay) == 0 {
		return nil
	}
	return overlay
}
