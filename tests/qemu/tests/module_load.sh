# ferrule.ko loads (guest-init inserted it), logs its version, creates its configfs root,
# rejects what the root does not support, and unloads and reloads cleanly.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
want=$(sed -n 's/^version = "\(.*\)"/\1/p' "$FERRULE_ROOT/Cargo.toml" | head -1)
check "module is live" grep -q '^ferrule .* Live' /proc/modules
check "version logged at load" bash -c "dmesg | grep -q 'ferrule $want loading'"
check "configfs root exists" test -d $CFG
# qla2x00t: the PCI driver is registered but claims nothing by itself (empty ID table, no alias).
QLA=/sys/bus/pci/drivers/ferrule_qla2x00t
check "qla2x00t PCI driver registered" test -d $QLA
expect_eq "no module alias (never autoloads for QLogic HBAs)" "" "$(modinfo -F alias "$(ferrule_ko)")"
expect_eq "qla2x00t bound to no device" "" "$(find $QLA -maxdepth 1 -name '0000:*')"
# Handed a device by driver_override, probe refuses what is not a supported ISP: one log
# line, nothing kept. An unbound function (e.g. the host bridge) is safe to offer.
bdf=$(for d in /sys/bus/pci/devices/*; do [ -e "$d/driver" ] || { basename "$d"; break; }; done)
if [ -n "$bdf" ]; then
  echo ferrule_qla2x00t > /sys/bus/pci/devices/$bdf/driver_override
  echo "$bdf" > /sys/bus/pci/drivers_probe 2>/dev/null || true
  check "probe of a non-QLogic function refused and logged" bash -c "dmesg | grep -q '$bdf: qla2x00t: probe failed at identify'"
  check "refused function left unbound" test ! -e /sys/bus/pci/devices/$bdf/driver
  echo > /sys/bus/pci/devices/$bdf/driver_override
else
  echo "skip: no unbound PCI function to offer"
fi
expect_eq "version attribute" "$want" "$(cat $CFG/version)"
expect_fail "version is read-only" bash -c "echo 9.9 > $CFG/version"
err=$(bash -c "echo 9.9 > $CFG/version" 2>&1)
check "read-only write fails with EACCES" bash -c "[[ '$err' == *'Permission denied'* ]]"
expect_eq "version unchanged after rejected write" "$want" "$(cat $CFG/version)"
check "rmmod" rmmod ferrule
check "configfs root gone after unload" test ! -e $CFG
check "qla2x00t PCI driver gone after unload" test ! -e $QLA
check "unload logged" bash -c "dmesg | grep -q 'ferrule $want unloaded'"
check "reload" insmod "$(ferrule_ko)"
check "configfs root back" test -d $CFG
check "rmmod again" rmmod ferrule
finish
