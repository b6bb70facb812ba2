# Helpers for VM tests with the simulated ISP (sourced after lib.sh): load ferrule.ko with
# a generated firmware image (no real QLogic blob is ever used), load/unload the sim, drive
# its fabric through debugfs and read its counters.
SIM_KO=$FERRULE_ROOT/ferrule_isp_sim.ko
SIM_FW=ferrule_sim_fw.bin
SIM_D=/sys/kernel/debug/ferrule_isp_sim/hba0
sim_setup() { # sim_setup [SIM PARAMS...]: ferrule with the fw override, fw image, sim loaded
  local dir; dir=$(mktemp -d)
  python3 "$FERRULE_ROOT/tests/qemu/lib/gen-fw-image.py" "$dir/$SIM_FW" || return 1
  echo -n "$dir" > /sys/module/firmware_class/parameters/path
  rmmod ferrule 2>/dev/null
  insmod "$(ferrule_ko)" qla2x00t_fw=$SIM_FW && insmod "$SIM_KO" "$@"
}
sim_fabric() { bash -c 'printf "%s\n" "$1" > "$2"' _ "$1" "${2:-$SIM_D}/fabric"; }
sim_state() { grep "^$1: " "${2:-$SIM_D}/state" | cut -d' ' -f2; }
sim_wait_state() { # sim_wait_state NAME VALUE: up to 5 s
  for _ in $(seq 1 50); do [ "$(sim_state "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "  $1 is $(sim_state "$1"), expected $2"; return 1
}
SIM_FAULTS=/sys/kernel/debug/ferrule_isp_sim/faults
sim_fault() { bash -c 'printf "%s\n" "$1" > "$2"' _ "$1" "$SIM_FAULTS"; }  # sim_fault "CMD ARGS"
sim_fault_count() { grep "^$1: " "$SIM_FAULTS" | cut -d' ' -f2; }         # sim_fault_count NAME
sim_wait_fault() { # sim_wait_fault NAME MIN SECONDS: until counter NAME >= MIN (x SLOW)
  local end=$((SECONDS + $3 * ${SLOW:-1}))
  while [ "$(sim_fault_count "$1")" -lt "$2" ]; do
    [ $SECONDS -ge $end ] && { echo "  $1 is $(sim_fault_count "$1") after $3 s, expected >= $2"; return 1; }
    sleep 0.2
  done
}
# NPIV initiator side (qla_npiv_churn, demo): find a vport's SCSI host and its LUN 0's disk.
sim_colons() { echo "$1" | sed 's/../&:/g; s/:$//'; }   # 2100.. -> 21:00:..
sim_host_of() { # sim_host_of WWPN(0x...) -> hostN of the fc_host with that port name
  local h pn
  for h in /sys/class/fc_host/host*; do
    read -r pn < "$h/port_name" 2>/dev/null || continue
    [ "$pn" = "$1" ] && { echo "${h##*/}"; return 0; }
  done
  return 1
}
sim_disk_of() { # sim_disk_of hostN [LUN] -> sdX of that LUN (waits up to 10 s x SLOW for the scan)
  local n=${1#host} l=${2:-0} d
  for _ in $(seq 1 $((200 * ${SLOW:-1}))); do
    for d in /sys/bus/scsi/devices/$n:0:*:$l/block/*; do
      [ -e "$d" ] && [ -b "/dev/${d##*/}" ] && { echo "${d##*/}"; return 0; }
    done
    sleep 0.05
  done
  return 1
}
