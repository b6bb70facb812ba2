#!/usr/bin/env bash
# Build (or reuse) the Ferrule test kernel: tinyconfig + tests/qemu/kernel.config
# (+ kernel-debug.config for the debug variant). Cached outside the repo, keyed by kernel
# version + fragments + toolchain (scripts/env.sh: kernel_key). Prints the build tree path.
# Usage: scripts/build-kernel.sh [default|debug]
set -euo pipefail
. "$(dirname "$0")/env.sh"
variant=${1:-default}
out=$(kernel_dir "$variant")
if [ -f "$out/.ferrule-built" ]; then echo "$out"; exit 0; fi
# One builder per variant at a time: a second caller waits, then finds the finished tree.
mkdir -p "$FERRULE_CACHE/kernel"
exec 9>"$FERRULE_CACHE/kernel/.lock-$variant"
if ! flock -n 9; then
  echo "build-kernel: another $variant kernel build is running; waiting for it" >&2
  flock 9
fi
if [ -f "$out/.ferrule-built" ]; then echo "$out"; exit 0; fi

frags=("$FERRULE_ROOT/tests/qemu/kernel.config")
[ "$variant" = debug ] && frags+=("$FERRULE_ROOT/tests/qemu/kernel-debug.config")
[ -f "$KSRC/Makefile" ] || { echo "build-kernel: no kernel source at $KSRC (run scripts/bootstrap.sh)" >&2; exit 1; }

echo "build-kernel: building $variant kernel in $out (takes ~11 min on 2 cores)" >&2
rm -rf "$out"; mkdir -p "$out"
start=$(date +%s)
kmake() { make -s -C "$KSRC" O="$out" "${KMAKE_TOOLS[@]}" "$@"; }
kmake tinyconfig >/dev/null
"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
kmake olddefconfig >/dev/null

# Every option the fragments ask for must be in the result (n and "not set" are the same;
# a later fragment overrides an earlier one).
declare -A want=()
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) want[${line%%=*}]=${line#*=} ;;
    "# CONFIG_"*" is not set") opt=${line#\# }; want[${opt%% *}]=n ;;
  esac
done < <(cat "${frags[@]}")
bad=0
for opt in "${!want[@]}"; do
  got=$(grep -E "^$opt=" "$out/.config" | cut -d= -f2- || true)
  [ -n "$got" ] || got=n
  if [ "$got" != "${want[$opt]}" ]; then echo "build-kernel: $opt wanted ${want[$opt]}, got $got" >&2; bad=1; fi
done
[ $bad -eq 0 ] || { echo "build-kernel: config fragment not fully applied (see above)" >&2; exit 1; }

kmake -j"$(nproc)" bzImage modules
touch "$out/.ferrule-built"
# Older builds of this variant (other keys) are dead weight: ~3 GB each.
for old in "$FERRULE_CACHE/kernel/$variant-"*; do
  [ "$old" = "$out" ] || rm -rf "$old"
done
echo "build-kernel: $variant kernel built in $(( $(date +%s) - start ))s" >&2
echo "$out"
