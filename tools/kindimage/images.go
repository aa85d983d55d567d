package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/osmo-wi/charts/harness/versions"
)

// image is one image this program makes: the binaries it carries (each with
// the shared libraries it links), files taken from the node's Debian rootfs,
// and its config.
type image struct {
	name string
	// bins maps a binary to its path in the image: a name in the tools folder,
	// or an absolute path (a program this build made).
	bins map[string]string
	// fromRootfs are paths copied from the node rootfs with the libraries their programs link.
	fromRootfs []string
	// links are symlinks to make (path -> target).
	links map[string]string
	// dirs are more folders to make (mode 0755).
	dirs []string
	// The image config: entrypoint and cmd (none when nil), more environment
	// (PATH is always set) and the working folder.
	entrypoint []string
	cmd        []string
	env        []string
	workdir    string
}

const k8sRegistry = "registry.k8s.io/"

func pauseImage() string   { return k8sRegistry + "pause:" + string(versions.Pause) }
func busyboxImage() string { return versions.LocalRegistry + "busybox:" + string(versions.DebianSuite) }
func storageImage() string {
	return versions.LocalRegistry + "local-path-provisioner:" + string(versions.LocalPathProvisioner)
}

// EtcdImage is the etcd image the node carries: the pinned etcd, which the
// kind provider names in kubeadm's ClusterConfiguration (kubeadm's own
// default is another patch release).
func etcdImage() string {
	return k8sRegistry + "etcd:" + versions.KindEtcdImageTag()
}

// iptables is what kube-proxy runs: Debian's iptables (both back ends) and conntrack.
var iptables = []string{
	"usr/sbin/xtables-nft-multi", "usr/sbin/xtables-legacy-multi", "usr/sbin/conntrack",
	"usr/lib/x86_64-linux-gnu/xtables",
}

func (b *builder) imageList() []image {
	k := string(versions.Kubernetes)
	var list []image
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		list = append(list, image{name: k8sRegistry + c + ":" + k, bins: map[string]string{c: "usr/local/bin/" + c},
			entrypoint: []string{"/usr/local/bin/" + c}})
	}
	proxyLinks := map[string]string{}
	for _, tool := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		proxyLinks["usr/sbin/"+tool] = "xtables-nft-multi"
		proxyLinks["usr/sbin/"+strings.Replace(tool, "tables", "tables-legacy", 1)] = "xtables-legacy-multi"
		proxyLinks["usr/sbin/"+strings.Replace(tool, "tables", "tables-nft", 1)] = "xtables-nft-multi"
	}
	list = append(list,
		image{name: k8sRegistry + "kube-proxy:" + k, bins: map[string]string{"kube-proxy": "usr/local/bin/kube-proxy"},
			fromRootfs: iptables, links: proxyLinks, entrypoint: []string{"/usr/local/bin/kube-proxy"}},
		image{name: etcdImage(), bins: map[string]string{"etcd": "usr/local/bin/etcd", "etcdctl": "usr/local/bin/etcdctl"},
			entrypoint: []string{"/usr/local/bin/etcd"}},
		image{name: k8sRegistry + "coredns/coredns:" + string(versions.CoreDNS), bins: map[string]string{"coredns": "coredns"},
			entrypoint: []string{"/coredns"}},
		image{name: pauseImage(), bins: map[string]string{"pause": "pause"}, entrypoint: []string{"/pause"}},
		image{name: storageImage(), bins: map[string]string{"local-path-provisioner": "usr/bin/local-path-provisioner"},
			entrypoint: []string{"/usr/bin/local-path-provisioner"}},
		image{name: busyboxImage(), fromRootfs: []string{"usr/bin/busybox"}, links: b.busyboxLinks(),
			entrypoint: []string{"/bin/sh"}},
		// The identity webhooks, which harness/identitywebhook deploys into a kind cluster
		// with their projects' own manifests (webhooks.go): the programs where those run them.
		image{name: versions.AzureWebhookImage, bins: map[string]string{"azure-wi-webhook": "manager"},
			entrypoint: []string{"/manager"}},
		image{name: versions.EKSWebhookImage, bins: map[string]string{"amazon-eks-pod-identity-webhook": "webhook"},
			entrypoint: []string{"/webhook"}},
	)
	return list
}

// busyboxLinks links every applet the rootfs's busybox lists (sh, wget,
// httpd, id, ...) in /bin, as busybox --install would.
func (b *builder) busyboxLinks() map[string]string {
	out, err := exec.Command("chroot", b.rootfsDir, "/usr/bin/busybox", "--list").Output()
	links := map[string]string{}
	if err != nil {
		return links // makeImage then fails on the missing sh: the error names the image
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			links["bin/"+applet] = "/usr/bin/busybox"
		}
	}
	return links
}

// images makes every image with `docker import` and saves them into one archive.
func (b *builder) images(ctx context.Context) error {
	list := b.imageList()
	var names []string
	for _, img := range list {
		if err := b.makeImage(ctx, img); err != nil {
			return fmt.Errorf("%s: %w", img.name, err)
		}
		names = append(names, img.name)
	}
	b.imagesTar = filepath.Join(b.work, "images.tar")
	if err := b.docker(ctx, append([]string{"save", "-o", b.imagesTar}, names...)...); err != nil {
		return err
	}
	b.said = fmt.Sprintf("%d images: %s", len(names), strings.Join(names, " "))
	return nil
}

func (b *builder) makeImage(ctx context.Context, img image) error {
	dir, err := os.MkdirTemp(b.work, "image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := b.imageFiles(ctx, dir, img); err != nil {
		return err
	}
	return b.importImage(ctx, dir, img.name, img)
}

// imageFiles lays img's files into dir.
func (b *builder) imageFiles(ctx context.Context, dir string, img image) error {
	// The layer's root is the image's /: searchable by every UID (MkdirTemp made it 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	var programs []string
	for name, dst := range img.bins {
		src := name
		if !filepath.IsAbs(src) {
			src = filepath.Join(b.bin, name)
		}
		if err := copyFile(src, filepath.Join(dir, dst), 0o755); err != nil {
			return err
		}
		programs = append(programs, src)
	}
	if err := copyLibraries(ctx, "/", programs, dir); err != nil {
		return err
	}
	for _, p := range img.fromRootfs {
		if err := run(ctx, "cp", "-a", "--parents", p, dir, withDir(b.rootfsDir)); err != nil {
			return err
		}
		if err := copyRootfsLibraries(ctx, b.rootfsDir, p, dir); err != nil {
			return err
		}
	}
	for link, target := range img.links {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, link)), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			return err
		}
	}
	for _, d := range img.dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{"tmp", "etc", "var/run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	// /tmp world-writable and sticky, as it is everywhere (any UID a pod runs
	// as writes there); MkdirAll's mode passes the umask and no sticky bit.
	return os.Chmod(filepath.Join(dir, "tmp"), 0o777|fs.ModeSticky)
}

// importImage imports dir as the image name with img's config.
func (b *builder) importImage(ctx context.Context, dir, name string, img image) error {
	changes := []string{"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img.entrypoint != nil {
		entry, _ := jsonList(img.entrypoint)
		changes = append(changes, "ENTRYPOINT "+entry)
	}
	if img.cmd != nil {
		cmd, _ := jsonList(img.cmd)
		changes = append(changes, "CMD "+cmd)
	}
	for _, e := range img.env {
		changes = append(changes, "ENV "+e)
	}
	if img.workdir != "" {
		changes = append(changes, "WORKDIR "+img.workdir)
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	return b.dockerStdin(ctx, tarOf(dir), append(args, "-", name)...)
}

//go:embed manifests/*.yaml
var manifests embed.FS

// writeManifests puts kind's default CNI and storage manifests in the node,
// with the pinned image tags in place of the ":kind" the files spell.
func (b *builder) writeManifests() error {
	replace := strings.NewReplacer(
		versions.LocalRegistry+"local-path-provisioner:kind", storageImage(),
		versions.LocalRegistry+"busybox:kind", busyboxImage(),
	)
	for _, name := range []string{"default-cni.yaml", "default-storage.yaml"} {
		data, err := manifests.ReadFile("manifests/" + name)
		if err != nil {
			return err
		}
		dst := filepath.Join(b.rootfsDir, "kind/manifests", name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, []byte(replace.Replace(string(data))), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// nodeImage imports the rootfs as an image, runs it with containerd as its
// only process, imports the preloaded images into containerd's k8s.io
// namespace without unpacking them (as kind's node image build does: the
// node's /var is a volume at run time, where the kubelet's containerd unpacks
// them), and commits the result with kind's entrypoint.
func (b *builder) nodeImage(ctx context.Context) error {
	base := nodeImageName() + "-rootfs"
	if err := b.dockerStdin(ctx, tarOf(b.rootfsDir), "import", "-", base); err != nil {
		return err
	}
	defer func() { _ = b.docker(context.Background(), "rmi", base) }()
	name := fmt.Sprintf("kindimage-build-%d", os.Getpid())
	if err := b.docker(ctx, "run", "-d", "--privileged", "--name", name, "--entrypoint", "/usr/bin/containerd", base); err != nil {
		return err
	}
	defer func() { _ = b.docker(context.Background(), "rm", "-f", name) }()
	deadline := time.Now().Add(time.Minute)
	for b.docker(ctx, "exec", name, "ctr", "version") != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd in the build container did not answer within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := b.docker(ctx, "cp", b.imagesTar, name+":/images.tar"); err != nil {
		return err
	}
	if err := b.docker(ctx, "exec", name, "ctr", "--namespace=k8s.io", "images", "import",
		"--label=io.cri-containerd.pinned=pinned", "--all-platforms", "--no-unpack", "--digests", "/images.tar"); err != nil {
		return err
	}
	if err := b.docker(ctx, "exec", name, "rm", "/images.tar"); err != nil {
		return err
	}
	listed, err := b.dockerOutput(ctx, "exec", name, "ctr", "--namespace=k8s.io", "images", "list", "-q")
	if err != nil {
		return err
	}
	for _, img := range b.imageList() {
		if !strings.Contains(listed, img.name+"\n") {
			return fmt.Errorf("containerd lists no %s after the import:\n%s", img.name, listed)
		}
	}
	if err := b.docker(ctx, "stop", name); err != nil {
		return err
	}
	committed := nodeImageName() + "-committed"
	if err := b.docker(ctx, "commit",
		"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
		"--change", "ENV container=docker",
		name, committed); err != nil {
		return err
	}
	defer func() { _ = b.docker(context.Background(), "rmi", committed) }()
	// systemd halts on SIGRTMIN+3 (SIGTERM makes it re-execute itself). Docker
	// 20.10's commit cannot set a stop signal; its classic builder can, from
	// the local image, with no registry.
	empty, err := os.MkdirTemp(b.work, "context-")
	if err != nil {
		return err
	}
	dockerfile := "FROM " + committed + "\nSTOPSIGNAL SIGRTMIN+3\n"
	return run(ctx, "docker", "build", "-q", "-t", nodeImageName(), "-f", "-", empty,
		withEnv(append(b.engine.Env(), "DOCKER_BUILDKIT=0")), withStdin(strings.NewReader(dockerfile)))
}

// save writes the node image where tools/install.sh caches it.
func (b *builder) save(ctx context.Context) error {
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
	tar := filepath.Join(b.out, "kind-node-image.tar")
	if err := b.docker(ctx, "save", "-o", tar, nodeImageName()); err != nil {
		return err
	}
	info, err := os.Stat(tar)
	if err != nil {
		return err
	}
	// The image's ID beside it: the kind provider reloads the archive when
	// its engine holds another build under the same name.
	id, err := b.dockerOutput(ctx, "image", "inspect", "--format", "{{.Id}}", nodeImageName())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.out, "kind-node-image.id"), []byte(strings.TrimSpace(id)+"\n"), 0o644); err != nil {
		return err
	}
	b.said = fmt.Sprintf("%s: %s, %d MiB", nodeImageName(), tar, info.Size()>>20)
	return nil
}
