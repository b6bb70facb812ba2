# Backends behind enable=1: fileio creates/extends its file to `size` (tmpfs and ext4) or
# takes the file's size when size=0; a live fileio device grows its file on a size write;
# blockio reads the size of a loop device; disable closes (the loop device can be detached).
. "$FERRULE_ROOT/tests/qemu/lib.sh"
D=$CFG/devices
mkdir -p /tmp/ft && mount -t tmpfs none /tmp/ft
# fileio on tmpfs: created at size
mkdir $D/f1; echo fileio > $D/f1/backend; echo /tmp/ft/new.img > $D/f1/path; echo 1048576 > $D/f1/size
check "fileio enable creates the file" bash -c "echo 1 > $D/f1/enable"
expect_eq "tmpfs file created at size" 1048576 "$(stat -c %s /tmp/ft/new.img)"
expect_eq "info" "backend=fileio path=/tmp/ft/new.img size=1048576 blocks=2048 state=enabled open=1 luns=0" "$(cat $D/f1/info)"
check "grow while enabled" bash -c "echo 2097152 > $D/f1/size"
expect_eq "file grown" 2097152 "$(stat -c %s /tmp/ft/new.img)"
expect_fail "shrinking a live fileio device is refused" bash -c "echo 1048576 > $D/f1/size"
expect_eq "file not shrunk" 2097152 "$(stat -c %s /tmp/ft/new.img)"
check "disable" bash -c "echo 0 > $D/f1/enable"
expect_eq "closed" "open=0" "$(grep -o 'open=[0-9]' $D/f1/info)"
# size 0 takes the file's size; an existing smaller file is extended, a larger one kept
truncate -s 3145728 /tmp/ft/old.img
mkdir $D/f2; echo fileio > $D/f2/backend; echo /tmp/ft/old.img > $D/f2/path
check "enable with size 0" bash -c "echo 1 > $D/f2/enable"
expect_eq "size taken from the file" 3145728 "$(cat $D/f2/size)"
echo 0 > $D/f2/enable; echo 4194304 > $D/f2/size; echo 1 > $D/f2/enable
expect_eq "existing file extended" 4194304 "$(stat -c %s /tmp/ft/old.img)"
echo 0 > $D/f2/enable; echo 1048576 > $D/f2/size; echo 1 > $D/f2/enable
expect_eq "a larger file is never truncated" 4194304 "$(stat -c %s /tmp/ft/old.img)"
echo 0 > $D/f2/enable
truncate -s 1000 /tmp/ft/odd.img; echo 0 > $D/f2/size; echo /tmp/ft/odd.img > $D/f2/path
expect_fail "file size not a multiple of block_size" bash -c "echo 1 > $D/f2/enable"
expect_eq "still disabled, size unchanged" "0 0" "$(cat $D/f2/enable) $(cat $D/f2/size)"
echo 4096 > $D/f2/block_size 2>/dev/null
# fileio on ext4 (loop-mounted image)
truncate -s 64M /tmp/ft/ext4.img
mkfs.ext4 -q -F /tmp/ft/ext4.img
mkdir -p /tmp/e4 && check "mount ext4 image" mount -o loop /tmp/ft/ext4.img /tmp/e4
mkdir $D/e1; echo fileio > $D/e1/backend; echo /tmp/e4/disk.img > $D/e1/path
echo 4096 > $D/e1/block_size; echo 8388608 > $D/e1/size
check "fileio on ext4" bash -c "echo 1 > $D/e1/enable"
expect_eq "ext4 file created at size" 8388608 "$(stat -c %s /tmp/e4/disk.img)"
expect_eq "blocks of 4096" "blocks=2048" "$(grep -o 'blocks=[0-9]*' $D/e1/info)"
check "grow on ext4" bash -c "echo 16777216 > $D/e1/size"
expect_eq "ext4 file grown" 16777216 "$(stat -c %s /tmp/e4/disk.img)"
expect_fail "umount refused while the device holds the file" umount /tmp/e4
echo 0 > $D/e1/enable
check "umount after disable" umount /tmp/e4
# blockio on a loop device
truncate -s 12M /tmp/ft/blk.img
loop=$(losetup -f --show /tmp/ft/blk.img)
check "loop device attached" test -b "$loop"
mkdir $D/b1; echo blockio > $D/b1/backend; echo "$loop" > $D/b1/path
check "blockio enable" bash -c "echo 1 > $D/b1/enable"
expect_eq "blockio size = device size" 12582912 "$(cat $D/b1/size)"
expect_eq "blockio info" "backend=blockio path=$loop size=12582912 blocks=24576 state=enabled open=1 luns=0" "$(cat $D/b1/info)"
expect_fail "blockio size is read-only" bash -c "echo 4096 > $D/b1/size"
mkdir $D/b2; echo blockio > $D/b2/backend; echo "$loop" > $D/b2/path
expect_fail "second exclusive open of the same bdev refused" bash -c "echo 1 > $D/b2/enable"
expect_fail "blockio on a regular file refused" bash -c "echo /tmp/ft/blk.img > $D/b2/path && echo 1 > $D/b2/enable"
rmdir $D/b2
check "rmdir of an enabled blockio device closes it" rmdir $D/b1
check "loop device detaches" losetup -d "$loop"
rmdir $D/f1 $D/f2 $D/e1
check "rmmod" rmmod ferrule
finish
