# Seed case 1 over the simulated FC fabric, with the real Linux FC initiator stack: on
# initiator HBA 1 create NPIV vport A, write a pattern to its LUN 0 (device d0), delete A,
# create vport B, which the switch and the target firmware give A's N_Port ID and N_Port
# handle (asserted through the target's sessions file); B's LUN 0 must be d1 with d1's
# content, never A's pattern. Any WARN/oops/leak fails the run through the runner's check.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
sim_ko=$FERRULE_ROOT/ferrule_isp_sim.ko
FW=ferrule_sim_fw.bin
fwdir=$(mktemp -d)
data=$(mktemp -d)
TW=21:00:00:24:ff:5a:00:00               # the sim's target HBA 0
T=$CFG/targets/qla2x00t/$TW
INI1=0x21000024ff7c0001                   # initiator HBA 1 (ini_wwpn_base + 1)
A=2100000024aa0001 AN=2000000024aa0001
B=2100000024bb0002 BN=2000000024bb0002
mark() { echo "qla_npiv_seed1: $1" > /dev/kmsg; }
since() { dmesg | sed -n "/qla_npiv_seed1: $1\$/,\$p"; }
session() { grep -i "^$(sim_colons "$1") " "$T/sessions"; }   # session WWPN -> its line
pattern() { yes "$1" | head -c 1048576; }                  # 1 MiB of a repeated line

check "reload ferrule with qla2x00t_fw=$FW" bash -c "rmmod ferrule && insmod $(ferrule_ko) qla2x00t_fw=$FW"
check "generate a firmware image" python3 "$FERRULE_ROOT/tests/qemu/lib/gen-fw-image.py" "$fwdir/$FW"
echo -n "$fwdir" > /sys/module/firmware_class/parameters/path
check "tmpfs for the fileio images" mount -t tmpfs -o size=64m none "$data"

mark load
check "insmod ferrule_isp_sim (1 target HBA, 2 initiator HBAs)" insmod "$sim_ko" hbas=1 initiators=2
expect_eq "fc_host count" "2" "$(ls /sys/class/fc_host | wc -l)"
H1=$(sim_host_of $INI1) || H1=none
check "initiator HBA 1 is $H1" test "$H1" != none
F1=/sys/class/fc_host/$H1
expect_eq "HBA 1 port id (switch port 0x21)" "0x0a2100" "$(cat $F1/port_id)"
expect_eq "HBA 1 port state" "Online" "$(cat $F1/port_state)"
expect_eq "HBA 1 port type" "NPort (fabric via point-to-point)" "$(cat $F1/port_type)"
expect_eq "HBA 1 max vports" "8" "$(cat $F1/max_npiv_vports)"
# No target is enabled yet: the physical ports' PLOGIs were rejected, no rports.
expect_eq "no remote ports before the target is enabled" "0" "$(ls /sys/class/fc_remote_ports | wc -l)"

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

P=/sys/module/ferrule_isp_sim/parameters/ini_drop_logo
# Round 1: A's vport delete logs A out of the target (LOGO), as a healthy HBA does.
# Round 2: A's LOGO is lost (fault injection): the target still holds A's session on that
# N_Port ID and handle when B's PLOGI arrives from the same slot. It must end A's session
# by the WWPN change; a slot-keyed target would serve d0 to B here.
seed_round() { # seed_round NUMBER MODE(logo|lost)
  local r=$1 mode=$2 HA SA LA HB SB LB A_ID A_HANDLE A_GROUP A_LUNS B_ID B_HANDLE B_GROUP B_LUNS
  local apat="vport-A-round-$r" bpat="vport-B-round-$r"
  mark "vport_a_$r"
  check "[$r] vport_create A on $H1" bash -c "echo $A:$AN > $F1/vport_create"
  HA=$(sim_host_of 0x$A) || HA=none
  check "[$r] vport A is a SCSI host ($HA)" test "$HA" != none
  expect_eq "[$r] vport A port type" "NPIV VPORT" "$(cat /sys/class/fc_host/$HA/port_type 2>/dev/null)"
  SA=$(sim_disk_of "$HA") || SA=none
  check "[$r] vport A's LUN 0 appeared ($SA)" test "$SA" != none
  LA=$(session $A)
  echo "  [$r] session A: $LA"
  read -r _ A_ID A_HANDLE A_GROUP A_LUNS _ <<< "$LA"
  expect_eq "[$r] A's session: port id" "0a2101" "${A_ID:-}"
  expect_eq "[$r] A's session: group and LUNs" "gA 0" "${A_GROUP:-} ${A_LUNS:-}"
  expect_eq "[$r] A's N_Port ID in the fc_host" "0x0a2101" "$(cat /sys/class/fc_host/$HA/port_id 2>/dev/null)"
  pattern "$apat" > "$data/a.pat"
  check "[$r] dd A's pattern to A's LUN 0 (/dev/$SA, direct)" dd if="$data/a.pat" of=/dev/$SA bs=64k oflag=direct status=none
  check "[$r] read it back through A" bash -c "dd if=/dev/$SA bs=64k count=16 iflag=direct status=none | cmp - $data/a.pat"
  check "[$r] A's pattern is in d0's image" bash -c "head -c 1048576 $data/d0.img | cmp - $data/a.pat"
  check "[$r] d1's image never had A's pattern" bash -c "! grep -q vport-A- $data/d1.img"

  mark "delete_a_$r"
  [ "$mode" = lost ] && echo 1 > $P
  check "[$r] vport_delete A ($mode)" bash -c "echo $A:$AN > $F1/vport_delete"
  echo 0 > $P
  check "[$r] A's host is gone" bash -c "! ls /sys/class/fc_host/$HA >/dev/null 2>&1"
  check "[$r] A's disk is gone" test ! -e /sys/block/$SA
  if [ "$mode" = lost ]; then
    check "[$r] the target never heard A leave: A's session is still there" bash -c "grep -qi '^$(sim_colons $A) 0a2101 ' $T/sessions"
  else
    check "[$r] A's session is gone" bash -c "! grep -qi '^$(sim_colons $A) ' $T/sessions"
  fi

  mark "vport_b_$r"
  check "[$r] vport_create B on $H1" bash -c "echo $B:$BN > $F1/vport_create"
  HB=$(sim_host_of 0x$B) || HB=none
  check "[$r] vport B is a SCSI host ($HB)" test "$HB" != none
  SB=$(sim_disk_of "$HB") || SB=none
  check "[$r] vport B's LUN 0 appeared ($SB)" test "$SB" != none
  LB=$(session $B)
  echo "  [$r] session B: $LB"
  read -r _ B_ID B_HANDLE B_GROUP B_LUNS _ <<< "$LB"
  expect_eq "[$r] B reuses A's N_Port ID" "${A_ID:-?}" "${B_ID:-}"
  expect_eq "[$r] B reuses A's N_Port handle" "${A_HANDLE:-?}" "${B_HANDLE:-}"
  expect_eq "[$r] B's session: group and LUNs" "gB 0" "${B_GROUP:-} ${B_LUNS:-}"
  check "[$r] A's session is gone" bash -c "! grep -qi '^$(sim_colons $A) ' $T/sessions"
  dd if=/dev/$SB of="$data/b.read" bs=64k count=16 iflag=direct status=none
  check "[$r] B's LUN 0 reads d1's content" bash -c "head -c 1048576 $data/d1.img | cmp - $data/b.read"
  check "[$r] B never sees A's pattern" bash -c "! grep -q vport-A- $data/b.read"
  pattern "$bpat" > "$data/b.pat"
  check "[$r] dd B's pattern to B's LUN 0" dd if="$data/b.pat" of=/dev/$SB bs=64k oflag=direct status=none
  check "[$r] B's pattern is in d1's image" bash -c "head -c 1048576 $data/d1.img | cmp - $data/b.pat"
  check "[$r] d0 still holds A's pattern" bash -c "head -c 1048576 $data/d0.img | cmp - $data/a.pat"
  cat "$T/sessions" | sed "s/^/  [$r] sessions: /"
  check "[$r] vport_delete B" bash -c "echo $B:$BN > $F1/vport_delete"
}
seed_round 1 logo
seed_round 2 lost

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
