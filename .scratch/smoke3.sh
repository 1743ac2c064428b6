R=/work/wt-quadlet
T() { $R/node_modules/.bin/deno run -A --quiet $R/mod.ts "$@"; }
sh $R/examples/busybox-rootfs.sh /tmp/bb.tar >/dev/null && T import /tmp/bb.tar busybox >/dev/null
T run -d --name hc --network none --health-cmd 'test -f /tmp/ok' --health-interval 100s busybox sh -c 'touch /tmp/ok; sleep 1000'
inv=$(systemctl show -P InvocationID tsnspawn-hc.service)
echo "inv=$inv"
timeout 20 $R/node_modules/.bin/deno run -A --quiet $R/mod.ts __healthcheck hc $inv; echo "exit $?"
timeout 20 systemd-run --wait --quiet -p Type=oneshot $R/node_modules/.bin/deno run -A --quiet $R/mod.ts __healthcheck hc $inv; echo "exit $?"
journalctl --no-pager -n 20 | tail -20
