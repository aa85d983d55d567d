package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/osmo-wi/charts/harness/osmoprogram"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/standinimage"
	"github.com/osmo-wi/charts/harness/versions"
)

// standinImages makes the images a kind cluster here runs in place of the
// charts' own (harness/standinimage.List), under the exact references the
// charts render, and saves them into one `docker save` archive beside the node
// image, osmo-standin-images.tar:
//   - every OSMO image: cmd/osmo-standin, built here (static, -trimpath) from
//     the repository, linked in /usr/local/bin under every OSMO command name
//     (and /osmo/authz_sidecar, the authz image's entrypoint), with the OSMO
//     image's own config (osmoprogram.ImageConfigOf: web-ui's node server.js in
//     /app); one layer shared by all of them;
//   - busybox: Debian's busybox with its applets linked, the charts' helm test
//     image, with /bin/wget the stand-in's wget and /bin/sh Debian's dash (busyboxStandin);
//   - Envoy: the stand-in as /usr/local/bin/envoy, ENTRYPOINT ["envoy"].
//
// The images are made under build names and renamed in the archive, so an
// engine this program borrows never gets a stand-in tagged as a real image.
func (b *builder) standinImages(ctx context.Context) error {
	root, err := project.Root()
	if err != nil {
		return err
	}
	binary := filepath.Join(b.work, "osmo-standin")
	if err := run(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", binary, "./cmd/osmo-standin",
		withDir(root), withEnv([]string{"CGO_ENABLED=0"})); err != nil {
		return err
	}
	osmoDir, err := os.MkdirTemp(b.work, "standin-osmo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(osmoDir)
	if err := b.imageFiles(ctx, osmoDir, osmoStandin(binary)); err != nil {
		return err
	}
	list := standinimage.List()
	renames := map[string]string{}
	var built []string
	defer func() {
		if len(built) > 0 {
			_ = b.docker(context.Background(), append([]string{"rmi"}, built...)...)
		}
	}()
	for i, s := range list {
		name := fmt.Sprintf("%sstandin-build:%d-%d", versions.LocalRegistry, i, os.Getpid())
		var err error
		switch s.Kind {
		case standinimage.OSMO:
			cfg := osmoprogram.ImageConfigOf(s.OSMOImage)
			err = b.importImage(ctx, osmoDir, name, image{entrypoint: cfg.Entrypoint, cmd: cfg.Cmd, env: cfg.Env, workdir: cfg.WorkingDir})
		case standinimage.Busybox:
			err = b.makeImage(ctx, busyboxStandin(name, b.busyboxLinks(), binary))
		case standinimage.Envoy:
			err = b.makeImage(ctx, image{name: name, bins: map[string]string{binary: "usr/local/bin/envoy"}, entrypoint: []string{"envoy"}})
		default:
			err = fmt.Errorf("no recipe for a %s image", s.Kind)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.Reference, err)
		}
		built = append(built, name)
		renames[name] = s.Reference
	}
	saved := filepath.Join(b.work, "standin-save.tar")
	if err := b.docker(ctx, append([]string{"save", "-o", saved}, built...)...); err != nil {
		return err
	}
	defer os.Remove(saved)
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
	archive := filepath.Join(b.out, standinimage.Archive)
	if err := renameSaved(saved, archive, renames); err != nil {
		return err
	}
	info, err := os.Stat(archive)
	if err != nil {
		return err
	}
	b.said = fmt.Sprintf("%d images, %s: %d MiB", len(list), archive, info.Size()>>20)
	return nil
}

// osmoStandin is the files of every OSMO stand-in image: the binary, a link
// under each command name, the authz image's entrypoint path, and /app (the web
// UI's working folder).
func osmoStandin(binary string) image {
	links := map[string]string{"osmo/authz_sidecar": "/usr/local/bin/osmo-standin"}
	for _, name := range osmoprogram.Names() {
		links["usr/local/bin/"+name] = "osmo-standin"
	}
	return image{bins: map[string]string{binary: "usr/local/bin/osmo-standin"}, links: links, dirs: []string{"app"}}
}

// busyboxStandin is the charts' helm test image (docker.io/library/busybox:1.37.0
// by default): Debian's busybox (1.35 in bookworm, from the node rootfs) with
// every applet it lists linked in /bin, CMD ["sh"] as the real image has it,
// because no registry serves the real one here. Two things differ, both for
// the one command every chart's test runs (`wget -q -O /dev/null -T 10 URL`):
// Debian builds busybox without wget's -T, and its wget segfaults on it, so
// /bin/wget is cmd/osmo-standin's wget (busybox's behaviour, -T included);
// and Debian's busybox sh runs its own applets without searching PATH, so
// /bin/sh is Debian's dash (POSIX, as the tests' scripts are), which finds
// /bin/wget on PATH.
func busyboxStandin(name string, links map[string]string, standin string) image {
	links["bin/wget"] = "/usr/local/bin/osmo-standin"
	links["bin/sh"] = "/usr/bin/dash"
	return image{name: name, fromRootfs: []string{"usr/bin/busybox", "usr/bin/dash"}, links: links,
		bins: map[string]string{standin: "usr/local/bin/osmo-standin"}, cmd: []string{"sh"}}
}

// renameSaved copies a `docker save` archive, giving each image its real name
// in manifest.json (RepoTags) and repositories, which is how `docker load` and
// `ctr images import` name what they load.
func renameSaved(src, dst string, renames map[string]string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	partial := dst + ".partial"
	out, err := os.Create(partial)
	if err != nil {
		return err
	}
	defer os.Remove(partial)
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	renamed := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return joinErr(fmt.Errorf("%s: %w", src, err), out.Close())
		}
		var body io.Reader = tr
		switch h.Name {
		case "manifest.json", "repositories":
			data, err := io.ReadAll(tr)
			if err != nil {
				return joinErr(err, out.Close())
			}
			if h.Name == "manifest.json" {
				data, renamed, err = renameManifest(data, renames)
			} else {
				data, err = renameRepositories(data, renames)
			}
			if err != nil {
				return joinErr(fmt.Errorf("%s: %s: %w", src, h.Name, err), out.Close())
			}
			h.Size = int64(len(data))
			body = strings.NewReader(string(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return joinErr(err, out.Close())
		}
		if _, err := io.Copy(tw, body); err != nil {
			return joinErr(err, out.Close())
		}
	}
	if err := joinErr(tw.Close(), out.Close()); err != nil {
		return err
	}
	if renamed != len(renames) {
		return fmt.Errorf("%s: manifest.json names %d of the %d images saved", src, renamed, len(renames))
	}
	return os.Rename(partial, dst)
}

func renameManifest(data []byte, renames map[string]string) ([]byte, int, error) {
	var manifest []map[string]any
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, 0, err
	}
	n := 0
	for _, m := range manifest {
		tags, _ := m["RepoTags"].([]any)
		for i, t := range tags {
			if real, ok := renames[fmt.Sprint(t)]; ok {
				tags[i] = real
				n++
			}
		}
	}
	out, err := json.Marshal(manifest)
	return out, n, err
}

// renameRepositories rewrites the legacy repositories file: {repo: {tag: id}}.
func renameRepositories(data []byte, renames map[string]string) ([]byte, error) {
	var repos map[string]map[string]string
	if err := json.Unmarshal(data, &repos); err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for repo, tags := range repos {
		for tag, id := range tags {
			name := repo + ":" + tag
			if real, ok := renames[name]; ok {
				name = real
			}
			i := strings.LastIndex(name, ":")
			r, t := name[:i], name[i+1:]
			if out[r] == nil {
				out[r] = map[string]string{}
			}
			out[r][t] = id
		}
	}
	return json.Marshal(out)
}
