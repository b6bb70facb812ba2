#!/bin/bash
# DKMS's MAKE[0] (dkms.conf): build ferrule.ko against KDIR with the toolchain that built that
# kernel. A Rust module links against the kernel's Rust metadata (KDIR/rust/*.rmeta), so rustc
# must be the very same version (CONFIG_RUSTC_VERSION_TEXT); clang follows CONFIG_CLANG_VERSION.
#   packaging/dkms-make.sh KDIR [KERNELRELEASE=...]   (dkms appends KERNELRELEASE; unused)
# Overrides: FERRULE_RUSTC, FERRULE_LLVM (e.g. -19, 1 or empty for a GCC-built kernel),
# FERRULE_BINDGEN, in the environment or in /etc/ferrule/build.env (shell syntax).
set -euo pipefail
kdir=${1:?usage: dkms-make.sh KDIR}
die() { echo "ferrule dkms: $*" >&2; exit 1; }
[ -f /etc/ferrule/build.env ] && . /etc/ferrule/build.env
cd "$(dirname "$0")/.."

cfg=$kdir/.config
[ -f "$cfg" ] || die "$kdir is not a configured kernel build tree (no .config)"
conf() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$cfg"; }
[ "$(conf CONFIG_RUST)" = y ] || die "the kernel in $kdir is built without CONFIG_RUST=y: it cannot load Rust modules"
[ -f "$kdir/rust/libkernel.rmeta" ] || die "$kdir/rust/libkernel.rmeta is missing: this is a header-only tree; Rust modules need the kernel's full build tree (Documentation/admin-guide.md)"

want=$(conf CONFIG_RUSTC_VERSION_TEXT)
rustc=
for c in ${FERRULE_RUSTC:-} /usr/bin/rustc $(command -v rustc || true) /usr/bin/rustc-[0-9]* \
         /usr/lib/rust-*/bin/rustc /root/.cargo/bin/rustc ${HOME:+$HOME/.cargo/bin/rustc}; do
  [ -x "$c" ] || continue
  if [ "$("$c" --version 2>/dev/null)" = "$want" ]; then rustc=$c; break; fi
done
[ -n "$rustc" ] || die "no rustc matching the kernel's \"$want\" (set FERRULE_RUSTC in /etc/ferrule/build.env)"

if [ -n "${FERRULE_LLVM+x}" ]; then llvm=$FERRULE_LLVM
elif [ "$(conf CONFIG_CC_IS_CLANG)" = y ]; then
  major=$(( $(conf CONFIG_CLANG_VERSION) / 10000 ))
  if command -v "clang-$major" >/dev/null; then llvm=-$major
  elif clang --version 2>/dev/null | grep -q "clang version $major\."; then llvm=1
  else die "the kernel was built with clang $major: install clang-$major lld-$major llvm-$major"; fi
else llvm=; fi

bindgen=
for c in ${FERRULE_BINDGEN:-} $(command -v bindgen || true) /root/.cargo/bin/bindgen ${HOME:+$HOME/.cargo/bin/bindgen}; do
  [ -x "$c" ] && { bindgen=$c; break; }
done
[ -n "$bindgen" ] || die "bindgen not found (apt install bindgen, or cargo install bindgen-cli; FERRULE_BINDGEN)"

echo "ferrule dkms: KDIR=$kdir RUSTC=$rustc LLVM=$llvm BINDGEN=$bindgen"
exec make --no-print-directory module-build KDIR="$kdir" LLVM="$llvm" RUSTC="$rustc" BINDGEN="$bindgen"
