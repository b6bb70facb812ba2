# FC target sessions through the qla2x00t driver and the simulated ISP: a configfs target
# on the soft HBA's WWPN; logins (PLOGI/PRLI notifies) accepted only while it is enabled,
# judged by its ACL; the session table keyed on WWPN + N_Port ID: a new WWPN on an old
# N_Port ID and handle replaces the old session (it is torn down first), a migrated WWPN
# keeps its group; LOGO, disable and HBA removal end sessions. No oops, no leak.
. "$FERRULE_ROOT/tests/qemu/lib.sh"
. "$FERRULE_ROOT/tests/qemu/lib/sim.sh"
A=21:00:00:24:ff:aa:00:01
B=21:00:00:24:ff:bb:00:02
HBA=21:00:00:24:ff:5a:00:00
T=$CFG/targets/qla2x00t/$HBA
sessions() { tail -n +2 $T/sessions; }
# session WWPN: "<port id> <handle> <group> <luns>" of WWPN's session, empty if none
session() { sessions | awk -v w="$1" '$1 == w { print $2, $3, $4, $5 }'; }
login() { # login N_PORT_ID WWPN: PLOGI, then PRLI once the PLOGI is accepted
  local n; n=$(sim_state els_acc)
  sim_fabric "plogi 0 $1 $2" && sim_wait_state els_acc $((n + 1)) &&
    sim_fabric "prli 0 $1" && sim_wait_state els_acc $((n + 2))
}
wait_sessions() { # wait_sessions N: up to 5 s for N session lines
  for _ in $(seq 1 50); do [ "$(sessions | wc -l)" = "$1" ] && return 0; sleep 0.1; done
  sessions | sed 's/^/  session: /'; return 1
}

check "ferrule + sim loaded" sim_setup
check "mkdir on a WWPN that is no FC port: ENOENT" bash -c "! mkdir $CFG/targets/qla2x00t/21:00:00:24:ff:00:00:99 2>/dev/null"
check "devices d0 d1 (nullio)" bash -c "for d in d0 d1; do mkdir $CFG/devices/\$d && echo 1048576 > $CFG/devices/\$d/size && echo 1 > $CFG/devices/\$d/enable; done"
check "mkdir target on the soft HBA's WWPN" mkdir $T
check "group ga: A, LUN 0 -> d0" bash -c "mkdir $T/groups/ga && mkdir $T/groups/ga/initiators/$A && mkdir $T/groups/ga/luns/0 && echo d0 > $T/groups/ga/luns/0/device"
check "group gb: B, LUNs 0,1 -> d1,d0" bash -c "mkdir $T/groups/gb && mkdir $T/groups/gb/initiators/$B && mkdir $T/groups/gb/luns/0 && echo d1 > $T/groups/gb/luns/0/device && mkdir $T/groups/gb/luns/1 && echo d0 > $T/groups/gb/luns/1/device"

check "PLOGI from A before enable" sim_fabric "plogi 0 0a0201 $A"
check "rejected (LS_RJT): target disabled" sim_wait_state els_rjt 1
check "enable" bash -c "echo 1 > $T/enable"
check "PLOGI from A" sim_fabric "plogi 0 0a0201 $A"
check "PLOGI accepted" sim_wait_state els_acc 1
check "PRLI from A" sim_fabric "prli 0 0a0201"
check "PRLI accepted" sim_wait_state els_acc 2
check "one session" wait_sessions 1
read -r pid_a h_a g_a l_a <<<"$(session $A)"
expect_eq "A's session: N_Port ID, group, LUNs" "0a0201 ga 0" "$pid_a $g_a $l_a"

# B takes A's N_Port ID (and so the firmware's handle for it): A's session is torn down
# before B's PLOGI is acknowledged; B resolves through its own group.
check "PLOGI from B on A's N_Port ID" sim_fabric "plogi 0 0a0201 $B"
check "B's PLOGI accepted" sim_wait_state els_acc 3
check "A's session is gone" bash -c "[ -z \"\$(tail -n +2 $T/sessions | awk -v w=$A '\$1 == w')\" ]"
check "PRLI from B" sim_fabric "prli 0 0a0201"
check "B's PRLI accepted" sim_wait_state els_acc 4
check "one session" wait_sessions 1
read -r pid_b h_b g_b l_b <<<"$(session $B)"
expect_eq "B's session on A's N_Port ID and handle, B's group and LUNs" "0a0201 $h_a gb 0,1" "$pid_b $h_b $g_b $l_b"

# A comes back at another N_Port ID: a second session, A's group again.
check "A logs in at 0a0202" login 0a0202 $A
check "two sessions" wait_sessions 2
expect_eq "A at 0a0202 in ga" "0a0202 ga 0" "$(session $A | awk '{print $1, $3, $4}')"
# A migrates to 0a0203: its session at 0a0202 ends, the new one is A's again.
check "A migrates to 0a0203" login 0a0203 $A
check "still two sessions" wait_sessions 2
expect_eq "A at 0a0203 in ga" "0a0203 ga 0" "$(session $A | awk '{print $1, $3, $4}')"

# Live ACL change: B leaves gb, so its session re-resolves to the default group (no LUNs).
check "remove B from gb" rmdir $T/groups/gb/initiators/$B
check "B now in default with no LUNs" bash -c "[ \"\$(tail -n +2 $T/sessions | awk -v w=$B '\$1 == w { print \$4, \$5 }')\" = 'default -' ]"

check "LOGO from B" sim_fabric "logo 0 0a0201"
check "one session left" wait_sessions 1
check "disable with a session" bash -c "echo 0 > $T/enable"
check "no sessions" wait_sessions 0
rjt=$(sim_state els_rjt)
check "PLOGI after disable" sim_fabric "plogi 0 0a0204 $B"
check "rejected" sim_wait_state els_rjt $((rjt + 1))

# The HBA goes away while its target is enabled, and comes back: re-attached.
check "enable again" bash -c "echo 1 > $T/enable"
check "A logs in" login 0a0201 $A
check "one session" wait_sessions 1
check "rmmod the sim while the target is enabled" rmmod ferrule_isp_sim
check "sessions ended with the HBA" wait_sessions 0
check "sim back" insmod "$SIM_KO"
check "target re-attached" bash -c "dmesg | grep -q 'port 21:00:00:24:ff:5a:00:00 back: target re-attached'"
check "PLOGI from A" sim_fabric "plogi 0 0a0201 $A"
check "accepted by the re-attached target" sim_wait_state els_acc 1

check "disable" bash -c "echo 0 > $T/enable"
check "teardown configfs" bash -c "rmdir $T/groups/ga/luns/0 $T/groups/ga/initiators/$A $T/groups/ga $T/groups/gb/luns/0 $T/groups/gb/luns/1 $T/groups/gb && rmdir $T && rmdir $CFG/devices/d0 $CFG/devices/d1"
check "rmmod sim, ferrule" bash -c "rmmod ferrule_isp_sim && rmmod ferrule"
finish
