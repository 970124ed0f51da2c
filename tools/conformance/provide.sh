#!/bin/sh
# Provides the official Gateway API conformance suite, built as a Go test binary from the small Go
# module beside this script, and prints its path.
#
#   tools/conformance/provide.sh          the test binary (gateway-api-conformance.test)
#   tools/conformance/provide.sh crds     a directory holding the suite version's experimental-channel
#                                         CustomResourceDefinition YAML files
#
# Both live in the cache ($KUBEGATE_CACHE, default ~/.cache/kubegate) in a folder named by the
# suite version and build revision. The binary is rebuilt when this module's sources change
# (a hash of them is kept beside it).
set -eu

SUITE_VERSION=v1.7.0    # sigs.k8s.io/gateway-api and sigs.k8s.io/gateway-api/conformance (go.mod)
GO_TOOLCHAIN=go1.27.3   # the modules declare go 1.27
# Bumped when the way the binary is built changes, so a cache of older builds is not reused.
BUILD_REV=c1

here=$(cd "$(dirname "$0")" && pwd)
cache="${KUBEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate}"
out="$cache/conformance-$SUITE_VERSION-$BUILD_REV"
bin="$out/gateway-api-conformance.test"
say() { echo "conformance: $*" >&2; }
die() { echo "conformance: error: $*" >&2; exit 1; }

what=${1:-binary}
case "$what" in binary|crds) ;; *) die "unknown argument '$what' (want nothing or 'crds')" ;; esac

goroot="${GOROOT:-/usr/local/go}"
if ! command -v go >/dev/null 2>&1 && [ -x "$goroot/bin/go" ]; then PATH="$goroot/bin:$PATH"; export PATH; fi
GOTOOLCHAIN=$GO_TOOLCHAIN
GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN GOFLAGS

# The module's sources, hashed: a changed test or go.mod means a different binary.
sources_hash() {
  (cd "$here" && cat go.mod go.sum $(ls ./*.go | LC_ALL=C sort)) | sha256sum | cut -d' ' -f1
}

if [ "$what" = binary ] && [ -x "$bin" ] && [ "$(cat "$bin.sources" 2>/dev/null)" = "$(sources_hash)" ]; then
  echo "$bin"; exit 0
fi
if [ "$what" = crds ] && [ -f "$out/crds/.complete" ]; then
  echo "$out/crds"; exit 0
fi

command -v go >/dev/null 2>&1 || die "no Go toolchain ('go') on PATH nor in $goroot/bin to build the conformance suite. Install Go >= 1.21 (it fetches $GO_TOOLCHAIN itself)."

mkdir -p "$out"
# One build at a time per cache folder; a second caller waits and then finds the result.
exec 9>"$out/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

if [ "$what" = crds ]; then
  [ -f "$out/crds/.complete" ] && { echo "$out/crds"; exit 0; }
  dir=$(cd "$here" && go mod download -json "sigs.k8s.io/gateway-api@$SUITE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  src="$dir/config/crd/experimental"
  [ -d "$src" ] || die "no $src in the module sigs.k8s.io/gateway-api@$SUITE_VERSION"
  tmp=$(mktemp -d "$out/.crds-XXXXXX") && chmod 0755 "$tmp"
  n=0
  for f in "$src"/*.yaml; do
    # Only files whose every document is a CRD (the folder also holds a kustomization and a
    # ValidatingAdmissionPolicy).
    kinds=$(sed -n 's/^kind: *//p' "$f" | sort -u)
    [ "$kinds" = CustomResourceDefinition ] || continue
    cp "$f" "$tmp/" && chmod 0644 "$tmp/$(basename "$f")"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { rm -rf "$tmp"; die "no CustomResourceDefinition files in $src"; }
  touch "$tmp/.complete"
  rm -rf "$out/crds" && mv "$tmp" "$out/crds"
  say "copied $n CRDs of gateway-api $SUITE_VERSION (experimental channel) to $out/crds"
  echo "$out/crds"
  exit 0
fi

hash=$(sources_hash)
if [ -x "$bin" ] && [ "$(cat "$bin.sources" 2>/dev/null)" = "$hash" ]; then echo "$bin"; exit 0; fi
say "building the Gateway API conformance suite $SUITE_VERSION with $GO_TOOLCHAIN; the first build takes several minutes"
tmp=$(mktemp -d "$out/.build-XXXXXX")
start=$(date +%s)
# `go test -c` compiles silently: `go build -v` of the test's imports first compiles (nearly) all
# of the same packages into the build cache and names each, which gives a progress count.
(cd "$here" && go build -v -trimpath $(go list -f '{{join .Imports " "}} {{join .TestImports " "}}' .) 2>&1 &&
  go test -c -trimpath -o "$tmp/gateway-api-conformance.test" . 2>&1) |
  awk '/^(#|go: |.*\.go:[0-9]+|FAIL)/ { print > "/dev/stderr"; next }
    { c++; if (c % 200 == 0) printf("conformance: %d packages compiled\n", c) > "/dev/stderr" }'
if [ ! -x "$tmp/gateway-api-conformance.test" ]; then rm -rf "$tmp"; die "go test -c failed (see above)"; fi
mv "$tmp/gateway-api-conformance.test" "$bin" && printf '%s\n' "$hash" >"$bin.sources" && rm -rf "$tmp"
say "built $bin in $(( $(date +%s) - start ))s"
echo "$bin"
