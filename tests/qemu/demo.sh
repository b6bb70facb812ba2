# Guest side of `make demo`.
show() { echo "\$ $*"; "$@"; }
echo "=== FERRULE DEMO BEGIN"
show uname -r
show grep ferrule /proc/modules
echo "\$ dmesg | grep ferrule"; dmesg | grep -E 'ferrule' | sed 's/^\[ *[0-9.]*\] //'
show ls -l /sys/kernel/config/ferrule/
show cat /sys/kernel/config/ferrule/version
echo
echo "# Reload with the loopback fabric's demo target: a nullio LUN 0 and a 64 MiB RAM LUN 1,"
echo "# served by Ferrule's SCSI emulation to the Linux initiator stack in the same kernel."
show rmmod ferrule
show insmod "$FERRULE_ROOT/ferrule.ko" local_demo=1
sleep 1
show cat /proc/scsi/scsi
for d in /sys/class/scsi_disk/*; do
  dev=/dev/$(ls "$d/device/block" 2>/dev/null | head -1)
  [ -b "$dev" ] || continue
  grep -q FERRULE "$d/device/vendor" 2>/dev/null || continue
  show sg_inq "$dev"
  show sg_readcap "$dev"
done
ram=$(grep -l RAMDISK /sys/class/scsi_disk/*/device/model | head -1)
ramdev=/dev/$(ls "$(dirname "$ram")/block" | head -1)
echo "\$ write 4 MiB of random data to $ramdev and read it back"
head -c 4M /dev/urandom > /tmp/pattern
dd if=/tmp/pattern of="$ramdev" bs=1M oflag=direct status=none
dd if="$ramdev" of=/tmp/readback bs=1M count=4 iflag=direct status=none
md5sum /tmp/pattern /tmp/readback
show rmmod ferrule && echo "unloaded cleanly"
echo "=== FERRULE DEMO END"
