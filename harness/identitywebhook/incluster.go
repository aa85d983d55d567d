package identitywebhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/poll"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/testca"
	"github.com/osmo-wi/charts/harness/versions"
)

// InCluster runs both webhooks inside a cluster (kind), as their projects
// deploy them: the Azure project's deploy/azure-wi-webhook.yaml and the EKS
// project's deploy/ manifests, copied from their modules by `make kind-image`,
// applied with our images of the pinned binaries. What a cluster adds around
// them is done here as it is done there: the Azure webhook makes its own
// serving certificate and writes the caBundle of its registration (its cert
// rotation, on as in the manifest); for the EKS webhook, whose manifest asks
// cert-manager for a certificate, this issues one from a CA of its own and
// writes the caBundle, as cert-manager's CA injector would. Its flags gain
// what EKS configures (region, regional STS) and the grace period the local
// run uses. It returns once both Deployments are available and the Azure
// webhook answers admission.
//
// It is a cluster.KindOptions.AfterStart hook.
func InCluster(opts Options) func(ctx context.Context, k *cluster.Kind) error {
	opts = opts.withDefaults()
	return func(ctx context.Context, k *cluster.Kind) error { return deploy(ctx, k, opts) }
}

func deploy(ctx context.Context, c cluster.Cluster, opts Options) error {
	azure, err := readManifest(versions.AzureWebhookManifest)
	if err != nil {
		return err
	}
	if azure, err = patchAzure(azure, opts); err != nil {
		return fmt.Errorf("azure workload identity webhook manifest: %w", err)
	}
	eks, err := readManifest(versions.EKSWebhookManifest)
	if err != nil {
		return err
	}
	if eks, err = patchEKS(eks, opts); err != nil {
		return fmt.Errorf("eks pod identity webhook manifest: %w", err)
	}
	if err := apply(ctx, c, append(azure, eks...)); err != nil {
		return err
	}
	if err := restartOnceCertified(ctx, c); err != nil {
		return err
	}
	for _, d := range []struct{ namespace, name string }{
		{"azure-workload-identity-system", "azure-wi-webhook-controller-manager"}, {"default", "pod-identity-webhook"},
	} {
		if err := cluster.WaitDeploymentRolledOut(ctx, c.Client(), d.namespace, d.name, 3*time.Minute); err != nil {
			return err
		}
	}
	azureProbe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe", Namespace: "default", Labels: map[string]string{cloud.AzureUseLabel: "true"}}}
	if err := waitMutates(ctx, c, "Azure", azureProbe, cloud.EnvAzureTokenFile); err != nil {
		return err
	}
	// The EKS webhook injects for an account with a role: one for the probe.
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook-probe", Namespace: "default",
		Annotations: map[string]string{cloud.AWSRoleARNAnnotation: "arn:aws:iam::000000000000:role/probe"}}}
	if _, err := c.Client().CoreV1().ServiceAccounts("default").Create(ctx, account, metav1.CreateOptions{}); err != nil {
		return err
	}
	eksProbe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe", Namespace: "default"}, Spec: corev1.PodSpec{ServiceAccountName: account.Name}}
	return waitMutates(ctx, c, "EKS", eksProbe, cloud.EnvAWSRoleARN)
}

// readManifest decodes a multi-document manifest from .bin.
func readManifest(name string) ([]*unstructured.Unstructured, error) {
	path, err := project.Bin(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := decoder.Decode(&obj); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// patchAzure fills the manifest's ConfigMap (its ${AZURE_TENANT_ID} and
// ${AZURE_ENVIRONMENT} placeholders) and runs our image; with an authority
// host it points the webhook's cloud there as the local run does (an Azure
// Stack environment file, from a ConfigMap).
func patchAzure(objs []*unstructured.Unstructured, opts Options) ([]*unstructured.Unstructured, error) {
	var environment []byte
	if opts.AzureAuthorityHost != "" {
		var err error
		if environment, err = json.Marshal(map[string]string{"name": "AzureStackCloud", "activeDirectoryEndpoint": opts.AzureAuthorityHost}); err != nil {
			return nil, err
		}
	}
	const envDir = "/etc/azure-environment"
	for i, obj := range objs {
		switch obj.GetKind() {
		case "ConfigMap":
			cloud := "AzurePublicCloud"
			if environment != nil {
				cloud = "AzureStackCloud"
			}
			if err := unstructured.SetNestedStringMap(obj.Object, map[string]string{"AZURE_TENANT_ID": opts.AzureTenantID, "AZURE_ENVIRONMENT": cloud}, "data"); err != nil {
				return nil, err
			}
		case "Deployment":
			patched, err := patchDeployment(obj, versions.AzureWebhookImage, func(c *corev1.Container, spec *corev1.PodSpec) {
				if environment == nil {
					return
				}
				c.Env = append(c.Env, corev1.EnvVar{Name: "AZURE_ENVIRONMENT_FILEPATH", Value: envDir + "/environment.json"})
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "azure-environment", MountPath: envDir, ReadOnly: true})
				spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "azure-environment", VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "azure-wi-webhook-environment"}}}})
			})
			if err != nil {
				return nil, err
			}
			objs[i] = patched
		}
	}
	if environment != nil {
		cm, err := toUnstructured(&corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "azure-wi-webhook-environment", Namespace: "azure-workload-identity-system"},
			Data:       map[string]string{"environment.json": string(environment)},
		})
		if err != nil {
			return nil, err
		}
		objs = append(objs, cm)
	}
	return objs, nil
}

// patchEKS drops the manifest's cert-manager objects and does their work:
// a serving certificate for the webhook's Service in the Secret the
// Deployment mounts, and its CA in the registration's caBundle.
func patchEKS(objs []*unstructured.Unstructured, opts Options) ([]*unstructured.Unstructured, error) {
	ca, err := testca.New("pod-identity-webhook CA")
	if err != nil {
		return nil, err
	}
	const service, namespace = "pod-identity-webhook", "default"
	cert, err := ca.ServingCert(service, service+"."+namespace, service+"."+namespace+".svc", service+"."+namespace+".svc.cluster.local")
	if err != nil {
		return nil, err
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		if strings.HasPrefix(obj.GetAPIVersion(), "cert-manager.io/") {
			continue
		}
		switch obj.GetKind() {
		case "Deployment":
			patched, err := patchDeployment(obj, versions.EKSWebhookImage, func(c *corev1.Container, _ *corev1.PodSpec) {
				c.Command = append(c.Command, "--aws-default-region="+opts.AWSRegion, "--sts-regional-endpoint=true",
					"--service-account-lookup-grace-period=5s")
			})
			if err != nil {
				return nil, err
			}
			obj = patched
		case "MutatingWebhookConfiguration":
			var mwc admissionv1.MutatingWebhookConfiguration
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &mwc); err != nil {
				return nil, err
			}
			delete(mwc.Annotations, "cert-manager.io/inject-ca-from")
			for i := range mwc.Webhooks {
				mwc.Webhooks[i].ClientConfig.CABundle = ca.CertPEM()
			}
			if obj, err = toUnstructured(&mwc); err != nil {
				return nil, err
			}
		}
		out = append(out, obj)
	}
	secret, err := toUnstructured(&corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook-cert", Namespace: namespace},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		},
	})
	if err != nil {
		return nil, err
	}
	return append([]*unstructured.Unstructured{secret}, out...), nil
}

// patchDeployment runs a manifest's Deployment on our image (loaded into
// the node: IfNotPresent), then lets edit change its one container.
func patchDeployment(obj *unstructured.Unstructured, image string, edit func(*corev1.Container, *corev1.PodSpec)) (*unstructured.Unstructured, error) {
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d); err != nil {
		return nil, err
	}
	spec := &d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return nil, fmt.Errorf("deployment %s has %d containers, expected the webhook's one", d.Name, len(spec.Containers))
	}
	c := &spec.Containers[0]
	c.Image, c.ImagePullPolicy = image, corev1.PullIfNotPresent
	edit(c, spec)
	return toUnstructured(&d)
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// apply creates the objects in order, each through the resource discovery names for its kind.
func apply(ctx context.Context, c cluster.Cluster, objs []*unstructured.Unstructured) error {
	config := c.RESTConfig()
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client().Discovery()))
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		var resource dynamic.ResourceInterface = client.Resource(mapping.Resource)
		if ns := obj.GetNamespace(); ns != "" {
			resource = client.Resource(mapping.Resource).Namespace(ns)
		}
		if _, err := resource.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// restartOnceCertified waits for the Azure webhook's cert rotation to fill
// its Secret, then replaces its pods: they serve once the certificate shows
// in their Secret volume, which the kubelet refreshes only every minute or so,
// while a new pod mounts it as it is (about a minute sooner here).
func restartOnceCertified(ctx context.Context, c cluster.Cluster) error {
	const namespace, secret = "azure-workload-identity-system", "azure-wi-webhook-server-cert"
	err := poll.Until(ctx, "the Azure webhook to write its certificate", time.Second, 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := c.Client().CoreV1().Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(s.Data["ca.crt"]) > 0 && len(s.Data[corev1.TLSCertKey]) > 0, nil
	})
	if err != nil {
		return err
	}
	return c.Client().CoreV1().Pods(namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: "azure-workload-identity.io/system=true"})
}

// waitMutates waits until the API server gets an answer from a webhook: a
// server-side dry run of a pod comes back with the webhook's variable. The
// Azure registration fails pods while its webhook cannot answer; the EKS one
// lets them through without an identity.
func waitMutates(ctx context.Context, c cluster.Cluster, webhook string, probe *corev1.Pod, variable string) error {
	probe.Spec.Containers = []corev1.Container{{Name: "probe", Image: versions.AzureWebhookImage}} // a dry run starts nothing: any image
	return poll.Until(ctx, "the "+webhook+" webhook to mutate pods", time.Second, 3*time.Minute, func(ctx context.Context) (bool, error) {
		admitted, err := c.Client().CoreV1().Pods(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, poll.NotYet("dry run: %v", err)
		}
		for _, e := range admitted.Spec.Containers[0].Env {
			if e.Name == variable {
				return true, nil
			}
		}
		return false, poll.NotYet("the dry-run pod came back without %s", variable)
	})
}
