# Guest side of `make demo`: the NPIV slot-reuse story over the simulated FC fabric (issue 6,
# item 6: seed case 2 replayed with narration), then a short look at the loopback fabric.
# Every `$ ` line is a command that really runs, as shown; `# ` lines are narration.
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
CFG=/sys/kernel/config/ferrule
say() { echo "# $*"; }
run() { echo "\$ $1"; eval "$1"; }        # a shell line: shown as typed, then run
indent() { sed 's/^/    /'; }
runi() { echo "\$ $1"; eval "$1" | indent; }   # the same, output indented
short() { md5sum | cut -c1-12; }         # short checksums read better
bad=0                                    # the demo's exit status: 1 if a disk was not intact
verdict() { if [ "$@" ]; then VERDICT=intact; else VERDICT=CORRUPTED bad=1; fi; }   # verdict TEST...
A=2100000024aa0001 AN=2000000024aa0001   # VM A's virtual port (WWPN, WWNN)
B=2100000024bb0002 BN=2000000024bb0002   # VM B's
AC=$(sim_colons $A) BC=$(sim_colons $B)
data=/tmp/demo
# The kernel's info/notice lines would land in the middle of ours on the shared console;
# warnings and worse still go there (the runner fails the demo on a splat).
echo 5 > /proc/sys/kernel/printk
mkdir -p $data && mount -t tmpfs -o size=128m none $data
python3 "$FERRULE_ROOT/tests/qemu/lib/gen-fw-image.py" $data/$SIM_FW >/dev/null
echo -n $data > /sys/module/firmware_class/parameters/path

# vport_luns NAME WWPN: the vport's SCSI host, N_Port ID and LUNs (INQUIRY product, serial).
vport_luns() {
  local h d n id vendor model
  h=$(sim_host_of 0x$2) || { echo "    $1: no vport"; return; }
  read -r id < /sys/class/fc_host/$h/port_id
  sim_disk_of $h >/dev/null                # wait for the scan
  for d in /sys/bus/scsi/devices/${h#host}:0:*:*; do
    [ -e "$d/block" ] || continue
    n=$(ls $d/block)
    read -r vendor < $d/vendor; read -r model < $d/model
    echo "    $1: $(sim_colons $2) = $h, N_Port $id, LUN ${d##*:} = /dev/$n: $vendor $model," \
      "serial $(sg_inq -p 0x80 /dev/$n | sed -n 's/^ *Unit serial number: *//p')"
  done
}
disk_of() { sim_disk_of "$(sim_host_of 0x$1)"; }

echo "=== FERRULE DEMO BEGIN"
say "Ferrule is a Fibre Channel SCSI target for Linux, in Rust. The problem it solves: with NPIV,"
say "a new virtual initiator port can inherit a departed one's slot (N_Port ID + N_Port handle);"
say "a target that keys sessions on the slot serves the old VM's disk to the new VM."
say "Ferrule keys every session on WWPN + N_Port ID. No FC hardware is needed to see it:"
say "ferrule_isp_sim.ko plays the QLogic HBA under Ferrule's real qla2x00t driver, an FC switch,"
say "and 2 initiator HBAs that Linux's own FC transport class and SCSI stack drive."
run "uname -r"
cd "$FERRULE_ROOT" || exit 1
rmmod ferrule                            # the VM booted with it loaded plainly
run "insmod ferrule.ko qla2x00t_fw=$SIM_FW   # firmware: a generated test image"
run "insmod ferrule_isp_sim.ko hbas=1 initiators=2"
H0=$(sim_host_of 0x21000024ff7c0000) H1=$(sim_host_of 0x21000024ff7c0001)
F0=/sys/class/fc_host/$H0 F1=/sys/class/fc_host/$H1
say "The two initiator HBAs, logged in to the switch (/sys/class/fc_host):"
for h in $H0 $H1; do
  f=/sys/class/fc_host/$h
  echo "    $h: WWPN $(sim_colons "$(cut -c3- $f/port_name)"), N_Port $(cat $f/port_id)," \
    "$(cat $f/port_state), up to $(cat $f/max_npiv_vports) NPIV vports"
done

echo
say "Target side (configfs): two disks, one FC target port, two initiator groups:"
say "group A lets VM A's WWPN see d0 as LUN 0, group B lets VM B's WWPN see d1."
run "cd $CFG"
run "for d in d0 d1; do mkdir devices/\$d; echo fileio > devices/\$d/backend; echo $data/\$d.img > devices/\$d/path; echo 16777216 > devices/\$d/size; echo 1 > devices/\$d/enable; done"
run "T=targets/qla2x00t/21:00:00:24:ff:5a:00:00; mkdir \$T"
run "mkdir \$T/groups/A \$T/groups/A/initiators/$AC \$T/groups/A/luns/0; echo d0 > \$T/groups/A/luns/0/device"
run "mkdir \$T/groups/B \$T/groups/B/initiators/$BC \$T/groups/B/luns/0; echo d1 > \$T/groups/B/luns/0/device"
run "echo 1 > \$T/enable"
T=$CFG/$T
cd $data || exit 1

echo
say "Two VMs start: A gets an NPIV vport on initiator HBA 1 ($H1), B one on HBA 0 ($H0)."
run "echo $A:$AN > $F1/vport_create"
run "echo $B:$BN > $F0/vport_create"
say "Each vport is a SCSI host of its own and sees its group's LUN only (serial = target device):"
vport_luns "VM A" $A; vport_luns "VM B" $B
DA=$(disk_of $A) DB=$(disk_of $B)
say "The target's session table: initiator WWPN, N_Port ID, N_Port handle, group, LUNs, commands."
runi "cat \$T/sessions"
read -r _ A_ID A_H _ < <(grep -i "^$AC " $T/sessions)
say "Each VM writes 8 MiB of its own data:"
head -c 8M /dev/urandom > a1.dat; head -c 8M /dev/urandom > b1.dat
run "dd if=a1.dat of=/dev/$DA bs=1M oflag=direct status=none   # VM A"
run "dd if=b1.dat of=/dev/$DB bs=1M oflag=direct status=none   # VM B"

echo
say "Seed case 2. VM B shuts down; its vport logs out cleanly."
run "echo $B:$BN > $F0/vport_delete"
say "VM A live-migrates from HBA 1 to HBA 0, and its LOGO is lost on the way (fault injection):"
run "echo 1 > /sys/module/ferrule_isp_sim/parameters/ini_drop_logo"
run "echo $A:$AN > $F1/vport_delete"
run "echo 0 > /sys/module/ferrule_isp_sim/parameters/ini_drop_logo"
runi "dmesg | grep 'fault injection' | sed 's/^\[[^]]*\] //'"
say "The target never heard A leave: A's session at $A_ID (handle $A_H) is still in the table."
runi "cat \$T/sessions"
run "echo $A:$AN > $F0/vport_create   # A arrives on HBA 0"
say "VM B starts again, on HBA 1: the switch and the firmware give it A's old slot."
run "echo $B:$BN > $F1/vport_create   # B on HBA 1"
vport_luns "VM A" $A; vport_luns "VM B" $B
DA=$(disk_of $A) DB=$(disk_of $B)
runi "cat \$T/sessions"
read -r _ B_ID B_H B_G _ < <(grep -i "^$BC " $T/sessions)
if [ "$B_ID $B_H" = "$A_ID $A_H" ]; then
  say "B logged in at N_Port $B_ID with handle $B_H: the very slot A had. Ferrule ended A's stale"
  say "session and judged B by its own WWPN: group $B_G, LUN 0 = d1. A slot-keyed target would"
  say "have found A's session (group A, d0) on this slot and given VM B VM A's disk."
else
  say "B logged in at N_Port $B_ID with handle $B_H (A had $A_ID, handle $A_H); group $B_G."
fi

echo
say "Each VM reads back what it wrote before the moves (first 8 MiB of its LUN 0):"
printf '    %-6s %-14s %-14s %s\n' VM wrote "read back" ""
for v in A B; do
  [ $v = A ] && dev=$DA f=a1.dat || dev=$DB f=b1.dat
  w=$(short < $f) r=$(dd if=/dev/$dev bs=1M count=8 iflag=direct status=none | short)
  verdict "$w" = "$r"
  printf '    %-6s %-14s %-14s %s\n' "$v" "$w" "$r" "$VERDICT"
done
say "Now both write at once, 8 MiB each, 64 KiB at a time (O_DIRECT), then every copy is compared:"
head -c 8M /dev/urandom > a2.dat; head -c 8M /dev/urandom > b2.dat
run "dd if=a2.dat of=/dev/$DA bs=64k oflag=direct status=none & dd if=b2.dat of=/dev/$DB bs=64k oflag=direct status=none & wait"
printf '    %-6s %-14s %-24s %-24s %s\n' VM wrote "read back via its vport" "in its backing image" ""
for v in A B; do
  [ $v = A ] && dev=$DA f=a2.dat img=d0.img || dev=$DB f=b2.dat img=d1.img
  w=$(short < $f) r=$(dd if=/dev/$dev bs=1M count=8 iflag=direct status=none | short)
  i=$(head -c 8M $img | short)
  verdict "$w" = "$r" -a "$w" = "$i"
  printf '    %-6s %-14s %-24s %-24s %s\n' "$v" "$w" "$r" "$i ($img)" "$VERDICT"
done
runi "cat \$T/sessions"

echo
say "Clean up: vports gone, target disabled, modules unloaded."
run "echo $A:$AN > $F0/vport_delete; echo $B:$BN > $F1/vport_delete"
run "echo 0 > \$T/enable"
rmdir $T/groups/A/luns/0 $T/groups/A/initiators/* $T/groups/A $T/groups/B/luns/0 \
  $T/groups/B/initiators/* $T/groups/B $T $CFG/devices/d0 $CFG/devices/d1
run "rmmod ferrule_isp_sim ferrule && echo unloaded cleanly"
echo -n "" > /sys/module/firmware_class/parameters/path

echo
say "Also: the loopback fabric serves Ferrule's LUNs to the initiator stack in the same kernel"
say "(a nullio LUN 0 and a 64 MiB RAM LUN 1), no HBA at all:"
cd "$FERRULE_ROOT" || exit 1
run "insmod ferrule.ko local_demo=1"
sleep 1
for d in /sys/class/scsi_disk/*; do
  grep -q FERRULE "$d/device/vendor" 2>/dev/null || continue
  read -r vendor < "$d/device/vendor"; read -r model < "$d/device/model"
  echo "    /dev/$(ls "$d/device/block"): LUN ${d##*:}, $vendor $model, $(( $(cat "$d/device/block/"*/size) / 2048 )) MiB"
done
ram=$(grep -l RAMDISK /sys/class/scsi_disk/*/device/model | head -1)
ramdev=/dev/$(ls "$(dirname "$ram")/block" | head -1)
head -c 4M /dev/urandom > $data/pattern
run "dd if=$data/pattern of=$ramdev bs=1M oflag=direct status=none && dd if=$ramdev bs=1M count=4 iflag=direct status=none | cmp - $data/pattern && echo 4 MiB written and read back"
run "rmmod ferrule && echo unloaded cleanly"
cd / && umount $data
echo 8 > /proc/sys/kernel/printk
echo "=== FERRULE DEMO END"
exit $bad
