# LIO benchmark targets (sourced inside the guest): tcm_loop SCSI hosts whose LUN 0 is an
# rd_mcp null device or a fileio file, set up with plain mkdir/echo/ln in configfs.
#   lio_available                 -> status 0 if LIO core + tcm_loop are in the kernel
#   lio_setup_nullio SIZE         -> prints /dev/sdX (rd_mcp, rd_nullio=1)
#   lio_setup_fileio FILE SIZE    -> prints /dev/sdX (fileio on FILE, created if missing)
#   lio_teardown                  -> removes everything the setup functions made
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LIO=/sys/kernel/config/target
# Fixed, recognisable names: teardown finds them again and never touches other LIO objects.
LIO_HBA_ID=77
LIO_VENDOR=LIO-ORG

lio_available() {
  [ -d "$LIO/core" ] || return 1
  # The loopback fabric directory appears on first mkdir; probe by creating it.
  mkdir -p "$LIO/loopback" 2>/dev/null && [ -d "$LIO/loopback" ]
}

# lio_make_dev BACKEND NAME CONTROL PRODUCT SERIAL: configure and enable one backstore.
lio_make_dev() {
  local backend=$1 name=$2 control=$3 product=$4 serial=$5
  local dev=$LIO/core/${backend}_$LIO_HBA_ID/$name
  mkdir -p "$dev" || return 1
  echo "$control" > "$dev/control" || return 1
  # INQUIRY identity must be set before the LUN is exported (LIO refuses it afterwards);
  # find_disk matches on it.
  echo "$serial" > "$dev/wwn/vpd_unit_serial" || return 1
  echo "$product" > "$dev/wwn/product_id" || return 1
  echo 1 > "$dev/enable" || return 1
}

# lio_export DEV_DIR WWN_SUFFIX: tcm_loop WWN + tpgt_1 + nexus, then LUN 0 -> DEV_DIR.
lio_export() {
  local devdir=$1 n=$2
  local tpg=$LIO/loopback/naa.5001405bec0000$n/tpgt_1
  mkdir -p "$tpg" || return 1
  # The nexus must exist before the LUN link, or the scan fails ("I_T Nexus does not exist").
  echo "naa.5001405bec0001$n" > "$tpg/nexus" || return 1
  mkdir "$tpg/lun/lun_0" || return 1
  ln -s "$devdir" "$tpg/lun/lun_0/bench" || return 1
}

lio_setup_nullio() {
  local size=$1 product=BENCH-LIO-NULL serial=benchlionull
  lio_make_dev rd_mcp null "rd_pages=$((size / 4096)),rd_nullio=1" "$product" "$serial" || return 1
  lio_export "$LIO/core/rd_mcp_$LIO_HBA_ID/null" 01 || return 1
  find_disk "$LIO_VENDOR" "$product" "$serial"
}

lio_setup_fileio() {
  local file=$1 size=$2 product=BENCH-LIO-FILE serial=benchliofile
  # Allocate every page up front: reads of a sparse tmpfs file would hit holes, not data.
  [ -f "$file" ] || fallocate -l "$size" "$file" || return 1
  lio_make_dev fileio file "fd_dev_name=$file,fd_dev_size=$size" "$product" "$serial" || return 1
  lio_export "$LIO/core/fileio_$LIO_HBA_ID/file" 02 || return 1
  find_disk "$LIO_VENDOR" "$product" "$serial"
}

lio_teardown() {
  local n tpg link
  for n in 01 02; do
    tpg=$LIO/loopback/naa.5001405bec0000$n/tpgt_1
    [ -d "$tpg" ] || continue
    for link in "$tpg"/lun/lun_0/*; do [ -L "$link" ] && rm -f "$link"; done
    [ -d "$tpg/lun/lun_0" ] && rmdir "$tpg/lun/lun_0"
    rmdir "$tpg"                                   # drops the nexus too
    rmdir "$LIO/loopback/naa.5001405bec0000$n"
  done
  for d in "$LIO/core/rd_mcp_$LIO_HBA_ID/null" "$LIO/core/fileio_$LIO_HBA_ID/file" \
           "$LIO/core/rd_mcp_$LIO_HBA_ID" "$LIO/core/fileio_$LIO_HBA_ID"; do
    if [ -d "$d" ]; then rmdir "$d"; fi
  done
}
