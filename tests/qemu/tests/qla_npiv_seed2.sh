# Seed case 2 over the simulated FC fabric: vport A (LUN 0 = d0) migrates from initiator
# HBA 1 to initiator HBA 0 while vport B (LUN 0 = d1) takes A's old slot on HBA 1 (A's
# N_Port ID and handle); A's LOGO from the old slot is lost, so the target sees a migration
# (same WWPN, new N_Port ID) and a slot reuse (new WWPN, old N_Port ID + handle). Then
# concurrent verified writes (fio, libaio, queue depth 16) from both: no cross-talk, both
# disks intact afterwards. Any WARN/oops/leak fails the run through the runner's check.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
sim_ko=$FERRULE_ROOT/ferrule_isp_sim.ko
FW=ferrule_sim_fw.bin
fwdir=$(mktemp -d)
data=$(mktemp -d)
TW=21:00:00:24:ff:5a:00:00               # the sim's target HBA 0
T=$CFG/targets/qla2x00t/$TW
INI0=0x21000024ff7c0000                   # initiator HBA 0 (ini_wwpn_base)
INI1=0x21000024ff7c0001                   # initiator HBA 1 (ini_wwpn_base + 1)
A=2100000024aa0001 AN=2000000024aa0001
B=2100000024bb0002 BN=2000000024bb0002
mark() { echo "qla_npiv_seed2: $1" > /dev/kmsg; }
since() { dmesg | sed -n "/qla_npiv_seed2: $1\$/,\$p"; }

check "reload ferrule with qla2x00t_fw=$FW" bash -c "rmmod ferrule && insmod $(ferrule_ko) qla2x00t_fw=$FW"
check "generate a firmware image" python3 "$FERRULE_ROOT/tests/qemu/lib/gen-fw-image.py" "$fwdir/$FW"
echo -n "$fwdir" > /sys/module/firmware_class/parameters/path
check "tmpfs for the fileio images" mount -t tmpfs -o size=64m none "$data"

mark load
check "insmod ferrule_isp_sim (1 target HBA, 2 initiator HBAs)" insmod "$sim_ko" hbas=1 initiators=2
expect_eq "fc_host count" "2" "$(ls /sys/class/fc_host | wc -l)"
H0=$(sim_host_of $INI0) || H0=none
H1=$(sim_host_of $INI1) || H1=none
check "initiator HBAs are $H0 and $H1" test "$H0" != none -a "$H1" != none
F0=/sys/class/fc_host/$H0
F1=/sys/class/fc_host/$H1

# Two fileio devices on tmpfs, one target with two groups.
for d in d0 d1; do
  check "device $d" bash -c "mkdir $CFG/devices/$d && echo fileio > $CFG/devices/$d/backend &&
    echo $data/$d.img > $CFG/devices/$d/path && echo 16777216 > $CFG/devices/$d/size &&
    echo 1 > $CFG/devices/$d/enable"
done
check "target on the sim HBA" mkdir "$T"
check "group gA: A -> LUN0=d0" bash -c "mkdir $T/groups/gA && mkdir $T/groups/gA/initiators/$(sim_colons $A) &&
  mkdir $T/groups/gA/luns/0 && echo d0 > $T/groups/gA/luns/0/device"
check "group gB: B -> LUN0=d1" bash -c "mkdir $T/groups/gB && mkdir $T/groups/gB/initiators/$(sim_colons $B) &&
  mkdir $T/groups/gB/luns/0 && echo d1 > $T/groups/gB/luns/0/device"
check "enable the target" bash -c "echo 1 > $T/enable"

fill() { head -c "$2" /dev/zero | tr '\0' "$1"; }   # fill OCTAL_CHAR BYTES
line_of() { grep -i "^$(sim_colons "$1") " "$T/sessions"; }

mark vport_a
check "vport_create A on HBA 1 ($H1)" bash -c "echo $A:$AN > $F1/vport_create"
HA=$(sim_host_of 0x$A) || HA=none
SA=$(sim_disk_of "$HA") || SA=none
check "A's LUN 0 appeared ($SA)" test "$SA" != none
read -r _ A_ID A_HANDLE _ <<< "$(line_of $A)"
expect_eq "A logs in from HBA 1's first NPIV slot" "0a2101" "${A_ID:-}"
fill '\245' 8388608 > "$data/a.img"
check "A writes its pattern (8 MiB) through HBA 1" dd if="$data/a.img" of=/dev/$SA bs=1M oflag=direct status=none

mark migrate
echo 1 > /sys/module/ferrule_isp_sim/parameters/ini_drop_logo
check "A leaves HBA 1 (its LOGO is lost)" bash -c "echo $A:$AN > $F1/vport_delete"
echo 0 > /sys/module/ferrule_isp_sim/parameters/ini_drop_logo
check "the target still holds A's old session" bash -c "grep -qi '^$(sim_colons $A) 0a2101 ' $T/sessions"
check "A arrives on HBA 0 ($H0)" bash -c "echo $A:$AN > $F0/vport_create"
check "B takes A's old slot on HBA 1" bash -c "echo $B:$BN > $F1/vport_create"
HA=$(sim_host_of 0x$A) || HA=none
HB=$(sim_host_of 0x$B) || HB=none
SA=$(sim_disk_of "$HA") || SA=none
SB=$(sim_disk_of "$HB") || SB=none
check "A's LUN 0 on HBA 0 ($SA) and B's LUN 0 on HBA 1 ($SB)" test "$SA" != none -a "$SB" != none
cat "$T/sessions" | sed 's/^/  sessions: /'
expect_eq "sessions: exactly A and B" "2" "$(($(wc -l < $T/sessions) - 1))"
read -r _ A2_ID A2_HANDLE A2_GROUP A2_LUNS _ <<< "$(line_of $A)"
read -r _ B_ID B_HANDLE B_GROUP B_LUNS _ <<< "$(line_of $B)"
expect_eq "A migrated: HBA 0's first NPIV slot, group gA" "0a2001 gA 0" "${A2_ID:-} ${A2_GROUP:-} ${A2_LUNS:-}"
expect_eq "B has A's old N_Port ID and handle, group gB" "0a2101 $A_HANDLE gB 0" "${B_ID:-} ${B_HANDLE:-} ${B_GROUP:-} ${B_LUNS:-}"
check "A still reads its pattern after the migration" bash -c "dd if=/dev/$SA bs=1M count=8 iflag=direct status=none | cmp - $data/a.img"
check "B reads d1 (never A's pattern)" bash -c "dd if=/dev/$SB bs=1M count=8 iflag=direct status=none | cmp - <(head -c 8388608 $data/d1.img)"

mark io
# Concurrent verified random writes, a different byte per vport: fio checks every block it
# wrote reads back (its own pattern), the images show no block of the other vport.
fio_job() { # fio_job NAME DEV BYTE
  fio --name="$1" --filename="/dev/$2" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
    --bs=4k --size=8M --loops=2 --verify=pattern --verify_pattern="$3" --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --output="$data/$1.fio" >/dev/null 2>&1
}
fio_job fioA "$SA" 0x5a & pa=$!
fio_job fioB "$SB" 0xb5 & pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
expect_eq "fio on A (HBA 0) verified" "0" "$ra"
expect_eq "fio on B (HBA 1) verified" "0" "$rb"
for j in fioA fioB; do grep -E "write:|read:|err=" "$data/$j.fio" | sed "s/^/  $j: /"; done
fill '\132' 8388608 > "$data/a2.img"
fill '\265' 8388608 > "$data/b2.img"
check "d0's image: A's bytes only" bash -c "head -c 8388608 $data/d0.img | cmp - $data/a2.img"
check "d1's image: B's bytes only" bash -c "head -c 8388608 $data/d1.img | cmp - $data/b2.img"
check "A reads d0 through HBA 0" bash -c "dd if=/dev/$SA bs=1M count=8 iflag=direct status=none | cmp - $data/a2.img"
check "B reads d1 through HBA 1" bash -c "dd if=/dev/$SB bs=1M count=8 iflag=direct status=none | cmp - $data/b2.img"
cat "$T/sessions" | sed 's/^/  sessions: /'
check "vport_delete A (HBA 0)" bash -c "echo $A:$AN > $F0/vport_delete"
check "vport_delete B (HBA 1)" bash -c "echo $B:$BN > $F1/vport_delete"

mark teardown
check "disable the target" bash -c "echo 0 > $T/enable"
check "rmmod ferrule_isp_sim" rmmod ferrule_isp_sim
check "configfs teardown" bash -c "rmdir $T/groups/gA/luns/0 $T/groups/gA/initiators/* $T/groups/gA \
  $T/groups/gB/luns/0 $T/groups/gB/initiators/* $T/groups/gB $T && rmdir $CFG/devices/d0 $CFG/devices/d1"
check "rmmod ferrule" rmmod ferrule
since load | grep -E 'ferrule_isp_sim|ferrule_sim_ini|qla2x00t|scsi host|rport|vport' | sed 's/^/  log: /' | tail -60
umount "$data"
echo -n "" > /sys/module/firmware_class/parameters/path
rm -rf "$fwdir" "$data"
finish
