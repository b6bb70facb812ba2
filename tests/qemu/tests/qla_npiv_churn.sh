# NPIV churn over the simulated FC fabric (issue 6, "Churn"): K WWPNs, each with its own LUN 0
# (its own fileio image on tmpfs, its own group), hop between 2 initiator HBAs through
# hundreds of random events: create a WWPN's vport on a random HBA, delete it, migrate it
# (delete + create on the other HBA). Before every delete ini_drop_logo is set at random, so
# departing vports often lose their LOGO: the target keeps a stale session until its N_Port ID
# or handle is reused by the next login (the corruption scenario, hundreds of times).
#  * after every create: a 4 KiB block stamped with (WWPN, sequence number) goes to a random
#    block of the vport's LUN 0, then the WWPN's whole region is read back and compared with
#    the shadow of what that WWPN wrote (any difference = mismatch: the test stops and fails);
#  * after every event: the sessions table holds one row per live vport at its N_Port ID, each
#    row's group is its WWPN's own group, rows of absent WWPNs only for vports that lost their
#    LOGO, no N_Port ID or handle twice;
#  * a persistent vport on HBA 0 runs fio (crc32c verify) in a loop the whole time;
#  * at the end every image is compared with its shadow (and zero beyond the written region).
# Replay: tests/qemu/run tests/qemu/tests/qla_npiv_churn.sh EVENTS SEED [nobg] (or env
# CHURN_EVENTS, CHURN_SEED in the guest); the seed is printed. Default 400 events (~2 min of
# churn under TCG); CHURN_WWPNS: 2..7, default 5. "nobg": no background fio (then a lost
# interrupt of the sim shows as 30 s stalls + ABTS; the background I/O's interrupts hide it).
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
EVENTS=${1:-${CHURN_EVENTS:-400}}
SEED=${2:-${CHURN_SEED:-$(( $(date +%s%N) % 1000000 ))}}
K=${CHURN_WWPNS:-5}
BS=4096 NB=128                           # each WWPN writes into its LUN's first NB blocks
SIZE=4194304                             # LUN size; beyond NB blocks it must stay zero
TW=21:00:00:24:ff:5a:00:00               # the sim's target HBA 0
T=$CFG/targets/qla2x00t/$TW
P=/sys/module/ferrule_isp_sim/parameters/ini_drop_logo
data=$(mktemp -d)
mark() { echo "qla_npiv_churn: $1" > /dev/kmsg; }
echo "churn: seed $SEED (replay: qla_npiv_churn.sh $EVENTS $SEED), $EVENTS events, $K WWPNs, 2 initiator HBAs"
RANDOM=$SEED

check "tmpfs for the fileio images" mount -t tmpfs -o size=96m none "$data"
mark load
check "ferrule + ferrule_isp_sim (1 target HBA, 2 initiator HBAs)" sim_setup hbas=1 initiators=2
for i in 0 1; do
  H[i]=$(sim_host_of 0x21000024ff7c000$i) || H[i]=none
  F[i]=/sys/class/fc_host/${H[i]}
done
check "initiator HBAs ${H[0]} ${H[1]}" test "${H[0]}" != none -a "${H[1]}" != none

# WWPN k (0..K-1): 21:00:00:00:24:c0:00:0k, group gk, device dk. The persistent vport: "p".
declare -A K_OF                          # colon WWPN -> k
for ((k = 0; k < K; k++)); do
  W[k]=2100000024c0000$((k + 1)) WN[k]=2000000024c0000$((k + 1))
  WC[k]=$(sim_colons "${W[k]}") K_OF[${WC[k]}]=$k G[k]=g$k
  where[k]=-1 stale[k]=
done
W[K]=2100000024cf00ff WN[K]=2000000024cf00ff WC[K]=$(sim_colons "${W[K]}") G[K]=gp
K_OF[${WC[K]}]=$K
check "target on the sim HBA" mkdir "$T"
for ((k = 0; k <= K; k++)); do
  d=d$k; [ $k -eq $K ] && d=dp
  check "device $d, group ${G[k]}: ${WC[k]} -> LUN 0 = $d" bash -c "
    mkdir $CFG/devices/$d && echo fileio > $CFG/devices/$d/backend &&
    echo $data/$d.img > $CFG/devices/$d/path && echo $SIZE > $CFG/devices/$d/size &&
    echo 1 > $CFG/devices/$d/enable && mkdir $T/groups/${G[k]} &&
    mkdir $T/groups/${G[k]}/initiators/${WC[k]} && mkdir $T/groups/${G[k]}/luns/0 &&
    echo $d > $T/groups/${G[k]}/luns/0/device"
done
check "enable the target" bash -c "echo 1 > $T/enable"

events=0 ios=0 mism=0 reuses=0 id_reuses=0 handle_reuses=0 takeovers=0 lost=0 sent=0
creates=0 deletes=0 migrates=0 seq=0 bad=0 relogins=0
declare -A TIME last_id last_handle      # time per step; N_Port ID / handle -> k of its last holder
exec {SLEEP}<> <(:)                      # read -t on it: a sleep without a fork
tick() { local now=${EPOCHREALTIME/./}; TIME[$1]=$(( ${TIME[$1]:-0} + now - ${LAST:-$now} )); LAST=$now; }
nap() { read -r -t "$1" -u $SLEEP || :; }
fail() { echo "FAILED: event $events (replay: qla_npiv_churn.sh $EVENTS $SEED): $*"; fails=$((fails + 1)); bad=1; }

# rows: R_W R_ID R_H R_G R_L of the sessions table (header skipped).
load_table() {
  local w id h g l c
  R_N=0
  { read -r _
    while read -r w id h g l c; do
      R_W[R_N]=$w R_ID[R_N]=$id R_H[R_N]=$h R_G[R_N]=$g R_L[R_N]=$l R_N=$((R_N + 1))
    done; } < "$T/sessions"
}
row_of() { # row_of k -> index of k's row in the loaded table (returns 1 if none)
  local i
  for ((i = 0; i < R_N; i++)); do [ "${R_W[i]}" = "${WC[$1]}" ] && { ROW=$i; return 0; }; done
  return 1
}

# The table's invariants after every event.
check_table() {
  local i k seen_w=() ; local -A seen_id=() seen_h=()
  load_table
  for ((i = 0; i < R_N; i++)); do
    k=${K_OF[${R_W[i]}]:-}
    [ -n "$k" ] || { fail "session of an unknown WWPN: ${R_W[i]} ${R_ID[i]} ${R_H[i]} ${R_G[i]}"; continue; }
    [ "${R_G[i]}" = "${G[k]}" ] || fail "session ${R_W[i]} ${R_ID[i]} is in group ${R_G[i]}, its group is ${G[k]}"
    [ -z "${seen_w[k]:-}" ] || fail "two sessions of ${R_W[i]}"
    [ -z "${seen_id[${R_ID[i]}]:-}" ] || fail "N_Port ID ${R_ID[i]} twice (${seen_id[${R_ID[i]}]} and ${R_W[i]})"
    [ -z "${seen_h[${R_H[i]}]:-}" ] || fail "handle ${R_H[i]} twice (${seen_h[${R_H[i]}]} and ${R_W[i]})"
    seen_w[k]=1 seen_id[${R_ID[i]}]=${R_W[i]} seen_h[${R_H[i]}]=${R_W[i]}
  done
  for ((k = 0; k < K; k++)); do
    if [ "${where[k]}" -ge 0 ]; then
      if row_of $k; then
        [ "${R_ID[ROW]} ${R_L[ROW]}" = "${SID[k]} 0" ] ||
          fail "${WC[k]}: session ${R_ID[ROW]} LUNs ${R_L[ROW]}, vport is at ${SID[k]} (LUN 0)"
      else
        fail "${WC[k]} is logged in at ${SID[k]} but has no session"
      fi
    elif row_of $k; then
      [ "${R_ID[ROW]} ${R_H[ROW]}" = "${stale[k]}" ] ||
        fail "absent ${WC[k]} has a session ${R_ID[ROW]} ${R_H[ROW]} (stale: '${stale[k]}')"
    else
      stale[k]=                          # its stale session ended (slot reused, or it came back)
    fi
  done
  if row_of $K; then [ "${R_ID[ROW]}" = "$PID" ] || fail "persistent vport moved to ${R_ID[ROW]}"
  else fail "persistent vport has no session"; fi
}

disk_wait() { # disk_wait hostN -> DISK_FOUND: sdX of its LUN 0 (up to 10 s, no forks)
  local d i
  for ((i = 0; i < 200; i++)); do
    for d in /sys/bus/scsi/devices/${1#host}:0:*:0/block/*; do
      [ -e "$d" ] && [ -b "/dev/${d##*/}" ] && { DISK_FOUND=${d##*/}; return 0; }
    done
    nap 0.05
  done
  return 1
}
# The verified I/O runs in one python3 coprocess (a fork + exec per dd costs ~0.1 s under
# TCG). It holds the shadow: for each WWPN, what its LUN's first NB blocks must contain.
cat > "$data/io.py" <<'PY'
import errno, mmap, os, sys, time
BS, NB, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
shadow, seqs = {}, {}          # k -> bytearray(NB * BS), k -> {blk: seq}
def stamp(wwpn, seq, blk):     # 64 lines of 64 bytes naming WWPN, sequence number, block
    line = ("churn wwpn=%s seq=%06d blk=%03d seed=%s" % (wwpn, seq, blk, seed)).ljust(63) + "\n"
    return line.encode() * (BS // 64)
def first_diff(k, got):
    exp = shadow.setdefault(k, bytearray(NB * BS))
    for b in range(len(got) // BS):
        if got[b * BS:(b + 1) * BS] != exp[b * BS:(b + 1) * BS]:
            want = seqs.get(k, {}).get(b)
            return "mismatch block %d: expected %s, found '%s'" % (b, "seq %d" % want if want else "zeros",
                   bytes(got[b * BS:b * BS + 63]).replace(b"\0", b".").decode("ascii", "replace").rstrip())
    return None
def open_disk(dev):            # the node shows up before add_disk is done: ENXIO for a moment
    for _ in range(100):
        try:
            return os.open(dev, os.O_RDWR | os.O_DIRECT)
        except OSError as e:
            if e.errno not in (errno.ENXIO, errno.ENOENT):
                raise
            time.sleep(0.1)
    return os.open(dev, os.O_RDWR | os.O_DIRECT)
for cmd in sys.stdin:
    a = cmd.split()
    try:
        if a[0] == "io":       # io K WWPN DEV BLK SEQ: write a stamp, read the region back
            k, wwpn, dev, blk, seq = a[1], a[2], a[3], int(a[4]), int(a[5])
            buf = mmap.mmap(-1, NB * BS)            # page aligned, for O_DIRECT
            fd = open_disk(dev)
            try:
                buf[:BS] = stamp(wwpn, seq, blk)
                if os.pwritev(fd, [memoryview(buf)[:BS]], blk * BS) != BS:
                    raise OSError("short write")
                shadow.setdefault(k, bytearray(NB * BS))[blk * BS:(blk + 1) * BS] = buf[:BS]
                seqs.setdefault(k, {})[blk] = seq
                if os.preadv(fd, [buf], 0) != NB * BS:
                    raise OSError("short read")
            finally:
                os.close(fd)
            print(first_diff(k, buf) or "ok", flush=True)
        elif a[0] == "image":  # image K PATH SIZE: the image against the shadow, zeros beyond
            with open(a[2], "rb") as f:
                img = f.read()
            bad = first_diff(a[1], img[:NB * BS])
            if not bad and (len(img) != int(a[3]) or img[NB * BS:].count(0) != len(img) - NB * BS):
                bad = "mismatch beyond block %d (or size %d)" % (NB - 1, len(img))
            print(bad or "ok", flush=True)
    except OSError as e:
        print("error %s" % e, flush=True)
PY
io() { # io COMMAND... -> IO_REPLY (the coprocess's answer line)
  echo "$*" >&"${IO[1]}"
  IO_REPLY="error: no answer in 300 s"
  read -r -t 300 IO_REPLY <&"${IO[0]}" || :
}

# Verified I/O through k's vport: a new stamped block, then the whole region read back.
verify_io() {
  local k=$1 blk=$((RANDOM % NB))
  seq=$((seq + 1))
  io io $k "${W[k]}" "/dev/${DISK[k]}" $blk $seq
  case "$IO_REPLY" in
    ok) ios=$((ios + 1)) ;;
    mismatch*) ios=$((ios + 1)) mism=$((mism + 1))
      fail "MISMATCH on ${WC[k]}'s LUN 0 (/dev/${DISK[k]}, vport on HBA ${where[k]}): ${IO_REPLY#mismatch }" ;;
    *) fail "I/O on ${WC[k]}'s LUN 0 (/dev/${DISK[k]}): $IO_REPLY" ;;
  esac
  tick io
}

vport_create() { # vport_create k hba
  local k=$1 hba=$2 h pid id hd p note=
  LAST=${EPOCHREALTIME/./}
  echo "${W[k]}:${WN[k]}" > "${F[hba]}/vport_create" || { fail "vport_create ${WC[k]} on HBA $hba"; return; }
  tick vport_create
  where[k]=$hba
  h=$(sim_host_of "0x${W[k]}") || { fail "no fc_host for ${WC[k]}"; return; }
  disk_wait "$h" || { fail "${WC[k]}'s LUN 0 did not appear on $h"; return; }
  DISK[k]=$DISK_FOUND
  tick disk_wait
  read -r pid < "/sys/class/fc_host/$h/port_id"
  SID[k]=${pid#0x}
  load_table
  row_of $k || { fail "${WC[k]} (${SID[k]}) has no session"; return; }
  id=${R_ID[ROW]} hd=${R_H[ROW]}
  # Slot reuse: this N_Port ID or handle last belonged to another WWPN.
  p=${last_id[$id]:-}
  [ -n "$p" ] && [ "$p" != $k ] && { id_reuses=$((id_reuses + 1)); note="id of ${WC[p]:15}"; }
  p=${last_handle[$hd]:-}
  [ -n "$p" ] && [ "$p" != $k ] && { handle_reuses=$((handle_reuses + 1)); note="${note:+$note, }handle of ${WC[p]:15}"; }
  [ -n "$note" ] && { reuses=$((reuses + 1)); note="; reuses $note"; }
  for ((p = 0; p < K; p++)); do    # a stale session of another WWPN on this slot
    [ $p -ne $k ] && [ -n "${stale[p]}" ] && { [ "${stale[p]% *}" = "$id" ] || [ "${stale[p]#* }" = "$hd" ]; } &&
      { takeovers=$((takeovers + 1)); note="$note; takes over ${WC[p]:15}'s stale session"; }
  done
  [ -n "${stale[k]}" ] && { relogins=$((relogins + 1)); note="$note; replaces its own stale session ${stale[k]}"; }
  stale[k]=                        # the target must have ended it (check_table)
  last_id[$id]=$k last_handle[$hd]=$k
  NOTE="HBA $hba, ${DISK[k]}, $id handle $hd$note"
  tick session
  verify_io $k
}

vport_delete() { # vport_delete k
  local k=$1 hba=${where[$1]} drop=$((RANDOM % 2)) i
  echo $drop > $P
  LAST=${EPOCHREALTIME/./}
  echo "${W[k]}:${WN[k]}" > "${F[hba]}/vport_delete" || fail "vport_delete ${WC[k]} on HBA $hba"
  tick vport_delete
  echo 0 > $P
  where[k]=-1
  sim_host_of "0x${W[k]}" >/dev/null && fail "${WC[k]}'s fc_host is still there"
  load_table
  if [ $drop = 1 ]; then
    lost=$((lost + 1))
    if row_of $k && [ "${R_ID[ROW]}" = "${SID[k]}" ]; then stale[k]="${R_ID[ROW]} ${R_H[ROW]}"
    else fail "LOGO lost, yet ${WC[k]}'s session at ${SID[k]} is gone"; fi
    NOTE="HBA $hba, LOGO lost: stale session ${stale[k]}"
  else
    sent=$((sent + 1))
    for ((i = 0; i < 40; i++)); do row_of $k || break; nap 0.05; load_table; done
    row_of $k && fail "LOGO sent, yet ${WC[k]}'s session is still there"
    NOTE="HBA $hba, LOGO"
  fi
  tick delete_check
}

# The persistent vport and its background fio loop (verified writes, 2 MiB per round).
mark persistent
check "persistent vport ${WC[K]} on HBA 0" bash -c "echo ${W[K]}:${WN[K]} > ${F[0]}/vport_create"
PH=$(sim_host_of "0x${W[K]}") && PD=$(sim_disk_of "$PH") || PD=none
check "its LUN 0 ($PD)" test "$PD" != none
read -r PID < "/sys/class/fc_host/$PH/port_id"; PID=${PID#0x}
bg_loop() {
  local n=0 f=0
  while [ ! -e "$data/stop" ]; do
    if fio --name=bg --filename=/dev/$PD --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite \
        --bs=4k --size=2M --rate_iops=200 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
        --output="$data/bg.fio" >/dev/null 2>&1; then n=$((n + 1))
    else f=$((f + 1)); cp "$data/bg.fio" "$data/bg.fail.$f"; fi
  done
  echo "$n $f" > "$data/bg.result"
}
if [ "${3:-}" = nobg ]; then echo "0 0" > "$data/bg.result"; bgpid=; else bg_loop & bgpid=$!; fi

coproc IO { exec python3 -u "$data/io.py" $BS $NB $SEED; }
dmesg -w > "$data/kmsg" & kmsg_pid=$!     # the ring buffer is too small for the whole churn
mark churn
t0=$EPOCHREALTIME
while [ $events -lt $EVENTS ] && [ $bad -eq 0 ]; do
  events=$((events + 1)) k=$((RANDOM % K))
  if [ "${where[k]}" -lt 0 ]; then
    kind=create creates=$((creates + 1))
    # Mostly onto an HBA where a stale session waits (its N_Port ID is free at the switch).
    to=$((RANDOM % 2))
    for ((j = 0; j < K; j++)); do
      [ -n "${stale[j]}" ] && [ $((RANDOM % 4)) != 0 ] && { to=$(( ${stale[j]:3:1} )); break; }
    done
    vport_create $k $to
  elif [ $((RANDOM % 2)) = 0 ]; then
    kind=delete deletes=$((deletes + 1))
    vport_delete $k
  else
    kind=migrate migrates=$((migrates + 1))
    to=$((1 - where[k]))
    vport_delete $k; n1=$NOTE
    [ $bad -eq 0 ] && vport_create $k $to && NOTE="$n1 -> $NOTE"
  fi
  echo "  e$events $kind ${WC[k]:15}: $NOTE"
  LAST=${EPOCHREALTIME/./}
  [ $bad -eq 0 ] && check_table
  tick check_table
done
t1=$EPOCHREALTIME
secs=$(( (${t1/./} - ${t0/./}) / 1000000 ))
load_table
for ((i = 0; i < R_N; i++)); do echo "  sessions: ${R_W[i]} ${R_ID[i]} ${R_H[i]} ${R_G[i]} ${R_L[i]}"; done

mark teardown
touch "$data/stop"; [ -z "$bgpid" ] || wait $bgpid
read -r bg_ok bg_fail < "$data/bg.result" || bg_ok=0 bg_fail=?
for f in "$data"/bg.fail.*; do [ -e "$f" ] && sed "s/^/  ${f##*/}: /" "$f" | head -20; done
for ((k = 0; k < K; k++)); do
  [ "${where[k]}" -ge 0 ] && { echo 0 > $P; echo "${W[k]}:${WN[k]}" > "${F[${where[k]}]}/vport_delete"; }
done
check "delete the persistent vport" bash -c "echo ${W[K]}:${WN[K]} > ${F[0]}/vport_delete"
check "disable the target" bash -c "echo 0 > $T/enable"
# Every image against its shadow; beyond the written region, zeros.
for ((k = 0; k < K; k++)); do
  io image $k "$data/d$k.img" $SIZE
  [ "$IO_REPLY" = ok ] || { mism=$((mism + 1)); echo "FAILED: d$k's image vs ${WC[k]}'s shadow: $IO_REPLY"; fails=$((fails + 1)); }
done
eval "exec ${IO[1]}>&-"; wait $IO_PID
kill $kmsg_pid; wait $kmsg_pid 2>/dev/null
aborts=$(sed -n '/qla_npiv_churn: churn$/,$p' "$data/kmsg" | grep -c 'ABTS OX_ID')
echo "churn: $creates creates, $deletes deletes, $migrates migrates; LOGO lost $lost, sent $sent;" \
  "N_Port ID reuses $id_reuses, handle reuses $handle_reuses; stale sessions taken over by another" \
  "WWPN $takeovers, by the same WWPN logging in elsewhere $relogins; background fio rounds $bg_ok ok," \
  "$bg_fail failed; commands aborted after a timeout $aborts; ${secs}s"
echo -n "churn: time in"; for i in "${!TIME[@]}"; do echo -n " $i $((TIME[$i] / 1000)) ms"; done; echo
echo "churn: $events events, $ios verified I/Os, $reuses slot reuses, $mism mismatches"
expect_eq "events run" "$EVENTS" "$events"
expect_eq "mismatches" 0 "$mism"
expect_eq "background fio failures" 0 "$bg_fail"
[ "$EVENTS" -lt 50 ] || check "slot reuse happened, stale sessions taken over" test "$reuses" -gt 0 -a "$takeovers" -gt 0
check "rmmod ferrule_isp_sim" rmmod ferrule_isp_sim
check "configfs teardown" bash -c "for g in ${G[*]}; do rmdir $T/groups/\$g/luns/0 $T/groups/\$g/initiators/* $T/groups/\$g || exit 1; done &&
  rmdir $T && rmdir $CFG/devices/*"
check "rmmod ferrule" rmmod ferrule
umount "$data"
rm -rf "$data"
echo -n "" > /sys/module/firmware_class/parameters/path
finish
