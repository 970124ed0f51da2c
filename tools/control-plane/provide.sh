#!/bin/sh
# Provides the control-plane binaries kubegate's local cluster and tests run, at pinned versions,
# and prints the directory that holds them.
#
#   tools/control-plane/provide.sh [binary...]    (default: kube-apiserver etcd kube-controller-manager)
#
# Order, per binary: $KUBEBUILDER_ASSETS (envtest's convention), then the cache
# ($KUBEGATE_CACHE, default ~/.cache/kubegate, in a folder named by the versions), then a build with
# `go build` from the small Go modules beside this script, which fills the cache.
set -eu

K8S_VERSION=v1.37.2   # newest Kubernetes release that builds with Go 1.26 from the module proxy
ETCD_VERSION=v3.7.0   # the etcd that Kubernetes v1.37 recommends (hack/lib/etcd.sh)
KWOK_VERSION=v0.7.0

here=$(cd "$(dirname "$0")" && pwd)
cache="${KUBEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate}"
out="$cache/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
say() { echo "control-plane: $*" >&2; }
die() { echo "control-plane: error: $*" >&2; exit 1; }

[ $# -gt 0 ] || set -- kube-apiserver etcd kube-controller-manager

# KUBEBUILDER_ASSETS and the cache may each hold only some binaries; link what they have into $out.
mkdir -p "$out"
need=""
for b in "$@"; do
  case "$b" in kube-apiserver|kube-controller-manager|etcd|kwok) ;; *) die "unknown binary '$b'" ;; esac
  if [ -x "$out/$b" ]; then continue; fi
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$b" ]; then
    ln -sf "$KUBEBUILDER_ASSETS/$b" "$out/$b"
    continue
  fi
  need="$need $b"
done
if [ -z "$need" ]; then echo "$out"; exit 0; fi

# Go's own install location ($GOROOT, default /usr/local/go), when go is not on PATH: a fresh
# machine with Go unpacked there has no PATH entry for it.
goroot="${GOROOT:-/usr/local/go}"
if ! command -v go >/dev/null 2>&1 && [ -x "$goroot/bin/go" ]; then PATH="$goroot/bin:$PATH"; export PATH; fi
command -v go >/dev/null 2>&1 || die "missing:$need; not in KUBEBUILDER_ASSETS${KUBEBUILDER_ASSETS:+ ($KUBEBUILDER_ASSETS)} nor in $out, and no Go toolchain ('go') on PATH nor in $goroot/bin to build them. Install Go >= 1.26 or set KUBEBUILDER_ASSETS."

# One build at a time per cache folder; a second caller waits and then finds the binaries.
exec 9>"$out/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

build() { # build <module dir> <output name> <package>
  name=$2
  if [ -x "$out/$name" ]; then return 0; fi
  say "building $name ($3) with $(go env GOVERSION); the first build takes several minutes"
  tmp=$(mktemp -d "$out/.build-XXXXXX")
  start=$(date +%s)
  # -v lists each package as it compiles: turn that into a progress count.
  (cd "$here/$1" && GOFLAGS=-mod=mod go build -v -trimpath -o "$tmp/$name" "$3" 2>&1) |
    awk -v n="$name" '/^(#|go: |.*\.go:[0-9]+)/ { print > "/dev/stderr"; next }
      { c++; if (c % 200 == 0) printf("control-plane: %s: %d packages compiled\n", n, c) > "/dev/stderr" }'
  if [ ! -x "$tmp/$name" ]; then rm -rf "$tmp"; die "go build of $name failed (see above)"; fi
  mv "$tmp/$name" "$out/$name" && rm -rf "$tmp"
  say "built $name in $(( $(date +%s) - start ))s"
}

for b in $need; do
  case "$b" in
    kube-apiserver) build kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver ;;
    kube-controller-manager) build kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager ;;
    etcd) build etcd etcd go.etcd.io/etcd/server/v3 ;;
    kwok) build kwok kwok sigs.k8s.io/kwok/cmd/kwok ;;
  esac
done
echo "$out"
