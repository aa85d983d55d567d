package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// systemDirs are where Debian puts dockerd, containerd and runc; a non-login
// PATH may lack the sbin folders.
var systemDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// findProgram looks a program up on PATH, then in the system folders.
func findProgram(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	for _, dir := range systemDirs {
		path := filepath.Join(dir, name)
		if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not on PATH nor in %s)", name, strings.Join(systemDirs, ", "))
}

// ensureDockerd returns dockerd's path, installing Debian's docker.io (dockerd,
// containerd, runc, the docker CLI) with apt-get when it is missing. The
// caller is root (an owned daemon needs it anyway). apt-get's output goes to
// a log; one line says what was installed and how long it took.
func ensureDockerd(ctx context.Context, l layout, out io.Writer) (string, error) {
	if path, err := findProgram("dockerd"); err == nil {
		return path, nil
	}
	aptGet, err := findProgram("apt-get")
	if err != nil {
		return "", fmt.Errorf("engine: dockerd is not installed and this is no Debian-like system (%v): install Docker Engine, or start an engine and point DOCKER_HOST at it", err)
	}
	log, err := os.Create(l.aptLog())
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	defer log.Close()
	began := time.Now()
	install := func() error { return runApt(ctx, aptGet, log, "install", "-y", "--no-install-recommends", "docker.io") }
	if err := install(); err != nil {
		// A fresh machine may have no package lists yet.
		if err := runApt(ctx, aptGet, log, "update"); err != nil {
			return "", fmt.Errorf("engine: dockerd is not installed, and `apt-get update` failed (%v): see %s", err, l.aptLog())
		}
		if err := install(); err != nil {
			return "", fmt.Errorf("engine: dockerd is not installed, and `apt-get install docker.io` failed (%v): see %s", err, l.aptLog())
		}
	}
	path, err := findProgram("dockerd")
	if err != nil {
		return "", fmt.Errorf("engine: apt-get installed docker.io, yet %w (see %s)", err, l.aptLog())
	}
	version, _ := exec.CommandContext(ctx, path, "--version").Output()
	fmt.Fprintf(out, "engine: installed Debian's docker.io (%s) in %.1fs (log: %s)\n", strings.TrimSpace(string(version)), time.Since(began).Seconds(), l.aptLog())
	return path, nil
}

func runApt(ctx context.Context, aptGet string, log io.Writer, args ...string) error {
	fmt.Fprintf(log, "$ apt-get %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, aptGet, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}
