#!/usr/bin/env bash
# `make test` step: the packaged DKMS source builds. Builds ferrule-dkms_<ver>_all.deb, unpacks
# it into a scratch root, and runs `dkms add` + `dkms build` on /usr/src/ferrule-<ver> from it
# against the cached test kernel's build tree (--kernelsourcedir), with private DKMS trees:
# nothing is installed on the host (/var/lib/dkms and /lib/modules are checked untouched).
#   packaging/test-dkms.sh [KDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dkms >/dev/null || { echo "dkms is not installed (scripts/bootstrap.sh installs it)"; exit 1; }
kdir=${1:-$(bash scripts/build-kernel.sh default)}
kver=$(cat "$kdir/include/config/kernel.release")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
state() { find /var/lib/dkms "/lib/modules/$kver" 2>&1 | sort; true; }
before=$(state)

deb=$(packaging/build-deb.sh --out "$t/deb" --only dkms)
echo "package: $(basename "$deb")"
dpkg-deb -x "$deb" "$t/root"
src=$t/root/usr/src
[ -f "$src/ferrule-$ver/dkms.conf" ] || { echo "no /usr/src/ferrule-$ver/dkms.conf in the package"; exit 1; }
opts=(--dkmstree "$t/dkms" --sourcetree "$src" --installtree "$t/install")
mkdir -p "$t/dkms" "$t/install"
dkms add -m ferrule -v "$ver" "${opts[@]}"
if ! dkms build -m ferrule -v "$ver" -k "$kver" --kernelsourcedir "$kdir" "${opts[@]}"; then
  cat "$t/dkms/ferrule/$ver/build/make.log" 2>/dev/null | tail -40
  exit 1
fi
ko=$t/dkms/ferrule/$ver/$kver/$(uname -m)/module/ferrule.ko
[ -f "$ko" ] || ko=$(find "$t/dkms/ferrule/$ver/$kver" -name 'ferrule.ko*' | head -1)
[ -n "$ko" ] && [ -f "$ko" ] || { echo "dkms build left no ferrule.ko"; find "$t/dkms" | head -40; exit 1; }
vermagic=$(modinfo -F vermagic "$ko")
echo "built: ${ko#$t/} (vermagic: $vermagic)"
[ "${vermagic%% *}" = "$kver" ] || { echo "vermagic '$vermagic' is not for $kver"; exit 1; }
[ "$(modinfo -F name "$ko")" = ferrule ] || { echo "module name is not ferrule"; exit 1; }
status=$(dkms status -m ferrule -v "$ver" "${opts[@]}" -k "$kver")
echo "dkms status: $status"
[[ "$status" == *": built"* ]] || { echo "dkms status does not say built"; exit 1; }
after=$(state)
[ "$before" = "$after" ] || { echo "the host's /var/lib/dkms or /lib/modules/$kver changed"; diff <(echo "$before") <(echo "$after"); exit 1; }
echo "dkms build of the packaged source: ok"

# dkms-make.sh refuses unsuitable build trees with a reason instead of a compiler error.
refuses() { # refuses WHAT EXPECTED-TEXT : dkms-make.sh on $t/fake must fail saying that
  local out
  if out=$(bash "$src/ferrule-$ver/packaging/dkms-make.sh" "$t/fake" 2>&1); then
    echo "dkms-make.sh accepted $1"; exit 1; fi
  [[ "$out" == *"$2"* ]] || { echo "dkms-make.sh on $1: expected '$2', got: $out"; exit 1; }
  echo "refused $1: $out"
}
mkdir -p "$t/fake/rust"
echo "# CONFIG_RUST is not set" > "$t/fake/.config"
refuses "a kernel without Rust" "built without CONFIG_RUST=y"
echo "CONFIG_RUST=y" > "$t/fake/.config"
refuses "a header-only tree" "header-only tree"
touch "$t/fake/rust/libkernel.rmeta"
echo 'CONFIG_RUSTC_VERSION_TEXT="rustc 0.0.1 (none)"' >> "$t/fake/.config"
refuses "another rustc's kernel" 'no rustc matching the kernel'"'"'s "rustc 0.0.1 (none)"'
