# Helpers shared by the benchmark setup scripts (sourced inside the guest).
# The setup functions end every step with `|| return 1`: run-bench.sh calls them from `||`
# lists, where bash ignores `set -e`, and a half-configured target must not be measured.

# find_disk VENDOR MODEL SERIAL: print /dev/sdX of the SCSI disk whose INQUIRY vendor, product
# and unit serial (VPD 0x80) match. Device order is not stable, so never pick by position.
# Waits up to ~10 s for the scan (tcm_loop/local hosts scan asynchronously from configfs).
find_disk() {
  local vendor=$1 model=$2 serial=$3 try dev sd got
  for try in $(seq 1 100); do
    for dev in /sys/bus/scsi/devices/*; do
      [ -r "$dev/vendor" ] && [ -d "$dev/block" ] || continue
      [ "$(bench_trim < "$dev/vendor")" = "$vendor" ] || continue
      [ "$(bench_trim < "$dev/model")" = "$model" ] || continue
      got=$(disk_serial "$dev")
      [ "$got" = "$serial" ] || continue
      sd=$(ls "$dev/block" | head -1)
      [ -b "/dev/$sd" ] && { echo "/dev/$sd"; return 0; }
    done
    sleep 0.1
  done
  echo "find_disk: no disk $vendor/$model/$serial" >&2
  return 1
}

bench_trim() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }

# disk_serial SYSFS_SCSI_DEVICE: the unit serial number from VPD page 0x80 (4-byte header,
# then the ASCII serial; LIO pads with NULs/spaces).
disk_serial() {
  local dev=$1
  if [ -r "$dev/vpd_pg80" ]; then
    tail -c +5 "$dev/vpd_pg80" | tr -d '\0' | bench_trim
  else
    sg_inq -p 0x80 -r "/dev/$(ls "$dev/block" | head -1)" 2>/dev/null | tail -c +5 | tr -d '\0' | bench_trim
  fi
}
