#!/usr/bin/env bash
# `make demo`: set everything up, boot the test VM with ferrule.ko and show it working.
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
# Show what the demo script printed (its lines are between the markers), not the boot noise.
sed -n '/^=== FERRULE DEMO BEGIN/,/^=== FERRULE DEMO END/p' "$FERRULE_LOGDIR/demo-demo.log" | tr -d '\r'
exit $rc
