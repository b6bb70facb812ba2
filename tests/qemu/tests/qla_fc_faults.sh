# Faults during I/O over the simulated FC fabric. Target HBA 0 with two groups (gA: vport A
# -> LUN 0 = d0, gB: vport B -> LUN 0 = d1, fileio on tmpfs); A on initiator HBA 0, B on
# initiator HBA 1. Verified fio writes run on both, round after round, while each fault type
# of /sys/kernel/debug/ferrule_isp_sim/faults fires in turn: lost FCP_CMND / Data-In /
# FCP_RSP frames (SCSI timeout -> ABTS), delayed FCP_CMNDs, LOGO and PLOGI storms, injected
# ABTS, target link bounce, initiator link bounces (physical port with its vport; a vport).
# Asserts: every fio round ends (bounded) without an I/O error or a verify mismatch (each
# fault is recoverable: retries, aborts and new logins hide it), each fault really
# fired (counters), the disks work afterwards, d0 holds only A's bytes and d1 only B's, the
# sessions are exactly A and B, teardown is clean, kmemleak (debug kernel) blames nothing
# of ferrule. Oops/WARN/lockdep are failed by the runner.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
data=$(mktemp -d)
TW=21:00:00:24:ff:5a:00:00               # the sim's target HBA 0
T=$CFG/targets/qla2x00t/$TW
INI0=0x21000024ff7c0000                   # initiator HBA 0
INI1=0x21000024ff7c0001                   # initiator HBA 1
A=2100000024aa0001 AN=2000000024aa0001
B=2100000024bb0002 BN=2000000024bb0002
SIZE=8388608                              # bytes each fio round writes (of 16 MiB)
mark() { echo "qla_fc_faults: $1" > /dev/kmsg; }
since() { dmesg | sed -n "/qla_fc_faults: $1\$/,\$p"; }
fio_round() { # fio_round NAME DEV BYTE: random writes over SIZE, then every block verified
  timeout -k 5 $((90 * SLOW)) fio --name="$1" --filename="/dev/$2" --direct=1 --ioengine=libaio --iodepth=16 \
    --rw=randwrite --bs=4k --size=$SIZE --verify=pattern --verify_pattern="$3" --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --output="$data/$1.fio" >/dev/null 2>"$data/$1.err"
}
worker() { # worker NAME DEV BYTE: fio rounds until $data/stop; one status line per round
  local r=0 rc
  while [ ! -e "$data/stop" ]; do
    r=$((r + 1))
    fio_round "$1.$r" "$2" "$3"; rc=$?
    echo "$r $rc" >> "$data/$1.rounds"
    cat "$data/$1.$r.fio" "$data/$1.$r.err" 2>/dev/null | grep -q "verify: bad\|bad pattern\|verify failed" &&
      echo "$r" >> "$data/$1.mismatch"
  done
}
only_byte() { # only_byte FILE OFFSET LEN OCTAL: the range holds nothing but that byte
  local n
  n=$(tail -c +$(($2 + 1)) "$1" | head -c "$3" | tr -d "$4" | wc -c)
  [ "$n" -eq 0 ] || { echo "  $1 [$2, +$3): $n bytes other than $4"; return 1; }
}

check "tmpfs for the fileio images" mount -t tmpfs -o size=64m none "$data"
mark load
check "ferrule + ferrule_isp_sim (1 target HBA, 2 initiator HBAs)" sim_setup hbas=1 initiators=2
check "faults file present" test -e "$SIM_FAULTS"
H0=$(sim_host_of $INI0) || H0=none
H1=$(sim_host_of $INI1) || H1=none
check "initiator HBAs are $H0 and $H1" test "$H0" != none -a "$H1" != none

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
check "vport A on HBA 0" bash -c "echo $A:$AN > /sys/class/fc_host/$H0/vport_create"
check "vport B on HBA 1" bash -c "echo $B:$BN > /sys/class/fc_host/$H1/vport_create"
HA=$(sim_host_of 0x$A) || HA=none
HB=$(sim_host_of 0x$B) || HB=none
SA=$(sim_disk_of "$HA") || SA=none
SB=$(sim_disk_of "$HB") || SB=none
check "A's LUN 0 ($HA $SA) and B's LUN 0 ($HB $SB)" test "$SA" != none -a "$SB" != none
# Short SCSI timeouts so lost frames cost seconds, not 30 s each.
for s in $SA $SB; do echo $((4 * SLOW)) > /sys/block/$s/device/timeout; done

mark io
worker fioA "$SA" 0x5a & wa=$!
worker fioB "$SB" 0xb5 & wb=$!
sleep 2
c() { sim_fault_count "$1"; }
fire() { # fire DESCRIPTION COUNTER MIN SECONDS CMD...: CMD, then wait for COUNTER >= MIN
  local what=$1 counter=$2 min=$3 secs=$4; shift 4
  mark "$what"
  check "$what: $*" "$@"
  check "$what fired ($counter >= $min)" sim_wait_fault "$counter" "$min" "$secs"
}
fire "lost FCP_CMND" dropped_cmnd 2 30 sim_fault "drop cmnd 37"
check "lost FCP_CMNDs were aborted (eh_aborts)" sim_wait_fault eh_aborts 2 20
sim_fault off
n=$(c eh_aborts)
fire "lost FCP_RSP" dropped_rsp 2 30 sim_fault "drop rsp 41"
check "lost FCP_RSPs were aborted (eh_aborts)" sim_wait_fault eh_aborts $((n + 2)) 20
sim_fault off
fire "lost Data-In" dropped_data 3 40 sim_fault "drop data 97"
check "commands with lost Data-In failed for a retry" sim_wait_fault data_lost_cmds 1 20
sim_fault off
fire "delayed FCP_CMND (30 ms, every 3rd)" delayed_cmnd 20 30 sim_fault "delay 30 3"
sim_fault off
fire "LOGO storm from A (5 rounds)" storm_logos 5 30 sim_fault "logo_storm 0x$A 5"
fire "PLOGI storm from B (5 rounds)" storm_plogis 5 30 sim_fault "plogi_storm $HB 5"
for _ in $(seq 1 40); do   # a command must be in flight to be aborted
  sim_fault "abts $HA 2"; sim_fault "abts $HB 2"
  [ "$(c abts_injected)" -ge 4 ] && break
  sleep 0.1
done
check "injected ABTS (abts_injected >= 4)" test "$(c abts_injected)" -ge 4
check "injected aborts were answered (BA_ACC/BA_RJT)" test $(($(c abts_ba_acc) + $(c abts_ba_rjt))) -ge 4
mark "target link bounce"
check "target HBA 0 link down" sim_fault "tgt_link 0 down"
sleep 2
check "target HBA 0 link up (A and B log in again)" sim_fault "tgt_link 0 up"
check "target link bounced" test "$(c tgt_link_downs) $(c tgt_link_ups)" = "1 1"
mark "initiator link bounce"
check "initiator HBA 0 bounce (takes vport A with it)" sim_fault "ini_bounce $H0 500"
check "vport B bounce" sim_fault "ini_bounce 0x$B 300"
check "initiator links bounced" test "$(c ini_bounces)" -eq 2
sleep 3
mark "faults stop"
touch "$data/stop"
wait_workers() { # every round ends: fio is bounded by timeout(1), so the workers end too
  local w
  for _ in $(seq 1 $((240 * SLOW))); do
    w=0; kill -0 $wa 2>/dev/null && w=1; kill -0 $wb 2>/dev/null && w=1
    [ $w -eq 0 ] && return 0
    sleep 0.5
  done
  return 1
}
check "I/O workers ended (no hang)" wait_workers
for j in fioA fioB; do
  rounds=$(wc -l < "$data/$j.rounds" 2>/dev/null || echo 0)
  failed=$(awk '$2 != 0' "$data/$j.rounds" 2>/dev/null | wc -l)
  echo "  $j: $rounds rounds, $failed ended with an I/O error: $(awk '$2 != 0 {printf "%s(rc %s) ", $1, $2}' "$data/$j.rounds")"
  check "$j: rounds ran during the faults ($rounds)" test "$rounds" -ge 3
  # Every fault here is recoverable: retries, aborts and new logins must hide it from fio.
  expect_eq "$j: no round ended with an I/O error or hit the 90 s bound" "0" "$failed"
  check "$j: no verify mismatch in any round" test ! -e "$data/$j.mismatch"
done
cat "$SIM_FAULTS" | sed 's/^/  faults: /'

mark after
check "fault knobs all off" bash -c "grep -q '^drop_cmnd_every: 0' $SIM_FAULTS && grep -q '^delay_ms: 0' $SIM_FAULTS"
fio_round finalA "$SA" 0x5a; ra=$?
fio_round finalB "$SB" 0xb5; rb=$?
expect_eq "A's disk usable after the faults (verified fio)" "0" "$ra"
expect_eq "B's disk usable after the faults (verified fio)" "0" "$rb"
check "d0: A's byte only in the written range" only_byte "$data/d0.img" 0 $SIZE '\132'
check "d0: zeros after it (nothing else landed)" only_byte "$data/d0.img" $SIZE $SIZE '\000'
check "d1: B's byte only in the written range" only_byte "$data/d1.img" 0 $SIZE '\265'
check "d1: zeros after it (nothing else landed)" only_byte "$data/d1.img" $SIZE $SIZE '\000'
sed 's/^/  sessions: /' "$T/sessions"
expect_eq "sessions: exactly A and B" "2" "$(($(wc -l < $T/sessions) - 1))"
check "A's session in gA" bash -c "grep -qi '^$(sim_colons $A) .* gA ' $T/sessions"
check "B's session in gB" bash -c "grep -qi '^$(sim_colons $B) .* gB ' $T/sessions"
check "vport_delete A" bash -c "echo $A:$AN > /sys/class/fc_host/$H0/vport_delete"
check "vport_delete B" bash -c "echo $B:$BN > /sys/class/fc_host/$H1/vport_delete"

mark teardown
check "disable the target" bash -c "echo 0 > $T/enable"
check "rmmod ferrule_isp_sim" rmmod ferrule_isp_sim
check "configfs teardown" bash -c "rmdir $T/groups/gA/luns/0 $T/groups/gA/initiators/* $T/groups/gA \
  $T/groups/gB/luns/0 $T/groups/gB/initiators/* $T/groups/gB $T && rmdir $CFG/devices/d0 $CFG/devices/d1"
check "rmmod ferrule" rmmod ferrule
since load | grep -E 'fault injection|ABTS|timing out|rejecting I/O|offline|error' | sed 's/^/  log: /' | tail -40
never_offline() { ! since load | grep -q 'rejecting I/O to offline\|Device offlined'; }
check "no SCSI device went offline (error handler recovered every time)" never_offline
kml=/sys/kernel/debug/kmemleak
if [ -w $kml ]; then
  echo scan > $kml; sleep 1; echo scan > $kml
  check "kmemleak: nothing of ferrule leaked" bash -c "! grep -q ferrule $kml"
fi
umount "$data"
echo -n "" > /sys/module/firmware_class/parameters/path
rm -rf "$data"
finish
