package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/osmo-wi/charts/harness/engine"
)

// builder carries what one build's steps share.
type builder struct {
	bin, work, out string
	rootfsDir      string
	imagesTar      string
	engine         *engine.Engine
	// said is what the current step adds to its progress line.
	said string
}

type cmdOption func(*exec.Cmd)

func withDir(dir string) cmdOption    { return func(c *exec.Cmd) { c.Dir = dir } }
func withStdin(r io.Reader) cmdOption { return func(c *exec.Cmd) { c.Stdin = r } }
func withEnv(env []string) cmdOption {
	return func(c *exec.Cmd) { c.Env = append(os.Environ(), env...) }
}
func withStdout(w io.Writer) cmdOption { return func(c *exec.Cmd) { c.Stdout = w } }

// run runs a command; its error carries the command line and the end of what it printed.
func run(ctx context.Context, name string, argsAndOptions ...any) error {
	var args []string
	var opts []cmdOption
	for _, a := range argsAndOptions {
		switch v := a.(type) {
		case string:
			args = append(args, v)
		case []string:
			args = append(args, v...)
		case cmdOption:
			opts = append(opts, v)
		}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var combined bytes.Buffer
	cmd.Stdout, cmd.Stderr = &combined, &combined
	for _, o := range opts {
		o(cmd)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(combined.String(), 20))
	}
	return nil
}

func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := run(ctx, name, args, withStdout(&out))
	return out.Bytes(), err
}

func tail(text string, lines int) string {
	all := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func (b *builder) docker(ctx context.Context, args ...string) error {
	return run(ctx, "docker", args, withEnv(b.engine.Env()))
}

func (b *builder) dockerStdin(ctx context.Context, stdin io.Reader, args ...string) error {
	return run(ctx, "docker", args, withEnv(b.engine.Env()), withStdin(stdin))
}

func (b *builder) dockerOutput(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, "docker", args, withEnv(b.engine.Env()), withStdout(&out))
	return out.String(), err
}

// tarOf streams a tar of dir's contents (owners and modes kept).
func tarOf(dir string) io.Reader {
	r, w := io.Pipe()
	go func() {
		cmd := exec.Command("tar", "--numeric-owner", "-C", dir, "-c", ".")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = w, &stderr
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("tar -C %s: %w: %s", dir, err, stderr.String())
		}
		w.CloseWithError(err)
	}()
	return r
}

// moduleDir is the module cache folder of a module the project requires.
func moduleDir(ctx context.Context, module string) (string, error) {
	out, err := output(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: not in the module cache (go mod download %s)", module, module)
	}
	return dir, nil
}

// copyTree copies every file under src to the same path under dst, with the mode mode gives it.
func copyTree(src, dst string, mode func(rel string) fs.FileMode) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		return copyFile(path, filepath.Join(dst, rel), mode(rel))
	})
}

// copyFile copies a file (following a symlink at src), making dst's folders.
func copyFile(src, dst string, mode fs.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return joinErr(err, f.Close())
}

func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func jsonList(list []string) (string, error) {
	data, err := json.Marshal(list)
	return string(data), err
}

// copyLibraries copies the shared libraries programs link (as ldd under
// root resolves them, root "/" being this machine) into dst at the same paths.
func copyLibraries(ctx context.Context, root string, programs []string, dst string) error {
	for _, p := range programs {
		args := []string{p}
		name := "ldd"
		if root != "/" {
			name, args = "chroot", []string{root, "ldd", p}
		}
		out, err := exec.CommandContext(ctx, name, args...).Output()
		if err != nil {
			// "not a dynamic executable": a static program links nothing.
			continue
		}
		for _, lib := range lddPaths(out) {
			if err := run(ctx, "cp", "-a", "-L", "--parents", strings.TrimPrefix(lib, "/"), dst, withDir(root)); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyRootfsLibraries copies the libraries of every program under rel in the rootfs.
func copyRootfsLibraries(ctx context.Context, rootfs, rel, dst string) error {
	var programs []string
	err := filepath.WalkDir(filepath.Join(rootfs, rel), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		programs = append(programs, "/"+strings.TrimPrefix(path, rootfs+"/"))
		return nil
	})
	if err != nil {
		return err
	}
	return copyLibraries(ctx, rootfs, programs, dst)
}

// lddPaths returns the absolute library paths ldd printed.
func lddPaths(out []byte) []string {
	var paths []string
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		for _, field := range strings.Fields(scanner.Text()) {
			if strings.HasPrefix(field, "/") {
				paths = append(paths, field)
			}
		}
	}
	return paths
}

func aptInstall(ctx context.Context, pkg string) error {
	if err := run(ctx, "apt-get", "install", "-y", "-q", pkg, withEnv([]string{"DEBIAN_FRONTEND=noninteractive"})); err == nil {
		return nil
	}
	if err := run(ctx, "apt-get", "update", "-q"); err != nil {
		return err
	}
	return run(ctx, "apt-get", "install", "-y", "-q", pkg, withEnv([]string{"DEBIAN_FRONTEND=noninteractive"}))
}
