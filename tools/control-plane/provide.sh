#!/bin/sh
# Provides the control-plane binaries kubegate's local cluster and tests run, at pinned versions,
# and prints the directory that holds them.
#
#   tools/control-plane/provide.sh [binary...]    (default: all of those below)
#
# Known binaries: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, agnhost (the
# Kubernetes e2e test image's program) from k8s.io/kubernetes; etcd; echo-basic (the Gateway API
# conformance echo server) from sigs.k8s.io/gateway-api-conformance-images.
#
# Order, per binary: $KUBEBUILDER_ASSETS (envtest's convention), then the cache
# ($KUBEGATE_CACHE, default ~/.cache/kubegate, in a folder named by the versions), then a build with
# `go build` from the small Go modules beside this script, which fills the cache.
set -eu

K8S_VERSION=v1.37.2   # newest Kubernetes release that builds with Go 1.26 from the module proxy
ETCD_VERSION=v3.7.0   # the etcd that Kubernetes v1.37 recommends (hack/lib/etcd.sh)
ECHO_VERSION=v0.1.0  # gateway-api-conformance-images: v0.2.0 is not served by the module proxy here
# Bumped when the way binaries are built changes, so a cache of older builds is not reused
# (b2: Kubernetes binaries carry their real version, as hack/lib/version.sh sets it).
BUILD_REV=b2

here=$(cd "$(dirname "$0")" && pwd)
cache="${KUBEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate}"
out="$cache/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$BUILD_REV/bin"
say() { echo "control-plane: $*" >&2; }
die() { echo "control-plane: error: $*" >&2; exit 1; }

[ $# -gt 0 ] || set -- kube-apiserver etcd kube-controller-manager kube-scheduler kubectl agnhost echo-basic

# The cache ($out) holds builds only. With KUBEBUILDER_ASSETS set, the folder printed is one of links
# beside it, one per variable value: each binary from KUBEBUILDER_ASSETS when it has it (the
# variable wins, as envtest's), else the cached build; the cache's own binaries are never replaced.
mkdir -p "$out"
dir="$out"
assets=""
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  # Absolute, so the links hold from any working directory; a folder that is not there holds nothing.
  assets=$(cd "$KUBEBUILDER_ASSETS" 2>/dev/null && pwd) || assets=""
  dir="$(dirname "$out")/assets-$(printf '%s' "$KUBEBUILDER_ASSETS" | cksum | cut -d' ' -f1)"
  mkdir -p "$dir"
fi
need=""
for b in "$@"; do
  case "$b" in kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|agnhost|etcd|echo-basic) ;; *) die "unknown binary '$b'" ;; esac
  if [ -n "$assets" ] && [ -x "$assets/$b" ]; then
    ln -sf "$assets/$b" "$dir/$b"
  elif [ -x "$out/$b" ]; then
    if [ "$dir" != "$out" ]; then ln -sf "$out/$b" "$dir/$b"; fi
  else
    need="$need $b"
  fi
done
if [ -z "$need" ]; then echo "$dir"; exit 0; fi

# Go's own install location ($GOROOT, default /usr/local/go), when go is not on PATH: a fresh
# machine with Go unpacked there has no PATH entry for it.
goroot="${GOROOT:-/usr/local/go}"
if ! command -v go >/dev/null 2>&1 && [ -x "$goroot/bin/go" ]; then PATH="$goroot/bin:$PATH"; export PATH; fi
command -v go >/dev/null 2>&1 || die "missing:$need; not in KUBEBUILDER_ASSETS${KUBEBUILDER_ASSETS:+ ($KUBEBUILDER_ASSETS)} nor in $out, and no Go toolchain ('go') on PATH nor in $goroot/bin to build them. Install Go >= 1.26 or set KUBEBUILDER_ASSETS."

# One build at a time per cache folder; a second caller waits and then finds the binaries.
exec 9>"$out/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# Kubernetes' own build stamps its version into two packages (hack/lib/version.sh); without it
# /version answers v0.0.0-master+$Format:%H$, which version-parsing clients reject.
k8s_ldflags() {
  minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  major=${K8S_VERSION#v}; major=${major%%.*}
  # The tag's date, from the module proxy's record of it; the proxy keeps no commit hash, so
  # gitCommit is left empty rather than the unexpanded "$Format:%H$".
  info=$(cd "$here/kubernetes" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>/dev/null |
    sed -n 's/.*"Info": "\(.*\)".*/\1/p')
  date=$( [ -n "$info" ] && sed -n 's/.*"Time":"\([^".]*\)[^"]*".*/\1/p' "$info")
  date="${date%Z}"; date="${date:-1970-01-01T00:00:00}Z"
  f=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    f="$f -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    f="$f -X $pkg.gitCommit= -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  printf '%s' "$f"
}

build() { # build <module dir> <output name> <package> [ldflags]
  name=$2
  if [ -x "$out/$name" ]; then return 0; fi
  say "building $name ($3) with $(go env GOVERSION); the first build takes several minutes"
  tmp=$(mktemp -d "$out/.build-XXXXXX")
  start=$(date +%s)
  # -v lists each package as it compiles: turn that into a progress count.
  (cd "$here/$1" && GOFLAGS=-mod=mod go build -v -trimpath -ldflags "${4:-}" -o "$tmp/$name" "$3" 2>&1) |
    awk -v n="$name" '/^(#|go: |.*\.go:[0-9]+)/ { print > "/dev/stderr"; next }
      { c++; if (c % 200 == 0) printf("control-plane: %s: %d packages compiled\n", n, c) > "/dev/stderr" }'
  if [ ! -x "$tmp/$name" ]; then rm -rf "$tmp"; die "go build of $name failed (see above)"; fi
  mv "$tmp/$name" "$out/$name" && rm -rf "$tmp"
  say "built $name in $(( $(date +%s) - start ))s"
}

ldflags=""
for b in $need; do
  case "$b" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      [ -n "$ldflags" ] || ldflags=$(k8s_ldflags)
      build kubernetes "$b" "k8s.io/kubernetes/cmd/$b" "$ldflags" ;;
    agnhost) build kubernetes agnhost k8s.io/kubernetes/test/images/agnhost ;;
    etcd) build etcd etcd go.etcd.io/etcd/server/v3 ;;
    echo-basic) build images echo-basic sigs.k8s.io/gateway-api-conformance-images/echo-basic ;;
  esac
  if [ "$dir" != "$out" ]; then ln -sf "$out/$b" "$dir/$b"; fi
done
echo "$dir"
