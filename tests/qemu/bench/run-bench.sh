#!/usr/bin/env bash
# Guest side of the Ferrule-vs-LIO benchmark (started by scripts/bench-lio.sh through
# tests/qemu/run). Sets up both targets for each pair, runs identical fio jobs against them,
# and prints machine-readable lines the host script turns into a table:
#   BENCH-META key=value ...            environment
#   BENCH-NOTE text                     e.g. "ferrule: not available (...)"
#   BENCH-RUN pair job target run iops MB/s
#   BENCH-RESULT pair job target median_iops median_MB/s min_iops max_iops  (n/a: not measured)
#
#   run-bench.sh [--runs N] [--runtime S] [--ramp S] [--size BYTES] [--file-size BYTES]
#                [--pairs "nullio fileio-tmpfs fc-nullio"] [--jobs "randread-4k randwrite-4k read-128k write-128k"]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lio.sh"
. "$here/ferrule.sh"

runs=3 runtime=10 ramp=2 size=$((1 << 30)) file_size=$((1 << 30))
pairs="nullio fileio-tmpfs fc-nullio" jobs="randread-4k randwrite-4k read-128k write-128k"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --file-size) file_size=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "run-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Every job runs at queue depth 32, one job, direct I/O: the only differences are the target.
job_args() {
  case "$1" in
    randread-4k)  echo "--rw=randread --bs=4k" ;;
    randwrite-4k) echo "--rw=randwrite --bs=4k" ;;
    read-128k)    echo "--rw=read --bs=128k" ;;
    write-128k)   echo "--rw=write --bs=128k" ;;
    *) echo "run-bench: unknown job $1" >&2; return 1 ;;
  esac
}
for j in $jobs; do job_args "$j" >/dev/null; done
FIO_COMMON="--ioengine=libaio --direct=1 --iodepth=32 --numjobs=1 --time_based --runtime=$runtime \
--ramp_time=$ramp --norandommap --randrepeat=0 --output-format=json"

work=$(mktemp -d /tmp/ferrule-bench.XXXXXX)
tmpfs=$work/tmpfs
mkdir "$tmpfs"
failed=0
cleanup() {
  lio_teardown || echo "BENCH-NOTE lio: teardown failed"
  ferrule_teardown || echo "BENCH-NOTE ferrule: teardown failed"
  umount "$tmpfs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# Both fileio backing files live in one tmpfs sized for them (plus slack for metadata).
mount -t tmpfs -o size=$((2 * file_size + (64 << 20))) ferrule-bench "$tmpfs"

echo "BENCH-META cpus=$(nproc) kernel=$(uname -r) fio=$(fio --version) runs=$runs" \
  "runtime=${runtime}s ramp=${ramp}s size=$size file_size=$file_size" \
  "mem=$(awk '/MemTotal/{print $2 "kB"}' /proc/meminfo)"
echo "BENCH-META fio_args=$FIO_COMMON"

declare -A dev=()
# setup_side SIDE: create the side's target for every pair; on failure drop the whole side,
# so a half-working Ferrule never leaves the run without its LIO numbers.
setup_side() {
  local side=$1 pair d
  for pair in $pairs; do
    case "$pair" in
      nullio) d=$("${side}_setup_nullio" "$size") ;;
      fileio-tmpfs) d=$("${side}_setup_fileio" "$tmpfs/$side.img" "$file_size") ;;
      # Ferrule only: LIO's FC target (tcm_qla2xxx) cannot drive the simulated ISP.
      fc-nullio) [ "$side" = ferrule ] || continue
        d=$(ferrule_setup_fc_nullio "$size") ;;
      *) echo "run-bench: unknown pair $pair" >&2; return 2 ;;
    esac || return 1
    dev[$pair/$side]=$d
    # The midlayer picks mq-deadline; "none" leaves the comparison to the targets.
    echo none > "/sys/block/${d#/dev/}/queue/scheduler" 2>/dev/null || true
    echo "BENCH-META device $pair/$side=$d"
  done
}
if lio_available; then
  setup_side lio || { echo "BENCH-NOTE lio: setup failed"; lio_teardown || true; }
else
  echo "BENCH-NOTE lio: not available (no LIO core / tcm_loop in this kernel)"
fi
case " $pairs " in *" fc-nullio "*)
  echo "BENCH-NOTE lio: no fc-nullio (LIO's qla2xxx target needs a real QLogic HBA; the simulated ISP is Ferrule's)" ;;
esac
if reason=$(ferrule_available); then
  case " $pairs " in *" fc-nullio "*)
    if ! why=$(ferrule_fc_prepare); then
      echo "BENCH-NOTE ferrule: fc-nullio not available ($why)"
      pairs=$(echo " $pairs " | sed 's/ fc-nullio / /')
    fi ;;
  esac
  setup_side ferrule || { echo "BENCH-NOTE ferrule: setup failed"; ferrule_teardown || true; }
else
  echo "BENCH-NOTE ferrule: not available ($reason)"
fi

# fio_once DEV JOB: print "iops MB/s" of one run (MB = 10^6 bytes).
fio_once() {
  local out=$work/fio.json
  # shellcheck disable=SC2046,SC2086
  fio --name=bench --filename="$1" $(job_args "$2") $FIO_COMMON --output="$out" >/dev/null || return 1
  python3 - "$out" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
iops = job["read"]["iops"] + job["write"]["iops"]
bw = job["read"]["bw_bytes"] + job["write"]["bw_bytes"]
print(f"{iops:.0f} {bw / 1e6:.1f}")
PY
}

results=$work/runs.txt
: > "$results"
for run in $(seq 1 "$runs"); do
  # Alternate who goes first so slow drift (host load, tmpfs growth) hits both sides alike.
  if [ $((run % 2)) -eq 1 ]; then order="ferrule lio"; else order="lio ferrule"; fi
  for pair in $pairs; do
    for job in $jobs; do
      for side in $order; do
        d=${dev[$pair/$side]:-}
        [ -n "$d" ] || continue
        if m=$(fio_once "$d" "$job"); then
          echo "BENCH-RUN $pair $job $side $run $m" | tee -a "$results"
        else
          echo "BENCH-NOTE $side: fio failed on $pair $job run $run"
          failed=1
        fi
      done
    done
  done
done

# Medians per (pair, job, side); n/a where a side was not measured.
python3 - "$results" "$pairs" "$jobs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _, pair, job, side, _, iops, mbps = line.split()
    runs.setdefault((pair, job, side), []).append((float(iops), float(mbps)))
for pair in sys.argv[2].split():
    for job in sys.argv[3].split():
        for side in ("ferrule", "lio"):
            r = runs.get((pair, job, side))
            if r:
                iops = statistics.median(x[0] for x in r)
                mbps = statistics.median(x[1] for x in r)
                lo = min(x[0] for x in r)
                hi = max(x[0] for x in r)
                print(f"BENCH-RESULT {pair} {job} {side} {iops:.0f} {mbps:.1f} {lo:.0f} {hi:.0f}")
            else:
                print(f"BENCH-RESULT {pair} {job} {side} n/a n/a n/a n/a")
PY
exit "$failed"
