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

ferrule_teardown() {
  local n tgt d
  [ -d "$FCFG/targets/local" ] || return 0
  for n in 01 02; do
    tgt=$FCFG/targets/local/50:01:40:5b:ec:00:02:$n
    [ -d "$tgt" ] || continue
    echo 0 > "$tgt/enable"                        # removes the SCSI host first
    [ -d "$tgt/groups/default/luns/0" ] && rmdir "$tgt/groups/default/luns/0"
    rmdir "$tgt"
  done
  for d in bnull bfile; do
    [ -d "$FCFG/devices/$d" ] || continue
    echo 0 > "$FCFG/devices/$d/enable"
    rmdir "$FCFG/devices/$d"
  done
}
