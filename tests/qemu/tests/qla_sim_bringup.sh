# First bring-up of the qla2x00t driver against ferrule_isp_sim.ko (soft ISP, firmware model):
# firmware load from a generated image, INITIALIZE FIRMWARE, GET ADAPTER ID, link events and
# PLOGI notifies through debugfs reaching the driver, malformed control input refused, module
# dependency and clean unload. Any WARN/oops/leak fails the run through the runner's check.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
sim_ko=$FERRULE_ROOT/ferrule_isp_sim.ko
FW=ferrule_sim_fw.bin           # a name no linux-firmware package ships
fwdir=$(mktemp -d)
mark() { echo "qla_sim_bringup: $1" > /dev/kmsg; }
since() { dmesg | sed -n "/qla_sim_bringup: $1\$/,\$p"; }  # kernel log after mark $1
sim_lines() { dmesg | grep -c 'ferrule_isp_sim: ' || true; }
wait_log() { # wait_log MARK PATTERN: up to 5 s for PATTERN in the log after MARK
  for _ in $(seq 1 50); do since "$1" | grep -q -- "$2" && return 0; sleep 0.1; done
  since "$1" | tail -5; return 1
}

# ferrule.ko again with the firmware-name override, so no real QLogic blob can be picked up.
check "reload ferrule with qla2x00t_fw=$FW" bash -c "rmmod ferrule && insmod $(ferrule_ko) qla2x00t_fw=$FW"
expect_fail "sim load fails while the firmware file is missing" insmod "$sim_ko"
check "no sim debugfs left behind" test ! -e /sys/kernel/debug/ferrule_isp_sim
check "firmware search path is writable" test -w /sys/module/firmware_class/parameters/path
check "generate a firmware image" python3 "$FERRULE_ROOT/tests/qemu/lib/gen-fw-image.py" "$fwdir/$FW"
echo -n "$fwdir" > /sys/module/firmware_class/parameters/path

mark load
check "insmod ferrule_isp_sim" insmod "$sim_ko"
check "firmware running" wait_log load "qla2x00t: soft ISP2532 firmware 9.0.0 .* running"
check "firmware initialised with the WWPN" wait_log load "firmware initialised (target mode), WWPN 21000024ff5a0000 WWNN 20000024ff5a0000, state ready"
check "names read from the NVRAM (flash registers)" wait_log load "WWNN 20000024ff5a0000, state ready; names from NVRAM"
check "GET ADAPTER ID port id" wait_log load "GET ADAPTER ID: port id 0a0100, topology 3"
check "link-up async event reached the driver" wait_log load "async event 0x8011 (link up)"
expect_eq "model state" "Initialized" "$(sim_state risc)"
since load | grep -E 'qla2x00t|ferrule_isp_sim' | sed 's/^/  log: /'

expect_fail "rmmod ferrule refused while the sim uses it" rmmod ferrule
check "ferrule still live" grep -q '^ferrule .* Live' /proc/modules

mark linkdown
check "fabric: link down" sim_fabric "link down"
check "link-down async event reached the driver" wait_log linkdown "async event 0x8012 (link down)"
expect_eq "cable down" "down" "$(sim_state cable)"
mark linkup
check "fabric: link up" sim_fabric "link up"
check "link-up async event reached the driver" wait_log linkup "async event 0x8011 (link up)"

mark plogi
check "fabric: plogi" sim_fabric "plogi 0 0a0201 21:00:00:24:ff:aa:00:01"
# No configfs target uses this port: the driver answers every login with LS_RJT.
check "PLOGI rejected: no target enabled on the port" sim_wait_state els_rjt 1
check "fabric: second initiator plogi" sim_fabric "plogi 0 0a0202 2100002400bb0002"
check "second PLOGI rejected" sim_wait_state els_rjt 2
expect_eq "nothing accepted" "0" "$(sim_state els_acc)"
# The rejected login is gone from the model, so a PRLI is refused: refused, not malformed.
mark prli
out=$(sim_fabric "prli 0 0a0201" 2>&1)
expect_eq "prli before the driver acks the PLOGI: ENOTCONN" "1" "$(echo "$out" | grep -c 'not connected')"
check "prli refusal logged" wait_log prli "refused by the firmware model: NotLoggedIn"
expect_eq "fabric_ok counter" "4" "$(sim_state fabric_ok)"
expect_eq "fabric_err counter" "1" "$(sim_state fabric_err)"

# Malformed input: EINVAL, one log line each, the model untouched.
before=$(cat $SIM_D/state)
for bad in "" "link" "link sideways" "plogi 0 0a0201" "plogi 0 1000000 2100002400000001" \
           "plogi 0 0a0201 2100002400000001 extra" "prli x 0a0201" "logo 0 0" "reset" \
           "$(head -c 200 /dev/zero | tr '\0' a)"; do
  n0=$(sim_lines)
  out=$(sim_fabric "$bad" 2>&1) && rc=0 || rc=1
  n1=$(sim_lines)
  if [ $rc -eq 1 ] && [[ "$out" == *"Invalid argument"* ]] && [ $((n1 - n0)) -eq 1 ]; then
    echo "ok: malformed '${bad:0:20}' -> EINVAL, 1 log line"
  else
    echo "FAILED: malformed '${bad:0:20}': rc $rc out '$out' log lines $((n1 - n0))"; fails=$((fails + 1))
  fi
done
expect_eq "state unchanged by malformed input" "$before" "$(cat $SIM_D/state)"
cat $SIM_D/state | sed 's/^/  state: /'

mark unload
check "rmmod ferrule_isp_sim" rmmod ferrule_isp_sim
check "driver released the soft ISP" wait_log unload "soft ISP released"
check "sim debugfs gone" test ! -e /sys/kernel/debug/ferrule_isp_sim
since unload | grep -E 'qla2x00t|ferrule' | sed 's/^/  log: /'

# Two HBAs impersonating an ISP2071 (27xx: the soft ISP keeps queue pointers in the 24xx
# window), cable unplugged at load: initialised but no port id until the link comes up.
mark two
check "insmod ferrule_isp_sim hbas=2 device_id=0x2071 link=0" insmod "$sim_ko" hbas=2 device_id=0x2071 link=0
check "two soft ISPs running" bash -c "[ \$(dmesg | sed -n '/qla_sim_bringup: two\$/,\$p' | grep -c 'soft ISP2071 firmware 9.0.0') -eq 2 ]"
check "hba1 WWPN is base + 1" wait_log two "WWPN 21000024ff5a0001 WWNN 20000024ff5a0001, state loss of sync (link down)"
check "no port id while the link is down" wait_log two "GET ADAPTER ID: no port id (link down)"
check "27xx: NVRAM needs the FLT, provider's names used" wait_log two "Flash Layout Table (not read yet) (function 1); using the provider's names"
SIM_D=/sys/kernel/debug/ferrule_isp_sim/hba1
mark two_up
check "hba1: link up" sim_fabric "link up"
check "hba1 link-up event reached the driver" wait_log two_up "async event 0x8011 (link up)"
expect_eq "hba1 port id" "0a0200" "$(sim_state port_id)"
check "driver re-read the port id at link up" wait_log two_up "link up, port id 0a0200"
check "hba1: plogi" sim_fabric "plogi 0 0a0301 2100002400cc0003"
check "hba1 PLOGI rejected (no target)" sim_wait_state els_rjt 1
mark unload2
check "rmmod ferrule_isp_sim (two HBAs)" rmmod ferrule_isp_sim
check "both soft ISPs released" bash -c "[ \$(dmesg | sed -n '/qla_sim_bringup: unload2\$/,\$p' | grep -c 'soft ISP released') -eq 2 ]"

# Fault injection: a mailbox the firmware never answers. #1 is LOAD RISC RAM (polled, before
# interrupts), #5 GET FIRMWARE VERSION (first interrupt-completed one), #6 INITIALIZE
# FIRMWARE. Each fails the load after the 2 s mailbox timeout (not 4-8x that), cleanly.
for spec in "1 polled firmware load" "5 interrupt GET FIRMWARE VERSION" "6 interrupt INITIALIZE FIRMWARE"; do
  set -- $spec; n=$1 how=$2; shift 2; step="$*"
  mark "hang$n"
  expect_fail "load with mailbox #$n unanswered fails" insmod "$sim_ko" hang_mailbox=$n
  check "mailbox #$n: timed out ($how)" wait_log "hang$n" "mailbox command 0x[0-9a-f]* timed out ($how)"
  check "mailbox #$n: bring-up failed at $step" wait_log "hang$n" "bring-up failed at $step: errno -110"
  # From the unanswered command to the driver giving up, by kernel timestamps.
  ms=$(since "hang$n" | awk -F'[][]' '/not answered/ {a=$2} /timed out/ {b=$2} END {printf "%d", (b-a)*1000}')
  check "mailbox #$n: timeout took ${ms} ms (2000..3000)" test "$ms" -ge 1990 -a "$ms" -lt 3000
  check "mailbox #$n: sim not loaded, no debugfs left" bash -c "! grep -q '^ferrule_isp_sim ' /proc/modules && test ! -e /sys/kernel/debug/ferrule_isp_sim"
done

# NVRAM: both copies of a dual-port 25xx (HBA n plays function n % 2), the provider's names
# without NVRAM, and every spoilt NVRAM failing the load with one line saying why.
mark nvram2
check "insmod ferrule_isp_sim hbas=2 (ISP2532, NVRAM)" insmod "$sim_ko" hbas=2
check "hba0: names from function 0's NVRAM" wait_log nvram2 "WWPN 21000024ff5a0000 WWNN 20000024ff5a0000, state ready; names from NVRAM"
check "hba1: names from function 1's NVRAM" wait_log nvram2 "WWPN 21000024ff5a0001 WWNN 20000024ff5a0001, state ready; names from NVRAM"
check "configfs target on an NVRAM WWPN" mkdir /sys/kernel/config/ferrule/targets/qla2x00t/21000024ff5a0001
check "remove it" rmdir /sys/kernel/config/ferrule/targets/qla2x00t/21000024ff5a0001
check "rmmod ferrule_isp_sim (NVRAM)" rmmod ferrule_isp_sim
mark nonvram
check "insmod ferrule_isp_sim nvram=0" insmod "$sim_ko" nvram=0
check "nvram=0: the provider's names" wait_log nonvram "WWPN 21000024ff5a0000 WWNN 20000024ff5a0000, state ready; names from the provider"
check "rmmod ferrule_isp_sim (nvram=0)" rmmod ferrule_isp_sim
mark badknob
expect_fail "nvram_corrupt=nonsense refused" insmod "$sim_ko" nvram_corrupt=nonsense
check "bad knob logged" wait_log badknob "nvram_corrupt='nonsense'"
for spec in "checksum bad checksum (word sum 0x00000001, must be 0)" \
            "id bad id 58 53 50 20" "version NVRAM version 0 below 1" \
            "wwpn invalid port name 0000000000000000" "stuck flash read of dword 0 (address 0x7ff48080) timed out"; do
  set -- $spec; knob=$1; shift; why="$*"
  mark "nv_$knob"
  expect_fail "load with nvram_corrupt=$knob fails" insmod "$sim_ko" nvram_corrupt=$knob
  check "nvram_corrupt=$knob: failed at NVRAM: $why" wait_log "nv_$knob" "bring-up failed at NVRAM (function 0, flash 0x7ff48080): $why"
  expect_eq "nvram_corrupt=$knob: one driver failure line" "1" "$(since "nv_$knob" | grep -c 'qla2x00t: .*fail')"
  expect_eq "nvram_corrupt=$knob: no WWPN made up" "0" "$(since "nv_$knob" | grep -c 'firmware initialised')"
  check "nvram_corrupt=$knob: sim not loaded, no debugfs left" bash -c "! grep -q '^ferrule_isp_sim ' /proc/modules && test ! -e /sys/kernel/debug/ferrule_isp_sim"
done
check "no FC port left behind" bash -c "! mkdir /sys/kernel/config/ferrule/targets/qla2x00t/21000024ff5a0000 2>/dev/null"

check "rmmod ferrule" rmmod ferrule
since unload | grep -E 'qla2x00t|ferrule' | sed 's/^/  log: /'
echo -n "" > /sys/module/firmware_class/parameters/path
rm -rf "$fwdir"
finish
