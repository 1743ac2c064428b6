R=/work/wt-quadlet
T() { $R/node_modules/.bin/deno run -A --quiet $R/mod.ts "$@"; }
sh $R/examples/busybox-rootfs.sh /tmp/bb.tar >/dev/null && T import /tmp/bb.tar busybox >/dev/null
T run -d --name hc --network none --health-cmd 'test -f /tmp/ok' --health-interval 2s --health-retries 2 busybox sh -c 'touch /tmp/ok; sleep 1000'
sleep 6
p=$(systemctl show -P MainPID 'tsnspawn-health@*.service' | head -1)
echo "main $p"; ps -ef --forest | tail -15
for t in /proc/$p/task/*; do echo "$t $(cat $t/wchan) $(cat $t/comm)"; done
ls -la /proc/$p/fd | head -30
timeout 5 strace -f -p $p 2>&1 | head -30
