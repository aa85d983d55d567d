// Package standinimage names the images a kind cluster here runs in place of the ones no registry serves: every image the four charts run by default, under the exact reference the charts render, and what stands in for each.
//
// tools/kindimage builds them (its "standin images" step) into one `docker save`
// archive beside the kind node image, osmo-standin-images.tar; tests/standin
// checks that every image the charts render by default is in List.
package standinimage

import (
	"slices"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// Kind is what an image holds.
type Kind string

const (
	// OSMO: cmd/osmo-standin, linked under every OSMO command name, with the
	// OSMO image's own entrypoint (osmoprogram.ImageConfigOf).
	OSMO Kind = "osmo"
	// Busybox: Debian's busybox with its applets linked, for the charts' helm
	// test pods.
	Busybox Kind = "busybox"
	// Envoy: cmd/osmo-standin's envoy program (ENTRYPOINT ["envoy"]), for the
	// service chart's gateway.
	Envoy Kind = "envoy"
)

// Image is one stand-in image.
type Image struct {
	// Reference is the image as the charts' pods name it.
	Reference string
	Kind      Kind
	// OSMOImage is the OSMO image name (service, web-ui, ...) of an OSMO image.
	OSMOImage string
}

// The charts' default image references, written here rather than read from the
// charts so that tools/install.sh's kind-image cache key, which hashes this
// folder, changes when one of them does (the key does not cover charts/; a tag
// read from Chart.yaml would leave a stale archive cached). tests/standin fails
// when the charts render an image this list lacks.
const (
	// OSMORegistry is global.osmoImageLocation's default.
	OSMORegistry = "nvcr.io/nvidia/osmo"
	// OSMOTag is the tag the charts give OSMO's images by default: global.osmoImageTag
	// is empty, so each chart's appVersion (charts/*/Chart.yaml).
	OSMOTag = "6.4.0"
	// BusyboxReference is tests.image (registry/repository:tag) of every chart:
	// the helm test pods' image. Its stand-in is Debian's busybox (1.35 in
	// bookworm), not busybox 1.37.0.
	BusyboxReference = "docker.io/library/busybox:1.37.0"
	// EnvoyReference is the service chart's gateway.envoy.image.
	EnvoyReference = "envoyproxy/envoy:v1.29.0"
)

// List is every stand-in image: each OSMO image a program of
// harness/osmoprogram lives in (the charts' ten by default, and authz-sidecar,
// the gateway's authz, when gateway.authz is on), busybox and Envoy.
func List() []Image {
	var out []Image
	for _, name := range osmoprogram.ImageNames() {
		out = append(out, Image{Reference: OSMORegistry + "/" + name + ":" + OSMOTag, Kind: OSMO, OSMOImage: name})
	}
	out = append(out,
		Image{Reference: BusyboxReference, Kind: Busybox},
		Image{Reference: EnvoyReference, Kind: Envoy},
	)
	return out
}

// References are the references of every stand-in image, sorted.
func References() []string {
	var out []string
	for _, img := range List() {
		out = append(out, img.Reference)
	}
	slices.Sort(out)
	return out
}

// Archive is the file name of the archive tools/kindimage writes them into.
const Archive = "osmo-standin-images.tar"
