# Unloading while the configfs tree is in use must refuse or wait, never oops.
# Every attribute's owner is the module (ca_owner = THIS_MODULE), so an open attribute file
# pins the module and rmmod is refused until it is closed. Any oops fails the run through
# the runner's console check.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
exec 3<$CFG/version
expect_fail "rmmod refused with an attribute open" rmmod ferrule
check "module still live" grep -q '^ferrule .* Live' /proc/modules
expect_eq "the open attribute still reads" "0.1.0" "$(cat <&3)"
exec 3<&-
check "rmmod once it is closed" rmmod ferrule
check "module gone" bash -c "! grep -q '^ferrule ' /proc/modules"
check "reload" insmod "$(ferrule_ko)"
# A process whose cwd is inside the tree does not pin the module: unload must still be clean.
(cd $CFG && sleep 3) &
sleep 0.5
check "rmmod with a cwd inside the tree" rmmod ferrule
wait
check "reload after busy unload" insmod "$(ferrule_ko)"
# Readers hammering attributes while the module unloads and reloads: no oops, no hang. An
# rmmod may lose the race against an open attribute (EBUSY); it then retries.
( for i in $(seq 1 400); do cat $CFG/version >/dev/null 2>&1; done ) &
reader=$!
for i in 1 2 3 4 5; do
  check "unload #$i under concurrent reads" bash -c 'for t in $(seq 1 200); do rmmod ferrule 2>/dev/null && exit 0; sleep 0.05; done; exit 1'
  check "reload #$i under concurrent reads" insmod "$(ferrule_ko)"
done
wait $reader
check "final rmmod" rmmod ferrule
finish
