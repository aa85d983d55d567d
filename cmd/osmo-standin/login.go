package main

import (
	"context"
	"os"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// The operators read their login secret before their first request (the
// listener and worker of the backend-operator chart, from the Secret it mounts
// at /opt/osmo/secrets): a path no volume provides fails the
// start as OSMO's get_login_info would. The login itself needs the OSMO
// service at --host, which a ct install does not run, so it is not attempted.
func init() {
	checks = append(checks, func(_ context.Context, inv *osmoprogram.Invocation, _ map[string]string) error {
		_, err := osmoprogram.Credential(inv, os.ReadFile)
		return err
	})
}
