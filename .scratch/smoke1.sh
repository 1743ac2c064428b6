set -x
R=/work/wt-quadlet
T() { $R/node_modules/.bin/deno run -A --quiet $R/mod.ts "$@"; }
sh $R/examples/busybox-rootfs.sh /tmp/bb.tar >/dev/null && T import /tmp/bb.tar busybox >/dev/null
T volume create --label a=b data
T volume ls
T run --rm --network none -v data:/data busybox sh -c 'echo hi > /data/f; ls -la /data'
T run --rm --network none -v data:/data:ro busybox cat /data/f
T create --name keep --network none -v data:/data busybox sleep 1000
T volume rm data; echo "rm status $?"
T rm keep; T volume rm data; echo "rm status $?"
T run --rm --network none -v /anon busybox sh -c 'touch /anon/x; ls /anon'
T volume ls
T volume create --opt type=tmpfs --opt device=tmpfs --opt o=size=1m tmp1
T run --rm --network none -v tmp1:/t busybox sh -c 'df /t; echo ok > /t/y'
T run --rm --network none -v tmp1:/t busybox cat /t/y
T run -d --name hc --network none --health-cmd 'test -f /tmp/ok' --health-interval 1s --health-retries 2 busybox sh -c 'touch /tmp/ok; sleep 1000'
sleep 4
T list
T healthcheck run hc; echo "hc $?"
T exec hc rm /tmp/ok
sleep 4
T list; T status hc | tail -8
systemctl list-units 'tsnspawn-health*' --all --no-pager
T rm -f hc
T run -d --name nt --network none --sdnotify healthy --health-cmd 'test -f /tmp/ready' --health-interval 1s busybox sh -c 'sleep 3; touch /tmp/ready; sleep 1000' ; echo "run status $?"
T list
T rm -f nt
T run -d --name nc --network none --sdnotify container busybox sh -c 'sleep 2; echo READY=1 | nc -u -w1 local:$NOTIFY_SOCKET; sleep 1000'; echo "run status $?"
systemctl show -p ActiveState -p SubState tsnspawn-nc.service
T rm -f nc
T check -n
