# Every refused mkdir/write of the configfs spec: the right errno (as the shell prints it),
# exactly one `ferrule: <path>: <why>` log line, and no change (read back).
. "$FERRULE_ROOT/tests/qemu/lib.sh"
EINVAL="Invalid argument" EBUSY="Device or resource busy" ENOENT="No such file or directory"
EEXIST="File exists" ENOSPC="No space left on device"
D=$CFG/devices/d1
T=$CFG/targets/local/21:00:00:00:00:00:00:01
G=$T/groups/g1
w() { echo "$2" > "$1"; }   # w FILE VALUE (a write, so expect_errno sees the shell's error)
mkdir $D $T $G $G/luns/0 $G/initiators/21:00:00:24:ff:31:4c:5a
echo /dev/null > $D/path   # the refused cases below end with this path set again
snapshot() { for f in $D/* $T/enable $T/initiator $T/rel_port $G/luns/0/*; do printf '%s=%s\n' "${f#$CFG/}" "$(cat $f)"; done; find $CFG | sort; }
before=$(snapshot)

# devices/
expect_errno "device name with a bad character" "$EINVAL" mkdir $CFG/devices/a@b
expect_errno "device name of 33 characters" "$EINVAL" mkdir $CFG/devices/$(printf 'x%.0s' $(seq 1 33))
expect_errno "backend unknown" "$EINVAL" w $D/backend tape
expect_errno "path relative" "$EINVAL" w $D/path relative/file
expect_errno "path too long" "$EINVAL" w $D/path /$(printf 'p%.0s' $(seq 1 300))
expect_errno "size not a number" "$EINVAL" w $D/size 1M
expect_errno "size negative" "$EINVAL" w $D/size -512
expect_errno "size not a multiple of block_size" "$EINVAL" w $D/size 1000
expect_errno "size overflowing u64" "$EINVAL" w $D/size 18446744073709551616
expect_errno "block_size 1024" "$EINVAL" w $D/block_size 1024
for a in read_only write_cache thin enable; do
  expect_errno "$a 2" "$EINVAL" w $D/$a 2
  expect_errno "$a yes" "$EINVAL" w $D/$a yes
done
expect_errno "serial with a space" "$EINVAL" w $D/serial "a b"
expect_errno "serial of 33 characters" "$EINVAL" w $D/serial $(printf 's%.0s' $(seq 1 33))
expect_errno "vendor of 9 characters" "$EINVAL" w $D/vendor ABCDEFGHI
expect_errno "product of 17 characters" "$EINVAL" w $D/product ABCDEFGHIJKLMNOPQ
expect_errno "revision of 5 characters" "$EINVAL" w $D/revision 12345
expect_errno "vendor with a control character" "$EINVAL" w $D/vendor $'A\tB'
expect_errno "enable nullio without size" "$EINVAL" w $D/enable 1
mkdir $CFG/devices/np; echo fileio > $CFG/devices/np/backend
expect_errno "enable fileio without path" "$EINVAL" w $CFG/devices/np/enable 1
rmdir $CFG/devices/np
echo fileio > $D/backend
expect_errno "enable fileio on a character device" "$EINVAL" w $D/enable 1
echo /nonexistent/dir/file > $D/path
expect_errno "enable fileio in a missing directory" "$ENOENT" w $D/enable 1
echo blockio > $D/backend
expect_errno "size of a blockio device" "$EINVAL" w $D/size 4096
echo /dev/nonexistent > $D/path
expect_errno "enable blockio on a missing device" "$ENOENT" w $D/enable 1
echo nullio > $D/backend; echo 4096 > $D/size; echo /dev/null > $D/path
mid=$(snapshot)
expect_eq "refused enables left the device disabled" 0 "$(cat $D/enable)"
echo 1 > $D/enable
for a in "backend fileio" "path /x" "block_size 4096"; do
  set -- $a
  expect_errno "$1 while enabled" "$EBUSY" w $D/$1 $2
done
expect_errno "size 0 while enabled" "$EINVAL" w $D/size 0
echo 0 > $D/enable
expect_eq "state after the disabled-device cases" "$mid" "$(snapshot)"
echo 0 > $D/size

# targets/
expect_errno "target name not a WWPN" "$EINVAL" mkdir $CFG/targets/local/not-a-wwpn
expect_errno "target WWPN of 7 bytes" "$EINVAL" mkdir $CFG/targets/local/21:00:00:00:00:00:01
expect_errno "target WWPN 0" "$EINVAL" mkdir $CFG/targets/local/00:00:00:00:00:00:00:00
expect_errno "duplicate target WWPN spelled differently" "$EEXIST" mkdir $CFG/targets/local/2100000000000001
expect_errno "FC target without such a port" "$ENOENT" mkdir $CFG/targets/qla2x00t/21:00:00:24:ff:00:00:01
expect_errno "mkdir under targets/ itself" "Operation not permitted" mkdir $CFG/targets/other
expect_errno "mkdir in the root" "Operation not permitted" mkdir $CFG/other
expect_errno "mkdir in groups/default" "Operation not permitted" mkdir $T/groups/default/x
expect_errno "mkdir in a group" "Operation not permitted" mkdir $G/x
expect_errno "mkdir in a device" "Operation not permitted" mkdir $D/x
expect_errno "mkdir in a LUN" "Operation not permitted" mkdir $G/luns/0/x
expect_errno "mkdir in a member" "Operation not permitted" mkdir $G/initiators/21:00:00:24:ff:31:4c:5a/x
expect_errno "target enable 2" "$EINVAL" w $T/enable 2
check "local target enable (no LUN mapped: an empty host)" w $T/enable 1
expect_errno "initiator while enabled" "$EBUSY" w $T/initiator 21:00:00:00:00:00:00:09
check "new member of an enabled local target (applied live)" mkdir $G/initiators/21:00:00:24:ff:31:4c:5b
check "and removed live" rmdir $G/initiators/21:00:00:24:ff:31:4c:5b
expect_errno "mapping a disabled device on an enabled target" "$EBUSY" w $G/luns/0/device d1
check "local target disable" w $T/enable 0
expect_errno "initiator not a WWPN" "$EINVAL" w $T/initiator 21:00
expect_errno "initiator 0" "$EINVAL" w $T/initiator 0000000000000000
expect_errno "initiator listed twice" "$EINVAL" w $T/initiator "21:00:00:00:00:00:00:09 2100000000000009"
expect_errno "nine initiators" "$EINVAL" w $T/initiator "$(for i in 1 2 3 4 5 6 7 8 9; do printf '21:00:00:00:00:00:01:0%d ' $i; done)"
expect_errno "initiator list with a bad WWPN" "$EINVAL" w $T/initiator "21:00:00:00:00:00:00:09 21:00"
for v in 0 65536 abc 01; do expect_errno "rel_port $v" "$EINVAL" w $T/rel_port $v; done

# groups, members, LUNs
expect_errno "group name with a bad character" "$EINVAL" mkdir $T/groups/a@b
expect_errno "member in the default group" "$EINVAL" mkdir $T/groups/default/initiators/21:00:00:24:ff:31:4c:5b
expect_errno "member not a WWPN" "$EINVAL" mkdir $G/initiators/21:00:zz:24:ff:31:4c:5a
expect_errno "member WWPN 0" "$EINVAL" mkdir $G/initiators/00:00:00:00:00:00:00:00
mkdir $T/groups/g2
expect_errno "member already in another group" "$EEXIST" mkdir $T/groups/g2/initiators/21:00:00:24:ff:31:4c:5a
expect_errno "same member spelled differently, same group" "$EEXIST" mkdir $G/initiators/21000024ff314c5a
mkdir "$G/initiators/21:00:00:24:*"
expect_errno "pattern already in another group" "$EEXIST" mkdir "$T/groups/g2/initiators/21:00:00:24:*"
rmdir "$G/initiators/21:00:00:24:*" $T/groups/g2
for n in 256 07 x -1; do expect_errno "LUN $n" "$EINVAL" mkdir $G/luns/$n; done
expect_errno "LUN device unknown" "$ENOENT" w $G/luns/0/device nosuch
expect_errno "LUN device bad name" "$EINVAL" w $G/luns/0/device "a b"
expect_errno "LUN read_only 2" "$EINVAL" w $G/luns/0/read_only 2

# table limits
for i in $(seq 3 64); do mkdir $T/groups/g$i || break; done
mkdir $T/groups/g2
expect_eq "64 groups made" 64 "$(ls $T/groups | grep -c '^g')"
expect_errno "65th group" "$ENOSPC" mkdir $T/groups/g65
rmdir $T/groups/g2; for i in $(seq 3 64); do rmdir $T/groups/g$i; done
for i in $(seq 2 256); do mkdir $CFG/devices/d$i || break; done
expect_errno "257th device" "$ENOSPC" mkdir $CFG/devices/d257
for i in $(seq 2 256); do rmdir $CFG/devices/d$i; done

expect_eq "nothing changed by any refused operation" "$before" "$(snapshot)"
rmdir $G/luns/0 $G/initiators/21:00:00:24:ff:31:4c:5a $G $T $D
check "rmmod after cleanup" rmmod ferrule
finish
