# Local targets configured through configfs: enable=1 creates a SCSI host whose LUNs are the
# target's LUN maps for its `initiator` (default group here); a group the initiator is not in
# exposes nothing; nullio reads zeroes, fileio round-trips data into its tmpfs file; rmdir of
# a LUN on the live target removes its disk; enable=0 removes the host; clean teardown.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/bench/common.sh"
D=$CFG/devices
T=$CFG/targets/local/50:01:40:5b:ec:00:aa:01
INI=50:01:40:5b:ec:00:bb:01
ours() { grep -lx ferrule_local /sys/class/scsi_host/*/proc_name 2>/dev/null; }
tmp=$(mktemp -d)
mkdir -p /tmp/lc && mount -t tmpfs none /tmp/lc

mkdev() { # mkdev NAME BACKEND SIZE BLOCK_SIZE PRODUCT SERIAL [PATH] (blockio: SIZE unused)
  mkdir $D/$1 && echo $2 > $D/$1/backend && { [ -z "${7:-}" ] || echo $7 > $D/$1/path; } &&
    echo $4 > $D/$1/block_size && { [ $2 = blockio ] || echo $3 > $D/$1/size; } && echo $5 > $D/$1/product &&
    echo $6 > $D/$1/serial && echo 1 > $D/$1/enable
}
check "nullio device (64 MiB, 4096-byte blocks)" mkdev n1 nullio 67108864 4096 CFGNULL cfgnull1
check "fileio device on tmpfs (8 MiB)" mkdev f1 fileio 8388608 512 CFGFILE cfgfile1 /tmp/lc/f1.img
truncate -s 4M /tmp/lc/b1.img; loop=$(losetup -f --show /tmp/lc/b1.img)
check "blockio device on a loop device (4 MiB)" mkdev b1 blockio 0 512 CFGBLK cfgblk1 $loop
check "nullio device for another group" mkdev h1 nullio 1048576 512 CFGHIDE cfghide1
check "fileio vendor ACME" bash -c "echo ACME > $D/f1/vendor"
check "mkdir target" mkdir $T
check "set initiator" bash -c "echo $INI > $T/initiator"
check "default LUN 0 -> n1" bash -c "mkdir $T/groups/default/luns/0 && echo n1 > $T/groups/default/luns/0/device"
check "default LUN 1 -> f1" bash -c "mkdir $T/groups/default/luns/1 && echo f1 > $T/groups/default/luns/1/device"
check "default LUN 2 -> b1" bash -c "mkdir $T/groups/default/luns/2 && echo b1 > $T/groups/default/luns/2/device"
check "group other (not our initiator) LUN 0 -> h1" bash -c "mkdir $T/groups/other && mkdir $T/groups/other/initiators/50:01:40:5b:ec:00:bb:02 && mkdir $T/groups/other/luns/0 && echo h1 > $T/groups/other/luns/0/device"
check "no host before enable" test -z "$(ours)"
check "enable" bash -c "echo 1 > $T/enable"
check "one ferrule_local host" test "$(ours | wc -l)" -eq 1
sdn=$(find_disk FERRULE CFGNULL cfgnull1)
sdf=$(find_disk ACME CFGFILE cfgfile1)
sdb=$(find_disk FERRULE CFGBLK cfgblk1)
check "blockio disk found" test -b "$sdb"
check "nullio disk found by vendor/model/serial" test -b "$sdn"
check "fileio disk found by vendor/model/serial" test -b "$sdf"
check "the other group's LUN is not exposed" test -z "$(grep -lx CFGHIDE /sys/bus/scsi/devices/*/model 2>/dev/null | head -1)"
check "the other group's LUN is not exposed (by product)" bash -c "! grep -qs CFGHIDE /sys/bus/scsi/devices/*/model"
cat $T/sessions
expect_eq "sessions line" "$INI 010001 $(basename $(dirname $(ours))) default 0,1,2" "$(sed -n 2p $T/sessions | cut -d' ' -f1-5)"
check "sessions counts commands" test "$(sed -n 2p $T/sessions | cut -d' ' -f6)" -gt 0

inq=$(sg_inq $sdn); echo "$inq" | grep -E "identification"
expect_eq "INQUIRY vendor" FERRULE "$(echo "$inq" | sed -n 's/^ *Vendor identification: *\(.*[^ ]\) *$/\1/p')"
expect_eq "INQUIRY product" CFGNULL "$(echo "$inq" | sed -n 's/^ *Product identification: *\(.*[^ ]\) *$/\1/p')"
expect_eq "VPD 80h serial" cfgnull1 "$(sg_inq -p 0x80 $sdn | sed -n 's/^ *Unit serial number: *//p')"
cap=$(sg_readcap --16 $sdn); echo "$cap"
expect_eq "nullio blocks" 16384 "$(echo "$cap" | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')"
expect_eq "nullio block length" 4096 "$(echo "$cap" | sed -n 's/.*Logical block length=\([0-9]*\) bytes.*/\1/p')"
expect_eq "nullio size" 67108864 "$(blockdev --getsize64 $sdn)"
expect_eq "fileio size" 8388608 "$(blockdev --getsize64 $sdf)"
expect_eq "fileio block length" 512 "$(sg_readcap $sdf | sed -n 's/.*Logical block length=\([0-9]*\) bytes.*/\1/p')"
expect_eq "REPORT LUNS lists LUN 0, 1 and 2" 3 "$(sg_luns $sdn | grep -cE '^ +000[012]000000000000$')"
expect_eq "REPORT LUNS count" 3 "$(sg_luns $sdn | grep -cE '^ +[0-9a-f]{16}$')"

check "dd write to nullio" dd if=/dev/urandom of=$sdn bs=1M count=4 oflag=direct status=none
check "nullio reads zeroes" cmp -n 4194304 $sdn /dev/zero
head -c $((6 << 20)) /dev/urandom > $tmp/pat
check "dd pattern to fileio (O_DIRECT, 1 MiB)" dd if=$tmp/pat of=$sdf bs=1M oflag=direct status=none
check "dd back (O_DIRECT, 64 KiB)" dd if=$sdf of=$tmp/back bs=64k count=96 iflag=direct status=none
check "fileio round trip" cmp $tmp/pat $tmp/back
check "data is in the backing file" cmp -n $((6 << 20)) $tmp/pat /tmp/lc/f1.img
check "sync through the page cache" bash -c "dd if=$tmp/pat of=$sdf bs=4k seek=7 count=5 conv=fsync status=none"
expect_eq "buffered write checksum" "$(head -c 20480 $tmp/pat | md5sum | cut -d' ' -f1)" \
  "$(dd if=/tmp/lc/f1.img bs=4k skip=7 count=5 status=none | md5sum | cut -d' ' -f1)"
expect_eq "blockio size" 4194304 "$(blockdev --getsize64 $sdb)"
check "dd pattern to blockio" dd if=$tmp/pat of=$sdb bs=1M count=4 oflag=direct status=none
check "dd back from blockio" dd if=$sdb of=$tmp/bback bs=256k count=16 iflag=direct status=none
check "blockio round trip" cmp -n 4194304 $tmp/pat $tmp/bback
check "blockio data on the loop device" cmp -n 4194304 $tmp/pat $loop

# WRITE SAME, COMPARE AND WRITE, VERIFY (BYTCHK), SYNCHRONIZE CACHE on fileio at LBA 100+
head -c 512 /dev/urandom > $tmp/blk; head -c 512 /dev/urandom > $tmp/new
for i in 1 2 3 4 5 6 7 8; do cat $tmp/blk; done > $tmp/ws
check "WRITE SAME(16) of 8 blocks" sg_write_same --16 --lba=100 --num=8 --in=$tmp/blk $sdf
check "WRITE SAME data in the file" cmp -i 0:51200 -n 4096 $tmp/ws /tmp/lc/f1.img
cat $tmp/blk $tmp/new > $tmp/caw
check "COMPARE AND WRITE (match)" sg_compare_and_write --lba=100 --in=$tmp/caw $sdf
check "COMPARE AND WRITE wrote the new block" cmp -i 0:51200 -n 512 $tmp/new /tmp/lc/f1.img
cat $tmp/new $tmp/new > $tmp/caw2
sg_compare_and_write -q --lba=101 --in=$tmp/caw2 $sdf; rc=$?
expect_eq "COMPARE AND WRITE miscompare (exit 14)" 14 "$rc"
check "a miscompare writes nothing" cmp -i 0:51712 -n 512 $tmp/blk /tmp/lc/f1.img
check "VERIFY BYTCHK matches" sg_verify --lba=100 --count=1 --ndo=512 --in=$tmp/new $sdf
sg_verify -q --lba=101 --count=1 --ndo=512 --in=$tmp/new $sdf 2>/dev/null; rc=$?
expect_eq "VERIFY BYTCHK miscompare (exit 14)" 14 "$rc"
check "SYNCHRONIZE CACHE" sg_sync $sdf

fsd=${sdf#/dev/}
check "rmdir of a live LUN" rmdir $T/groups/default/luns/1
check "its disk is gone" test ! -e /sys/block/$fsd
check "the other disk stays" test -b "$sdn"
expect_eq "sessions after the removal" "default 0,2" "$(sed -n 2p $T/sessions | cut -d' ' -f4,5)"
# The removal raised REPORTED LUNS DATA HAS CHANGED on the LUNs that stay: reported once.
ua=$(sg_turs -v $sdn 2>&1); echo "$ua"
check "unit attention: REPORTED LUNS DATA HAS CHANGED" grep -qi "reported luns data has changed" <<<"$ua"
check "reported once" sg_turs $sdn

# Live addition: the new LUN's disk appears when the write returns, the others see the UA.
check "map a new LUN on the live target" bash -c "mkdir $T/groups/default/luns/3 && echo h1 > $T/groups/default/luns/3/device"
sdh=$(find_disk FERRULE CFGHIDE cfghide1)
check "the new LUN's disk appears" test -b "$sdh"
ua=$(sg_turs -v $sdb 2>&1); echo "$ua"
check "unit attention on LUN 2 after the addition" grep -qi "reported luns data has changed" <<<"$ua"
expect_eq "REPORT LUNS lists 0, 2 and 3" "0000000000000000 0002000000000000 0003000000000000" \
  "$(sg_luns $sdn | grep -E '^ +[0-9a-f]{16}$' | xargs)"
expect_eq "sessions after the addition" "default 0,2,3" "$(sed -n 2p $T/sessions | cut -d' ' -f4,5)"
check "the new LUN reads" dd if=$sdh of=/dev/null bs=64k count=4 iflag=direct status=none

# Moving the initiator into group `other` swaps its LUN set: LUN 0 is now h1, and the Linux
# disk of LUN 0 is replaced, never silently pointed at another device.
check "the initiator joins group other" mkdir $T/groups/other/initiators/$INI
expect_eq "sessions: group other" "other 0" "$(sed -n 2p $T/sessions | cut -d' ' -f4,5)"
check "LUN 0's old disk (n1) is gone" bash -c "! grep -qs CFGNULL /sys/bus/scsi/devices/*/model"
check "no SYNCHRONIZE CACHE failed on the removed disks" bash -c "! dmesg | grep -q 'Synchronize Cache.*failed'"
check "LUN 2's disk is gone" test ! -e /sys/block/${sdb#/dev/}
sdo=$(find_disk FERRULE CFGHIDE cfghide1)
check "LUN 0 is group other's device now" test -b "$sdo"
expect_eq "its LUN number" 0 "$(basename $(readlink -f /sys/block/${sdo#/dev/}/device) | cut -d: -f4)"
check "the initiator leaves group other" rmdir $T/groups/other/initiators/$INI
sdn=$(find_disk FERRULE CFGNULL cfgnull1)
check "back in default: n1 at LUN 0 again" test -b "$sdn"
expect_eq "sessions: default again" "default 0,2,3" "$(sed -n 2p $T/sessions | cut -d' ' -f4,5)"

nsd=${sdn#/dev/}
check "enable 0" bash -c "echo 0 > $T/enable"
check "host gone" test -z "$(ours)"
check "nullio disk gone" test ! -e /sys/block/$nsd
check "re-enable" bash -c "echo 1 > $T/enable"
check "nullio disk back" test -b "$(find_disk FERRULE CFGNULL cfgnull1)"
check "rmdir of an enabled target (after its LUNs and groups)" bash -c "rmdir $T/groups/default/luns/0 $T/groups/default/luns/2 $T/groups/default/luns/3 $T/groups/other/luns/0 $T/groups/other/initiators/* $T/groups/other $T"
check "no host left" test -z "$(ours)"
check "rmdir devices" rmdir $D/n1 $D/f1 $D/h1 $D/b1
check "loop device detaches" losetup -d $loop
check "rmmod" rmmod ferrule
check "module gone" bash -c "! grep -q '^ferrule ' /proc/modules"
umount /tmp/lc
finish
