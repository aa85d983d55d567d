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
# Every pinned version comes from versions.env, which the Go code embeds too
# (harness/versions). Recipes write them as ${NAME} or ${NAME#v}.
versions="$root/harness/versions/versions.env"
# shellcheck source=../harness/versions/versions.env
. "$versions"
kube_major=${KUBERNETES#v}; kube_major=${kube_major%%.*}
kube_minor=${KUBERNETES#v*.}; kube_minor=${kube_minor%%.*}
bin="$root/.bin"
# fd 7 is this script's stdout: a recipe that reports its own steps writes them there.
exec 7>&1
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
  # tools/kubernetes/go.mod requires k8s.io/kubernetes ${KUBERNETES} (a test checks they agree).
  # v is unused: it keeps the recipe's text, and so the cache key of builds made before versions.env.
  local v=${KUBERNETES} x="-X k8s.io/component-base/version.gitVersion=${KUBERNETES} -X k8s.io/component-base/version.gitMajor=${kube_major} -X k8s.io/component-base/version.gitMinor=${kube_minor} -X k8s.io/component-base/version.gitTreeState=clean"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    build_wrapper kubernetes "$out/$c" "k8s.io/kubernetes/cmd/$c" "$x"
  done
}
recipe_kubernetes_node() {
  # The kind node's own programs (tools/kindimage puts them in the node image).
  local x="-X k8s.io/component-base/version.gitVersion=${KUBERNETES} -X k8s.io/component-base/version.gitMajor=${kube_major} -X k8s.io/component-base/version.gitMinor=${kube_minor} -X k8s.io/component-base/version.gitTreeState=clean"
  local c
  for c in kubelet kubeadm kube-proxy; do
    build_wrapper kubernetes-node "$out/$c" "k8s.io/kubernetes/cmd/$c" "$x"
  done
  # The pause container, from the C source the Kubernetes module carries.
  gcc -Os -static -DVERSION="${PAUSE}" -o "$out/pause" "$modcache/k8s.io/kubernetes@${KUBERNETES}/build/pause/linux/pause.c"
}
recipe_coredns() {
  build_wrapper coredns "$out/coredns" github.com/coredns/coredns "-X github.com/coredns/coredns/coremain.GitCommit=${COREDNS}"
}
recipe_cni_plugins() {
  local p
  for p in ipam/host-local main/bridge main/loopback meta/portmap; do
    build_wrapper cni-plugins "$out/cni-$(basename "$p")" "github.com/containernetworking/plugins/plugins/$p" \
      "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${CNI_PLUGINS}"
  done
}
recipe_local_path_provisioner() {
  build_wrapper local-path-provisioner "$out/local-path-provisioner" github.com/rancher/local-path-provisioner "-X main.VERSION=${LOCAL_PATH_PROVISIONER}"
}
recipe_cri_tools() {
  build_wrapper cri-tools "$out/crictl" sigs.k8s.io/cri-tools/cmd/crictl "-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS}"
}
recipe_runc_capfilter() {
  (cd "$root" && go build "${goflags[@]}" -ldflags "$ldbase" -o "$out/runc-capfilter" ./cmd/runc-capfilter)
}
recipe_kind_image() {
  # The node image for ${KUBERNETES} (etcd ${ETCD}, CoreDNS ${COREDNS}, pause ${PAUSE}, CNI plugins
  # ${CNI_PLUGINS}, local-path-provisioner ${LOCAL_PATH_PROVISIONER}, crictl ${CRI_TOOLS}, Debian ${DEBIAN_SUITE}) from the
  # tools above: tools/kindimage says how. It needs root and a Docker engine (its own if none answers).
  (cd "$root" && go run ./tools/kindimage -bin "$bin" -out "$out") | tee /dev/fd/7
}
recipe_etcd() {
  build_wrapper etcd "$out/etcd" go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD}"
  build_wrapper etcd "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3
}
recipe_kwok() {
  local x="-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES#v}"
  go_install "$out/kwok" sigs.k8s.io/kwok/cmd/kwok@${KWOK} "$x"
  go_install "$out/kwokctl" sigs.k8s.io/kwok/cmd/kwokctl@${KWOK} "$x"
  # The standalone kwok binary embeds no stages; keep the module's own files beside it.
  local stages="$modcache/sigs.k8s.io/kwok@${KWOK}/kustomize/stage"
  mkdir -p "$out/kwok-stages"
  cp "$stages/node/fast/node-initialize.yaml" "$stages/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
     "$stages/pod/fast/pod-ready.yaml" "$stages/pod/fast/pod-complete.yaml" "$stages/pod/fast/pod-delete.yaml" "$out/kwok-stages/"
  chmod -R u+w "$out/kwok-stages"
}
recipe_helm() {
  # Without the Kubernetes version flags, offline `helm template`/`helm lint` assume v1.20.
  local x="-X helm.sh/helm/v3/internal/version.version=${HELM}"
  local p
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    x="$x -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=37"
  done
  go_install "$out/helm" helm.sh/helm/v3/cmd/helm@${HELM} "$x"
}
recipe_helm4() {
  go_install "$out/helm4" helm.sh/helm/v4/cmd/helm@${HELM4} "-X helm.sh/helm/v4/internal/version.version=${HELM4}"
}
recipe_helm_docs() {
  go_install "$out/helm-docs" github.com/norwoodj/helm-docs/cmd/helm-docs@${HELM_DOCS} "-X main.version=${HELM_DOCS}"
}
recipe_ct() {
  build_wrapper chart-testing "$out/ct" github.com/helm/chart-testing/v3/ct "-X github.com/helm/chart-testing/v3/ct/cmd.Version=${CHART_TESTING}"
  mkdir -p "$out/ct-etc"
  cp "$modcache/github.com/helm/chart-testing/v3@${CHART_TESTING}/etc/"*.yaml "$out/ct-etc/"
  chmod -R u+w "$out/ct-etc"
}
recipe_eks_webhook() {
  build_wrapper eks-webhook "$out/amazon-eks-pod-identity-webhook" github.com/aws/amazon-eks-pod-identity-webhook
}
recipe_azure_webhook() {
  build_wrapper azure-webhook "$out/azure-wi-webhook" github.com/Azure/azure-workload-identity/cmd/webhook \
    "-X github.com/Azure/azure-workload-identity/pkg/version.BuildVersion=${AZURE_WORKLOAD_IDENTITY}"
}
recipe_oauth2_proxy() {
  # tools/oauth2-proxy/go.mod requires the version versions.env pins (the module proxy
  # serves no v7.14.x, NVIDIA's image tag; see versions.env).
  build_wrapper oauth2-proxy "$out/oauth2-proxy" github.com/oauth2-proxy/oauth2-proxy/v7 \
    "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=${OAUTH2_PROXY}"
}
recipe_ratelimit_config() {
  # Our checker around envoyproxy/ratelimit ${RATELIMIT}'s config loader (tools/ratelimit-config).
  build_wrapper ratelimit-config "$out/ratelimit-config" .
}
recipe_staticcheck() {
  go_install "$out/staticcheck" honnef.co/go/tools/cmd/staticcheck@${STATICCHECK}
}

# name version recipe files-in-tools/ (folders or files, relative to tools/; part of the cache key)
tools=(
  "kubernetes ${KUBERNETES} recipe_kubernetes kubernetes"
  "etcd ${ETCD} recipe_etcd etcd"
  "kwok ${KWOK} recipe_kwok -"
  "helm ${HELM} recipe_helm -"
  "helm4 ${HELM4} recipe_helm4 -"
  "helm-docs ${HELM_DOCS} recipe_helm_docs -"
  "ct ${CHART_TESTING} recipe_ct chart-testing"
  "eks-webhook ${EKS_POD_IDENTITY_WEBHOOK} recipe_eks_webhook eks-webhook"
  "azure-webhook ${AZURE_WORKLOAD_IDENTITY} recipe_azure_webhook azure-webhook"
  "oauth2-proxy ${OAUTH2_PROXY} recipe_oauth2_proxy oauth2-proxy"
  "ratelimit-config ${RATELIMIT} recipe_ratelimit_config ratelimit-config"
  "staticcheck ${STATICCHECK} recipe_staticcheck -"
  # What tools/kindimage puts in the kind node image.
  "kubernetes-node ${KUBERNETES} recipe_kubernetes_node kubernetes-node"
  "coredns ${COREDNS} recipe_coredns coredns"
  "cni-plugins ${CNI_PLUGINS} recipe_cni_plugins cni-plugins"
  "local-path-provisioner ${LOCAL_PATH_PROVISIONER} recipe_local_path_provisioner local-path-provisioner"
  "cri-tools ${CRI_TOOLS} recipe_cri_tools cri-tools"
  # The OCI runtime filter the kind provider's own Docker engine and the node's containerd run (cmd/runc-capfilter).
  "runc-capfilter - recipe_runc_capfilter ../cmd/runc-capfilter"
  # The kind node image (make kind-image): its key covers the builder and what it packs.
  "kind-image ${KUBERNETES} recipe_kind_image kindimage,../cmd/runc-capfilter,kubernetes-node,coredns,cni-plugins,local-path-provisioner,../cmd/osmo-standin,../harness/osmoprogram,../harness/envoyconfig,../harness/standinimage,cri-tools,azure-webhook,eks-webhook,../harness/versions,../harness/cloud,../go.mod,../go.sum"
)

# with_versions TEXT: TEXT with every pinned version written in for ${NAME} and
# ${NAME#v}, so a recipe's key changes exactly when a version it builds changes
# (kwok's names ${KUBERNETES} too), and stays when none does.
with_versions() {
  local text=$1 name value
  while IFS='=' read -r name value; do
    [[ $name =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
    text=${text//"\${$name}"/"$value"}
    text=${text//"\${$name#v}"/"${value#v}"}
  done <"$versions"
  text=${text//'${kube_major}'/"$kube_major"}
  text=${text//'${kube_minor}'/"$kube_minor"}
  printf '%s\n' "$text"
}

# key: a hash of the recipe's text (versions written in) and its wrapper module,
# so editing either, or changing a version it uses, rebuilds.
key() {
  { with_versions "$(declare -f "$1" build_wrapper go_install)"; echo "$ldbase ${goflags[*]}"
    local d
    [ "$2" = - ] || for d in ${2//,/ }; do
      if [ -f "$root/tools/$d" ]; then cat "$root/tools/$d"; else (cd "$root/tools/$d" && find . -type f | LC_ALL=C sort | xargs cat); fi
    done
  } | sha256sum | cut -c1-12
}

# prune DIR: the builds of DIR's tool and version other than DIR, beyond the
# newest three, are removed once DIR is built (a kind node image build is over
# 1 GiB; three keep the builds of other checkouts, a CI clone's, alive); one
# being built (its lock held) is left alone.
prune() {
  local old
  ls -1dt "${1%-*}"-*/ 2>/dev/null | grep -v '\.partial/$' | tail -n +4 | while read -r old; do
    old=${old%/}; [ "$old" = "$1" ] && continue
    ( exec 8>"$old.lock"; flock -n 8 && rm -rf "$old" && rm -f "$old.lock" ) || true
  done
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
    prune "$dir"
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
