package exchange

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/osmo-wi/charts/harness/podspec"
)

// defaultTokenExpiration is what the API server defaults a projected token's
// expirationSeconds to.
const defaultTokenExpiration = time.Hour

// podFiles writes, under root, the files a container would see at the paths
// it reads (in-pod /a/b is root/a/b), from the sources the kubelet uses:
// a TokenRequest for projected tokens, the API for ConfigMaps and Secrets.
type podFiles struct {
	kube      kubernetes.Interface
	pod       *corev1.Pod
	container *corev1.Container
	root      string
	token     string // presented instead of a TokenRequest when set
}

// tokenProjection is a projected ServiceAccount token source.
type tokenProjection struct {
	audience   string
	expiration time.Duration
}

// hostPath is where an in-pod path is written.
func (f *podFiles) hostPath(inPod string) string {
	return filepath.Join(f.root, filepath.FromSlash(path.Clean("/"+inPod)))
}

// materialize writes the file the container sees at inPod and returns its
// host path, and the token projection when the file is a projected token.
func (f *podFiles) materialize(ctx context.Context, inPod string) (string, *tokenProjection, error) {
	content, projection, err := f.read(ctx, inPod)
	if err != nil {
		return "", nil, err
	}
	host := f.hostPath(inPod)
	if err := os.MkdirAll(filepath.Dir(host), 0o700); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(host, content, 0o600); err != nil {
		return "", nil, err
	}
	return host, projection, nil
}

// read returns the content the kubelet would put at inPod: the first source
// of the volume mounted there that holds it.
func (f *podFiles) read(ctx context.Context, inPod string) ([]byte, *tokenProjection, error) {
	file, err := podspec.Locate(&f.pod.Spec, f.container, inPod)
	if err != nil {
		return nil, nil, fmt.Errorf("pod %s/%s: %w: the file the env names would not exist in the pod", f.pod.Namespace, f.pod.Name, err)
	}
	for _, source := range file.Sources {
		var content []byte
		var found bool
		switch {
		case source.Token != nil:
			return f.projectToken(ctx, source.Token)
		case source.ConfigMap != "":
			content, found, err = f.configMapKey(ctx, source.ConfigMap, source.Key)
		case source.Secret != "":
			content, found, err = f.secretKey(ctx, source.Secret, source.Key)
		}
		switch {
		case err != nil:
			return nil, nil, err
		case found:
			return content, nil, nil
		case !source.IfPresent:
			return nil, nil, fmt.Errorf("pod %s/%s: %s%s has no key %q (for %s)", f.pod.Namespace, f.pod.Name, sourceKind(source), source.ConfigMap+source.Secret, source.Key, inPod)
		}
	}
	return nil, nil, fmt.Errorf("pod %s/%s: volume %q (mounted for %s) holds nothing at %q: the file the env names would not exist in the pod",
		f.pod.Namespace, f.pod.Name, file.Volume.Name, inPod, file.InVolume)
}

func sourceKind(source podspec.Source) string {
	if source.Secret != "" {
		return "Secret "
	}
	return "ConfigMap "
}

// projectToken is the kubelet's projection: a TokenRequest for the pod's
// account with the source's audience and expiration, bound to the pod.
func (f *podFiles) projectToken(ctx context.Context, source *corev1.ServiceAccountTokenProjection) ([]byte, *tokenProjection, error) {
	projection := &tokenProjection{audience: source.Audience, expiration: defaultTokenExpiration}
	if source.ExpirationSeconds != nil {
		projection.expiration = time.Duration(*source.ExpirationSeconds) * time.Second
	}
	if f.token != "" {
		return []byte(f.token), projection, nil
	}
	if f.pod.UID == "" {
		return nil, nil, fmt.Errorf("pod %s/%s has no uid: pass the pod as the API server returned it (a token is bound to a live pod)", f.pod.Namespace, f.pod.Name)
	}
	seconds := int64(projection.expiration / time.Second)
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: f.pod.Name, UID: f.pod.UID},
	}}
	if source.Audience != "" { // empty: the API server's own audiences, as the kubelet asks
		request.Spec.Audiences = []string{source.Audience}
	}
	account := podspec.ServiceAccount(&f.pod.Spec)
	response, err := f.kube.CoreV1().ServiceAccounts(f.pod.Namespace).CreateToken(ctx, account, request, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("TokenRequest for %s/%s bound to pod %s (audience %q): %w", f.pod.Namespace, account, f.pod.Name, source.Audience, err)
	}
	return []byte(response.Status.Token), projection, nil
}

// configMapKey reads one key of a ConfigMap of the pod's namespace; found
// is false when the ConfigMap lacks it.
func (f *podFiles) configMapKey(ctx context.Context, name, key string) (content []byte, found bool, err error) {
	cm, err := f.kube.CoreV1().ConfigMaps(f.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("pod %s/%s reads ConfigMap %s: %w", f.pod.Namespace, f.pod.Name, name, err)
	}
	if value, ok := cm.Data[key]; ok {
		return []byte(value), true, nil
	}
	value, ok := cm.BinaryData[key]
	return value, ok, nil
}

// secretKey reads one key of a Secret of the pod's namespace; found is
// false when the Secret lacks it.
func (f *podFiles) secretKey(ctx context.Context, name, key string) (content []byte, found bool, err error) {
	secret, err := f.kube.CoreV1().Secrets(f.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("pod %s/%s reads Secret %s: %w", f.pod.Namespace, f.pod.Name, name, err)
	}
	value, ok := secret.Data[key]
	return value, ok, nil
}
