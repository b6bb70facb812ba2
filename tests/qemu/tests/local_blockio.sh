# blockio LUNs through the local fabric: data moves as bios over the command's pages (no page
# cache: every O_DIRECT read shows up in the loop device's counters, also a repeated one).
# Whole-LUN md5 round trip checked against the loop device, FUA write, SYNCHRONIZE CACHE,
# UNMAP (punches holes in the sparse backing file: reads zeroes), WRITE SAME (zeroes, with
# UNMAP, a pattern over more than one submission batch), VERIFY and COMPARE AND WRITE, a
# 4096-byte LUN on a 4K-sector loop device and the refusal of block_size 512 on it (and of
# thin on a device without discard),
# `losetup -d` while enabled (loop defers the detach to our close), a null_blk device
# powered off under a live LUN (I/O errors, no oops), then clean teardown and rmmod.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/bench/common.sh"
D=$CFG/devices
T=$CFG/targets/local/50:01:40:5b:ec:00:cc:01
NB=/sys/kernel/config/nullb/ferrnb
tmp=$(mktemp -d)
mkdir -p /tmp/lb && mount -t tmpfs none /tmp/lb
MIB=32
SIZE=$((MIB << 20))

mkdev() { # mkdev NAME BACKEND BLOCK_SIZE SERIAL PATH [SIZE]
  mkdir $D/$1 && echo $2 > $D/$1/backend && echo $5 > $D/$1/path && echo $3 > $D/$1/block_size &&
    { [ -z "${6:-}" ] || echo $6 > $D/$1/size; } && echo BLKT > $D/$1/product && echo $4 > $D/$1/serial
}
w() { echo "$2" > "$1"; } # w FILE VALUE
enable() { echo 1 > $D/$1/enable; }
stat_field() { awk -v f=$2 '{print $f}' /sys/block/$1/stat; } # stat_field DISK FIELD
md5() { md5sum | cut -d' ' -f1; }
blocks_used() { stat -c %b "$1"; }
# The LUN's bios bypass the loop device's own page cache: drop it before reading through it.
lcmp() { blockdev --flushbufs $loop; cmp "$@"; }

truncate -s $SIZE /tmp/lb/b1.img
loop=$(losetup -f --show /tmp/lb/b1.img); lname=${loop#/dev/}
truncate -s 8M /tmp/lb/b4.img
loop4=$(losetup -f --show -b 4096 /tmp/lb/b4.img); l4name=${loop4#/dev/}
expect_eq "4K loop device" 4096 "$(cat /sys/block/$l4name/queue/logical_block_size)"
truncate -s $SIZE /tmp/lb/f1.img

check "blockio device b1 (512, thin)" mkdev b1 blockio 512 blk512 $loop
check "b1 thin" w $D/b1/thin 1
check "b1 enable" enable b1
check "blockio device bad (512 on the 4K loop)" mkdev bad blockio 512 blkbad $loop4
expect_errno "block_size below the device's logical block size" "Invalid argument" w $D/bad/enable 1
check "rmdir the refused device" rmdir $D/bad
check "blockio device b4 (4096 on the 4K loop)" mkdev b4 blockio 4096 blk4k $loop4
check "b4 enable" enable b4
check "fileio device f1 (for the throughput comparison)" mkdev f1 fileio 512 fil512 /tmp/lb/f1.img $SIZE
check "f1 enable" enable f1
# null_blk: a memory-backed disk we can power off under the live LUN.
check "null_blk device" bash -c "mkdir $NB && echo 16 > $NB/size && echo 1 > $NB/memory_backed && echo 1 > $NB/power"
for i in $(seq 1 50); do [ -b /dev/ferrnb ] && break; sleep 0.1; done
check "blockio device nb on null_blk" mkdev nb blockio 512 blknull /dev/ferrnb
check "nb thin" w $D/nb/thin 1
expect_errno "thin on a device without discard" "Invalid argument" w $D/nb/enable 1
check "nb not thin" w $D/nb/thin 0
check "nb enable" enable nb

check "mkdir target" mkdir $T
i=0
for d in b1 b4 f1 nb; do
  check "LUN $i -> $d" bash -c "mkdir $T/groups/default/luns/$i && echo $d > $T/groups/default/luns/$i/device"
  i=$((i + 1))
done
check "enable target" bash -c "echo 1 > $T/enable"
sd=$(find_disk FERRULE BLKT blk512)
sd4=$(find_disk FERRULE BLKT blk4k)
sdf=$(find_disk FERRULE BLKT fil512)
sdn=$(find_disk FERRULE BLKT blknull)
check "all four disks found" test -b "$sd" -a -b "$sd4" -a -b "$sdf" -a -b "$sdn"
expect_eq "blockio size" $SIZE "$(blockdev --getsize64 $sd)"

# --- whole-LUN round trip
head -c $SIZE /dev/urandom > $tmp/pat
want=$(md5 < $tmp/pat)
w0=$(stat_field $lname 7)
check "dd the whole LUN (O_DIRECT, 1 MiB)" dd if=$tmp/pat of=$sd bs=1M oflag=direct status=none
w1=$(stat_field $lname 7)
check "the loop device counted the written sectors" test $((w1 - w0)) -ge $((SIZE / 512))
expect_eq "md5 through the LUN (O_DIRECT, 256 KiB)" "$want" "$(dd if=$sd bs=256k iflag=direct status=none | md5)"
expect_eq "md5 of the loop device" "$want" "$(dd if=$loop bs=1M iflag=direct status=none | md5)"
check "odd-sized direct write (3 x 4 KiB at 4 KiB 77)" dd if=/dev/urandom of=$tmp/small bs=4k count=3 status=none
check "write it" dd if=$tmp/small of=$sd bs=4k seek=77 oflag=direct status=none
check "it is on the loop device" lcmp -i 0:$((77 * 4096)) -n 12288 $tmp/small $loop

# --- no page cache: the same read twice reaches the loop device twice
r0=$(stat_field $lname 3)
dd if=$sd of=/dev/null bs=1M count=4 skip=8 iflag=direct status=none
r1=$(stat_field $lname 3)
dd if=$sd of=/dev/null bs=1M count=4 skip=8 iflag=direct status=none
r2=$(stat_field $lname 3)
check "first 4 MiB read counted by the loop device ($((r1 - r0)) sectors)" test $((r1 - r0)) -ge 8192
check "the repeated read too ($((r2 - r1)) sectors)" test $((r2 - r1)) -ge 8192

# --- FUA write (WRITE(10) FUA=1, 8 blocks at LBA 4096) and SYNCHRONIZE CACHE
head -c 4096 /dev/urandom > $tmp/fua
check "WRITE(10) with FUA" sg_raw -s 4096 -i $tmp/fua $sd 2a 08 00 00 10 00 00 00 08 00
check "FUA data on the loop device" lcmp -i 0:$((4096 * 512)) -n 4096 $tmp/fua $loop
check "SYNCHRONIZE CACHE" sg_sync $sd

# --- UNMAP on the sparse backing file
before=$(blocks_used /tmp/lb/b1.img)
check "UNMAP 8 MiB at LBA 16384" sg_unmap --lba=16384 --num=16384 $sd
after=$(blocks_used /tmp/lb/b1.img)
check "the backing file lost blocks ($before -> $after)" test $after -lt $before
check "the unmapped range reads zeroes on the LUN" cmp -n $((8 << 20)) <(dd if=$sd bs=1M skip=8 count=8 iflag=direct status=none) /dev/zero
check "data after it is intact" lcmp -i $((16 << 20)):$((16 << 20)) -n $((1 << 20)) $tmp/pat $loop

# --- WRITE SAME: zeroes, zeroes with UNMAP, a pattern across submission batches
head -c 512 /dev/zero > $tmp/zero
# (UNMAP first: a NOUNMAP zeroing makes loop-over-tmpfs drop write-zeroes support, as
# tmpfs has no FALLOC_FL_ZERO_RANGE, and later zeroing writes zeroes.)
before=$(blocks_used /tmp/lb/b1.img)
check "WRITE SAME zeroes with UNMAP (4 MiB at LBA 40960)" sg_write_same --16 --unmap --lba=40960 --num=8192 --in=$tmp/zero $sd
after=$(blocks_used /tmp/lb/b1.img)
check "zeroes there" lcmp -i $((40960 * 512)) -n $((4 << 20)) $loop /dev/zero
check "WRITE SAME UNMAP freed blocks ($before -> $after)" test $after -lt $before
check "WRITE SAME zeroes (1000 blocks at LBA 100)" sg_write_same --16 --lba=100 --num=1000 --in=$tmp/zero $sd
check "zeroes on the loop device" lcmp -i 51200 -n 512000 $loop /dev/zero
check "the block before is intact" lcmp -i 51199:51199 -n 1 $tmp/pat $loop
check "the block after is intact" lcmp -i 563200:563200 -n 512 $tmp/pat $loop
head -c 512 /dev/urandom > $tmp/blk
for i in $(seq 1 64); do cat $tmp/blk; done > $tmp/blk64
n=$((20 << 11)) # 20 MiB: more than one 16 MiB batch
check "WRITE SAME pattern (20 MiB at LBA 2048)" sg_write_same --16 --lba=2048 --num=$n --in=$tmp/blk $sd
bad=0
for off in 0 $((8 << 20)) $((16 << 20)) $(((20 << 20) - 32768)); do
  lcmp -s -i 0:$(((2048 * 512) + off)) -n 32768 $tmp/blk64 $loop || bad=$((bad + 1))
done
expect_eq "pattern at start, middle, batch edge and end" 0 $bad
expect_eq "block 0 is intact" "$(head -c 512 $tmp/pat | md5)" "$(dd if=$loop bs=512 count=1 iflag=direct status=none | md5)"
check "the block after the pattern is still zero (WRITE SAME UNMAP above)" lcmp -i $(((2048 + n) * 512)) -n 512 $loop /dev/zero

# --- VERIFY (BYTCHK) and COMPARE AND WRITE (bounce pages)
head -c 512 /dev/urandom > $tmp/new
cat $tmp/blk $tmp/new > $tmp/caw
check "VERIFY BYTCHK matches the pattern" sg_verify --lba=3000 --count=1 --ndo=512 --in=$tmp/blk $sd
sg_verify -q --lba=3000 --count=1 --ndo=512 --in=$tmp/new $sd 2>/dev/null; rc=$?
expect_eq "VERIFY BYTCHK miscompare (exit 14)" 14 "$rc"
check "COMPARE AND WRITE (match)" sg_compare_and_write --lba=3000 --in=$tmp/caw $sd
check "COMPARE AND WRITE wrote the new block" lcmp -i 0:$((3000 * 512)) -n 512 $tmp/new $loop
sg_compare_and_write -q --lba=3001 --in=$(cat $tmp/new $tmp/new > $tmp/caw2; echo $tmp/caw2) $sd; rc=$?
expect_eq "COMPARE AND WRITE miscompare (exit 14)" 14 "$rc"
check "a miscompare writes nothing" lcmp -i 0:$((3001 * 512)) -n 512 $tmp/blk $loop

# --- 4096-byte LUN on the 4K loop device
expect_eq "4K LUN logical block size" 4096 "$(blockdev --getss $sd4)"
head -c $((8 << 20)) /dev/urandom > $tmp/pat4
check "dd to the 4K LUN" dd if=$tmp/pat4 of=$sd4 bs=1M oflag=direct status=none
expect_eq "4K LUN md5 on the loop device" "$(md5 < $tmp/pat4)" "$(dd if=$loop4 bs=1M iflag=direct status=none | md5)"
expect_eq "4K LUN md5 back through the LUN" "$(md5 < $tmp/pat4)" "$(dd if=$sd4 bs=64k iflag=direct status=none | md5)"

# --- throughput, blockio vs fileio on tmpfs (information only: TCG numbers)
rate() { dd "$@" 2>&1 | sed -n 's/.*, \([0-9.]* [kMG]*B\/s\)$/\1/p'; }
echo "throughput: the loop device itself: write $(rate if=$tmp/pat of=$loop bs=1M oflag=direct)," \
  "read $(rate if=$loop of=/dev/null bs=1M iflag=direct)"
echo "throughput: blockio write $(rate if=$tmp/pat of=$sd bs=1M oflag=direct)," \
  "read $(rate if=$sd of=/dev/null bs=1M iflag=direct);" \
  "fileio write $(rate if=$tmp/pat of=$sdf bs=1M oflag=direct)," \
  "read $(rate if=$sdf of=/dev/null bs=1M iflag=direct)"
echo "throughput: blockio on null_blk (memory) write $(rate if=$tmp/pat of=$sdn bs=1M count=16 oflag=direct)," \
  "read $(rate if=$sdn of=/dev/null bs=1M iflag=direct)"

# --- losetup -d while enabled: loop only marks autoclear while we hold it open
now=$(dd if=$loop bs=1M iflag=direct status=none | md5)
check "losetup -d while the LUN is live" losetup -d $loop
expect_eq "the LUN still reads its data" "$now" "$(dd if=$sd bs=1M iflag=direct status=none | md5)"

# --- surprise removal: null_blk powered off under the live LUN
head -c $((1 << 20)) /dev/urandom > $tmp/nb
check "write to the null_blk LUN" dd if=$tmp/nb of=$sdn bs=64k oflag=direct status=none
check "read it back" cmp $tmp/nb <(dd if=$sdn bs=64k count=16 iflag=direct status=none)
check "power the null_blk device off" bash -c "echo 0 > $NB/power"
check "its disk is gone" test ! -e /sys/block/ferrnb
expect_fail "read after removal fails" dd if=$sdn of=/dev/null bs=4k count=1 iflag=direct status=none
expect_fail "write after removal fails" dd if=$tmp/nb of=$sdn bs=4k count=1 oflag=direct status=none
# (null_blk has no write cache: the block layer completes its flushes without the device.)
timeout 30 sg_sync $sdn 2>/dev/null; rc=$?
check "SYNCHRONIZE CACHE after removal returns (exit $rc)" test $rc -ne 124
check "the other LUNs still work" cmp -n 4096 $tmp/pat4 $sd4

# --- teardown
check "disable the target" bash -c "echo 0 > $T/enable"
check "rmdir LUNs and target" bash -c "rmdir $T/groups/default/luns/* && rmdir $T"
check "rmdir devices" rmdir $D/b1 $D/b4 $D/f1 $D/nb
gone=no
for i in $(seq 1 50); do [ -e /sys/block/$lname/loop/backing_file ] || { gone=yes; break; }; sleep 0.1; done
expect_eq "the loop device detached at our close" yes $gone
check "remove the null_blk device" rmdir $NB
check "detach the 4K loop device" losetup -d $loop4
check "rmmod" rmmod ferrule
umount /tmp/lb
rm -rf $tmp
finish
