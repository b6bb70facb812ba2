# The command engine through the real Linux initiator: one local target presenting two
# initiator WWPNs (two SCSI hosts, two I_T nexuses to the same LU): persistent reservations
# between them (register, reserve, conflict, preempt, UA to the preempted), SPC-2
# RESERVE/RELEASE, LUN reset unit attention seen by the other nexus, UNMAP and WRITE SAME
# with UNMAP on a thin fileio LU, garbage CDBs answered with CHECK CONDITION, a live resize
# seen after CAPACITY DATA HAS CHANGED, per-initiator LUN masking, disable and rmmod under
# fio load.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/bench/common.sh"
D=$CFG/devices
T=$CFG/targets/local/50:01:40:5e:00:00:aa:01
IA=50:01:40:5e:00:00:bb:01
IB=50:01:40:5e:00:00:bb:02
tmp=$(mktemp -d)
mkdir -p /tmp/le && mount -t tmpfs none /tmp/le
# APTPL images go to /var/lib/ferrule/pr, opened when a target is enabled (the guest's root
# is the host's, read-only: give /var/lib a tmpfs if needed).
mkdir -p /var/lib/ferrule/pr 2>/dev/null || { mount -t tmpfs none /var/lib && mkdir -p /var/lib/ferrule/pr; }

# disks_of SERIAL: every /dev/sdX whose unit serial is SERIAL, one per line, with its host.
disks_of() {
  local dev
  for dev in /sys/bus/scsi/devices/*:*:*:*; do
    [ -d "$dev/block" ] || continue
    [ "$(disk_serial "$dev")" = "$1" ] || continue
    echo "$(basename $dev | cut -d: -f1) /dev/$(ls $dev/block | head -1)"
  done | sort -n
}
# host_of_initiator N: the SCSI host number of the Nth (0-based) initiator's session.
host_of_initiator() { sed -n "$(($1 + 2))p" $T/sessions | cut -d' ' -f3 | sed 's/host//'; }
disk_on_host() { disks_of "$2" | awk -v h="$1" '$1 == h { print $2 }'; }
# clear_ua DISK: TEST UNIT READY until GOOD (pending unit attentions are consumed).
clear_ua() { local i; for i in 1 2 3 4 5 6 7 8; do sg_turs "$1" 2>/dev/null && return 0; done; return 1; }
# status_of DISK CDB...: the SCSI status sg_raw reports for a data-out-less command.
raw() { sg_raw -v "$@" 2>&1; }

check "fileio device (thin, 16 MiB)" bash -c "mkdir $D/f1 && echo fileio > $D/f1/backend &&
  echo /tmp/le/f1.img > $D/f1/path && echo 16777216 > $D/f1/size && echo 1 > $D/f1/thin &&
  echo eng1 > $D/f1/serial && echo 1 > $D/f1/enable"
check "nullio device (8 MiB)" bash -c "mkdir $D/n1 && echo 8388608 > $D/n1/size && echo engn > $D/n1/serial && echo 1 > $D/n1/enable"
check "target with two initiators" bash -c "mkdir $T && echo '$IA $IB' > $T/initiator"
expect_eq "initiator list shown" "$IA $IB" "$(cat $T/initiator)"
check "LUN 0 -> f1 for everyone" bash -c "mkdir $T/groups/default/luns/0 && echo f1 > $T/groups/default/luns/0/device"
check "group onlyb: initiator B also sees n1 at LUN 1" bash -c "mkdir $T/groups/onlyb &&
  mkdir $T/groups/onlyb/initiators/$IB && mkdir $T/groups/onlyb/luns/0 $T/groups/onlyb/luns/1 &&
  echo f1 > $T/groups/onlyb/luns/0/device && echo n1 > $T/groups/onlyb/luns/1/device"
check "enable" bash -c "echo 1 > $T/enable"
cat $T/sessions
expect_eq "two sessions" 2 "$(($(wc -l < $T/sessions) - 1))"
expect_eq "session A" "$IA 010001 default 0" "$(sed -n 2p $T/sessions | cut -d' ' -f1,2,4,5)"
expect_eq "session B" "$IB 010002 onlyb 0,1" "$(sed -n 3p $T/sessions | cut -d' ' -f1,2,4,5)"
hA=$(host_of_initiator 0); hB=$(host_of_initiator 1)
dA=$(disk_on_host $hA eng1); dB=$(disk_on_host $hB eng1)
check "A's disk of f1" test -b "$dA"
check "B's disk of f1" test -b "$dB"
check "A and B are different Linux disks" test "$dA" != "$dB"
check "B sees n1" test -n "$(disk_on_host $hB engn)"
check "A does not see n1" test -z "$(disk_on_host $hA engn)"
expect_eq "REPORT LUNS for A" "0000000000000000" "$(sg_luns $dA | grep -E '^ +[0-9a-f]{16}$' | xargs)"
expect_eq "REPORT LUNS for B" "0000000000000000 0001000000000000" "$(sg_luns $dB | grep -E '^ +[0-9a-f]{16}$' | xargs)"
clear_ua $dA; clear_ua $dB

# --- persistent reservations between the two nexuses -------------------------------------
check "A registers key 0xaaa" sg_persist -n --out --register --param-sark=0xaaa $dA
check "B registers key 0xbbb" sg_persist -n --out --register --param-sark=0xbbb $dB
keys=$(sg_persist -n --in -k $dB); echo "$keys"
check "both keys listed" bash -c "grep -q 0xaaa <<<'$keys' && grep -q 0xbbb <<<'$keys'"
check "A reserves Write Exclusive" sg_persist -n --out --reserve --param-rk=0xaaa --prout-type=1 $dA
res=$(sg_persist -n --in -r $dB); echo "$res"
check "B sees A's reservation" bash -c "grep -q 'Key=0xaaa' <<<'$res' && grep -qi 'Write Exclusive' <<<'$res'"
head -c 512 /dev/urandom > $tmp/blk
out=$(raw -s 512 -i $tmp/blk $dB 2a 00 00 00 00 10 00 00 01 00); echo "$out" | tail -2
check "B's WRITE gets RESERVATION CONFLICT" grep -qi "reservation conflict" <<<"$out"
out=$(raw -r 512 $dB 28 00 00 00 00 10 00 00 01 00); echo "$out" | tail -1
check "B may still READ (Write Exclusive)" bash -c "! grep -qi 'conflict\|check condition' <<<'$out'"
check "A (holder) writes" sg_raw -s 512 -i $tmp/blk $dA 2a 00 00 00 00 10 00 00 01 00
check "the data is in the file" cmp -i 0:8192 -n 512 $tmp/blk /tmp/le/f1.img
check "B preempts A" sg_persist -n --out --preempt --param-rk=0xbbb --param-sark=0xaaa --prout-type=1 $dB
ua=$(sg_turs -v $dA 2>&1); echo "$ua"
check "A gets REGISTRATIONS PREEMPTED" grep -qi "registrations preempted" <<<"$ua"
out=$(raw -s 512 -i $tmp/blk $dA 2a 00 00 00 00 10 00 00 01 00); echo "$out" | tail -1
check "A's WRITE now conflicts" grep -qi "reservation conflict" <<<"$out"
keys=$(sg_persist -n --in -k $dA); echo "$keys"
check "only B's key is left" bash -c "! grep -q 0xaaa <<<'$keys' && grep -q 0xbbb <<<'$keys'"
check "B clears" sg_persist -n --out --clear --param-rk=0xbbb $dB
clear_ua $dA
check "A writes again" sg_raw -s 512 -i $tmp/blk $dA 2a 00 00 00 00 10 00 00 01 00

# --- SPC-2 RESERVE / RELEASE ---------------------------------------------------------------
check "A RESERVE(6)" sg_raw $dA 16 00 00 00 00 00
out=$(raw -r 512 $dB 28 00 00 00 00 10 00 00 01 00); echo "$out" | tail -1
check "B's READ conflicts" grep -qi "reservation conflict" <<<"$out"
check "B's TEST UNIT READY is allowed (SPC-2 exempt list)" sg_turs $dB
check "A RELEASE(6)" sg_raw $dA 17 00 00 00 00 00
check "B's READ is good again" sg_raw -r 512 $dB 28 00 00 00 00 10 00 00 01 00

# --- task management: a LUN reset is seen by the other nexus -------------------------------
check "LUN reset from A (sg_reset -d)" sg_reset -d $dA
ua=$(sg_turs -v $dB 2>&1); echo "$ua"
check "B gets a reset unit attention" grep -qiE "reset|power on" <<<"$ua"
clear_ua $dA; clear_ua $dB

# --- thin provisioning ---------------------------------------------------------------------
head -c 65536 /dev/urandom > $tmp/pat64
check "write 64 KiB at LBA 2048" dd if=$tmp/pat64 of=$dA bs=64k seek=16 count=1 oflag=direct status=none
check "UNMAP those 128 blocks" sg_unmap --lba=2048 --num=128 $dA
check "they read back as zeroes" cmp -n 65536 /dev/zero <(dd if=$dA bs=64k skip=16 count=1 iflag=direct status=none)
check "the file has a hole there" cmp -n 65536 /dev/zero <(dd if=/tmp/le/f1.img bs=64k skip=16 count=1 status=none)
check "write again" dd if=$tmp/pat64 of=$dA bs=64k seek=16 count=1 oflag=direct status=none
check "WRITE SAME(16) with UNMAP" sg_write_same --16 --unmap --lba=2048 --num=128 --in=/dev/zero $dA
check "zeroes after WRITE SAME UNMAP" cmp -n 65536 /dev/zero <(dd if=$dA bs=64k skip=16 count=1 iflag=direct status=none)
lbp=$(sg_vpd -p lbpv $dA); echo "$lbp" | head -6
check "VPD B2h: UNMAP supported" grep -qE "Unmap command supported \(LBPU\): 1" <<<"$lbp"

# --- garbage CDBs ----------------------------------------------------------------------------
out=$(raw $dA ff 00 00 00 00 00); echo "$out" | tail -2
check "opcode FFh: ILLEGAL REQUEST, invalid command operation code" grep -qi "invalid command operation code" <<<"$out"
out=$(raw -r 512 $dA 28 00 ff ff ff ff 00 00 01 00); echo "$out" | tail -2
check "READ past the end: LBA out of range" grep -qi "out of range" <<<"$out"
out=$(raw -r 255 $dA 12 00 01 00 ff 00); echo "$out" | tail -2
check "INQUIRY page code without EVPD: invalid field in CDB" grep -qi "invalid field in cdb" <<<"$out"
out=$(raw $dA 00 ff ff ff ff ff); echo "$out" | tail -2
check "TEST UNIT READY with reserved bits set still answers" grep -qiE "good|invalid field|check condition" <<<"$out"
for op in 5a 5f a3 d0 e9 fe 3b 3c 7f; do
  raw $dA $op 00 00 00 00 00 00 00 00 00 > $tmp/g 2>&1
done
check "the LU still answers after the garbage" sg_turs $dA

# --- live resize: CAPACITY DATA HAS CHANGED ----------------------------------------------------
check "grow f1 to 24 MiB while live" bash -c "echo 25165824 > $D/f1/size"
ua=$(sg_turs -v $dA 2>&1); echo "$ua"
check "A gets CAPACITY DATA HAS CHANGED" grep -qi "capacity data has changed" <<<"$ua"
expect_eq "READ CAPACITY shows the new size" 49152 "$(sg_readcap $dA | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')"
echo 1 > /sys/block/${dA#/dev/}/device/rescan
expect_eq "Linux sees 24 MiB after a rescan" 25165824 "$(blockdev --getsize64 $dA)"

# --- APTPL: reservation state that survives the target going down ------------------------------
check "A registers with APTPL" sg_persist -n --out --register --param-sark=0xa11 --param-aptpl $dA
check "the image is stored" test -s /var/lib/ferrule/pr/eng1
check "target off and on again" bash -c "echo 0 > $T/enable && echo 1 > $T/enable"
dA=$(disk_on_host $(host_of_initiator 0) eng1); clear_ua $dA
keys=$(sg_persist -n --in -k $dA); echo "$keys"
check "A's key came back from the image" grep -q 0xa11 <<<"$keys"
check "A unregisters (APTPL off)" sg_persist -n --out --register --param-rk=0xa11 --param-sark=0 $dA
check "the image is emptied" test ! -s /var/lib/ferrule/pr/eng1
check "target off and on again" bash -c "echo 0 > $T/enable && echo 1 > $T/enable"
dA=$(disk_on_host $(host_of_initiator 0) eng1); clear_ua $dA
check "no keys after the restart" bash -c "sg_persist -n --in -k $dA | grep -q 'NO registered'"
printf 'garbage' > /var/lib/ferrule/pr/eng1
check "a corrupt image is ignored at enable" bash -c "echo 0 > $T/enable && echo 1 > $T/enable"
check "and logged" bash -c "dmesg | grep -q 'eng1: not a valid reservation image'"
rm -f /var/lib/ferrule/pr/eng1
dA=$(disk_on_host $(host_of_initiator 0) eng1); clear_ua $dA

# --- disable and rmmod under fio load ----------------------------------------------------------
fio --name=load --filename=$dA --direct=1 --ioengine=libaio --iodepth=32 --rw=randrw --bs=4k \
  --offset=8M --size=8M --runtime=60 --time_based --output=$tmp/fio.txt >/dev/null 2>&1 &
fpid=$!
c0=$(sed -n 2p $T/sessions | cut -d' ' -f6)
sleep 3
check "fio is running" kill -0 $fpid
expect_fail "rmmod while a disk is open is refused" rmmod ferrule
for i in $(seq 1 150); do [ "$(sed -n 2p $T/sessions | cut -d' ' -f6)" -gt "$c0" ] && break; sleep 0.2; done
check "commands flow meanwhile (session counter grows)" test "$(sed -n 2p $T/sessions | cut -d' ' -f6)" -gt "$c0"
check "disable the target under load (returns)" timeout 60 bash -c "echo 0 > $T/enable"
kill $fpid 2>/dev/null
for i in $(seq 1 100); do kill -0 $fpid 2>/dev/null || break; sleep 0.2; done
check "fio is not stuck on the removed disk" bash -c "! kill -0 $fpid 2>/dev/null"
wait $fpid; echo "fio exit: $?"; grep -E "err=|IOPS" $tmp/fio.txt | head -3
check "no host left" test -z "$(grep -lx ferrule_local /sys/class/scsi_host/*/proc_name 2>/dev/null)"
check "re-enable after the load" bash -c "echo 1 > $T/enable"
dA=$(disk_on_host $(host_of_initiator 0) eng1)
check "A's disk is back" test -b "$dA"
check "data written before survives" cmp -n 512 $tmp/blk <(dd if=$dA bs=512 skip=16 count=1 iflag=direct status=none)
check "teardown" bash -c "echo 0 > $T/enable && rmdir $T/groups/onlyb/luns/* $T/groups/onlyb/initiators/* $T/groups/onlyb $T/groups/default/luns/0 $T && rmdir $D/f1 $D/n1"
check "rmmod" rmmod ferrule
umount /tmp/le
finish
