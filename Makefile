# The two commands: `make demo` (the main job) and `make test` (every test).
# Everything else is built by the project itself: `make tools` builds the pinned
# toolchain from Go modules into .bin/ (cached per user, idempotent).
SHELL := /bin/bash
export PATH := $(CURDIR)/.bin:$(PATH)

# Two cores: one test package at a time, so only one control plane runs (two, each under
# parallel installs of the four charts, starved the API servers past their 60 s request
# timeout); many tests in parallel within a package (they mostly wait on the API server and helm).
# On kind every pod really starts (on the same two cores): four tests at a time.
KIND_TEST_FLAGS ?= -p 1 -parallel 4 -timeout 60m
ifeq ($(OSMO_CLUSTER),kind)
GO_TEST_FLAGS ?= $(KIND_TEST_FLAGS)
endif
GO_TEST_FLAGS ?= -p 1 -parallel 16 -timeout 60m

# The kind layer: after every package has run (tests/kind on kind, the others on
# the local cluster), the lifecycle suite runs again on a kind cluster, where the
# kubelet runs its pods, probes and `helm test` scripts for real. With
# OSMO_CLUSTER=kind the first run already put it there.
KIND_LAYER := ./tests/lifecycle

.PHONY: demo tools kind-image test bench generate cluster-up cluster-down

# The main job: tools if missing, local cluster + identity webhooks, the four
# charts with the Azure example values, what each pod received; then it stops
# everything. `make demo ARGS=--keep` leaves the cluster running.
demo:
	@tools/install.sh $(DEMO_TOOLS)
	go run ./cmd/demo $(ARGS)

# What the demo runs: the control plane, helm and the two identity webhooks (not helm4,
# ct, helm-docs or yamllint, which only the tests use).
DEMO_TOOLS := kubernetes etcd kwok helm eks-webhook azure-webhook

tools:
	@tools/install.sh

# The kind node image (osmo-charts.local/kind-node, .bin/kind-node-image.tar) and what it
# packs, with no registry: tools/kindimage. `make tools` builds it too.
KIND_IMAGE_TOOLS := kubernetes etcd kubernetes-node coredns cni-plugins local-path-provisioner cri-tools runc-capfilter kind-image
kind-image:
	@tools/install.sh $(KIND_IMAGE_TOOLS)

test: tools
	go test $(GO_TEST_FLAGS) ./...
ifneq ($(OSMO_CLUSTER),kind)
	OSMO_CLUSTER=kind go test $(KIND_TEST_FLAGS) $(KIND_LAYER)
endif

# Benchmarks print ratios measured within one run (render in process vs the helm CLI, ...).
bench: tools
	go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./tests/...

# A local cluster (with the identity webhooks) that stays up: state and kubeconfig in .cluster/.
cluster-up:
	@tools/install.sh $(DEMO_TOOLS)
	go run ./cmd/cluster up

cluster-down:
	go run ./cmd/cluster down

# Regenerate what is derived from the values files: schemas and chart READMEs.
generate: tools
	go run ./tools/chartschema
	helm-docs --chart-search-root charts --template-files ./_templates.gotmpl --template-files README.md.gotmpl --log-level warning
