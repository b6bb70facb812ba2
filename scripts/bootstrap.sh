#!/usr/bin/env bash
# Bring a fresh Debian bookworm machine to a state where Ferrule builds and tests:
# apt packages, bindgen-cli, virtme-ng, and the linux-source tarball from trixie-backports.
# Idempotent: every step checks first, so a second run finishes in seconds and changes nothing.
#
# Variables:
#   FERRULE_CACHE        cache directory (default ~/.cache/ferrule)
#   FERRULE_KSERIES      kernel series to fetch (default 7.3 -> package linux-source-7.3)
#   FERRULE_KSUITE       Debian suite that carries it (default trixie-backports)
set -euo pipefail

CACHE=${FERRULE_CACHE:-$HOME/.cache/ferrule}
KSERIES=${FERRULE_KSERIES:-7.3}
KSUITE=${FERRULE_KSUITE:-trixie-backports}
MIRROR=${FERRULE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BINDGEN_VERSION=${FERRULE_BINDGEN_VERSION:-0.73.2}
VIRTME_NG_VERSION=${FERRULE_VIRTME_NG_VERSION:-1.42}

log() { printf 'bootstrap: %s\n' "$*" >&2; }

APT_PACKAGES=(
  rustc-web rust-web-src clang-19 lld-19 llvm-19 libclang-19-dev
  bc bison flex libelf-dev libssl-dev cpio kmod make gcc xz-utils zstd
  qemu-system-x86 sg3-utils fio e2fsprogs util-linux procps
  python3 python3-pip python3-venv busybox-static file
  dkms jq strace systemd
)

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      log "must run as root (or have sudo) to install packages"; exit 1; fi
  else SUDO=; fi
}

# 1. apt packages (only the missing ones; apt-get update only when something is missing)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  need_root
  log "installing apt packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. bindgen-cli from crates.io (kernel needs >= 0.71.1)
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
if ! "$CARGO_BIN/bindgen" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION"; then
  log "installing bindgen-cli $BINDGEN_VERSION"
  # rustup's cargo builds host tools; libclang-19 is found through LIBCLANG_PATH at run time.
  cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION"
fi

# 3. virtme-ng (the kernel community's VM runner) in a private venv
VENV=$CACHE/venv
if ! "$VENV/bin/vng" --version >/dev/null 2>&1; then
  log "installing virtme-ng $VIRTME_NG_VERSION into $VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "virtme-ng==$VIRTME_NG_VERSION"
fi

# 4. kernel source: linux-source-$KSERIES from $KSUITE, fetched with a private apt config so
#    the system's package set and sources are untouched.
SRCDIR=$CACHE/src
if [ ! -f "$SRCDIR/linux-$KSERIES.stamp" ]; then
  APTDIR=$CACHE/apt
  mkdir -p "$APTDIR/lists/partial" "$APTDIR/archives/partial" "$SRCDIR"
  echo "deb $MIRROR $KSUITE main" > "$APTDIR/sources.list"
  APT_OPTS=(-o Dir::Etc::SourceList="$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache::Archives="$APTDIR/archives"
            -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1)
  log "fetching package index for $KSUITE"
  apt-get "${APT_OPTS[@]}" update -qq
  if ! apt-cache "${APT_OPTS[@]}" show "linux-source-$KSERIES" >/dev/null 2>&1; then
    log "linux-source-$KSERIES is not in $KSUITE on $MIRROR any more."
    log "Set FERRULE_KSERIES to a series that is (apt-cache search linux-source) and FERRULE_KSUITE if needed."
    exit 1
  fi
  ver=$(apt-cache "${APT_OPTS[@]}" show "linux-source-$KSERIES" | awk '/^Version:/{print $2; exit}')
  log "downloading linux-source-$KSERIES $ver"
  (cd "$APTDIR/archives" && apt-get "${APT_OPTS[@]}" download -qq "linux-source-$KSERIES")
  deb=$(ls -t "$APTDIR/archives"/linux-source-"$KSERIES"_*.deb | head -1)
  rm -rf "$SRCDIR/pkg" "$SRCDIR/linux-$KSERIES"
  dpkg -x "$deb" "$SRCDIR/pkg"
  tarball=$(ls "$SRCDIR"/pkg/usr/src/linux-source-"$KSERIES".tar.*)
  log "unpacking $tarball"
  mkdir -p "$SRCDIR/linux-$KSERIES"
  tar -xf "$tarball" -C "$SRCDIR/linux-$KSERIES" --strip-components=1
  rm -rf "$SRCDIR/pkg" "$deb"
  echo "$ver" > "$SRCDIR/linux-$KSERIES.version"
  touch "$SRCDIR/linux-$KSERIES.stamp"
fi
log "ok: kernel source $(cat "$SRCDIR/linux-$KSERIES.version") in $SRCDIR/linux-$KSERIES"
