# The `ferrule` CLI against the real module: apply the local example, save it back and get the
# same configuration; a second apply is a no-op that writes nothing (strace); invalid files of
# several kinds are rejected with nothing changed (whole configfs tree compared byte for byte);
# `ferrule sessions --json` matches the kernel's `sessions` file; `ferrule clear` returns the
# tree to a freshly loaded module's. The CLI is build/bin/ferrule (scripts/build-cli.sh).
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/bench/common.sh"
F=$FERRULE_ROOT/build/bin/ferrule
[ -x "$F" ] || { echo "FAILED: $F missing (run scripts/build-cli.sh)"; exit 1; }
T=$CFG/targets/local/50:01:40:50:00:00:00:01
tmp=$(mktemp -d)
mkdir -p /tmp/ca && mount -t tmpfs none /tmp/ca
ours() { grep -lx ferrule_local /sys/class/scsi_host/*/proc_name 2>/dev/null; }
# Every path in the tree and the value of every readable attribute.
# Two processes, not one per file: TCG makes every fork expensive.
snap() {
  find "$CFG" -printf '%y %p\n' | sort
  find "$CFG" -type f -print0 | sort -z | xargs -0 grep -H '' 2>&1
}
# The example with its backing file in the guest's tmpfs (the host's /var/lib is read-only here).
sed 's|/var/lib/ferrule|/tmp/ca|' "$FERRULE_ROOT/tools/ferrule/examples/local.toml" > $tmp/ex.toml

snap > $tmp/fresh
check "check the example" "$F" check $tmp/ex.toml
check "apply the example" bash -c "'$F' apply $tmp/ex.toml > $tmp/apply1.out"
cat $tmp/apply1.out
expect_eq "apply output" "ferrule: apply: done, 29 steps (9 to create, 20 to set, 0 to remove)" "$(cat $tmp/apply1.out)"
expect_eq "disk1 size" 67108864 "$(cat $CFG/devices/disk1/size)"
expect_eq "disk1 enabled" 1 "$(cat $CFG/devices/disk1/enable)"
expect_eq "backing file created" 67108864 "$(stat -c %s /tmp/ca/disk1.img)"
expect_eq "LUN 1 read-only" 1 "$(cat $T/groups/default/luns/1/read_only)"
expect_eq "masked group member" "50:01:40:50:00:00:00:03" "$(ls $T/groups/other/initiators)"
expect_eq "target enabled" 1 "$(cat $T/enable)"
host=$(ours); check "one local SCSI host" test "$(echo "$host" | wc -l)" -eq 1 -a -n "$host"
expect_eq "the local initiator sees LUN 0 and 1, not the masked one" "0,1" "$(sed -n 2p $T/sessions | awk '{print $5}')"

# Apply again: nothing to do, nothing opened for writing, no mkdir/rmdir, same SCSI host.
snap > $tmp/s1
strace -f -qq -e trace=openat,mkdir,mkdirat,rmdir,unlinkat,write -o $tmp/trace "$F" apply $tmp/ex.toml > $tmp/apply2.out; rc=$?
expect_eq "second apply exits 0" 0 $rc
expect_eq "second apply: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/ex.toml" "$(cat $tmp/apply2.out)"
check "strace saw the configfs reads" grep -q "$CFG/devices/disk1/size" $tmp/trace
expect_eq "no configfs file opened for writing" "" \
  "$(grep -E "openat\(.*\"$CFG[^\"]*\", [^)]*O_(WRONLY|RDWR)" $tmp/trace)"
expect_eq "no mkdir/rmdir" "" "$(grep -E '^[0-9]+ +(mkdir|mkdirat|rmdir|unlinkat)\(' $tmp/trace)"
check "tree unchanged by the second apply" cmp $tmp/s1 <(snap)
expect_eq "same SCSI host (target not restarted)" "$host" "$(ours)"
expect_eq "dry run of the same file: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/ex.toml" "$("$F" apply --dry-run $tmp/ex.toml)"

# Save, and the saved file is the same configuration: applying the example to the tree built
# from the saved file is a no-op, and save → clear → apply saved → save is byte-identical.
check "save" "$F" save $tmp/saved.toml
cat $tmp/saved.toml
check "saved file is valid" "$F" check $tmp/saved.toml
check "saved: disk1 path" grep -qx "path = \"/tmp/ca/disk1.img\"" $tmp/saved.toml
check "saved: masked member" grep -qF '"50:01:40:50:00:00:00:03"' $tmp/saved.toml
expect_eq "saved file applies to the running tree as a no-op" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/saved.toml" "$("$F" apply $tmp/saved.toml)"
check "clear" "$F" clear
check "tree after clear equals a freshly loaded module's" cmp $tmp/fresh <(snap)
check "no local SCSI host after clear" test -z "$(ours)"
check "apply the saved file to the empty module" "$F" apply $tmp/saved.toml
check "save again" "$F" save $tmp/saved2.toml
check "save → apply → save is byte-identical" cmp $tmp/saved.toml $tmp/saved2.toml
expect_eq "the example applies to it as a no-op" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/ex.toml" "$("$F" apply $tmp/ex.toml)"

# Invalid files: exit 1, FILE:LINE:COL diagnostics, and the tree unchanged byte for byte.
bad() { # bad NAME EXPECTED-DIAGNOSTIC : $tmp/NAME.toml must be rejected
  local out rc
  snap > $tmp/before
  out=$("$F" apply $tmp/$1.toml 2>&1); rc=$?
  expect_eq "bad file '$1': exit 1" 1 $rc
  check "bad file '$1': diagnostic '$2'" grep -qF -- "$2" <<<"$out"
  check "bad file '$1': 'nothing was changed'" grep -qF "nothing was changed" <<<"$out"
  check "bad file '$1': tree byte-identical" cmp $tmp/before <(snap)
}
printf '[[device]\nname = "x"\n' > $tmp/syntax.toml
bad syntax "$tmp/syntax.toml:1:10: error: unclosed array table"
sed 's/luns = { 0 = "hidden" }/luns = { 0 = "hiden" }/' $tmp/ex.toml > $tmp/unknown_dev.toml
bad unknown_dev "$tmp/unknown_dev.toml:41:14: error: LUN 0 maps unknown device \"hiden\""
sed 's/^wwpn = "50:01:40:50:00:00:00:01"/wwpn = "50:01:40:50:00:00:00"/' $tmp/ex.toml > $tmp/bad_wwpn.toml
bad bad_wwpn "$tmp/bad_wwpn.toml:30:8: error: target bad WWPN"
sed 's/^size = "64M"/size = "1000"/' $tmp/ex.toml > $tmp/bad_size.toml
bad bad_size "$tmp/bad_size.toml:11:8: error: size 1000 is not a multiple of block_size 512"
sed 's/^thin = true/thin = true\ncolour = "blue"/' $tmp/ex.toml > $tmp/unknown_key.toml
bad unknown_key "$tmp/unknown_key.toml:14:1: error: unknown key \`colour\`"
# LUN 0 twice in one group: a duplicate key.
sed 's/luns = { 0 = "hidden" }/luns = { 0 = "hidden", 0 = "scratch" }/' $tmp/ex.toml > $tmp/dup_lun.toml
bad dup_lun "$tmp/dup_lun.toml:41:24: error: duplicate key"
expect_eq "missing file: exit 1" 1 "$("$F" apply $tmp/none.toml >/dev/null 2>&1; echo $?)"

# Sessions: the CLI's view equals the kernel's sessions file for the enabled local target.
sd=$(find_disk FERRULE fileio FERRULE-DISK1)
check "disk1 is a local disk" test -b "$sd"
check "I/O through the session" dd if=$sd of=/dev/null bs=4k count=8 iflag=direct status=none
k1=$(cat $T/sessions); j=$("$F" --json sessions); k2=$(cat $T/sessions)
echo "$k1"; echo "$j"
expect_eq "kernel sessions stable while reading" "$k1" "$k2"
expect_eq "one session line" 2 "$(echo "$k1" | wc -l)"
want=$(echo "$k1" | awk 'NR==2{printf "local 50:01:40:50:00:00:00:01 %s %s %s %s %s %s", $1,$2,$3,$4,$5,$6}')
got=$(echo "$j" | jq -r '.[] | [.fabric, .target, .initiator, .port_id, .handle, .group, (if (.luns|length)==0 then "-" else (.luns|map(tostring)|join(",")) end), (.commands|tostring)] | join(" ")')
expect_eq "ferrule --json sessions equals configfs sessions" "$want" "$got"
expect_eq "sessions: one entry" 1 "$(echo "$j" | jq length)"
check "sessions table lists the initiator" bash -c "'$F' sessions | grep -q '^local/50:01:40:50:00:00:00:01 *50:01:40:50:00:00:00:02 '"
expect_eq "status counts" "1 1 3" "$("$F" --json status | jq -r '"\(.targets) \(.targets_enabled) \(.devices)"')"

check "clear at the end" "$F" clear
check "tree after the final clear equals a fresh module's" cmp $tmp/fresh <(snap)
umount /tmp/ca
finish
