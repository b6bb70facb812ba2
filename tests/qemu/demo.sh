# Guest side of `make demo`.
echo "=== FERRULE DEMO BEGIN"
echo "\$ uname -r"; uname -r
echo "\$ grep ferrule /proc/modules"; grep ferrule /proc/modules
echo "\$ dmesg | grep ferrule"; dmesg | grep -E 'ferrule|KTAP|# ferrule|ok [0-9]+ ' | sed 's/^\[ *[0-9.]*\] //'
echo "\$ ls -l /sys/kernel/config/ferrule/"; ls -l /sys/kernel/config/ferrule/
echo "\$ cat /sys/kernel/config/ferrule/version"; cat /sys/kernel/config/ferrule/version
echo "\$ rmmod ferrule"; rmmod ferrule && echo "unloaded cleanly"
echo "=== FERRULE DEMO END"
