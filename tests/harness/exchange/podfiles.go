package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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
	volume, rel, err := f.volumeFor(inPod)
	if err != nil {
		return "", nil, err
	}
	content, projection, err := f.read(ctx, volume, rel, inPod)
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

// volumeFor finds the volume mounted where inPod lives (the deepest mount)
// and the path inside that volume.
func (f *podFiles) volumeFor(inPod string) (*corev1.Volume, string, error) {
	inPod = path.Clean(inPod)
	var mount *corev1.VolumeMount
	for i, m := range f.container.VolumeMounts {
		dir := path.Clean(m.MountPath)
		if strings.HasPrefix(inPod, dir+"/") && (mount == nil || len(dir) > len(path.Clean(mount.MountPath))) {
			mount = &f.container.VolumeMounts[i]
		}
	}
	if mount == nil {
		return nil, "", fmt.Errorf("pod %s/%s container %s: no volume is mounted where %s lives: the file the env names would not exist in the pod",
			f.pod.Namespace, f.pod.Name, f.container.Name, inPod)
	}
	rel := strings.TrimPrefix(inPod, path.Clean(mount.MountPath)+"/")
	if mount.SubPath != "" {
		rel = path.Join(mount.SubPath, rel)
	}
	for i := range f.pod.Spec.Volumes {
		if f.pod.Spec.Volumes[i].Name == mount.Name {
			return &f.pod.Spec.Volumes[i], rel, nil
		}
	}
	return nil, "", fmt.Errorf("pod %s/%s: container %s mounts volume %q, which the pod does not define", f.pod.Namespace, f.pod.Name, f.container.Name, mount.Name)
}

// read returns the content the kubelet would put at rel inside volume.
func (f *podFiles) read(ctx context.Context, volume *corev1.Volume, rel, inPod string) ([]byte, *tokenProjection, error) {
	switch {
	case volume.Projected != nil:
		for _, source := range volume.Projected.Sources {
			switch {
			case source.ServiceAccountToken != nil && path.Clean(source.ServiceAccountToken.Path) == rel:
				return f.projectToken(ctx, source.ServiceAccountToken)
			case source.ConfigMap != nil:
				if content, ok, err := f.configMapItem(ctx, source.ConfigMap.Name, source.ConfigMap.Items, rel); ok || err != nil {
					return content, nil, err
				}
			case source.Secret != nil:
				if content, ok, err := f.secretItem(ctx, source.Secret.Name, source.Secret.Items, rel); ok || err != nil {
					return content, nil, err
				}
			}
		}
	case volume.ConfigMap != nil:
		if content, ok, err := f.configMapItem(ctx, volume.ConfigMap.Name, volume.ConfigMap.Items, rel); ok || err != nil {
			return content, nil, err
		}
	case volume.Secret != nil:
		if content, ok, err := f.secretItem(ctx, volume.Secret.SecretName, volume.Secret.Items, rel); ok || err != nil {
			return content, nil, err
		}
	}
	return nil, nil, fmt.Errorf("pod %s/%s: volume %q (mounted for %s) has no projected token, ConfigMap or Secret item at %q: the file the env names would not exist in the pod",
		f.pod.Namespace, f.pod.Name, volume.Name, inPod, rel)
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
	account := serviceAccountOf(f.pod)
	response, err := f.kube.CoreV1().ServiceAccounts(f.pod.Namespace).CreateToken(ctx, account, request, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("TokenRequest for %s/%s bound to pod %s (audience %q): %w", f.pod.Namespace, account, f.pod.Name, source.Audience, err)
	}
	return []byte(response.Status.Token), projection, nil
}

func (f *podFiles) configMapItem(ctx context.Context, name string, items []corev1.KeyToPath, rel string) ([]byte, bool, error) {
	key, ok := itemKey(items, rel)
	if !ok {
		return nil, false, nil
	}
	cm, err := f.kube.CoreV1().ConfigMaps(f.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("pod %s/%s reads ConfigMap %s for %s: %w", f.pod.Namespace, f.pod.Name, name, rel, err)
	}
	if value, ok := cm.Data[key]; ok {
		return []byte(value), true, nil
	}
	if value, ok := cm.BinaryData[key]; ok {
		return value, true, nil
	}
	if len(items) == 0 {
		return nil, false, nil // no items: another source may hold rel
	}
	return nil, false, fmt.Errorf("pod %s/%s: ConfigMap %s has no key %q (for %s)", f.pod.Namespace, f.pod.Name, name, key, rel)
}

func (f *podFiles) secretItem(ctx context.Context, name string, items []corev1.KeyToPath, rel string) ([]byte, bool, error) {
	key, ok := itemKey(items, rel)
	if !ok {
		return nil, false, nil
	}
	secret, err := f.kube.CoreV1().Secrets(f.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("pod %s/%s reads Secret %s for %s: %w", f.pod.Namespace, f.pod.Name, name, rel, err)
	}
	if value, ok := secret.Data[key]; ok {
		return value, true, nil
	}
	if len(items) == 0 {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("pod %s/%s: Secret %s has no key %q (for %s)", f.pod.Namespace, f.pod.Name, name, key, rel)
}

// itemKey maps a path inside the volume to the key projected there: the
// item whose path it is, or (without items) the key of the same name.
func itemKey(items []corev1.KeyToPath, rel string) (string, bool) {
	if len(items) == 0 {
		return rel, !strings.Contains(rel, "/")
	}
	for _, item := range items {
		if path.Clean(item.Path) == rel {
			return item.Key, true
		}
	}
	return "", false
}

// claims are a token's claims as presented, not verified (the stand-in verifies).
type claims struct {
	Issuer   string
	Subject  string
	Audience []string
}

func peekClaims(token string) (claims, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return claims{}, fmt.Errorf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, err
	}
	var raw struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return claims{}, err
	}
	c := claims{Issuer: raw.Iss, Subject: raw.Sub}
	var one string
	if json.Unmarshal(raw.Aud, &one) == nil {
		c.Audience = []string{one}
	} else {
		_ = json.Unmarshal(raw.Aud, &c.Audience)
	}
	return c, nil
}
