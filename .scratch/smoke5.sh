R=/work/wt-quadlet
T() { $R/node_modules/.bin/deno run -A --quiet $R/mod.ts "$@"; }
sh $R/examples/busybox-rootfs.sh /tmp/bb.tar >/dev/null && T import /tmp/bb.tar busybox >/dev/null
cp -r $R/.scratch/etc/. /etc/tsnspawn/
mkdir -p /tmp/gen; $R/units/tsnspawn-generator /tmp/gen /tmp/gen /tmp/gen; ls /tmp/gen
cp /tmp/gen/*.service /etc/systemd/system/
systemctl daemon-reload
systemctl start tsnspawn-job@1.service; echo "start $?"
systemctl status --no-pager tsnspawn-job@1.service | head -20
journalctl --no-pager -u tsnspawn-job@1.service | tail -20
T logs job@1
T list
