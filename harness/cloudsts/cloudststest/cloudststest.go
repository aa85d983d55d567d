// Package cloudststest starts cloud stand-ins (package cloudsts) for a test:
// stopped when the test ends, and the test fails if an SDK leaked a request
// off loopback. It is the only part of the stand-ins that links testing.
package cloudststest

import (
	"testing"

	"github.com/osmo-wi/charts/harness/cloudsts"
)

// Start starts a stand-in for t and stops it when t ends; t fails if any
// request through the stand-in's Client was refused for leaving loopback.
func Start(t testing.TB) *cloudsts.Server {
	t.Helper()
	s := &cloudsts.Server{}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if refused := s.Refused(); len(refused) > 0 {
			t.Errorf("cloudsts stand-in: requests off loopback were refused (a leak towards a real cloud): %q", refused)
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}
