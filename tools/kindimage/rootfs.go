package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/versions"
)

// nodePackages are the node's Debian packages: what kind's base image
// installs (systemd, the network and mount tools, the entrypoint's
// helpers), with Debian's containerd and runc in place of the ones kind
// builds from source. busybox (dynamic: static glibc cannot resolve names)
// gives the small images their shell and wget.
var nodePackages = []string{
	"systemd", "dbus", "conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux",
	"mount", "kmod", "libseccomp2", "pigz", "bash", "ca-certificates", "jq", "procps", "gawk",
	"socat", "e2fsprogs", "containerd", "runc", "busybox",
}

// rootfs makes b.rootfs: a debootstrap of Debian's suite with nodePackages,
// cached beside the other tools (its key is the suite and the package list).
func (b *builder) rootfs(ctx context.Context) error {
	suite := string(versions.DebianSuite)
	sum := sha256.Sum256([]byte(suite + " " + strings.Join(nodePackages, ",")))
	cache, err := project.ToolsCache()
	if err != nil {
		return err
	}
	cached := filepath.Join(cache, "debian-rootfs-"+suite+"-"+hex.EncodeToString(sum[:6]))
	b.rootfsDir = filepath.Join(b.work, "rootfs")
	if _, err := os.Stat(filepath.Join(cached, ".complete")); err != nil {
		if err := b.debootstrap(ctx, suite, cached); err != nil {
			return err
		}
		b.said = "debootstrap " + suite + " (" + fmt.Sprint(len(nodePackages)) + " packages), cached in " + cached
	} else {
		b.said = "cached " + cached
	}
	// cp copies into a folder that exists: start from none.
	if err := os.RemoveAll(b.rootfsDir); err != nil {
		return err
	}
	return run(ctx, "cp", "-a", filepath.Join(cached, "rootfs"), b.rootfsDir)
}

func (b *builder) debootstrap(ctx context.Context, suite, cached string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if err := aptInstall(ctx, "debootstrap"); err != nil {
			return err
		}
	}
	partial := cached + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return err
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return err
	}
	target := filepath.Join(partial, "rootfs")
	err := run(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(nodePackages, ","),
		suite, target, "http://deb.debian.org/debian")
	if err != nil {
		return fmt.Errorf("debootstrap %s: %w (its log: %s)", suite, err, filepath.Join(target, "debootstrap/debootstrap.log"))
	}
	// What kind's clean-install removes: package lists, docs, logs.
	for _, dir := range []string{"var/lib/apt/lists", "usr/share/doc", "usr/share/man", "var/log", "var/cache/apt"} {
		if err := clearDir(filepath.Join(target, dir)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(partial, ".complete"), nil, 0o644); err != nil {
		return err
	}
	return os.Rename(partial, cached)
}

// nodeFiles lays kind's base image files and the node programs into the
// rootfs, as kind's base Dockerfile does.
func (b *builder) nodeFiles(ctx context.Context) error {
	r := b.rootfsDir
	base, err := moduleDir(ctx, "sigs.k8s.io/kind")
	if err != nil {
		return err
	}
	if err := copyTree(filepath.Join(base, "images/base/files"), r, baseFileMode); err != nil {
		return err
	}
	// The base Dockerfile's clean-up: no units but the ones enabled below.
	for _, glob := range []string{
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
		"lib/systemd/system/multi-user.target.wants/*", "etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*", "lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*", "lib/systemd/system/basic.target.wants/*",
	} {
		matches, _ := filepath.Glob(filepath.Join(r, glob))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	if err := appendFile(filepath.Join(r, "etc/systemd/journald.conf"), "ReadKMsg=no\n"); err != nil {
		return err
	}
	links := map[string]string{
		"sbin/init":                "/usr/lib/systemd/systemd",
		"usr/local/bin/containerd": "/usr/bin/containerd", // kind's containerd.service starts this path
	}
	for link, target := range links {
		_ = os.Remove(filepath.Join(r, link))
		if err := os.Symlink(target, filepath.Join(r, link)); err != nil {
			return err
		}
	}
	for _, unit := range []string{"kubelet.service", "containerd.service", "undo-mount-hacks.service"} {
		if err := run(ctx, "chroot", r, "systemctl", "enable", unit); err != nil {
			return err
		}
	}
	if err := run(ctx, "chroot", r, "systemctl", "mask", "systemd-binfmt.service"); err != nil {
		return err
	}
	copies := map[string]string{
		"kubelet": "usr/bin/kubelet", "kubeadm": "usr/bin/kubeadm", "kubectl": "usr/bin/kubectl",
		// runc on PATH before Debian's /usr/sbin/runc: privileged pods work where
		// the machine's bounding set lacks a capability (cmd/runc-capfilter).
		"runc-capfilter": "usr/local/sbin/runc",
		"crictl":         "usr/local/bin/crictl", // kind's image loads and log export run it
		"cni-bridge":     "opt/cni/bin/bridge",
		"cni-host-local": "opt/cni/bin/host-local",
		"cni-loopback":   "opt/cni/bin/loopback",
		"cni-portmap":    "opt/cni/bin/portmap",
	}
	for name, dst := range copies {
		if err := copyFile(filepath.Join(b.bin, name), filepath.Join(r, dst), 0o755); err != nil {
			return err
		}
	}
	if err := b.containerdConfig(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r, "etc/kubernetes/manifests"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r, "kind/version"), []byte(string(versions.Kubernetes)), 0o644); err != nil {
		return err
	}
	return b.writeManifests()
}

// containerdConfig points the CRI's sandbox image at the pause image kubeadm
// names, and writes the base runtime spec kind's base image generates: ctr's
// default spec with kind's product-files hook and no rlimits.
func (b *builder) containerdConfig(ctx context.Context) error {
	path := filepath.Join(b.rootfsDir, "etc/containerd/config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const kindPause = `sandbox_image = "registry.k8s.io/pause:3.10"`
	if !strings.Contains(string(data), kindPause) {
		return fmt.Errorf("%s: no %s line to point at %s", path, kindPause, pauseImage())
	}
	data = []byte(strings.Replace(string(data), kindPause, `sandbox_image = "`+pauseImage()+`"`, 1))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	spec, err := output(ctx, "chroot", b.rootfsDir, "ctr", "oci", "spec")
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(spec, &doc); err != nil {
		return fmt.Errorf("ctr oci spec: %w", err)
	}
	if process, ok := doc["process"].(map[string]any); ok {
		delete(process, "rlimits")
	}
	hooks, _ := doc["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
	}
	create, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(create, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	doc["hooks"] = hooks
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.rootfsDir, "etc/containerd/cri-base.json"), out, 0o644)
}

// baseFileMode is the mode kind's base Dockerfile gives each file it copies.
func baseFileMode(rel string) fs.FileMode {
	if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
		return 0o755
	}
	return 0o644
}
