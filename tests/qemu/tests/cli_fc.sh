# The `ferrule` CLI on an FC target of the simulated ISP: apply a TOML file with a qla2x00t
# target on the sim HBA's WWPN (two groups, LUNs on nullio and fileio devices, enabled); two
# initiators log in through the sim's fabric; `ferrule sessions --json` equals the kernel's
# `sessions` file field by field (N_Port ID, numeric N_Port handle); `status` counts them;
# save → apply --dry-run of the saved file changes nothing; a second apply writes nothing;
# an unknown FC port WWPN and an enable without the HBA are refused with the attribute and
# errno, nothing changed; a target on an NPIV port named in the TOML (`npiv_parent`): apply
# creates the port before the target, its session is listed, save/dry-run and a second apply
# change nothing, an unknown parent HBA is refused and a refusal after a new port deletes it
# again, removing the target from the TOML removes target and port; `ferrule clear` returns
# the tree (NPIV list included) to a fresh module's.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
F=$FERRULE_ROOT/build/bin/ferrule
[ -x "$F" ] || { echo "FAILED: $F missing (run scripts/build-cli.sh)"; exit 1; }
A=21:00:00:24:ff:aa:00:01
B=21:00:00:24:ff:bb:00:02
HBA=21:00:00:24:ff:5a:00:00
T=$CFG/targets/qla2x00t/$HBA
tmp=$(mktemp -d)
mkdir -p /tmp/cf && mount -t tmpfs none /tmp/cf
snap() { # every path and every readable attribute (two processes: forks are slow under TCG)
  find "$CFG" -printf '%y %p\n' | sort
  find "$CFG" -type f -print0 | sort -z | xargs -0 grep -H '' 2>&1
}
sessions() { tail -n +2 $T/sessions; }
wait_sessions() { # wait_sessions N: up to 5 s for N session lines
  for _ in $(seq 1 50); do [ "$(sessions | wc -l)" = "$1" ] && return 0; sleep 0.1; done
  sessions | sed 's/^/  session: /'; return 1
}
login() { # login N_PORT_ID WWPN [VP]: PLOGI, then PRLI once the PLOGI is accepted
  local n vp=${3:-0}; n=$(sim_state els_acc)
  sim_fabric "plogi $vp $1 $2" && sim_wait_state els_acc $((n + 1)) &&
    sim_fabric "prli $vp $1" && sim_wait_state els_acc $((n + 2))
}

cat > $tmp/fc.toml <<EOF
[[device]]
name = "null0"
backend = "nullio"
size = "64M"

[[device]]
name = "file0"
backend = "fileio"
path = "/tmp/cf/file0.img"
size = "16M"
serial = "FC-FILE0"

[[target]]
fabric = "qla2x00t"
wwpn = "$HBA"
enabled = true

[[target.group]]
name = "ga"
initiators = ["$A"]
luns = { 0 = "null0" }

[[target.group]]
name = "gb"
initiators = ["$B"]
luns = { 0 = "file0", 1 = { device = "null0", read_only = true } }
EOF

check "ferrule + sim loaded" sim_setup
snap > $tmp/fresh
check "check the FC file" "$F" check $tmp/fc.toml
check "apply the FC file" bash -c "'$F' apply $tmp/fc.toml > $tmp/apply1.out"
cat $tmp/apply1.out
check "apply reports done" grep -q "^ferrule: apply: done, " $tmp/apply1.out
expect_eq "target enabled" 1 "$(cat $T/enable)"
expect_eq "groups" "default ga gb" "$(ls $T/groups | xargs)"
expect_eq "gb LUN 1 read-only on null0" "null0 1" "$(cat $T/groups/gb/luns/1/device) $(cat $T/groups/gb/luns/1/read_only)"
expect_eq "fileio backing file created" 16777216 "$(stat -c %s /tmp/cf/file0.img)"
expect_eq "no sessions before any login" "" "$(sessions)"
expect_eq "ferrule sessions --json: none" "[]" "$("$F" --json sessions | jq -c .)"

# A second apply: nothing to do, nothing opened for writing, no mkdir/rmdir.
snap > $tmp/s1
strace -f -qq -e trace=openat,mkdir,mkdirat,rmdir,unlinkat,write -o $tmp/trace "$F" apply $tmp/fc.toml > $tmp/apply2.out; rc=$?
expect_eq "second apply exits 0" 0 $rc
expect_eq "second apply: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/fc.toml" "$(cat $tmp/apply2.out)"
expect_eq "no configfs file opened for writing" "" \
  "$(grep -E "openat\(.*\"$CFG[^\"]*\", [^)]*O_(WRONLY|RDWR)" $tmp/trace)"
expect_eq "no mkdir/rmdir" "" "$(grep -E '^[0-9]+ +(mkdir|mkdirat|rmdir|unlinkat)\(' $tmp/trace)"
check "tree unchanged by the second apply" cmp $tmp/s1 <(snap)

# Logins of A and B over the simulated fabric.
check "A logs in at 0a0201" login 0a0201 $A
check "B logs in at 0a0202" login 0a0202 $B
check "two sessions" wait_sessions 2
k1=$(cat $T/sessions); j=$("$F" --json sessions); k2=$(cat $T/sessions)
echo "$k1"; echo "$j"
expect_eq "kernel sessions stable while reading" "$k1" "$k2"
# Both views as "fabric target initiator port_id handle group luns commands", sorted.
want=$(echo "$k1" | awk -v t=$HBA 'NR > 1 { print "qla2x00t", t, $1, $2, $3, $4, $5, $6 }' | sort)
got=$(echo "$j" | jq -r '.[] | [.fabric, .target, .initiator, .port_id, (.n_port_handle|tostring), .group,
  (if (.luns|length) == 0 then "-" else (.luns|map(tostring)|join(",")) end), (.commands|tostring)] | join(" ")' | sort)
expect_eq "ferrule --json sessions equals configfs sessions" "$want" "$got"
expect_eq "JSON: handle text equals the numeric N_Port handle, no SCSI host" "true" \
  "$(echo "$j" | jq '[.[] | (.handle == (.n_port_handle|tostring)) and .scsi_host == null] | all')"
expect_eq "A: N_Port ID, group, LUNs" "0a0201 ga [0]" "$(echo "$j" | jq -r --arg w $A '.[] | select(.initiator == $w) | "\(.port_id) \(.group) \(.luns|tojson)"')"
expect_eq "B: N_Port ID, group, LUNs" "0a0202 gb [0,1]" "$(echo "$j" | jq -r --arg w $B '.[] | select(.initiator == $w) | "\(.port_id) \(.group) \(.luns|tojson)"')"
"$F" sessions | tee $tmp/table
h_b=$(sessions | awk -v w=$B '$1 == w { print $3 }')
check "table row of B: target, initiator, N_Port ID, handle, group, LUNs" grep -qE \
  "^qla2x00t/$HBA +$B +0a0202 +$h_b +gb +0,1 +0\$" $tmp/table
expect_eq "status: 2 FC sessions" "2 2 0 1 1" \
  "$("$F" --json status | jq -r '"\(.sessions) \(.sessions_fc) \(.sessions_local) \(.targets) \(.targets_enabled)"')"
check "status table line" bash -c "'$F' status | grep -qx 'sessions: 2 (2 FC, 0 local)'"

# Save; the saved file is the same configuration: its dry run and its apply change nothing.
check "save" "$F" save $tmp/saved.toml
cat $tmp/saved.toml
check "saved file is valid" "$F" check $tmp/saved.toml
check "saved: the FC target" grep -qx "fabric = \"qla2x00t\"" $tmp/saved.toml
snap > $tmp/s2
expect_eq "dry run of the saved file: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/saved.toml" "$("$F" apply --dry-run $tmp/saved.toml)"
expect_eq "apply of the saved file: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/saved.toml" "$("$F" apply $tmp/saved.toml)"
check "tree unchanged (sessions kept)" cmp $tmp/s2 <(snap)

# A file naming an FC port the host does not have: refused at its mkdir (ENOENT and the
# kernel's reason), before anything else of the file is applied.
refused() { # refused NAME EXPECTED-TEXT
  local out rc
  snap > $tmp/before
  out=$("$F" apply $tmp/$1.toml 2>&1); rc=$?
  echo "$out"
  expect_eq "$1: exit 1" 1 $rc
  check "$1: '$2'" grep -qF -- "$2" <<<"$out"
  check "$1: 'nothing was changed'" grep -qF "nothing was changed" <<<"$out"
  check "$1: tree byte-identical" cmp $tmp/before <(snap)
}
{ cat $tmp/fc.toml; printf '\n[[device]]\nname = "extra"\nbackend = "nullio"\nsize = "1M"\n'
  printf '\n[[target]]\nfabric = "qla2x00t"\nwwpn = "21:00:00:24:ff:00:00:99"\n'; } > $tmp/unknown_port.toml
refused unknown_port "targets/qla2x00t/21:00:00:24:ff:00:00:99: No such file or directory (ENOENT: no FC port has this WWPN) (mkdir)"
check "unknown_port: the extra device was not made" test ! -e $CFG/devices/extra
expect_eq "sessions survive the refused apply" 2 "$(sessions | wc -l)"

# The HBA goes away while the target is disabled: enable is refused with ENODEV.
sed 's/^enabled = true/enabled = false/' $tmp/fc.toml > $tmp/off.toml
check "apply with enabled = false" "$F" apply $tmp/off.toml
check "disabling ended the sessions" wait_sessions 0
check "rmmod the sim" rmmod ferrule_isp_sim
refused fc "targets/qla2x00t/$HBA/enable: No such device (ENODEV: no FC port with this WWPN) (writing \"1\")"
expect_eq "target still disabled" 0 "$(cat $T/enable)"
check "sim back" insmod "$SIM_KO"
check "apply enables the target again" "$F" apply $tmp/fc.toml
expect_eq "target enabled" 1 "$(cat $T/enable)"
check "A logs in again" login 0a0201 $A
check "one session" wait_sessions 1

# A target on an NPIV port named in the TOML: apply creates the port (before the target's
# mkdir), its session is listed next to the HBA target's, save round trip.
VP=21:00:00:24:ff:5a:01:01
VP2=21:00:00:24:ff:5a:01:02
TV=$CFG/targets/qla2x00t/$VP
NPIV=$CFG/targets/qla2x00t/npiv
expect_eq "no NPIV port yet" "" "$(cat $NPIV)"
vp_target() { # vp_target WWPN PARENT: a [[target]] on an NPIV port
  printf '\n[[target]]\nfabric = "qla2x00t"\nwwpn = "%s"\nnpiv_parent = "%s"\n' $1 $2; }
{ cat $tmp/fc.toml
  printf '\n[[device]]\nname = "null1"\nbackend = "nullio"\nsize = "8M"\n'
  vp_target $VP $HBA
  printf '\n[[target.group]]\nname = "gv"\ninitiators = ["%s"]\nluns = { 3 = "null1" }\n' $A; } > $tmp/vp.toml
check "check the NPIV file" "$F" check $tmp/vp.toml
"$F" apply --dry-run $tmp/vp.toml > $tmp/vp_plan.out
cat $tmp/vp_plan.out
expect_eq "plan: the port first, then its target" \
  "+ targets/qla2x00t/npiv = \"add $HBA $VP\"|+ mkdir targets/qla2x00t/$VP" "$(head -2 $tmp/vp_plan.out | paste -sd'|')"
check "apply creates the NPIV port and its target" "$F" apply $tmp/vp.toml
expect_eq "npiv lists the port" "$HBA $VP vp1" "$(cat $NPIV)"
expect_eq "vp target enabled" 1 "$(cat $TV/enable)"
check "A logs in on vp 1 at 0a0201" login 0a0201 $A 1
for _ in $(seq 1 50); do [ "$(tail -n +2 $TV/sessions | wc -l)" = 1 ] && break; sleep 0.1; done
j=$("$F" --json sessions)
want=$( { awk -v t=$HBA 'NR > 1 { print t, $1, $2, $3, $4, $5 }' $T/sessions
          awk -v t=$VP 'NR > 1 { print t, $1, $2, $3, $4, $5 }' $TV/sessions; } | sort)
got=$(echo "$j" | jq -r '.[] | [.target, .initiator, .port_id, (.n_port_handle|tostring), .group,
  (if (.luns|length) == 0 then "-" else (.luns|map(tostring)|join(",")) end)] | join(" ")' | sort)
echo "$got"
expect_eq "sessions --json of both ports equals configfs" "$want" "$got"
expect_eq "A on the vp: its own group and LUN" "0a0201 gv [3]" \
  "$(echo "$j" | jq -r --arg t $VP '.[] | select(.target == $t) | "\(.port_id) \(.group) \(.luns|tojson)"')"
check "status: 2 FC sessions" bash -c "'$F' status | grep -qx 'sessions: 2 (2 FC, 0 local)'"
snap > $tmp/s3
expect_eq "second apply: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/vp.toml" "$("$F" apply $tmp/vp.toml)"
check "save with the vp target" "$F" save $tmp/saved_vp.toml
check "saved: npiv_parent on the vp target" grep -qzF "wwpn = \"$VP\"
npiv_parent = \"$HBA\"" $tmp/saved_vp.toml
expect_eq "saved: one npiv_parent" 1 "$(grep -c '^npiv_parent' $tmp/saved_vp.toml)"
expect_eq "apply --dry-run of it: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/saved_vp.toml" "$("$F" apply --dry-run $tmp/saved_vp.toml)"
check "tree and sessions unchanged" cmp $tmp/s3 <(snap)

# Refusals: a parent that is no HBA port (first step, ENOENT); a new port, then an unknown FC
# target: the target and the port made before it are taken back.
{ cat $tmp/vp.toml; vp_target $VP2 21:00:00:24:ff:00:00:98; } > $tmp/bad_parent.toml
refused bad_parent "targets/qla2x00t/npiv: No such file or directory (ENOENT: no physical FC port with the parent WWPN) (writing \"add 21:00:00:24:ff:00:00:98 $VP2\")"
{ cat $tmp/vp.toml; vp_target $VP2 $HBA
  printf '\n[[target]]\nfabric = "qla2x00t"\nwwpn = "21:00:00:24:ff:00:00:99"\n'; } > $tmp/undo.toml
refused undo "the 1 FC target(s) and 1 NPIV port(s) made before it were removed again"
expect_eq "npiv after the refusals" "$HBA $VP vp1" "$(cat $NPIV)"
expect_eq "the vp session survived" 1 "$(tail -n +2 $TV/sessions | wc -l)"

# The vp target leaves the TOML: target removed, then its port.
"$F" apply --dry-run $tmp/fc.toml > $tmp/rm_plan.out
cat $tmp/rm_plan.out
expect_eq "plan: the port after its target" \
  "- rmdir targets/qla2x00t/$VP|- targets/qla2x00t/npiv = \"del $VP\"" \
  "$(grep -F -e "rmdir targets/qla2x00t/$VP" -e npiv $tmp/rm_plan.out | tail -2 | paste -sd'|')"
check "apply without the vp target" "$F" apply $tmp/fc.toml
expect_eq "no NPIV port left" "" "$(cat $NPIV)"
check "no vp target left" test ! -e $TV
expect_eq "the HBA session survives" 1 "$(sessions | wc -l)"
expect_eq "second apply: nothing to do" \
  "ferrule: apply: nothing to do; the running configuration matches $tmp/fc.toml" "$("$F" apply $tmp/fc.toml)"

# Back again, then clear: targets, then ports, then devices; a fresh module's tree.
check "apply the NPIV file again" "$F" apply $tmp/vp.toml
expect_eq "npiv lists the port again" "$HBA $VP vp1" "$(cat $NPIV)"
check "clear" "$F" clear
expect_eq "clear deleted the NPIV port" "" "$(cat $NPIV)"
check "tree after clear equals the fresh one" cmp $tmp/fresh <(snap)
check "rmmod sim, ferrule" bash -c "rmmod ferrule_isp_sim && rmmod ferrule"
umount /tmp/cf
finish
