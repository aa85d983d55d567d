// Command ratelimit-config checks rate limit configuration files with the loader of
// envoyproxy/ratelimit itself (src/config, the one the service runs, with its stats
// manager), as the service loads the files under RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/config.
//
//	ratelimit-config FILE...
//
// It prints "ok: FILE" per accepted file and exits 0; on the first refusal it prints
// the loader's own error and exits 1. tests/gateway feeds it the service chart's
// rendered rate limit ConfigMap.
package main

import (
	"fmt"
	"os"

	gostats "github.com/lyft/gostats"

	"github.com/envoyproxy/ratelimit/src/config"
	"github.com/envoyproxy/ratelimit/src/settings"
	"github.com/envoyproxy/ratelimit/src/stats"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ratelimit-config FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintln(os.Stderr, err) // the loader's errors name the file
			os.Exit(1)
		}
		fmt.Printf("ok: %s\n", path)
	}
}

// check loads one file as the service does: the YAML and its keys first, then the
// domain and descriptors. The loader reports a bad file by panicking with a
// config.RateLimitConfigError; that becomes the returned error.
func check(path string) (err error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
				return
			}
			err = fmt.Errorf("%v", r)
		}
	}()
	root := config.ConfigFileContentToYaml(path, string(content))
	manager := stats.NewStatManager(gostats.NewStore(gostats.NewNullSink(), false), settings.NewSettings())
	config.NewRateLimitConfigImpl([]config.RateLimitConfigToLoad{{Name: path, ConfigYaml: root}}, manager, false)
	return nil
}
