# Ferrule benchmark targets (sourced inside the guest), through Ferrule's configfs layout
# (Documentation/configfs.md): devices/<dev> + targets/local/<wwpn> with LUN 0 in the default
# group. Same interface as lio.sh:
#   ferrule_available             -> status 0 if the module offers devices and local targets;
#                                    otherwise prints why on stdout
#   ferrule_setup_nullio SIZE     -> prints /dev/sdX
#   ferrule_setup_fileio FILE SIZE-> prints /dev/sdX
#   ferrule_teardown              -> removes everything the setup functions made
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FCFG=/sys/kernel/config/ferrule
FERRULE_VENDOR=FERRULE

ferrule_available() {
  if [ ! -d "$FCFG" ]; then echo "ferrule.ko not loaded"; return 1; fi
  if [ ! -d "$FCFG/devices" ]; then echo "no $FCFG/devices in this ferrule.ko"; return 1; fi
  if [ ! -d "$FCFG/targets/local" ]; then echo "no local fabric in this ferrule.ko"; return 1; fi
}

# fset FILE VALUE: write one attribute, naming it if the kernel refuses.
fset() {
  echo "$2" > "$1" || { echo "ferrule.sh: write '$2' to $1 failed" >&2; return 1; }
}

# ferrule_make_dev NAME BACKEND SIZE PRODUCT SERIAL [PATH]: configure and enable a device.
# block_size 512 and write-through match LIO's rd_mcp/fileio defaults, so both sides are
# asked to do the same work.
ferrule_make_dev() {
  local name=$1 backend=$2 size=$3 product=$4 serial=$5 path=${6:-}
  local dev=$FCFG/devices/$name
  mkdir "$dev" || return 1
  fset "$dev/backend" "$backend" || return 1
  [ -z "$path" ] || fset "$dev/path" "$path" || return 1
  fset "$dev/block_size" 512 || return 1
  fset "$dev/size" "$size" || return 1
  fset "$dev/write_cache" 0 || return 1
  fset "$dev/product" "$product" || return 1
  fset "$dev/serial" "$serial" || return 1
  fset "$dev/enable" 1 || return 1
}

# ferrule_export DEV N: local target <wwpn ..:N>, LUN 0 of its default group -> DEV, enable.
ferrule_export() {
  local devname=$1 n=$2
  local tgt=$FCFG/targets/local/50:01:40:5b:ec:00:02:$n
  mkdir "$tgt" || return 1
  fset "$tgt/initiator" "50:01:40:5b:ec:00:03:$n" || return 1
  mkdir "$tgt/groups/default/luns/0" || return 1
  fset "$tgt/groups/default/luns/0/device" "$devname" || return 1
  fset "$tgt/enable" 1 || return 1
}

ferrule_setup_nullio() {
  local size=$1 product=BENCH-FER-NULL serial=benchfernull
  ferrule_make_dev bnull nullio "$size" "$product" "$serial" || return 1
  ferrule_export bnull 01 || return 1
  find_disk "$FERRULE_VENDOR" "$product" "$serial"
}

ferrule_setup_fileio() {
  local file=$1 size=$2 product=BENCH-FER-FILE serial=benchferfile
  # Allocate every page up front: reads of a sparse tmpfs file would hit holes, not data.
  [ -f "$file" ] || fallocate -l "$size" "$file" || return 1
  ferrule_make_dev bfile fileio "$size" "$product" "$serial" "$file" || return 1
  ferrule_export bfile 02 || return 1
  find_disk "$FERRULE_VENDOR" "$product" "$serial"
}

# The FC pair: the qla2x00t target on the simulated ISP (ferrule_isp_sim.ko), LUN 0 -> a
# nullio device, seen through an NPIV vport of simulated initiator HBA 0 (the Linux FC
# transport class + the sim's LLD). Every I/O crosses the target driver's rings: ATIO7 in,
# CTIO7 (+ continuations) out, through the sim's firmware model. LIO has no equivalent here
# (its qla2xxx target needs a real QLogic HBA), so this pair is Ferrule only: compare it with
# Ferrule's local nullio row to see what the FC driver path costs.
FC_TW=21:00:00:24:ff:5a:00:00           # the sim's target HBA 0
FC_VPORT=2100000024bc0001:2000000024bc0001
FC_SIM_KO=${FERRULE_ROOT:-}/ferrule_isp_sim.ko

# ferrule_fc_prepare: reload ferrule.ko with the simulator's firmware image and load the sim
# (before any other Ferrule setup: the reload drops all configuration).
ferrule_fc_prepare() {
  local dir
  [ -f "$FC_SIM_KO" ] || { echo "no $FC_SIM_KO"; return 1; }
  dir=$(mktemp -d) || return 1
  python3 "$FERRULE_ROOT/tests/qemu/lib/gen-fw-image.py" "$dir/ferrule_sim_fw.bin" >/dev/null || return 1
  echo -n "$dir" > /sys/module/firmware_class/parameters/path
  rmmod ferrule 2>/dev/null
  insmod "$FERRULE_ROOT/ferrule.ko" qla2x00t_fw=ferrule_sim_fw.bin || return 1
  insmod "$FC_SIM_KO" hbas=1 initiators=1 || return 1
}

ferrule_setup_fc_nullio() {
  local size=$1 product=BENCH-FER-FC serial=benchferfc tgt=$FCFG/targets/qla2x00t/$FC_TW h
  [ -d "$FCFG/targets/qla2x00t" ] || { echo "no qla2x00t fabric" >&2; return 1; }
  ferrule_make_dev bfc nullio "$size" "$product" "$serial" || return 1
  mkdir "$tgt" || return 1
  mkdir "$tgt/groups/default/luns/0" || return 1
  fset "$tgt/groups/default/luns/0/device" bfc || return 1
  fset "$tgt/enable" 1 || return 1
  h=$(ls /sys/class/fc_host | head -1)
  [ -n "$h" ] || { echo "no simulated initiator HBA" >&2; return 1; }
  fset "/sys/class/fc_host/$h/vport_create" "$FC_VPORT" || return 1
  find_disk "$FERRULE_VENDOR" "$product" "$serial"
}

ferrule_teardown() {
  local n tgt d h
  [ -d "$FCFG/targets/local" ] || return 0
  # A vport is deleted through its parent (the physical fc_host); the others refuse it.
  for h in /sys/class/fc_host/host*; do
    [ -e "$h/vport_delete" ] || continue
    [ "$(cat "$h/port_name")" = "0x${FC_VPORT%%:*}" ] && continue
    echo "$FC_VPORT" > "$h/vport_delete" 2>/dev/null || true
  done
  tgt=$FCFG/targets/qla2x00t/$FC_TW
  if [ -d "$tgt" ]; then
    echo 0 > "$tgt/enable"
    [ -d "$tgt/groups/default/luns/0" ] && rmdir "$tgt/groups/default/luns/0"
    rmdir "$tgt"
  fi
  for n in 01 02; do
    tgt=$FCFG/targets/local/50:01:40:5b:ec:00:02:$n
    [ -d "$tgt" ] || continue
    echo 0 > "$tgt/enable"                        # removes the SCSI host first
    [ -d "$tgt/groups/default/luns/0" ] && rmdir "$tgt/groups/default/luns/0"
    rmdir "$tgt"
  done
  for d in bnull bfile bfc; do
    [ -d "$FCFG/devices/$d" ] || continue
    echo 0 > "$FCFG/devices/$d/enable"
    rmdir "$FCFG/devices/$d"
  done
}
