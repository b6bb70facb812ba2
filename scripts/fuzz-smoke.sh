#!/usr/bin/env bash
# Fuzz smoke for `make test`: the stable fuzz harnesses and hostile-input property tests, in
# release mode with larger iteration counts than `cargo test` uses, about 60 s of running
# time on 2 cores (plus the release build, cached after the first run). Exits non-zero on
# any failure; the last line gives the number of inputs run.
#   scst_core/tests/fuzz_exec.rs     exec entry point: structured + exhaustive + raw bytes
#   scst_core/tests/fuzz_target.rs   target entry point: random S_ID/LUN/CDB/data + events
#   scst_core/tests/target_model.rs  identity invariant over random fabric event sequences
#   drivers/qla2x00t/proto/tests/props.rs  IOCB codecs: round trips + arbitrary bytes
# Counts can be overridden: FUZZ_EXEC_ITERS, FUZZ_RAW_CASES, FUZZ_TARGET_ITERS,
# FUZZ_MODEL_CASES, FUZZ_QLA_CASES.
set -euo pipefail
cd "$(dirname "$0")/.."

exec_iters=${FUZZ_EXEC_ITERS:-3000000}
raw_cases=${FUZZ_RAW_CASES:-50000}
target_iters=${FUZZ_TARGET_ITERS:-2000000}
model_cases=${FUZZ_MODEL_CASES:-30000}
qla_cases=${FUZZ_QLA_CASES:-50000}

start=$(date +%s)
run() {
  local name=$1; shift
  local t=$(date +%s)
  echo "fuzz-smoke: $name"
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  grep -E 'test result|target fuzz|target model' "$out" || true
  [ "$rc" -eq 0 ] || tail -n 40 "$out"
  rm -f "$out"
  echo "fuzz-smoke: $name: $(( $(date +%s) - t ))s, exit $rc"
  return "$rc"
}

cargo build --release --locked --tests -p scst_core -p qla2x00t_proto >/dev/null 2>&1 ||
  cargo build --release --locked --tests -p scst_core -p qla2x00t_proto

run "exec harness" env FERRULE_FUZZ_ITERS="$exec_iters" PROPTEST_CASES="$raw_cases" \
  cargo test --release --locked -q -p scst_core --test fuzz_exec -- --nocapture
run "target entry point" env FERRULE_FUZZ_TARGET_ITERS="$target_iters" \
  cargo test --release --locked -q -p scst_core --test fuzz_target -- --nocapture
run "identity model" env FERRULE_MODEL_CASES="$model_cases" \
  cargo test --release --locked -q -p scst_core --test target_model -- --nocapture
qla_props=$(cargo test --release --locked -q -p qla2x00t_proto --test props -- --list 2>/dev/null |
  grep -c ': test$')
run "qla2x00t_proto hostile input" env PROPTEST_CASES="$qla_cases" \
  cargo test --release --locked -q -p qla2x00t_proto --test props

# fuzz_exec: structured inputs + 256 opcodes x 2 fills x 8 buffer sizes + raw byte cases.
total=$(( exec_iters + 4096 + raw_cases + target_iters + model_cases + qla_props * qla_cases ))
echo "fuzz-smoke: $total inputs run (exec $((exec_iters + 4096 + raw_cases)), target commands" \
  "$target_iters, model sequences $model_cases, qla2x00t_proto $((qla_props * qla_cases)))" \
  "in $(( $(date +%s) - start ))s"
