#!/usr/bin/env bash
# `make demo`: set everything up, boot the test VM with ferrule.ko and the simulated FC fabric
# (ferrule_isp_sim.ko) and replay the NPIV slot-reuse story (tests/qemu/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/bootstrap.sh
kdir=$(bash scripts/build-kernel.sh default)
make --no-print-directory module-build KDIR="$kdir" >build.log 2>&1 || { cat build.log; exit 1; }
rm -f build.log
export FERRULE_LOGDIR=$FERRULE_ROOT/build/vm-logs FERRULE_LOG_SUFFIX=-demo
echo "Booting the Ferrule test VM (kernel $(cat "$KSRC/../linux-$FERRULE_KSERIES.version"))..."
rc=0
FERRULE_KERNEL_DIR=$kdir tests/qemu/run tests/qemu/demo.sh || rc=$?
# Show what the demo script printed (its lines are between the markers), not the boot noise
# nor the kernel's console lines ("[    1.234] ..."; the full log keeps them, and the runner
# fails the demo on any splat in them).
sed -n '/^=== FERRULE DEMO BEGIN/,/^=== FERRULE DEMO END/p' "$FERRULE_LOGDIR/demo-demo.log" |
  tr -d '\r' | grep -av '^\[ *[0-9]*\.[0-9]*\] '
exit $rc
