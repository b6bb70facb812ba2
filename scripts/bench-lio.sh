#!/usr/bin/env bash
# Ferrule vs LIO benchmark (`make bench`; not part of `make test`): boots the test VM, runs
# tests/qemu/bench/run-bench.sh in it (identical fio jobs against Ferrule and LIO targets, median
# of N runs) and prints a Markdown table. --update-doc also writes the table, the command and
# the environment into Documentation/performance.md between its bench markers.
#   scripts/bench-lio.sh [--update-doc] [--runs N] [--runtime S] [--ramp S] [--timeout S]
#                        [--kvm|--tcg] [-- more run-bench.sh arguments]
#   scripts/bench-lio.sh [--update-doc] --from-log LOG    re-render a finished run, no VM
# Env: FERRULE_VM_CPUS (default 2), FERRULE_VM_MEMORY (default 4G: two 1 GiB tmpfs files).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cmdline=scripts/bench-lio.sh
[ $# -eq 0 ] || cmdline+=$(printf ' %q' "$@")

update_doc=0 runs=3 runtime=10 ramp=2 timeout= accel=() extra=() from_log=
while [ $# -gt 0 ]; do
  case "$1" in
    --update-doc) update_doc=1; shift ;;
    --runs) runs=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --kvm|--tcg) accel=("$1"); shift ;;
    --from-log) from_log=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench-lio: unknown argument $1" >&2; exit 2 ;;
  esac
done

rc=0
if [ -z "$from_log" ]; then
  # Worst case: (2 pairs x 2 targets + the Ferrule-only FC pair) x 4 jobs x runs, each fio run plus its start-up (slow on
  # TCG), plus boot and setup.
  [ -n "$timeout" ] || timeout=$((20 * runs * (runtime + ramp + 12) + 300))
  kdir=$(kernel_dir default)
  [ -f "$kdir/.ferrule-built" ] || { echo "bench-lio: no test kernel at $kdir (make kernel)" >&2; exit 2; }
  export FERRULE_VM_CPUS=${FERRULE_VM_CPUS:-2} FERRULE_VM_MEMORY=${FERRULE_VM_MEMORY:-4G}
  # Without a built module the run is LIO-only; the guest reports Ferrule as not available.
  load=()
  [ -f ferrule.ko ] || { load=(--no-load); echo "bench-lio: no ferrule.ko (make): LIO only" >&2; }

  log=build/vm-logs/run-bench.log
  runerr=$(mktemp)
  trap 'rm -f "$runerr"' EXIT
  started=$(date -u '+%Y-%m-%d %H:%M UTC')
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "bench-lio: running in the VM (timeout ${timeout}s, log $log)" >&2
  set +e
  tests/qemu/run "${load[@]}" "${accel[@]}" --timeout "$timeout" tests/qemu/bench/run-bench.sh \
    --runs "$runs" --runtime "$runtime" --ramp "$ramp" "${extra[@]}" 2> >(tee "$runerr" >&2)
  rc=$?
  set -e
  wait  # for tee
  [ -f "$log" ] || { echo "bench-lio: no console log" >&2; exit 1; }
  # The host's side of the record goes into the log too, so --from-log can re-render it.
  # tests/qemu/run reports "run: run-bench: <accel>, <seconds>s, log ..." on stderr.
  {
    echo "BENCH-HOST command=$cmdline"
    echo "BENCH-HOST commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . \
      ':!Documentation/performance.md' 2>/dev/null || echo ' with local changes')"
    echo "BENCH-HOST date=$started"
    echo "BENCH-HOST kernel_build=$(basename "$kdir")"
    echo "BENCH-HOST vm=${FERRULE_VM_CPUS} vCPUs, ${FERRULE_VM_MEMORY} memory, accelerator" \
      "$(sed -n 's/^run: run-bench: \([a-z]*\), .*/\1/p' "$runerr" | head -1)"
    echo "BENCH-HOST host=$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))," \
      "load average $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "BENCH-HOST fio=$runs runs per job and target (median), $runtime s + $ramp s ramp each"
    echo "BENCH-HOST status=$rc"
  } >> "$log"
else
  log=$from_log
fi

# host VALUE-NAME: a BENCH-HOST value from the log.
host() { grep -a -o "BENCH-HOST $1=.*" "$log" | tail -1 | cut -d= -f2- || true; }

table=$(mktemp)
trap 'rm -f "${runerr:-}" "$table"' EXIT
# Console lines may carry CRs or be preceded by kernel output: pick the markers anywhere.
grep -a -o -E 'BENCH-(META|NOTE|RESULT) .*' "$log" | tr -d '\r' | python3 -c '
import sys
results, notes, meta = {}, [], []
for line in sys.stdin:
    kind, _, rest = line.rstrip("\n").partition(" ")
    if kind == "BENCH-RESULT":
        pair, job, side, iops, mbps, lo, hi = rest.split()
        spread = "n/a" if lo == "n/a" else f"{lo}-{hi}"
        results.setdefault((pair, job), {})[side] = (iops, mbps, spread)
    elif kind == "BENCH-NOTE":
        notes.append(rest)
    else:
        meta.append(rest)
if not results:
    sys.exit("bench-lio: no BENCH-RESULT lines in the console log")
def ratio(f, l):
    try:
        return f"{float(f) / float(l):.2f}x"
    except (ValueError, ZeroDivisionError):
        return "n/a"
none = ("n/a", "n/a", "n/a")
print("| pair | job | Ferrule IOPS | Ferrule MB/s | LIO IOPS | LIO MB/s | Ferrule/LIO |")
print("|---|---|---:|---:|---:|---:|---:|")
for (pair, job), sides in results.items():
    f, l = sides.get("ferrule", none), sides.get("lio", none)
    print(f"| {pair} | {job} | {f[0]} | {f[1]} | {l[0]} | {l[1]} | {ratio(f[0], l[0])} |")
print()
# The spread says how far a median can be trusted on a noisy host.
print("| pair | job | Ferrule IOPS min-max | LIO IOPS min-max |")
print("|---|---|---:|---:|")
for (pair, job), sides in results.items():
    f, l = sides.get("ferrule", none), sides.get("lio", none)
    print(f"| {pair} | {job} | {f[2]} | {l[2]} |")
print()
for n in notes:
    print(f"Note: {n}")
for m in meta:
    print(f"Guest: {m}")
' > "$table"
cat "$table"
[ "$rc" -eq 0 ] || echo "bench-lio: the VM run failed (status $rc); the table may be incomplete" >&2

if [ "$update_doc" = 1 ]; then
  doc=Documentation/performance.md
  block=$(mktemp)
  {
    echo "Command: \`$(host command)\` (commit $(host commit))"
    echo
    echo "- date: $(host date)"
    echo "- kernel: $(host kernel_build) ($(grep -a -o -m1 'Linux version [^ ]*' "$log" | cut -d' ' -f3 || true))"
    echo "- VM: $(host vm)"
    echo "- host: $(host host)"
    echo "- fio: $(host fio)"
    [ "$(host status)" = 0 ] || echo "- **the VM run failed (status $(host status)): results may be incomplete**"
    echo
    # The results table, a blank line, the spread table, a blank line.
    awk '/^\|/{print; t=1; next} t{print ""; t=0}' "$table"
    sed -n 's/^Note: \(.*\)/- note: \1/p' "$table"
  } > "$block"
  python3 - "$doc" "$block" <<'PY'
import sys
doc, block = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
text = open(doc).read()
head, sep1, rest = text.partition(begin)
_, sep2, tail = rest.partition(end)
if not (sep1 and sep2):
    sys.exit(f"bench-lio: markers {begin} / {end} not found in {doc}")
open(doc, "w").write(f"{head}{begin}\n{block}{end}{tail}")
PY
  rm -f "$block"
  echo "bench-lio: updated $doc" >&2
fi
exit "$rc"
