# Parallel shells creating, configuring, mapping and removing the same names: every call
# either succeeds or fails cleanly, no oops (the runner checks the console), and the tree
# can be emptied and the module unloaded afterwards.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
T=$CFG/targets/local/21:00:00:00:00:00:00:01
mkdir $T $T/groups/g
worker() {
  local me=$1 i
  for i in $(seq 1 30); do
    local d=$CFG/devices/s$((i % 4)) l=$T/groups/g/luns/$((i % 3))
    mkdir $d 2>/dev/null
    echo $((i % 2 * 512 + 512)) > $d/block_size 2>/dev/null
    echo 1048576 > $d/size 2>/dev/null
    echo $((i % 2)) > $d/enable 2>/dev/null
    cat $d/info >/dev/null 2>&1
    mkdir $l 2>/dev/null
    echo s$(((i + me) % 4)) > $l/device 2>/dev/null
    cat $l/device >/dev/null 2>&1
    mkdir $T/groups/g/initiators/21:00:00:00:00:00:00:$((10 + i % 5)) 2>/dev/null
    mkdir $T/groups/x$me 2>/dev/null; rmdir $T/groups/x$me 2>/dev/null
    rmdir $l 2>/dev/null
    rmdir $d 2>/dev/null
    rmdir $T/groups/g/initiators/21:00:00:00:00:00:00:$((10 + i % 5)) 2>/dev/null
  done
}
for w in 1 2 3 4; do worker $w & done
wait
check "module still live" grep -q '^ferrule .* Live' /proc/modules
for l in $T/groups/g/luns/*/; do [ -d "$l" ] && rmdir "$l"; done
for m in $T/groups/g/initiators/*/; do [ -d "$m" ] && rmdir "$m"; done
for d in $CFG/devices/*/; do [ -d "$d" ] && rmdir "$d"; done
check "tree emptied" rmdir $T/groups/g $T
expect_eq "nothing left" "" "$(find $CFG/devices $CFG/targets/local -mindepth 1 -maxdepth 1)"
check "rmmod" rmmod ferrule
finish
