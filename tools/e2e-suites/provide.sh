#!/bin/sh
# Provides the judges of kubegate's node networking, built from the same Kubernetes module as the
# control plane, and prints the folder that holds them:
#
#   e2e-network.test   the upstream e2e suite cut down to test/e2e/network (with network/netpol),
#                      a Go test binary from the module in suite/
#   ginkgo             the ginkgo CLI, from the module in ginkgo/ (pinned to the suite's Ginkgo
#                      version), which runs the suite in parallel processes
#                      (ginkgo --procs=N e2e-network.test -- <flags>)
#   kube-proxy         cmd/kube-proxy, from the module in kube-proxy/
#   gobgpd, gobgp      GoBGP v4 (daemon and CLI), from the module in gobgp/: a BGP peer of the
#                      interop tests beside Debian's gobgpd 3.x and bird2
#
#   tools/e2e-suites/provide.sh [e2e-network.test|ginkgo|kube-proxy|gobgpd|gobgp...]  (default: all)
#
# The folder is in the cache ($KUBEGATE_CACHE, default ~/.cache/kubegate), named by the Kubernetes
# version and a build revision. A binary is rebuilt when its module's sources change (a hash of
# them is kept beside it).
set -eu

K8S_VERSION=v1.37.2   # the same release as tools/control-plane/provide.sh
# Bumped when the way binaries are built changes, so a cache of older builds is not reused.
BUILD_REV=n1

here=$(cd "$(dirname "$0")" && pwd)
cache="${KUBEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate}"
out="$cache/e2e-suites-$K8S_VERSION-$BUILD_REV"
say() { echo "e2e-suites: $*" >&2; }
die() { echo "e2e-suites: error: $*" >&2; exit 1; }

[ $# -gt 0 ] || set -- e2e-network.test ginkgo kube-proxy gobgpd gobgp

sources_hash() { # sources_hash <module dir>
  (cd "$here/$1" && cat go.mod go.sum $(ls ./*.go | LC_ALL=C sort)) | sha256sum | cut -d' ' -f1
}
module_of() {
  case "$1" in
    e2e-network.test) echo suite ;;
    ginkgo) echo ginkgo ;;
    kube-proxy) echo kube-proxy ;;
    gobgpd | gobgp) echo gobgp ;;
    *) die "unknown binary '$1' (want e2e-network.test, ginkgo, kube-proxy, gobgpd or gobgp)" ;;
  esac
}
fresh() { [ -x "$out/$1" ] && [ "$(cat "$out/$1.sources" 2>/dev/null)" = "$(sources_hash "$(module_of "$1")")" ]; }

need=""
for b in "$@"; do module_of "$b" >/dev/null; fresh "$b" || need="$need $b"; done
if [ -z "$need" ]; then echo "$out"; exit 0; fi

goroot="${GOROOT:-/usr/local/go}"
if ! command -v go >/dev/null 2>&1 && [ -x "$goroot/bin/go" ]; then PATH="$goroot/bin:$PATH"; export PATH; fi
command -v go >/dev/null 2>&1 || die "missing:$need in $out, and no Go toolchain ('go') on PATH nor in $goroot/bin to build them. Install Go >= 1.26."
GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"
export GOFLAGS

mkdir -p "$out"
# One build at a time per cache folder; a second caller waits and then finds the binaries.
exec 9>"$out/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# -v lists each package as it compiles: turn that into a progress count.
progress() {
  awk -v n="$1" '/^(#|go: |.*\.go:[0-9]+|FAIL)/ { print > "/dev/stderr"; next }
    { c++; if (c % 200 == 0) printf("e2e-suites: %s: %d packages compiled\n", n, c) > "/dev/stderr" }'
}

for b in $need; do
  fresh "$b" && continue
  m=$(module_of "$b")
  say "building $b with $(go env GOVERSION); the first build takes several minutes"
  tmp=$(mktemp -d "$out/.build-XXXXXX")
  start=$(date +%s)
  case "$b" in
    kube-proxy)
      (cd "$here/$m" && go build -v -trimpath -o "$tmp/$b" k8s.io/kubernetes/cmd/kube-proxy 2>&1) | progress "$b" ;;
    gobgpd | gobgp)
      (cd "$here/$m" && go build -v -trimpath -o "$tmp/$b" "github.com/osrg/gobgp/v4/cmd/$b" 2>&1) | progress "$b" ;;
    ginkgo)
      (cd "$here/$m" && go build -v -trimpath -o "$tmp/$b" github.com/onsi/ginkgo/v2/ginkgo 2>&1) | progress "$b" ;;
    e2e-network.test)
      # `go test -c` compiles silently: `go build -v` of the test's imports first compiles the same
      # packages into the build cache and names each, which gives a progress count.
      (cd "$here/$m" && go build -v -trimpath $(go list -f '{{join .TestImports " "}}' .) 2>&1 &&
        go test -c -vet=off -trimpath -o "$tmp/$b" . 2>&1) | progress "$b" ;;
  esac
  if [ ! -x "$tmp/$b" ]; then rm -rf "$tmp"; die "building $b failed (see above)"; fi
  mv "$tmp/$b" "$out/$b" && sources_hash "$m" >"$out/$b.sources" && rm -rf "$tmp"
  say "built $b in $(( $(date +%s) - start ))s"
done
echo "$out"
