# ferrule.service's logic without systemd: packaging/ferrule-boot start/reload/stop against the
# real module and CLI. start loads the module and applies the config file (missing file: load
# only; invalid file: start fails, nothing configured); reload applies the edited file; stop
# disables the target before removing anything and unloads the module.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/bench/common.sh"
BOOT=$FERRULE_ROOT/packaging/ferrule-boot
[ -x "$FERRULE_ROOT/build/bin/ferrule" ] || { echo "FAILED: build/bin/ferrule missing (scripts/build-cli.sh)"; exit 1; }
export PATH=$FERRULE_ROOT/build/bin:$PATH
export FERRULE_LOAD="insmod $(ferrule_ko)" FERRULE_UNLOAD="rmmod ferrule"
tmp=$(mktemp -d)
export FERRULE_CONFIG=$tmp/ferrule.toml
T=$CFG/targets/local/50:01:40:50:00:00:00:01
ours() { grep -lx ferrule_local /sys/class/scsi_host/*/proc_name 2>/dev/null; }
loaded() { grep -q '^ferrule ' /proc/modules; }
mkdir -p /tmp/cb && mount -t tmpfs none /tmp/cb

check "guest-init's module unloaded" rmmod ferrule
check "stop when not loaded: ok" "$BOOT" stop

# No config file: the module is loaded, nothing configured.
out=$("$BOOT" start 2>&1); rc=$?; echo "$out"
expect_eq "start without a config file exits 0" 0 $rc
check "module loaded by start" loaded
check "configfs root present" test -d $CFG
check "start says there is no file" grep -qF "$tmp/ferrule.toml does not exist" <<<"$out"
expect_eq "nothing configured" "" "$(find $CFG/devices $CFG/targets/local -mindepth 1 -maxdepth 1)"
check "stop" "$BOOT" stop
check "module unloaded by stop" bash -c '! grep -q "^ferrule " /proc/modules'

# The local example as /etc/ferrule/ferrule.toml.
sed 's|/var/lib/ferrule|/tmp/cb|' "$FERRULE_ROOT/tools/ferrule/examples/local.toml" > $FERRULE_CONFIG
out=$("$BOOT" start 2>&1); rc=$?; echo "$out"
expect_eq "start with the example exits 0" 0 $rc
check "start applied the file" grep -qF "ferrule: apply: done, 29 steps" <<<"$out"
expect_eq "target enabled" 1 "$(cat $T/enable)"
sd=$(find_disk FERRULE fileio FERRULE-DISK1)
check "disk1 visible as a local disk" test -b "$sd"
check "start again (module already loaded): no reload, nothing to do" \
  bash -c "'$BOOT' start | grep -q 'nothing to do' && ! '$BOOT' start | grep -q loading"

# reload: the edited file is applied (a new LUN appears on the live target).
sed -i 's/luns = { 0 = "disk1", 1 = { device = "scratch", read_only = true } }/luns = { 0 = "disk1", 1 = { device = "scratch", read_only = true }, 2 = "hidden" }/' $FERRULE_CONFIG
check "reload" "$BOOT" reload
expect_eq "LUN 2 added by reload" hidden "$(cat $T/groups/default/luns/2/device)"
expect_eq "the session sees LUN 2" "0,1,2" "$(sed -n 2p $T/sessions | awk '{print $5}')"

# stop: the CLI's plan disables the target before the first rmdir; then rmmod.
check "the plan disables the target first" \
  bash -c "ferrule clear --dry-run | head -1 | grep -qx '~ targets/local/50:01:40:50:00:00:00:01/enable = \"0\" (was \"1\")'"
out=$("$BOOT" stop 2>&1); rc=$?; echo "$out"
expect_eq "stop exits 0" 0 $rc
check "stop cleared the configuration" grep -qF "ferrule: clear: done" <<<"$out"
check "no local SCSI host" test -z "$(ours)"
check "module unloaded" bash -c '! grep -q "^ferrule " /proc/modules'
check "backing file kept" test -f /tmp/cb/disk1.img

# FERRULE_UNLOAD="" keeps the module loaded on stop.
check "start" "$BOOT" start
check "stop, keeping the module" env FERRULE_UNLOAD= "$BOOT" stop
check "module still loaded" loaded
expect_eq "configuration cleared" "" "$(find $CFG/devices $CFG/targets/local -mindepth 1 -maxdepth 1)"

# An invalid file fails the start and configures nothing.
echo 'colour = "blue"' >> $FERRULE_CONFIG
check "module unloaded before the bad start" rmmod ferrule
out=$("$BOOT" start 2>&1); rc=$?; echo "$out"
expect_eq "start with an invalid file exits 1" 1 $rc
check "the error names the file and line" grep -qF "$FERRULE_CONFIG:42:1: error: unknown key" <<<"$out"
check "module loaded all the same" loaded
expect_eq "nothing configured" "" "$(find $CFG/devices $CFG/targets/local -mindepth 1 -maxdepth 1)"
check "stop" "$BOOT" stop

# guest-init expects the module loaded at the end (it unloads it for kmemleak).
check "reload the module for guest-init" insmod "$(ferrule_ko)"
umount /tmp/cb
finish
