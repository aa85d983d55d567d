// Command chartschema writes each chart's values.schema.json from one set of
// definitions, so the four charts validate the shared values contract
// identically. Unknown keys and wrong types are rejected everywhere except
// under `global`, which stays open so a chart works as a subchart. No remote
// $ref: every definition is local.
//
//	go run ./tools/chartschema            write charts/*/values.schema.json
//	go run ./tools/chartschema -check     fail when a committed schema differs
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"
)

// object is a JSON Schema node.
type object = map[string]any

func main() {
	check := flag.Bool("check", false, "compare with the committed files instead of writing them")
	dir := flag.String("charts", "charts", "folder holding the charts")
	flag.Parse()

	stale := 0
	for _, chart := range []string{"service", "router", "backend-operator", "web-ui"} {
		path := filepath.Join(*dir, chart, "values.schema.json")
		components, err := Components(filepath.Join(*dir, chart, "values.yaml"))
		if err != nil {
			fail(err)
		}
		want, err := Marshal(Schema(chart, components))
		if err != nil {
			fail(err)
		}
		if *check {
			have, _ := os.ReadFile(path)
			if !bytes.Equal(have, want) {
				fmt.Fprintf(os.Stderr, "%s is stale: run `make generate`\n", path)
				stale++
			}
			continue
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			fail(err)
		}
	}
	if stale > 0 {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chartschema:", err)
	os.Exit(1)
}

// Marshal renders a schema as the committed file: two-space indent, sorted keys.
func Marshal(schema object) ([]byte, error) {
	out, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Components returns the keys of `services` that run as Deployments (those
// with an `image`), read from the chart's values file, as the templates do.
func Components(valuesFile string) ([]string, error) {
	data, err := os.ReadFile(valuesFile)
	if err != nil {
		return nil, err
	}
	var values struct {
		Services map[string]map[string]any `json:"services"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("%s: %w", valuesFile, err)
	}
	var keys []string
	for key, entry := range values.Services {
		if _, ok := entry["image"]; ok {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Schema returns the values schema of one chart running these components.
func Schema(chart string, components []string) object {
	services := strict(object{}, nil)
	props := services["properties"].(object)
	for _, key := range components {
		props[key] = ref("component")
	}
	if chart == "service" {
		props["configs"] = configs()
	}

	root := object{
		"global":                   globalSchema(),
		"common":                   object{"type": "object", "description": "Values of the common library chart (it has none)."},
		"nameOverride":             str(),
		"fullnameOverride":         str(),
		"serviceAccount":           serviceAccount(),
		"imagePullSecrets":         ref("pullSecrets"),
		"extraPodLabels":           ref("stringMap"),
		"podAnnotations":           ref("stringMap"),
		"podSecurityContext":       object{"type": "object"},
		"containerSecurityContext": object{"type": "object"},
		"revisionHistoryLimit":     object{"type": "integer", "minimum": 0},
		"tests": strict(object{
			"image": strict(object{"registry": str(), "repository": str(), "tag": scalar()}, nil),
		}, nil),
		"services": services,
	}
	if chart == "backend-operator" {
		root["workflowNamespace"] = str()
		root["rbac"] = strict(object{"create": boolean()}, nil)
		root["workflowServiceAccount"] = strict(object{
			"create":      boolean(),
			"name":        str(),
			"namespace":   str(),
			"annotations": ref("stringMap"),
			"labels":      ref("stringMap"),
		}, nil)
	}

	schema := strict(root, nil)
	schema["$schema"] = "http://json-schema.org/draft-07/schema#"
	schema["title"] = "Values of the OSMO " + chart + " chart"
	schema["definitions"] = definitions()
	return schema
}

func definitions() object {
	return object{
		// Label and annotation values: an unquoted `true` or number is accepted
		// and rendered as a string; maps and lists are not.
		"stringMap": object{
			"type":                 "object",
			"additionalProperties": object{"type": []string{"string", "boolean", "number"}},
		},
		"pullSecrets": object{
			"type": "array",
			"items": object{
				"description": `A secret name, as "name" or {name: name}.`,
				"oneOf": []any{
					str(),
					strict(object{"name": str()}, []string{"name"}),
				},
			},
		},
		"image": strict(object{
			"registry":   str(),
			"repository": object{"type": "string", "minLength": 1},
			"tag":        scalar(),
			"digest":     object{"type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$"},
			"pullPolicy": object{"type": "string", "enum": []string{"", "Always", "IfNotPresent", "Never"}},
		}, []string{"repository"}),
		"component": strict(object{
			"replicas":          object{"type": "integer", "minimum": 0},
			"image":             ref("image"),
			"port":              object{"type": "integer", "minimum": 0, "maximum": 65535},
			"extraArgs":         object{"type": "array", "items": str()},
			"extraEnv":          object{"type": "array", "items": object{"type": "object", "required": []string{"name"}, "properties": object{"name": object{"type": "string", "minLength": 1}}}},
			"resources":         object{"type": "object"},
			"nodeSelector":      object{"type": "object", "additionalProperties": str()},
			"tolerations":       object{"type": "array", "items": object{"type": "object"}},
			"affinity":          object{"type": "object"},
			"livenessProbe":     object{"type": "object"},
			"readinessProbe":    object{"type": "object"},
			"extraPodLabels":    ref("stringMap"),
			"podAnnotations":    ref("stringMap"),
			"extraVolumes":      object{"type": "array", "items": object{"type": "object", "required": []string{"name"}}},
			"extraVolumeMounts": object{"type": "array", "items": object{"type": "object", "required": []string{"name", "mountPath"}}},
		}, nil),
	}
}

// globalSchema types the keys the charts read, and allows any other key.
func globalSchema() object {
	open := func(props object) object { return object{"type": "object", "properties": props} }
	return open(object{
		"imagePullSecrets": ref("pullSecrets"),
		"imagePullSecret":  str(),
		"extraPodLabels":   ref("stringMap"),
		"podAnnotations":   ref("stringMap"),
		"image":            open(object{"registry": str(), "tag": scalar(), "pullPolicy": str()}),
		"workloadIdentity": open(object{
			"provider": str(),
			"azure":    open(object{"clientId": str(), "tenantId": str()}),
			"aws":      open(object{"roleArn": str()}),
			"gcp":      open(object{"serviceAccount": str(), "workloadIdentityProvider": str()}),
		}),
	})
}

func serviceAccount() object {
	return strict(object{
		"create":                       boolean(),
		"name":                         str(),
		"annotations":                  ref("stringMap"),
		"labels":                       ref("stringMap"),
		"automountServiceAccountToken": boolean(),
	}, nil)
}

// configs: pod templates are partial Pods, free-form under metadata and spec;
// pools name templates in common_pod_template.
func configs() object {
	template := strict(object{"metadata": object{"type": "object"}, "spec": object{"type": "object"}}, nil)
	pool := strict(object{
		"description":         str(),
		"backend":             str(),
		"default_platform":    str(),
		"platforms":           object{"type": "object"},
		"common_pod_template": object{"type": "array", "items": str()},
	}, nil)
	return strict(object{
		"podTemplates": object{"type": "object", "additionalProperties": template},
		"pools":        object{"type": "object", "additionalProperties": pool},
	}, nil)
}

// strict is an object with exactly these properties.
func strict(props object, required []string) object {
	o := object{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func ref(name string) object { return object{"$ref": "#/definitions/" + name} }
func str() object            { return object{"type": "string"} }
func boolean() object        { return object{"type": "boolean"} }

// scalar accepts a tag written unquoted (`tag: 6.4`).
func scalar() object { return object{"type": []string{"string", "number"}} }
