# The whole configfs tree with plain mkdir/echo/cat/rmdir: default groups, every attribute's
# valid values, LUN maps, the device pin (rmdir of a mapped device → EBUSY), module pinning
# by directories and by open attribute files, and clean teardown.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
T=$CFG/targets/local/21:00:00:00:00:00:00:01
expect_eq "root listing" "devices targets version" "$(ls $CFG | xargs)"
expect_eq "targets listing" "local qla2x00t" "$(ls $CFG/targets | xargs)"
expect_eq "version" "0.1.0" "$(cat $CFG/version)"
for d in devices targets targets/local targets/qla2x00t; do
  expect_fail "default group $d cannot be removed" rmdir $CFG/$d
  check "default group $d still there" test -d $CFG/$d
done
check "rmmod with only default groups would work: module refcount is 0" \
  bash -c "[ \$(cat /sys/module/ferrule/refcnt) = 0 ]"

# --- a device and all its attributes
check "mkdir devices/d1" mkdir $CFG/devices/d1
D=$CFG/devices/d1
expect_eq "device attributes" "backend block_size enable info naa path product read_only revision serial size thin vendor write_cache" "$(ls $D | xargs)"
expect_eq "defaults: backend" nullio "$(cat $D/backend)"
expect_eq "defaults: size" 0 "$(cat $D/size)"
expect_eq "defaults: block_size" 512 "$(cat $D/block_size)"
expect_eq "defaults: read_only" 0 "$(cat $D/read_only)"
expect_eq "defaults: write_cache" 1 "$(cat $D/write_cache)"
expect_eq "defaults: thin" 0 "$(cat $D/thin)"
expect_eq "defaults: serial = name" d1 "$(cat $D/serial)"
expect_eq "defaults: vendor" FERRULE "$(cat $D/vendor)"
expect_eq "defaults: product = backend" nullio "$(cat $D/product)"
expect_eq "defaults: revision" 0001 "$(cat $D/revision)"
expect_eq "defaults: enable" 0 "$(cat $D/enable)"
naa1=$(cat $D/naa)
check "naa is 32 hex digits, NAA 6" bash -c "[[ '$naa1' =~ ^6[0-9a-f]{31}$ ]]"
expect_eq "info when new" "backend=nullio path=- size=0 blocks=0 state=disabled open=0 luns=0" "$(cat $D/info)"
for kv in "backend fileio" "backend blockio" "backend nullio" "path /dev/null" "size 4096" "block_size 4096" \
          "block_size 512" "size 1048576" "read_only 1" "read_only 0" "write_cache 0" "write_cache 1" "thin 1" \
          "thin 0" "serial SER-42" "vendor ACME" "vendor FERRULE" "product 'Disk Sixteen 16'" "revision 9.1" \
          "revision 0001"; do
  eval "set -- $kv"
  echo "$2" > $D/$1
  expect_eq "write $1=$2 reads back" "$2" "$(cat $D/$1)"
done
expect_eq "product stays user-set after backend change" "Disk Sixteen 16" "$(echo fileio > $D/backend; echo nullio > $D/backend; cat $D/product)"
check "naa follows serial" bash -c "[ '$(cat $D/naa)' != '$naa1' ]"
naa2=$(cat $D/naa)
echo d1 > $D/serial
expect_eq "naa is stable for the same serial" "$naa1" "$(cat $D/naa)"
check "enable nullio" bash -c "echo 1 > $D/enable"
expect_eq "enabled" 1 "$(cat $D/enable)"
expect_eq "info when enabled" "backend=nullio path=/dev/null size=1048576 blocks=2048 state=enabled open=0 luns=0" "$(cat $D/info)"
check "resize while enabled (nullio)" bash -c "echo 2097152 > $D/size"
expect_eq "resized" "backend=nullio path=/dev/null size=2097152 blocks=4096 state=enabled open=0 luns=0" "$(cat $D/info)"
check "read_only while enabled" bash -c "echo 1 > $D/read_only && echo 0 > $D/read_only"
check "enable 1 again is a no-op" bash -c "echo 1 > $D/enable"

# --- a local target, groups, members, LUNs
check "mkdir local target" mkdir $T
expect_eq "target attributes" "enable groups initiator rel_port sessions" "$(ls $T | xargs)"
expect_eq "default groups of a target" "$T/groups $T/groups/default $T/groups/default/initiators $T/groups/default/luns" "$(find $T -type d | sort | tail -n +2 | xargs)"
expect_eq "target enable default" 0 "$(cat $T/enable)"
expect_eq "rel_port default" 1 "$(cat $T/rel_port)"
expect_eq "sessions header only" "initiator port_id handle group luns commands" "$(cat $T/sessions)"
echo 7 > $T/rel_port; expect_eq "rel_port write" 7 "$(cat $T/rel_port)"
echo 65535 > $T/rel_port; expect_eq "rel_port max" 65535 "$(cat $T/rel_port)"
echo 2100001b32aabbcc > $T/initiator; expect_eq "initiator without colons, shown with" "21:00:00:1b:32:aa:bb:cc" "$(cat $T/initiator)"
echo 0x2100001B32AABBCD > $T/initiator; expect_eq "initiator 0x, uppercase" "21:00:00:1b:32:aa:bb:cd" "$(cat $T/initiator)"
check "mkdir target (no colons form)" mkdir $CFG/targets/local/0x5001405000000002
check "mkdir group g1" mkdir $T/groups/g1
expect_eq "group default groups" "initiators luns" "$(ls $T/groups/g1 | xargs)"
for d in default default/initiators default/luns g1/initiators g1/luns; do
  expect_fail "default group groups/$d cannot be removed" rmdir $T/groups/$d
done
check "member exact" mkdir $T/groups/g1/initiators/21:00:00:24:ff:31:4c:5a
check "member pattern" mkdir "$T/groups/g1/initiators/21:00:00:24:ff:*"
check "member any" mkdir "$T/groups/g1/initiators/*"
check "second group" mkdir $T/groups/g2
check "member (no colons) in g2" mkdir $T/groups/g2/initiators/210000e08b000001
for n in 0 1 255; do check "mkdir LUN $n" mkdir $T/groups/g1/luns/$n; done
check "LUN in default group" mkdir $T/groups/default/luns/0
expect_eq "unmapped LUN device is empty" "" "$(cat $T/groups/g1/luns/0/device)"
echo d1 > $T/groups/g1/luns/0/device; expect_eq "map LUN 0" d1 "$(cat $T/groups/g1/luns/0/device)"
echo 1 > $T/groups/g1/luns/0/read_only; expect_eq "LUN read_only" 1 "$(cat $T/groups/g1/luns/0/read_only)"
echo 1 > $T/groups/g1/luns/1/read_only; expect_eq "LUN read_only before device" 1 "$(cat $T/groups/g1/luns/1/read_only)"
echo d1 > $T/groups/g1/luns/1/device
echo d1 > $T/groups/default/luns/0/device
check "mkdir devices/d2" mkdir $CFG/devices/d2
echo d2 > $T/groups/g1/luns/255/device
expect_eq "device info counts its LUNs" "luns=3" "$(grep -o 'luns=[0-9]*' $D/info)"
echo d2 > $T/groups/g1/luns/0/device; expect_eq "remap LUN 0 on a disabled target" d2 "$(cat $T/groups/g1/luns/0/device)"
expect_eq "remap moves the count" "luns=2" "$(grep -o 'luns=[0-9]*' $D/info)"
expect_fail "rmdir of a mapped device fails" rmdir $CFG/devices/d2
err=$(rmdir $CFG/devices/d2 2>&1)
check "... with EBUSY" bash -c "[[ '$err' == *'Device or resource busy'* ]]"
check "device still there" test -d $CFG/devices/d2

# --- pinning
expect_fail "rmmod refused while directories exist" rmmod ferrule
check "module still loaded" grep -q '^ferrule ' /proc/modules

# --- teardown in any legal order
check "rmdir LUN 255" rmdir $T/groups/g1/luns/255
check "rmdir LUN 0 (frees d2)" rmdir $T/groups/g1/luns/0
check "rmdir now-unmapped device d2" rmdir $CFG/devices/d2
expect_fail "rmdir group with children fails" rmdir $T/groups/g1
check "rmdir LUN 1" rmdir $T/groups/g1/luns/1
check "rmdir members" rmdir $T/groups/g1/initiators/21:00:00:24:ff:31:4c:5a "$T/groups/g1/initiators/21:00:00:24:ff:*" "$T/groups/g1/initiators/*"
check "rmdir group g1" rmdir $T/groups/g1
check "rmdir g2 member + g2" rmdir $T/groups/g2/initiators/210000e08b000001 $T/groups/g2
expect_fail "rmdir target with a LUN in default fails" rmdir $T
check "rmdir default LUN" rmdir $T/groups/default/luns/0
check "rmdir targets" rmdir $T $CFG/targets/local/0x5001405000000002
expect_eq "d1 has no LUNs left" "luns=0" "$(grep -o 'luns=[0-9]*' $D/info)"
check "rmdir enabled, unmapped device" rmdir $D
expect_eq "tree empty again" "" "$(find $CFG -mindepth 1 -type d | grep -v -x -e $CFG/devices -e $CFG/targets -e $CFG/targets/local -e $CFG/targets/qla2x00t)"

# --- an open attribute file pins the module
exec 3<$CFG/version
expect_fail "rmmod refused while an attribute is open" rmmod ferrule
exec 3<&-
check "rmmod after cleanup" rmmod ferrule
check "configfs root gone" test ! -e $CFG
check "reload" insmod "$(ferrule_ko)"
finish
