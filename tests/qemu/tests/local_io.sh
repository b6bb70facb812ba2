# The local fabric under concurrent I/O and a filesystem: fio random writes with
# verification at queue depth on the RAM LUN, mkfs.ext4 + mount + fsck, the RAM size
# parameter, and unload refused while a disk is open (the host template's module owner).
. "$FERRULE_ROOT/tests/qemu/lib.sh"
ours() { grep -lx ferrule_local /sys/class/scsi_host/*/proc_name 2>/dev/null; }
tmp=$(mktemp -d)

check "rmmod (default load)" rmmod ferrule
check "insmod local_demo=1 local_ram_mib=32" insmod "$(ferrule_ko)" local_demo=1 local_ram_mib=32
hostdir=$(dirname "$(ours | head -1)")
hn=${hostdir##*/host}
for i in $(seq 1 150); do [ -e /sys/class/scsi_disk/$hn:0:0:1/device/block ] && break; sleep 0.2; done
sd1=$(ls /sys/class/scsi_disk/$hn:0:0:1/device/block/ | head -1)
for i in $(seq 1 50); do [ -b /dev/$sd1 ] && break; sleep 0.1; done
expect_eq "local_ram_mib sets the RAM LUN size" "33554432" "$(blockdev --getsize64 /dev/$sd1)"

fio --name=verify --filename=/dev/$sd1 --direct=1 --ioengine=libaio --iodepth=32 --numjobs=1 \
  --rw=randwrite --bsrange=4k-128k --size=32M --verify=crc32c --verify_fatal=1 \
  --do_verify=1 --randrepeat=0 --verify_state_save=0 --output=$tmp/fio.txt
rc=$?
grep -E "IOPS|err=" $tmp/fio.txt | head -4
check "fio random writes at depth 32 verify" test $rc -eq 0
fio --name=mixed --filename=/dev/$sd1 --direct=1 --ioengine=libaio --iodepth=16 --numjobs=4 \
  --rw=randrw --bs=4k --size=8M --offset_increment=8M --runtime=5 --time_based \
  --group_reporting --output=$tmp/fio2.txt
rc=$?
grep -E "IOPS|err=" $tmp/fio2.txt | head -4
check "fio 4 jobs x depth 16 mixed I/O" test $rc -eq 0

check "mkfs.ext4" mkfs.ext4 -q -F /dev/$sd1
mkdir -p $tmp/mnt
check "mount" mount /dev/$sd1 $tmp/mnt
head -c $((3 << 20)) /dev/urandom > $tmp/file
for i in 1 2 3 4; do cp $tmp/file $tmp/mnt/f$i; done
exec 3<$tmp/mnt/f1
expect_fail "rmmod refused while the filesystem is mounted" rmmod ferrule
exec 3<&-
check "umount" umount $tmp/mnt
echo 3 > /proc/sys/vm/drop_caches
check "fsck clean" fsck.ext4 -fn /dev/$sd1
check "mount again" mount -o ro /dev/$sd1 $tmp/mnt
for i in 1 2 3 4; do check "file $i intact" cmp -s $tmp/file $tmp/mnt/f$i; done
check "umount again" umount $tmp/mnt

exec 4</dev/$sd1
expect_fail "rmmod refused while the disk is open" rmmod ferrule
exec 4<&-
check "rmmod after close" rmmod ferrule
check "host removed" test ! -e "$hostdir"
rm -rf $tmp
finish
