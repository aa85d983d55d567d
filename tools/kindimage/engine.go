package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/osmo-wi/charts/harness/engine"
)

// startEngine takes the engine that answers, or starts the project's own
// (harness/engine), which stopEngine stops again.
func (b *builder) startEngine(ctx context.Context) error {
	var said strings.Builder
	e, err := engine.Start(ctx, engine.Options{Out: &said, Runtime: filepath.Join(b.bin, "runc-capfilter")})
	if err != nil {
		return err
	}
	b.engine = e
	b.said = strings.TrimSpace(strings.ReplaceAll(said.String(), "\n", "; "))
	return nil
}

func (b *builder) stopEngine() error {
	if b.engine == nil {
		return nil
	}
	return b.engine.Stop(context.Background())
}
