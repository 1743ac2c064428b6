#!/usr/bin/env bash
# bench/machines.sh — OS containers (Debian 12 booting systemd, the image of
# tests/os_image.ts) and detached terminals, per peer, in ONE throwaway
# systemd host (bench/in_testhost.ts), round-robin:
#
#   boot    until the container's systemd finished starting up:
#           tsnspawn  tsnspawn run -d --network none debian /sbin/init
#                     (returns on the container's READY=1)
#           nspawn    systemd-run -p Type=notify --quiet systemd-nspawn -b --notify-ready=yes
#                     <flags of bench/start.sh> -D /bench/debian (returns on READY=1)
#           podman    podman run -d --network=none --systemd=always debian /sbin/init, then
#                     `podman exec … systemctl is-system-running` every 20 ms until running
#                     or degraded (podman returns at once; each exec costs ~100 ms itself)
#   stop    tsnspawn stop / systemctl stop (nspawn) / podman stop
#   resident  what stays per container besides its own processes, RSS and PSS
#           (/proc/PID/smaps_rollup): a booted OS container without a terminal, and a
#           `run -dit` busybox shell (tsnspawn's terminal holder against podman's conmon).
#
#   bash bench/machines.sh (as root)   BENCH_RUNS=5 by default
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/machines.sh: must run as root" >&2; exit 1; fi
  for tool in podman systemd-nspawn debootstrap; do
    command -v "$tool" >/dev/null || { echo "bench/machines.sh: $tool missing" >&2; exit 1; }
  done
  tarball=$("$deno" run -A --quiet --config "$repo/deno.json" "$repo/tests/os_image.ts")
  export BENCH_OS_TARBALL=$tarball
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/machines.sh" "$@"
fi

# ---------------------------------------------------------------- inside the test host
. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-5}
bench_header "OS containers and terminals ($runs runs per peer)"
bench_prepare
echo "== preparing the Debian image ($BENCH_OS_TARBALL)"
"${tsnspawn[@]}" import "$BENCH_OS_TARBALL" debian >/dev/null
podman import --quiet "$BENCH_OS_TARBALL" debian >/dev/null
mkdir -p /bench/debian && tar -C /bench/debian -xf "$BENCH_OS_TARBALL"
mounts_before=$(wc -l </proc/self/mountinfo)
echo

ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
declare -A boot stop

for i in $(seq 1 "$runs"); do
  for peer in tsnspawn nspawn podman; do
    t0=$EPOCHREALTIME
    case $peer in
      tsnspawn) "${tsnspawn[@]}" run -d --name "os$i" --network none debian /sbin/init >/dev/null ;;
      nspawn) systemd-run --unit "bench-os$i" -p Type=notify --quiet --collect \
        systemd-nspawn $NSPAWN_FLAGS -b --notify-ready=yes -D /bench/debian >/dev/null ;;
      podman)
        podman run -d --network=none --systemd=always --name "os$i" debian /sbin/init >/dev/null
        # Its systemd answers once its bus is up; the boot is over at running/degraded.
        until podman exec "os$i" systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; do
          sleep 0.02
        done ;;
    esac
    boot[$peer]+="$(ms_since "$t0") "
    t0=$EPOCHREALTIME
    case $peer in
      tsnspawn) "${tsnspawn[@]}" stop "os$i" >/dev/null ;;
      nspawn) systemctl stop "bench-os$i" ;;
      podman) podman stop "os$i" >/dev/null ;;
    esac
    stop[$peer]+="$(ms_since "$t0") "
    case $peer in
      tsnspawn) "${tsnspawn[@]}" rm "os$i" >/dev/null ;;
      podman) podman rm "os$i" >/dev/null ;;
    esac
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "== boot and stop of Debian 12 (systemd 252), medians of $runs runs"
printf '| %-8s | %9s | %9s | %s |\n' peer "boot ms" "stop ms" "all boots / stops"
for peer in tsnspawn nspawn podman; do
  printf '| %-8s | %9s | %9s | %s/ %s|\n' "$peer" "$(echo "${boot[$peer]}" | median)" \
    "$(echo "${stop[$peer]}" | median)" "${boot[$peer]}" "${stop[$peer]}"
done
echo

# RSS and PSS in kB of a process.
mem() { awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { printf "%d kB RSS, %d kB PSS", r, p }' "/proc/$1/smaps_rollup"; }
echo "== what stays per container besides its own processes"
"${tsnspawn[@]}" run -d --name os --network none debian /sbin/init >/dev/null
extra=$(ps -eo pid,args | grep -E ' __(shim|stage2|terminal)\b' | grep -v grep || true)
echo "  tsnspawn, OS container without -t: ${extra:-no process}"
systemd-run --unit bench-os -p Type=notify --quiet --collect \
  systemd-nspawn $NSPAWN_FLAGS -b --notify-ready=yes -D /bench/debian >/dev/null
echo "  systemd-nspawn, OS container: systemd-nspawn $(mem "$(systemctl show -P MainPID bench-os)")"
systemctl stop bench-os
"${tsnspawn[@]}" rm -f os >/dev/null

"${tsnspawn[@]}" run -dit --name sh --network none busybox sh >/dev/null
holder=$(systemctl show -P MainPID tsnspawn-terminal@sh.service)
echo "  tsnspawn run -dit busybox sh: terminal holder $(mem "$holder")"
podman run -dit --name sh --network=none busybox sh >/dev/null 2>&1
conmon=$(pgrep -f "conmon .*-n sh " | head -1)
echo "  podman run -dit busybox sh: conmon $(mem "$conmon")"
"${tsnspawn[@]}" rm -f sh >/dev/null
podman rm -f -t 0 sh >/dev/null
echo
echo "== leftovers"
bench_check_leftovers "$mounts_before" || true
