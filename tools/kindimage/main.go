// Command kindimage builds the kind node image for the pinned Kubernetes with
// no registry: a Debian rootfs from Debian's packages (debootstrap), kind's
// base image files from the sigs.k8s.io/kind module, the node programs
// tools/install.sh built from pinned Go modules (kubelet, kubeadm, kubectl,
// the CNI plugins, runc-capfilter), and every image the node runs preloaded
// into its containerd (control plane, etcd, kube-proxy, CoreDNS, pause, the
// CNI installer, the storage provisioner and its helper), each made from one
// of those binaries. It writes the image with `docker save` to OUT, which the
// kind provider loads into its engine, and beside it osmo-standin-images.tar:
// the images the charts run by default, under their own names, made of
// cmd/osmo-standin, Debian's busybox and the stand-in Envoy (standin.go), which
// no registry serves here.
//
//	go run ./tools/kindimage -bin .bin -out DIR   # as root; tools/install.sh kind-image runs it
//
// Every step prints one line with its time. It needs a Docker engine; with
// none answering it starts the project's own (harness/engine) and stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/osmo-wi/charts/harness/versions"
)

func main() {
	bin := flag.String("bin", ".bin", "the folder tools/install.sh links the built tools into")
	out := flag.String("out", "", "the folder to write kind-node-image.tar and osmo-standin-images.tar into")
	work := flag.String("work", "", "scratch folder (default: a temporary one, removed at the end)")
	flag.Parse()
	if *out == "" {
		fail(fmt.Errorf("-out is required"))
	}
	if os.Geteuid() != 0 {
		fail(fmt.Errorf("building the kind node image needs root (debootstrap, chroot and image files owned by root): run it as root"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := build(ctx, *bin, *out, *work); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kindimage:", err)
	os.Exit(1)
}

func build(ctx context.Context, bin, out, work string) (err error) {
	bin, err = filepath.Abs(bin)
	if err != nil {
		return err
	}
	if work != "" {
		if err := os.MkdirAll(work, 0o755); err != nil {
			return err
		}
	} else {
		if work, err = os.MkdirTemp("", "kindimage-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	b := &builder{bin: bin, work: work, out: out}
	steps := []struct {
		name string
		do   func(context.Context) error
	}{
		{"engine", b.startEngine},
		{"rootfs", b.rootfs},
		{"node files", b.nodeFiles},
		{"images", b.images},
		{"standin images", b.standinImages},
		{"webhook files", b.webhookManifests},
		{"node image", b.nodeImage},
		{"save", b.save},
	}
	defer func() { err = joinErr(err, b.stopEngine()) }()
	for _, s := range steps {
		start := time.Now()
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Printf("kind-image %-14s %5.1fs  %s\n", s.name, time.Since(start).Seconds(), b.said)
		b.said = ""
	}
	return nil
}

// nodeImage is the image this program makes (versions.KindNodeImage).
func nodeImageName() string { return versions.KindNodeImage }

func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	if b != nil {
		return fmt.Errorf("%w; %v", a, b)
	}
	return a
}
