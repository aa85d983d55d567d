#!/usr/bin/env bash
# Builds the pinned toolchain from Go modules into .bin/ (never committed).
#
#   tools/install.sh            every tool
#   tools/install.sh helm kwok  just these
#
# Binaries live in a per-user cache keyed by tool, version and recipe, and
# .bin/ links to them: a second run, or a fresh clone on the same machine,
# finds them instead of rebuilding. One line of output per tool.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.bin"
cache="${OSMO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/osmo-charts-tools}"
mkdir -p "$bin" "$cache"

# One set of flags for every build, so the Go build cache is shared.
goflags=(-trimpath -buildvcs=false)
ldbase="-s -w"
modcache=$(go env GOMODCACHE)

# build_wrapper DIR OUT PKG [LDFLAGS]: go build PKG from the wrapper module tools/DIR.
build_wrapper() {
  (cd "$root/tools/$1" && go build "${goflags[@]}" -ldflags "$ldbase ${4:-}" -o "$2" "$3")
}

# go_install OUT MOD/PKG@VERSION [LDFLAGS]: go install into a scratch GOBIN, then rename.
go_install() {
  local scratch; scratch=$(mktemp -d)
  GOBIN="$scratch" go install "${goflags[@]}" -ldflags "$ldbase ${3:-}" "$2"
  mv "$scratch"/* "$1"; rmdir "$scratch"
}

recipe_kubernetes() {
  local v=v1.34.3 x="-X k8s.io/component-base/version.gitVersion=v1.34.3 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    build_wrapper kubernetes "$out/$c" "k8s.io/kubernetes/cmd/$c" "$x"
  done
}
recipe_etcd() {
  build_wrapper etcd "$out/etcd" go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=v3.6.16"
  build_wrapper etcd "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3
}
recipe_kwok() {
  local x="-X sigs.k8s.io/kwok/pkg/consts.Version=0.8.0 -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=1.34.3"
  go_install "$out/kwok" sigs.k8s.io/kwok/cmd/kwok@v0.8.0 "$x"
  go_install "$out/kwokctl" sigs.k8s.io/kwok/cmd/kwokctl@v0.8.0 "$x"
  # The standalone kwok binary embeds no stages; keep the module's own files beside it.
  local stages="$modcache/sigs.k8s.io/kwok@v0.8.0/kustomize/stage"
  mkdir -p "$out/kwok-stages"
  cp "$stages/node/fast/node-initialize.yaml" "$stages/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
     "$stages/pod/fast/pod-ready.yaml" "$stages/pod/fast/pod-complete.yaml" "$stages/pod/fast/pod-delete.yaml" "$out/kwok-stages/"
  chmod -R u+w "$out/kwok-stages"
}
recipe_helm() {
  # Without the Kubernetes version flags, offline `helm template`/`helm lint` assume v1.20.
  local x="-X helm.sh/helm/v3/internal/version.version=v3.22.0"
  local p
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    x="$x -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=37"
  done
  go_install "$out/helm" helm.sh/helm/v3/cmd/helm@v3.22.0 "$x"
}
recipe_helm4() {
  go_install "$out/helm4" helm.sh/helm/v4/cmd/helm@v4.3.1 "-X helm.sh/helm/v4/internal/version.version=v4.3.1"
}
recipe_helm_docs() {
  go_install "$out/helm-docs" github.com/norwoodj/helm-docs/cmd/helm-docs@v1.14.2 "-X main.version=v1.14.2"
}
recipe_ct() {
  build_wrapper chart-testing "$out/ct" github.com/helm/chart-testing/v3/ct "-X github.com/helm/chart-testing/v3/ct/cmd.Version=v3.14.0"
  mkdir -p "$out/ct-etc"
  cp "$modcache/github.com/helm/chart-testing/v3@v3.14.0/etc/"*.yaml "$out/ct-etc/"
  chmod -R u+w "$out/ct-etc"
}
recipe_eks_webhook() {
  build_wrapper eks-webhook "$out/amazon-eks-pod-identity-webhook" github.com/aws/amazon-eks-pod-identity-webhook
}
recipe_azure_webhook() {
  build_wrapper azure-webhook "$out/azure-wi-webhook" github.com/Azure/azure-workload-identity/cmd/webhook \
    "-X github.com/Azure/azure-workload-identity/pkg/version.BuildVersion=v1.6.0"
}

# name version recipe files-in-tools/ (part of the cache key)
tools=(
  "kubernetes v1.34.3 recipe_kubernetes kubernetes"
  "etcd v3.6.16 recipe_etcd etcd"
  "kwok v0.8.0 recipe_kwok -"
  "helm v3.22.0 recipe_helm -"
  "helm4 v4.3.1 recipe_helm4 -"
  "helm-docs v1.14.2 recipe_helm_docs -"
  "ct v3.14.0 recipe_ct chart-testing"
  "eks-webhook v0.6.17 recipe_eks_webhook eks-webhook"
  "azure-webhook v1.6.0 recipe_azure_webhook azure-webhook"
)

# key: a hash of the recipe's text and its wrapper module, so editing either rebuilds.
key() {
  { declare -f "$1" build_wrapper go_install; echo "$ldbase ${goflags[*]}"
    [ "$2" = - ] || (cd "$root/tools/$2" && find . -type f | LC_ALL=C sort | xargs cat)
  } | sha256sum | cut -c1-12
}

want=("$@")
selected() { [ ${#want[@]} -eq 0 ] && return 0; local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

for t in "${tools[@]}"; do
  read -r name version recipe files <<<"$t"
  selected "$name" || continue
  dir="$cache/$name-$version-$(key "$recipe" "$files")"
  start=$SECONDS
  exec 9>"$dir.lock"; flock 9   # two builds at once wait for each other
  if [ -f "$dir/.complete" ]; then
    what="cached, linked in $((SECONDS - start))s"
  else
    rm -rf "$dir"; out="$dir.partial"; rm -rf "$out"; mkdir -p "$out"
    if ! "$recipe" >"$out.log" 2>&1; then
      echo "tools: $name $version: build FAILED; last lines of $out.log:" >&2
      tail -n 30 "$out.log" >&2; exit 1
    fi
    touch "$out/.complete"; mv "$out" "$dir"; rm -f "$out.log"
    what="built in $((SECONDS - start))s"
  fi
  exec 9>&-
  for f in "$dir"/*; do ln -sfn "$f" "$bin/$(basename "$f")"; done
  printf '%-14s %-9s %s (%s)\n' "$name" "$version" "$what" "$(cd "$dir" && ls | tr '\n' ' ' | sed 's/ $//')"
done

# yamllint (for `ct lint`) is a Debian package, not a Go module.
if selected yamllint; then
  start=$SECONDS
  if command -v yamllint >/dev/null; then
    what="present"
  else
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    if ! { $sudo apt-get install -y -q yamllint >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q yamllint >/dev/null 2>&1; }; }; then
      echo "tools: yamllint: apt-get install yamllint FAILED (ct lint needs it)" >&2; exit 1
    fi
    what="installed in $((SECONDS - start))s"
  fi
  printf '%-14s %-9s %s (%s)\n' yamllint debian "$what" "$(command -v yamllint)"
fi
