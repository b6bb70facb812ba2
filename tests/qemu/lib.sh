# Helpers for VM test scripts (sourced inside the guest).
set -u
CFG=/sys/kernel/config/ferrule
fails=0
check() { # check DESCRIPTION CMD... : run CMD, record failure with the description
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}
expect_eq() { # expect_eq DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
expect_fail() { # expect_fail DESCRIPTION CMD... : CMD must fail
  local what=$1; shift
  if "$@" 2>/dev/null; then echo "FAILED: $what (succeeded)"; fails=$((fails + 1)); else echo "ok: $what"; fi
}
finish() { echo "$fails check(s) failed"; [ "$fails" -eq 0 ]; }
ferrule_ko() { echo "$FERRULE_ROOT/ferrule.ko"; }
