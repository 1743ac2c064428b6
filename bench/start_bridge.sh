#!/usr/bin/env bash
# bench/start_bridge.sh — the start latency bridge networking adds: the same
# start-to-exit of `tsnspawn run --rm busybox /bin/true` with --network none
# and with --network bridge (veth pair, nft rules, eth0 configured), and
# with bridge plus one published port (-p 18080:80: nft map elements and the
# clash check), timed round-robin by bench/timeit.ts.
#
#   bash bench/start_bridge.sh (as root)      (BENCH_RUNS=30 BENCH_WARMUP=3 by default)
#
# Runs inside ONE throwaway systemd host (tests/testhost.ts via
# bench/in_testhost.ts), in its own network namespace: the bridge, the veths
# and the nft table exist only there and vanish with it. Needs only what
# ./setup installs (no podman/crun). The first bridge start (bridge and table
# creation) is a warm-up round and not timed.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/start_bridge.sh: must run as root" >&2; exit 1; fi
  command -v nft >/dev/null || { echo "bench/start_bridge.sh: nft missing: run ./setup" >&2; exit 1; }
  [ -x "$deno" ] || { echo "bench/start_bridge.sh: $deno missing: run ./setup" >&2; exit 1; }
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/start_bridge.sh" "$@"
fi

# ---------------------------------------------------------------- inside the test host
. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}
bench_find_tsnspawn

echo "== tsnspawn benchmark: start latency added by bridge networking"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs, Linux $(uname -r), $(systemctl --version | head -1 | cut -d' ' -f1-2), $(ip -V), $(nft -v)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo
sh "$repo/examples/busybox-rootfs.sh" /bench/busybox.tar
"${tsnspawn[@]}" import /bench/busybox.tar busybox >/dev/null

none="$tsnspawn_cmd run --rm --network none busybox /bin/true"
bridge="$tsnspawn_cmd run --rm --network bridge busybox /bin/true"
published="$tsnspawn_cmd run --rm --network bridge -p 18080:80 busybox /bin/true"
echo "== commands"
echo "  none:      $none"
echo "  bridge:    $bridge"
echo "  published: $published"
echo

echo "== timing ($runs runs + $warmup warm-up rounds, round-robin)"
"$deno" run -A --quiet "$repo/bench/timeit.ts" --runs "$runs" --warmup "$warmup" \
  --json /bench/start_bridge.json --markdown /bench/start_bridge.md --floor none -- \
  "none=$none" "bridge=$bridge" "published=$published"
echo

echo "== leftovers"
status=0
links=$(ip -o link show | awk -F': ' '{print $2}' | grep '^tsnv' || true)
if [ -n "$links" ]; then echo "  container veths left: $links"; status=1; fi
elements=$(nft list map inet tsnspawn publish-any 2>/dev/null | grep elements || true)
if [ -n "$elements" ]; then echo "  published ports left: $elements"; status=1; fi
if grep -q '"address"' /var/lib/tsnspawn/networks/bridge/leases.json 2>/dev/null; then
  echo "  leases left:"; cat /var/lib/tsnspawn/networks/bridge/leases.json; status=1
fi
[ "$status" = 0 ] && echo "  none (veths, nft elements, leases checked)"
echo
echo "== summary (for the README; 'above floor' = added by bridge networking over --network none)"
echo
cat /bench/start_bridge.md
exit "$status"
