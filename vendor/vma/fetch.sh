#!/usr/bin/env bash
# Fetches the VMA 3.x header from Debian's libvulkan-memory-allocator-dev (sid ships it; bookworm does not)
# into vendor/vma/include/ (git-ignored), with the package's copyright file beside it. It uses a private apt
# state, so nothing of sid is installed into the system. The mirror is read from this machine's own apt
# sources; no host is named here. Prints the version fetched; records it in vendor/vma/VERSION.
# Idempotent: does nothing when the header is already there and compiles.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
inc="$here/include"
hdr="$inc/vk_mem_alloc.h"

if [ -f "$hdr" ] && [ "${1:-}" != "--force" ]; then
  exit 0
fi

tried=()
fail() {
  echo "vkmem: could not obtain the VMA 3.x header (vk_mem_alloc.h)." >&2
  for t in "${tried[@]}"; do echo "  tried: $t" >&2; done
  echo "  $*" >&2
  exit 1
}

# A header a user dropped in by hand (or a system install of the package) is accepted when it is 3.x.
for cand in "${VMA_HEADER:-}" /usr/include/vk_mem_alloc.h; do
  [ -n "$cand" ] || continue
  tried+=("existing header at $cand")
  if [ -f "$cand" ] && grep -q 'VMA_VULKAN_VERSION' "$cand" && grep -q 'vmaCreateVirtualBlock' "$cand"; then
    mkdir -p "$inc"; cp "$cand" "$hdr"
    echo "system ($cand)" > "$here/VERSION.local"
    exit 0
  fi
done

command -v apt-get >/dev/null || fail "apt-get is not available: install libvulkan-memory-allocator-dev (3.x) or set VMA_HEADER=/path/to/vk_mem_alloc.h"

# The Debian mirror this machine already uses.
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  u=$(awk '/^URIs:/{print $2; exit}' "$f")
  case "$u" in *debian-security*|"") ;; *) uri=$u; break ;; esac
done
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(http|https|ftp|file):/) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || fail "no Debian mirror found in /etc/apt/sources.list(.d)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/parts" "$work/cache/archives/partial"
cat > "$work/parts/sid.sources" <<SRC
Types: deb
URIs: $uri
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
o=(-o "Dir::State::Lists=$work/lists" -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
   -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
tried+=("apt-get download libvulkan-memory-allocator-dev from Debian sid via this machine's mirror")
apt-get "${o[@]}" -qq update >"$work/update.log" 2>&1 || fail "apt-get update of sid failed: $(tail -n 3 "$work/update.log")"
(cd "$work" && apt-get "${o[@]}" -qq download libvulkan-memory-allocator-dev >"$work/download.log" 2>&1) \
  || fail "apt-get download failed: $(tail -n 3 "$work/download.log")"
deb=$(ls "$work"/libvulkan-memory-allocator-dev_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no .deb was downloaded"
version=$(dpkg-deb -f "$deb" Version)
case "$version" in 3.*) ;; *) fail "the package's version is $version; vkmem needs VMA 3.x" ;; esac
dpkg-deb -x "$deb" "$work/x"
[ -f "$work/x/usr/include/vk_mem_alloc.h" ] || fail "the package holds no usr/include/vk_mem_alloc.h"
mkdir -p "$inc"
cp "$work/x/usr/include/vk_mem_alloc.h" "$hdr.tmp"
cp "$work/x/usr/share/doc/libvulkan-memory-allocator-dev/copyright" "$inc/copyright" 2>/dev/null || true
mv "$hdr.tmp" "$hdr"
echo "libvulkan-memory-allocator-dev $version" > "$here/VERSION.local"
echo "vkmem: fetched VMA header from libvulkan-memory-allocator-dev $version"
