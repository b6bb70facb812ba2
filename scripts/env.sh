# Shared settings for Ferrule's scripts (sourced, not run).
# FERRULE_CACHE holds everything built or downloaded outside the repo.
FERRULE_CACHE=${FERRULE_CACHE:-$HOME/.cache/ferrule}
FERRULE_KSERIES=${FERRULE_KSERIES:-7.3}
KSRC=${KSRC:-$FERRULE_CACHE/src/linux-$FERRULE_KSERIES}
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
# The kernel's toolchain: bookworm's LLVM 19 and rustc-web (NOT the rustup rustc on PATH).
KMAKE_TOOLS=(LLVM=-19 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc "BINDGEN=$CARGO_BIN/bindgen")
FERRULE_ROOT=${FERRULE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# Bump when scripts/build-kernel.sh changes how a kernel is configured or built.
KERNEL_RECIPE=1
# Cache key of a kernel build: source version, config fragments, toolchain, this build recipe.
kernel_key() { # variant
  local variant=$1 frags=("$FERRULE_ROOT/tests/qemu/kernel.config")
  [ "$variant" = debug ] && frags+=("$FERRULE_ROOT/tests/qemu/kernel-debug.config")
  {
    cat "$KSRC/../linux-$FERRULE_KSERIES.version" 2>/dev/null
    cat "${frags[@]}"
    /usr/bin/rustc --version 2>/dev/null; clang-19 --version 2>/dev/null | head -1
    "$CARGO_BIN/bindgen" --version 2>/dev/null
    echo "recipe $KERNEL_RECIPE"
  } | sha256sum | cut -c1-16
}
kernel_dir() { # variant -> build tree path
  echo "$FERRULE_CACHE/kernel/$1-$(kernel_key "$1")"
}
