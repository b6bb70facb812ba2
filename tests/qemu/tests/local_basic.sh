# The local (loopback) fabric end to end through the Linux initiator stack (sd, sg, block
# layer): the default load creates no SCSI host; local_demo=1 creates one with a nullio
# LUN 0 and a 64 MiB RAM LUN 1 whose data round-trips; bad CDBs get CHECK CONDITION; unload
# removes the host cleanly.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
ours() { grep -lx ferrule_local /sys/class/scsi_host/*/proc_name 2>/dev/null; }
tmp=$(mktemp -d)

check "default load creates no SCSI host" test -z "$(ours)"
check "rmmod (default load)" rmmod ferrule
check "insmod local_demo=1" insmod "$(ferrule_ko)" local_demo=1
hostdir=$(dirname "$(ours | head -1)")
hn=${hostdir##*/host}
check "one ferrule_local host" test "$(ours | wc -l)" -eq 1
for i in $(seq 1 150); do
  [ -e /sys/class/scsi_disk/$hn:0:0:0 ] && [ -e /sys/class/scsi_disk/$hn:0:0:1 ] && break
  sleep 0.2
done
check "LUN 0 is a disk" test -e /sys/class/scsi_disk/$hn:0:0:0
check "LUN 1 is a disk" test -e /sys/class/scsi_disk/$hn:0:0:1
grep -A2 "scsi$hn " /proc/scsi/scsi
check "/proc/scsi/scsi lists both LUNs" test "$(grep -c "scsi$hn Channel: 00 Id: 00 Lun: 0[01]" /proc/scsi/scsi)" -eq 2
dev() { ls /sys/class/scsi_disk/$hn:0:0:$1/device/$2/ 2>/dev/null | head -1; }
sd0=$(dev 0 block) sd1=$(dev 1 block) sg0=$(dev 0 scsi_generic) sg1=$(dev 1 scsi_generic)
echo "LUN 0: /dev/$sd0 /dev/$sg0; LUN 1: /dev/$sd1 /dev/$sg1"
for i in $(seq 1 50); do [ -b /dev/$sd1 ] && [ -c /dev/$sg1 ] && [ -b /dev/$sd0 ] && break; sleep 0.1; done

inq1=$(sg_inq /dev/$sg1)
echo "$inq1" | grep -E "identification|revision"
expect_eq "INQUIRY vendor" "FERRULE" "$(echo "$inq1" | sed -n 's/^ *Vendor identification: *\(.*[^ ]\) *$/\1/p')"
expect_eq "INQUIRY product (LUN 1)" "RAMDISK" "$(echo "$inq1" | sed -n 's/^ *Product identification: *\(.*[^ ]\) *$/\1/p')"
expect_eq "INQUIRY product (LUN 0)" "NULLIO" "$(sg_inq /dev/$sg0 | sed -n 's/^ *Product identification: *\(.*[^ ]\) *$/\1/p')"
expect_eq "unit serial number (VPD 80h)" "FRLLOC0001" "$(sg_inq -p 0x80 /dev/$sg1 | sed -n 's/^ *Unit serial number: *//p')"

cap=$(sg_readcap /dev/$sg1)
echo "$cap"
expect_eq "READ CAPACITY(10) last LBA" "131071" "$(echo "$cap" | sed -n 's/.*Last LBA=\([0-9]*\).*/\1/p')"
expect_eq "READ CAPACITY block length" "512" "$(echo "$cap" | sed -n 's/.*Logical block length=\([0-9]*\) bytes.*/\1/p')"
expect_eq "READ CAPACITY(16) blocks (nullio, 16 GiB)" "33554432" \
  "$(sg_readcap --16 /dev/$sg0 | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')"
expect_eq "block device size (ram)" "67108864" "$(blockdev --getsize64 /dev/$sd1)"

luns=$(sg_luns /dev/$sg0)
echo "$luns"
expect_eq "REPORT LUNS lists LUN 0 and 1" "2" "$(echo "$luns" | grep -cE '^ +000[01]000000000000$')"

# Data path: a random pattern to the RAM LUN, direct and through the page cache.
head -c $((6 << 20)) /dev/urandom > $tmp/pat
check "dd pattern to ram LUN (O_DIRECT, 1 MiB)" dd if=$tmp/pat of=/dev/$sd1 bs=1M oflag=direct status=none
check "dd back (O_DIRECT, 64 KiB)" dd if=/dev/$sd1 of=$tmp/back bs=64k count=96 iflag=direct status=none
expect_eq "ram LUN read-back checksum" "$(md5sum < $tmp/pat)" "$(md5sum < $tmp/back)"
check "dd pattern at 40 MiB (buffered, 4 KiB, fsync)" dd if=$tmp/pat of=/dev/$sd1 bs=4k seek=$((40 << 8)) conv=fsync status=none
echo 3 > /proc/sys/vm/drop_caches
expect_eq "buffered read-back checksum at 40 MiB" "$(md5sum < $tmp/pat)" \
  "$(dd if=/dev/$sd1 bs=4k skip=$((40 << 8)) count=$((6 << 8)) status=none | md5sum)"
expect_eq "first pattern intact" "$(md5sum < $tmp/pat)" \
  "$(dd if=/dev/$sd1 bs=1M count=6 iflag=direct status=none | md5sum)"
expect_eq "untouched ram reads zeroes" "$(head -c $((1 << 20)) /dev/zero | md5sum)" \
  "$(dd if=/dev/$sd1 bs=1M skip=20 count=1 iflag=direct status=none | md5sum)"

# nullio: writes vanish, reads are zeroes.
check "dd pattern to nullio LUN" dd if=$tmp/pat of=/dev/$sd0 bs=1M oflag=direct status=none
expect_eq "nullio reads zeroes" "$(head -c $((6 << 20)) /dev/zero | md5sum)" \
  "$(dd if=/dev/$sd0 bs=1M count=6 iflag=direct status=none | md5sum)"

# Garbage CDBs: unknown opcode, and a reserved bit set in TEST UNIT READY.
out=$(sg_raw -v /dev/$sg1 ff 00 00 00 00 00 2>&1); rc=$?
echo "$out" | grep -iE "status|sense|illegal|invalid" | head -5
check "unknown opcode fails" test $rc -ne 0
check "unknown opcode: CHECK CONDITION" bash -c "echo '$out' | grep -qi 'check condition'"
check "unknown opcode: INVALID COMMAND OPERATION CODE" bash -c "echo '$out' | grep -qi 'invalid command operation code'"
out=$(sg_raw -v /dev/$sg1 00 00 00 ff 00 00 2>&1); rc=$?
echo "$out" | grep -iE "sense|invalid" | head -3
check "reserved field in CDB: INVALID FIELD IN CDB" bash -c "[ $rc -ne 0 ] && echo '$out' | grep -qi 'invalid field in cdb'"
check "TEST UNIT READY is GOOD" sg_turs /dev/$sg1
check "ram LUN still verifies after the errors" \
  bash -c "[ \"\$(dd if=/dev/$sd1 bs=1M count=6 iflag=direct status=none | md5sum)\" = \"\$(md5sum < $tmp/pat)\" ]"

check "rmmod ferrule (demo target)" rmmod ferrule
check "host removed" test ! -e "$hostdir"
check "disks removed" test ! -e /sys/class/scsi_disk/$hn:0:0:1
check "reload with defaults creates no host" insmod "$(ferrule_ko)"
check "no ferrule_local host after default reload" test -z "$(ours)"
check "final rmmod" rmmod ferrule
rm -rf $tmp
finish
