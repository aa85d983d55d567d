package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// kwokStages are the stage files kwok needs (the standalone binary has none
// built in), in the order they are written into its config.
var kwokStages = []string{
	"node-initialize.yaml",
	"node-heartbeat-with-lease.yaml",
	"pod-ready.yaml",
	"pod-complete.yaml",
	"pod-delete.yaml",
}

// FakeNodeName is the one node a local cluster has.
const FakeNodeName = "kwok-node-0"

// writeKwokConfig concatenates the stages into one config file for kwok's
// --config, with pod-complete widened from Job pods to every pod that is not
// restarted, so `helm test` pods reach Succeeded.
func writeKwokConfig(stagesDir, path string) error {
	var docs [][]byte
	for _, name := range kwokStages {
		data, err := os.ReadFile(filepath.Join(stagesDir, name))
		if err != nil {
			return fmt.Errorf("kwok stage %s: %w (run `make tools`: it copies kwok's stages into .bin/kwok-stages)", name, err)
		}
		if name == "pod-complete.yaml" {
			if data, err = completeUnrestartedPods(data); err != nil {
				return err
			}
		}
		docs = append(docs, bytes.TrimSpace(data))
	}
	return os.WriteFile(path, append(bytes.Join(docs, []byte("\n---\n")), '\n'), 0o644)
}

// jobOwnerKey is the selector expression of kwok's stock pod-complete stage.
const jobOwnerKey = ".metadata.ownerReferences.[].kind"

// completeUnrestartedPods swaps the stage's "owned by a Job" expression for
// "restartPolicy is Never or OnFailure": Job pods still match, test pods too.
func completeUnrestartedPods(stage []byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(stage, &doc); err != nil {
		return nil, fmt.Errorf("kwok stage pod-complete: %w", err)
	}
	spec, _ := doc["spec"].(map[string]any)
	selector, _ := spec["selector"].(map[string]any)
	expressions, _ := selector["matchExpressions"].([]any)
	for i, e := range expressions {
		if expr, _ := e.(map[string]any); expr["key"] == jobOwnerKey {
			expressions[i] = map[string]any{
				"key":      ".spec.restartPolicy",
				"operator": "In",
				"values":   []any{"Never", "OnFailure"},
			}
			return yaml.Marshal(doc)
		}
	}
	return nil, fmt.Errorf("kwok stage pod-complete: no selector expression on %q to replace; the stage file changed, update completeUnrestartedPods", jobOwnerKey)
}

// CreateFakeNode registers an untainted node that kwok (started with
// --manage-all-nodes) brings to Ready. Nothing really runs on it, so its
// capacity is sized for many parallel test releases (hundreds of pods that
// request real-looking CPU and memory), not for a machine.
func CreateFakeNode(ctx context.Context, client kubernetes.Interface, name string) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("1000"),
		corev1.ResourceMemory:           resource.MustParse("4Ti"),
		corev1.ResourcePods:             resource.MustParse("2000"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	_, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
