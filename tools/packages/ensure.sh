#!/bin/sh
# The Debian packages the tests and the dev control plane use, installed when missing: openssl (the
# dev PKI), util-linux (setpriv, nsenter, unshare), bsdutils (script: the pty of TTY containers),
# procps (pgrep), iproute2 (ss, ip netns, bridge), socat (the podlet's connections into pod network
# namespaces), curl (requests to Gateways from inside the lab), chromium (the status-page browser
# test), nftables (nft: the node agent's data path) and conntrack (conntrack-tools: UDP flows of
# removed endpoints), bird2 and gobgpd (BGP interop peers). As root through apt-get, else through `sudo -n`; otherwise it names what to install.
set -eu
need=""
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v setpriv >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 || need="$need util-linux"
command -v script >/dev/null 2>&1 || need="$need bsdutils"
command -v pgrep >/dev/null 2>&1 || need="$need procps"
command -v ss >/dev/null 2>&1 && command -v bridge >/dev/null 2>&1 || need="$need iproute2"
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v curl >/dev/null 2>&1 || need="$need curl"
# nc: the upstream Services e2e cases probe with `nc` in pods, whose programs are the host's here.
command -v nc >/dev/null 2>&1 || need="$need netcat-openbsd"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
# BGP interop peers for src/node/bgp (test/e2e/node/bgp-*).
command -v bird >/dev/null 2>&1 && command -v birdc >/dev/null 2>&1 || need="$need bird2"
command -v gobgpd >/dev/null 2>&1 && command -v gobgp >/dev/null 2>&1 || need="$need gobgpd"
command -v nft >/dev/null 2>&1 || need="$need nftables"
command -v conntrack >/dev/null 2>&1 || need="$need conntrack"
[ -z "$need" ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
  as=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as="sudo -n"; else as="none"; fi
  fi
  if [ "$as" != "none" ]; then
    echo "kubegate: installing Debian packages:$need" >&2
    $as apt-get update -qq
    $as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
    exit 0
  fi
fi
echo "kubegate: the tests need these packages (Debian names):$need; install them and run again" >&2
exit 1
