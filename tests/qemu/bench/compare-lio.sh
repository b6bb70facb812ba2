#!/usr/bin/env bash
# Guest side of `scripts/compare-lio.sh`: sends the same CDBs to a Ferrule fileio LU and an
# LIO fileio LU (both local SCSI hosts, same size, 512-byte blocks, write cache off) and prints
# every response that differs. Not a test: differences are expected (vendor strings, VPD
# designators, optional pages); the point is to list them.
#   COMPARE-SAME name            identical status, sense and data
#   COMPARE-DIFF name            then both responses, indented
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lio.sh"
. "$here/ferrule.sh"
tmpfs=$(mktemp -d)
mount -t tmpfs -o size=160m none "$tmpfs"
size=$((64 << 20))
modprobe target_core_mod 2>/dev/null; modprobe tcm_loop 2>/dev/null; modprobe target_core_file 2>/dev/null
lio=$(lio_setup_fileio "$tmpfs/lio.img" $size) || { echo "COMPARE-NOTE lio setup failed"; exit 1; }
fer=$(ferrule_setup_fileio "$tmpfs/fer.img" $size) || { echo "COMPARE-NOTE ferrule setup failed"; exit 1; }
echo "COMPARE-NOTE lio=$lio ferrule=$fer"
for d in $lio $fer; do for i in 1 2 3 4 5; do sg_turs $d >/dev/null 2>&1 && break; done; done

# run DISK LEN CDB...: status, sense and data of one command (LEN: the data-in length the
# CDB asks for, 0 for none — the initiator's buffer matches the CDB, as a real initiator's does).
run() {
  local d=$1 len=$2; shift 2
  local r=()
  [ "$len" -eq 0 ] || r=(-r "$len")
  rm -f /tmp/cmp.out
  sg_raw "${r[@]}" -o /tmp/cmp.out "$d" "$@" > /tmp/cmp.err 2>&1
  {
    grep -E "SCSI Status|Sense Key|Additional sense|Info fld|Illegal|Invalid|Unit attention" /tmp/cmp.err |
      sed 's/ *$//'
    [ -s /tmp/cmp.out ] && od -An -tx1 -v /tmp/cmp.out | tr -s ' ' | sed 's/^ //'
  } | sed -e "s#$d#DISK#g"
}
compare() { # compare NAME LEN CDB...
  local name=$1; shift
  local a b
  a=$(run "$lio" "$@"); b=$(run "$fer" "$@")
  if [ "$a" = "$b" ]; then
    echo "COMPARE-SAME $name"
  else
    echo "COMPARE-DIFF $name"
    echo "  lio:"; sed 's/^/    /' <<<"$a"
    echo "  ferrule:"; sed 's/^/    /' <<<"$b"
  fi
}

compare "TEST UNIT READY" 0 00 00 00 00 00 00
compare "TEST UNIT READY, reserved bits set" 0 00 ff 00 00 00 00
compare "INQUIRY standard (36)" 36 12 00 00 00 24 00
compare "INQUIRY EVPD 00h" 255 12 01 00 00 ff 00
compare "INQUIRY EVPD B0h (block limits)" 64 12 01 b0 00 40 00
compare "INQUIRY EVPD B1h (characteristics)" 64 12 01 b1 00 40 00
compare "INQUIRY EVPD B2h (provisioning)" 64 12 01 b2 00 40 00
compare "INQUIRY page code without EVPD" 255 12 00 01 00 ff 00
compare "INQUIRY unknown VPD page C7h" 255 12 01 c7 00 ff 00
compare "INQUIRY CMDDT bit" 255 12 02 00 00 ff 00
compare "READ CAPACITY(10)" 8 25 00 00 00 00 00 00 00 00 00
compare "READ CAPACITY(16)" 32 9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00
compare "REPORT LUNS" 256 a0 00 00 00 00 00 00 00 01 00 00 00
compare "REPORT LUNS select report 02h" 256 a0 00 02 00 00 00 00 00 01 00 00 00
compare "REPORT LUNS allocation length 4 (too small)" 4 a0 00 00 00 00 00 00 00 00 04 00 00
compare "MODE SENSE(6) all pages" 255 1a 00 3f 00 ff 00
compare "MODE SENSE(6) caching page" 255 1a 00 08 00 ff 00
compare "MODE SENSE(6) control page" 255 1a 00 0a 00 ff 00
compare "MODE SENSE(6) r/w error recovery" 255 1a 00 01 00 ff 00
compare "MODE SENSE(6) unsupported page 1Ch" 255 1a 00 1c 00 ff 00
compare "MODE SENSE(6) changeable values caching" 255 1a 00 48 00 ff 00
compare "MODE SENSE(10) all pages, LLBAA" 255 5a 10 3f 00 00 00 00 00 ff 00
compare "REQUEST SENSE" 18 03 00 00 00 12 00
compare "READ(10) LBA 0, 1 block" 512 28 00 00 00 00 00 00 00 01 00
compare "READ(10) last LBA" 512 28 00 00 01 ff ff 00 00 01 00
compare "READ(10) past the end" 512 28 00 00 02 00 00 00 00 01 00
compare "READ(10) 0 blocks" 0 28 00 00 00 00 00 00 00 00 00
compare "READ(16) huge LBA" 512 88 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00
compare "READ(6) LBA 0 length 0 (= 256)" 131072 08 00 00 00 00 00
compare "READ(10) RDPROTECT set" 512 28 20 00 00 00 00 00 00 01 00
compare "VERIFY(10) BYTCHK=0" 0 2f 00 00 00 00 00 00 00 08 00
compare "SYNCHRONIZE CACHE(10)" 0 35 00 00 00 00 00 00 00 00 00
compare "SYNCHRONIZE CACHE(16)" 0 91 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
compare "START STOP UNIT start" 0 1b 00 00 00 01 00
compare "GET LBA STATUS" 32 9e 12 00 00 00 00 00 00 00 00 00 00 00 20 00 00
compare "REPORT SUPPORTED OPERATION CODES (all)" 1024 a3 0c 00 00 00 00 00 00 04 00 00 00
compare "REPORT SUPPORTED OPERATION CODES (READ(10))" 32 a3 0c 01 28 00 00 00 00 00 20 00 00
compare "REPORT SUPPORTED TMFs" 4 a3 0d 00 00 00 00 00 00 00 04 00 00
compare "REPORT TARGET PORT GROUPS" 256 a3 0a 00 00 00 00 00 00 01 00 00 00
compare "PERSISTENT RESERVE IN READ KEYS" 256 5e 00 00 00 00 00 00 01 00 00
compare "PERSISTENT RESERVE IN REPORT CAPABILITIES" 8 5e 02 00 00 00 00 00 00 08 00
compare "PERSISTENT RESERVE IN READ FULL STATUS" 256 5e 03 00 00 00 00 00 01 00 00
compare "PERSISTENT RESERVE IN bad service action" 8 5e 1f 00 00 00 00 00 00 08 00
compare "RESERVE(6)" 0 16 00 00 00 00 00
compare "RELEASE(6)" 0 17 00 00 00 00 00
compare "LOG SENSE" 255 4d 00 00 00 00 00 00 00 ff 00
compare "unknown opcode FFh" 0 ff 00 00 00 00 00
compare "unknown opcode C0h (vendor)" 0 c0 00 00 00 00 00 00 00 00 00
compare "WRITE(32) (variable length)" 0 7f 00 00 00 00 00 00 18 00 0b 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
compare "EXTENDED COPY (LID1)" 0 83 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
compare "RECEIVE COPY RESULTS" 512 84 03 00 00 00 00 00 00 00 00 00 00 02 00 00 00
compare "PREVENT ALLOW MEDIUM REMOVAL" 0 1e 00 00 00 01 00
compare "READ BUFFER" 16 3c 02 00 00 00 00 00 00 10 00
compare "SEND DIAGNOSTIC self test" 0 1d 04 00 00 00 00
compare "FORMAT UNIT" 0 04 00 00 00 00 00
compare "WRITE SAME(10) 0 blocks no data" 0 41 00 00 00 00 00 00 00 00 00
compare "UNMAP with no parameter list" 0 42 00 00 00 00 00 00 00 00 00
compare "COMPARE AND WRITE NUMBER OF LBAS 0" 0 89 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

ferrule_teardown; lio_teardown
umount "$tmpfs"
echo "COMPARE-DONE"
