# Target-side NPIV on the simulated ISP: `targets/qla2x00t/npiv` creates a virtual port on an
# HBA (VP CONFIG; its N_Port ID from Report ID Acquisition), which is a target of its own with
# its own groups; logins on each vp reach only that vp's target, a slot takeover on one vp
# leaves the other alone; deleting the vp ends its sessions; malformed or impossible writes are
# refused with one log line. No oops, no leak.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
A=21:00:00:24:ff:aa:00:01
B=21:00:00:24:ff:bb:00:02
HBA=21:00:00:24:ff:5a:00:00
VP=21:00:00:24:ff:5a:01:01
Q=$CFG/targets/qla2x00t
T0=$Q/$HBA
T1=$Q/$VP
sessions() { tail -n +2 "$1/sessions"; }
wait_sessions() { # wait_sessions TARGET N
  for _ in $(seq 1 50); do [ "$(sessions "$1" | wc -l)" = "$2" ] && return 0; sleep 0.1; done
  sessions "$1" | sed 's/^/  session: /'; return 1
}
login() { # login VP N_PORT_ID WWPN
  local n; n=$(sim_state els_acc)
  sim_fabric "plogi $1 $2 $3" && sim_wait_state els_acc $((n + 1)) &&
    sim_fabric "prli $1 $2" && sim_wait_state els_acc $((n + 2))
}
npiv() { bash -c 'printf "%s\n" "$1" > "$2"' _ "$1" "$Q/npiv"; }

check "ferrule + sim loaded" sim_setup
check "devices d0 d1" bash -c "for d in d0 d1; do mkdir $CFG/devices/\$d && echo 1048576 > $CFG/devices/\$d/size && echo 1 > $CFG/devices/\$d/enable; done"
expect_eq "no NPIV ports yet" "" "$(cat $Q/npiv)"
check "mkdir of the vp's target before the vp exists: ENOENT" bash -c "! mkdir $T1 2>/dev/null"
check "create vp $VP on $HBA" npiv "add $HBA $VP"
expect_eq "npiv lists it" "$HBA $VP vp1" "$(cat $Q/npiv)"
check "vp got its N_Port ID" bash -c "dmesg | grep -q 'vp 1 port id 0a0101 (status 0)'"
expect_errno "same WWPN again" "File exists" npiv "add $HBA $VP"
expect_errno "unknown parent" "No such file or directory" npiv "add 21:00:00:24:ff:00:00:99 21:00:00:24:ff:5a:01:02"
expect_errno "a vp as parent" "No such file or directory" npiv "add $VP 21:00:00:24:ff:5a:01:03"
expect_errno "garbage" "Invalid argument" npiv "make me a port"
expect_errno "bad WWPN" "Invalid argument" npiv "add $HBA 21:00:zz"
expect_errno "extra words" "Invalid argument" npiv "del $VP now"
expect_errno "del of no such vp" "No such file or directory" npiv "del 21:00:00:24:ff:5a:01:09"
expect_eq "still one vp" "1" "$(cat $Q/npiv | wc -l)"

check "target on the physical port: A -> d0" bash -c "mkdir $T0 && mkdir $T0/groups/g && mkdir $T0/groups/g/initiators/$A && mkdir $T0/groups/g/luns/0 && echo d0 > $T0/groups/g/luns/0/device && echo 1 > $T0/enable"
check "target on the vp: A -> d1" bash -c "mkdir $T1 && mkdir $T1/groups/g1 && mkdir $T1/groups/g1/initiators/$A && mkdir $T1/groups/g1/luns/0 && echo d1 > $T1/groups/g1/luns/0/device && echo 1 > $T1/enable"
check "A logs in on vp 1" login 1 0a0201 $A
check "vp target: one session" wait_sessions $T1 1
check "physical target: none" wait_sessions $T0 0
check "A logs in on vp 0 with the same N_Port ID" login 0 0a0201 $A
check "physical target: one session" wait_sessions $T0 1
expect_eq "vp session: A, g1" "$A 0a0201 g1 0" "$(sessions $T1 | awk '{print $1, $2, $4, $5}')"
# B takes A's N_Port ID on vp 0 only: the vp's session stays.
check "B on vp 0 at A's N_Port ID" login 0 0a0201 $B
check "physical target: B replaced A" bash -c "[ \"\$(tail -n +2 $T0/sessions | awk '{print \$1}')\" = $B ]"
expect_eq "vp session untouched" "$A 0a0201 g1 0" "$(sessions $T1 | awk '{print $1, $2, $4, $5}')"

check "delete the vp" npiv "del $VP"
check "its sessions ended" wait_sessions $T1 0
expect_eq "npiv empty" "" "$(cat $Q/npiv)"
expect_eq "physical target keeps B" "1" "$(sessions $T0 | wc -l)"
rjt=$(sim_state els_rjt)
out=$(sim_fabric "plogi 1 0a0202 $A" 2>&1) || true
check "logins on the deleted vp fail in the firmware" bash -c "[ \"$(sim_state els_rjt)\" = $rjt ]"
check "create it again: the enabled target takes it back" npiv "add $HBA $VP"
check "A logs in on vp 1 again" login 1 0a0201 $A
check "vp target: one session" wait_sessions $T1 1

check "disable both" bash -c "echo 0 > $T1/enable && echo 0 > $T0/enable"
check "rmmod the sim with the vp present" rmmod ferrule_isp_sim
expect_eq "vp gone with its HBA" "" "$(cat $Q/npiv)"
check "teardown configfs" bash -c "rmdir $T0/groups/g/luns/0 $T0/groups/g/initiators/$A $T0/groups/g $T0 $T1/groups/g1/luns/0 $T1/groups/g1/initiators/$A $T1/groups/g1 $T1 && rmdir $CFG/devices/d0 $CFG/devices/d1"
check "rmmod ferrule" rmmod ferrule
finish
