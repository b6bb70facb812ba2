#!/usr/bin/env bash
# Runs inside the guest (started by tests/qemu/run): prepares the guest, loads the modules,
# runs the test script and prints its exit status behind a marker the host looks for.
#   guest-init.sh LOAD MARKER SCRIPT [ARGS...]
load=$1 marker=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
export FERRULE_ROOT=$(cd "$here/../.." && pwd)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
echo 8 > /proc/sys/kernel/printk
# kmemleak (debug kernel): forget what boot allocated, so only leaks from here on count.
kml=/sys/kernel/debug/kmemleak
[ -w $kml ] && echo clear > $kml
rc=0
if [ "$load" = 1 ]; then
  for m in ${FERRULE_MODULES:-ferrule}; do
    ko=$FERRULE_ROOT/$m.ko
    [ -f "$ko" ] || ko=$(find "$FERRULE_ROOT" -name "$m.ko" -not -path '*/target/*' | head -1)
    if ! insmod "$ko"; then echo "guest-init: insmod $m failed" >&2; rc=100; fi
  done
fi
if [ $rc -eq 0 ]; then
  bash "$@"
  rc=$?
fi
# Leaks are reported into the kernel log, where the host's splat check finds them
# ("unreferenced object"). Two scans: kmemleak only reports objects seen unreferenced twice.
if [ -w $kml ]; then
  for m in ${FERRULE_MODULES:-ferrule}; do rmmod "$m" 2>/dev/null; done
  echo scan > $kml; sleep 1; echo scan > $kml
  # debugfs files report size 0, so read the content rather than testing -s.
  leaks=$(cat $kml)
  if [ -n "$leaks" ]; then
    echo "guest-init: kmemleak reports leaks:" >&2
    printf '%s\n' "$leaks" | while IFS= read -r l; do echo "kmemleak-report: $l" > /dev/kmsg; done
  fi
fi
# Let the kernel flush pending printk (e.g. a WARN from module exit) before we power off.
sleep 0.2
echo "$marker=$rc"
