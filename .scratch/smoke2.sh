R=/work/wt-quadlet
T() { $R/node_modules/.bin/deno run -A --quiet $R/mod.ts "$@"; }
sh $R/examples/busybox-rootfs.sh /tmp/bb.tar >/dev/null && T import /tmp/bb.tar busybox >/dev/null
date +%T.%N
T run -d --name nt --network none --sdnotify healthy --health-cmd 'test -f /tmp/ready' --health-interval 1s busybox sh -c 'sleep 3; touch /tmp/ready; sleep 1000' ; echo "run status $?"
date +%T.%N
cat /var/lib/tsnspawn/containers/nt/health.json
journalctl --no-pager -o short-precise | grep -vE "machined|dbus" | grep -E "health|nt.service|nt\)" | tail -40
