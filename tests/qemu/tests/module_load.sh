# ferrule.ko loads (guest-init inserted it), logs its version, creates its configfs root,
# rejects what the root does not support, and unloads and reloads cleanly.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
want=$(sed -n 's/^version = "\(.*\)"/\1/p' "$FERRULE_ROOT/Cargo.toml" | head -1)
check "module is live" grep -q '^ferrule .* Live' /proc/modules
check "version logged at load" bash -c "dmesg | grep -q 'ferrule $want loading'"
check "configfs root exists" test -d $CFG
expect_eq "version attribute" "$want" "$(cat $CFG/version)"
expect_fail "version is read-only" bash -c "echo 9.9 > $CFG/version"
err=$(bash -c "echo 9.9 > $CFG/version" 2>&1)
check "read-only write fails with EACCES" bash -c "[[ '$err' == *'Permission denied'* ]]"
expect_eq "version unchanged after rejected write" "$want" "$(cat $CFG/version)"
check "rmmod" rmmod ferrule
check "configfs root gone after unload" test ! -e $CFG
check "unload logged" bash -c "dmesg | grep -q 'ferrule $want unloaded'"
check "reload" insmod "$(ferrule_ko)"
check "configfs root back" test -d $CFG
check "rmmod again" rmmod ferrule
finish
