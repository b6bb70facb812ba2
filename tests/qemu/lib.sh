# Helpers for VM test scripts (sourced inside the guest).
set -u
CFG=/sys/kernel/config/ferrule
# The debug kernel (KASAN, lockdep, kmemleak) runs several times slower under TCG: tests
# scale their timing bounds (SCSI timeouts, waits) by SLOW.
if [ -e /sys/kernel/debug/kmemleak ]; then SLOW=5; else SLOW=1; fi
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
ferrule_log_lines() { dmesg | grep -c 'ferrule: ' || true; }
expect_errno() { # expect_errno DESCRIPTION "ERROR TEXT" CMD... : CMD fails with that text and logs one line
  local what=$1 text=$2; shift 2
  local before after out
  before=$(ferrule_log_lines)
  if out=$("$@" 2>&1); then
    echo "FAILED: $what (succeeded)"; fails=$((fails + 1)); return
  fi
  after=$(ferrule_log_lines)
  if [[ "$out" != *"$text"* ]]; then
    echo "FAILED: $what: expected '$text', got '$out'"; fails=$((fails + 1)); return
  fi
  if [ $((after - before)) -ne 1 ]; then
    echo "FAILED: $what: expected 1 log line, got $((after - before))"; fails=$((fails + 1)); return
  fi
  echo "ok: $what ($text, 1 log line: $(dmesg | grep 'ferrule: ' | tail -1 | sed 's/^\[[^]]*\] //'))"
}
