# Unloading while the configfs tree is in use must refuse or wait, never oops.
# Rust's configfs leaves attributes without a module owner (ca_owner = NULL), so an open
# attribute does not pin the module; configfs instead marks the attribute dead at unregister
# (after in-flight show/store calls finish) and later reads fail with ENOENT. Both paths are
# exercised here; any oops fails the run through the runner's console check.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
exec 3<$CFG/version
check "rmmod with an attribute open (waits for in-flight calls, then unloads)" rmmod ferrule
check "module gone" bash -c "! grep -q '^ferrule ' /proc/modules"
expect_fail "reading the stale attribute fd fails cleanly" bash -c "cat <&3 >/dev/null"
exec 3<&-
check "reload" insmod "$(ferrule_ko)"
# A process whose cwd is inside the tree does not pin the module: unload must still be clean.
(cd $CFG && sleep 3) &
sleep 0.5
check "rmmod with a cwd inside the tree" rmmod ferrule
wait
check "reload after busy unload" insmod "$(ferrule_ko)"
# Readers hammering attributes while the module unloads and reloads: no oops, no hang.
( for i in $(seq 1 400); do cat $CFG/version >/dev/null 2>&1; done ) &
reader=$!
for i in 1 2 3 4 5; do
  check "unload #$i under concurrent reads" rmmod ferrule
  check "reload #$i under concurrent reads" insmod "$(ferrule_ko)"
done
wait $reader
check "final rmmod" rmmod ferrule
finish
