#!/usr/bin/env bash
# The full Ferrule test suite (`make test`; CI's .ci/run calls it):
#   bootstrap -> cargo fmt/clippy/test (host) -> systemd unit check -> fuzz smoke -> module
#   build (warnings are errors) -> DKMS build of the packaged source -> CLI build -> VM tests
#   (tests/qemu/tests/*.sh, each booted fresh) with KUnit results parsed from the guest logs.
#   Ends with the plain line "N passed, N failed".
#   scripts/test.sh [--debug] [--only PATTERN]
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
variant=default only=
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) variant=debug; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: scripts/test.sh [--debug] [--only PATTERN]" >&2; exit 2 ;;
  esac
done
export CI=${CI:-}
passed=0 failed=0 failures=()
t0=$(date +%s)
logdir=$FERRULE_ROOT/build/test-logs; mkdir -p "$logdir"
export FERRULE_LOGDIR=$FERRULE_ROOT/build/vm-logs
rm -rf "$FERRULE_LOGDIR"; mkdir -p "$FERRULE_LOGDIR"

ok()   { passed=$((passed + ${2:-1})); printf 'PASS %s\n' "$1"; }
bad()  { failed=$((failed + ${2:-1})); failures+=("$1"); printf 'FAIL %s\n' "$1"; }
stage() { printf '\n== %s (%ss)\n' "$1" "$(( $(date +%s) - t0 ))"; }
# step NAME CMD...: one test, output to a log, shown on failure.
step() {
  local name=$1; shift
  local log=$logdir/$(echo "$name" | tr ' /' '__').log
  if "$@" >"$log" 2>&1; then ok "$name"; else bad "$name"; tail -n 40 "$log"; fi
}

stage bootstrap
if ! bash scripts/bootstrap.sh; then
  echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1
fi

if [ "$variant" = default ] && [ -z "$only" ]; then
  stage "host: fmt, clippy, cargo test"
  step "cargo fmt --check" cargo fmt --all --check
  # The kernel glue is not a cargo crate; rustfmt follows its `mod` tree from the crate root.
  step "rustfmt --check (kernel glue)" rustfmt --edition 2021 --check scst_core/kernel/ferrule_main.rs
  step "rustfmt --check (simulator)" rustfmt --edition 2021 --check drivers/qla2x00t/sim/ferrule_isp_sim_rs.rs
  step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
  ctlog=$logdir/cargo_test.log
  cargo test --workspace --locked >"$ctlog" 2>&1; ct_rc=$?
  # Every test binary prints "test result: ok. N passed; M failed; ..."
  read -r cp cf < <(awk '/^test result:/{for(i=1;i<=NF;i++){if($(i)~/^passed;?$/)p+=$(i-1); if($(i)~/^failed;?$/)f+=$(i-1)}} END{print p+0, f+0}' "$ctlog")
  passed=$((passed + cp)); failed=$((failed + cf))
  echo "cargo test: $cp passed, $cf failed"
  if [ $ct_rc -ne 0 ]; then
    [ "$cf" -gt 0 ] || bad "cargo test (did not finish)"
    grep -E "^(test .* FAILED|failures:|---- )|panicked|error(\[|:)" "$ctlog" | head -40
    failures+=("cargo test")
  fi
  step "systemd unit (systemd-analyze verify)" bash packaging/check-unit.sh
  for f in scripts/fuzz-smoke.sh; do
    [ -x "$f" ] && step "fuzz smoke" bash "$f"
  done
fi

stage "kernel ($variant)"
kdir=$(bash scripts/build-kernel.sh "$variant") || { bad "kernel build"; kdir=; }

stage "module build (warnings are errors)"
built=0
if [ -n "$kdir" ]; then
  if make --no-print-directory module-build KDIR="$kdir" WERROR=1 >"$logdir/module_build.log" 2>&1; then
    built=1
    # objtool and modpost only warn; their warnings fail the build test all the same.
    if grep -i "warning:" "$logdir/module_build.log"; then bad "module build (warnings)"; else ok "module build"; fi
    step "module stack frames <= 4 KiB" bash scripts/check-stack.sh ferrule.o 4096
    [ -f ferrule_isp_sim.o ] && step "sim module stack frames <= 4 KiB" bash scripts/check-stack.sh ferrule_isp_sim.o 4096
  else
    bad "module build"; tail -n 60 "$logdir/module_build.log"
  fi
fi

if [ $built -eq 1 ] && [ "$variant" = default ] && [ -z "$only" ]; then
  stage "DKMS (packaged source, private trees)"
  step "dkms build of ferrule-dkms .deb" bash packaging/test-dkms.sh "$kdir"
fi

stage "VM tests"
# VM tests that drive the CLI run build/bin/ferrule (the guest sees the repository).
cli=1
bash scripts/build-cli.sh >"$logdir/cli_build.log" 2>&1 || { cli=0; bad "CLI build"; tail -n 20 "$logdir/cli_build.log"; }
vm_args=(); [ "$variant" = debug ] && vm_args+=(--debug)
for t in tests/qemu/tests/*.sh; do
  name=$(basename "$t" .sh)
  [ -n "$only" ] && [[ "$name" != *$only* ]] && continue
  if [ $built -ne 1 ]; then bad "vm: $name (module not built)"; continue; fi
  if [ $cli -ne 1 ] && [[ "$name" == cli_* ]]; then bad "vm: $name (CLI not built)"; continue; fi
  if FERRULE_KERNEL_DIR=$kdir tests/qemu/run "${vm_args[@]}" "$t" >"$logdir/vm_$name.log" 2>&1; then
    ok "vm: $name"; grep '^run:' "$logdir/vm_$name.log" | sed 's/^/     /'
  else
    bad "vm: $name"; tail -n 40 "$logdir/vm_$name.log"
  fi
done

# KUnit suites run at every insmod; count each case once, from the first guest log with KTAP.
if [ $built -eq 1 ]; then
  stage "KUnit (from guest logs)"
  python3 tests/qemu/kunit-count.py "$FERRULE_LOGDIR"/*.log >"$logdir/kunit.log" 2>&1
  read -r kp kf < <(tail -n 1 "$logdir/kunit.log")
  if [ -z "$kp" ] || [ $((kp + kf)) -eq 0 ]; then
    bad "kunit: no ferrule KTAP output in the guest logs"
  else
    grep FAIL "$logdir/kunit.log" || true
    passed=$((passed + kp)); failed=$((failed + kf))
    echo "kunit: $kp passed, $kf failed"
    [ "$kf" -eq 0 ] || failures+=("kunit")
  fi
fi

stage "done"
if [ ${#failures[@]} -gt 0 ]; then printf 'failed: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
