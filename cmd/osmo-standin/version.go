package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/osmo-wi/charts/harness/standinimage"
)

// versionPaths are the paths where OSMO's programs answer their version:
// the service's /api/version (src/service/core/service.py get_version) and the
// router's /api/router/version (src/service/router/router.py get_version),
// both version.VERSION (src/lib/utils/version.py Version).
var versionPaths = map[string]bool{"/api/version": true, "/api/router/version": true}

// osmoVersion is OSMO's Version model as FastAPI serializes it, for the OSMO
// release the stand-in images stand in for (their tag): major, minor, revision
// as strings, and the build hash ("" for a release).
func osmoVersion() map[string]string {
	parts := strings.SplitN(standinimage.OSMOTag, ".", 3)
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	return map[string]string{"major": parts[0], "minor": parts[1], "revision": parts[2], "hash": ""}
}

func versionHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(osmoVersion())
}
