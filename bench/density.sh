#!/usr/bin/env bash
# bench/density.sh — 100 detached idle containers (busybox `sleep 100000`),
# started one after another, per peer: total wall time, host memory per
# container, and the extra (non-payload) processes each container costs.
#
#   bash bench/density.sh (as root)          (BENCH_COUNT=100 by default;
#                                        BENCH_PEERS="tsnspawn podman nspawn")
#   BENCH_BASELINE=/path/to/other/checkout bash bench/density.sh
#       adds the peer "baseline": another checkout's tsnspawn (as in
#       bench/start.sh), started the same way right after tsnspawn.
#
# Like bench/start.sh, everything runs inside ONE throwaway systemd host
# (bench/in_testhost.ts), same busybox rootfs, same tmpfs. Peers, in turn:
#
#   tsnspawn  tsnspawn run -d --network none --name dens-NNN busybox sleep 100000
#             returns once the unit is active (Type=notify, READY=1 after the
#             payload's execve). Expected: no tsnspawn process remains, so
#             each unit's cgroup holds exactly the payload — asserted, and the
#             processes of every unit's cgroup are printed.
#   podman    podman run -d --network=none busybox sleep 100000
#             one conmon per container (in libpod-conmon-<id>.scope).
#   nspawn    systemd-run --unit bench-nspawn-NNN -p Type=notify --collect --quiet
#               systemd-nspawn <flags of bench/start.sh> -D /bench/rootfs sleep 100000
#             Type=notify: systemd-nspawn sends READY=1 once the container
#             runs, so systemd-run returns then (not right after fork); one
#             systemd-nspawn supervisor per container.
#
# Per peer: one warm-up container (started and removed, so caches and
# first-use costs are not counted), a snapshot (PIDs, memory), COUNT starts
# timed as a whole, 2 s to settle, then the processes that appeared are split
# into payloads and extras (RSS and PSS from /proc/PID/smaps_rollup), and the
# memory deltas divided by COUNT: the test host's cgroup (memory.usage_in_bytes:
# everything the host's processes and kernel objects use, isolated from the
# rest of the machine) and /proc/meminfo (machine-wide, noisy on a shared
# machine). Then every container is removed (timed) and the removal checked.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/density.sh: must run as root" >&2; exit 1; fi
  for tool in podman crun systemd-nspawn jq; do
    command -v "$tool" >/dev/null || { echo "bench/density.sh: $tool missing: run bench/setup.sh" >&2; exit 1; }
  done
  [ -x "$deno" ] || { echo "bench/density.sh: $deno missing: run ./setup" >&2; exit 1; }
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/density.sh" "$@"
fi

# ---------------------------------------------------------------- inside the test host
. "$repo/bench/lib.sh"
count=${BENCH_COUNT:-100}
peers=${BENCH_PEERS:-tsnspawn ${BENCH_BASELINE:+baseline} podman nspawn}
payload="sleep 100000"
results=/bench/density.json
probe=("$deno" run -A --quiet "$repo/bench/density_probe.ts")
rm -f "$results"

bench_header "density ($count idle containers per peer)"
bench_prepare
baseline_cmd=$(bench_baseline_cmd)
read -r -a baseline <<<"$baseline_cmd"
mounts_before=$(wc -l </proc/self/mountinfo)

now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
names() { for i in $(seq -w 1 "$count"); do echo "$1$i"; done; }

# start_one PEER INDEX
start_one() {
  case "$1" in
    tsnspawn) "${tsnspawn[@]}" run -d --network none --name "dens-$2" busybox $payload >/dev/null ;;
    baseline) "${baseline[@]}" run -d --network none --name "base-$2" busybox $payload >/dev/null ;;
    podman) podman run -d --network=none busybox $payload >/dev/null ;;
    nspawn) systemd-run --unit "bench-nspawn-$2" -p Type=notify --collect --quiet \
      systemd-nspawn $NSPAWN_FLAGS -D /bench/rootfs $payload ;;
  esac
}

# remove_all PEER [INDEX...]: one command removing all of PEER's containers
# (tsnspawn: `rm -f` with every name; the names are known, and `tsnspawn list`
# is not used here so that a problem of list cannot hide a removal)
remove_all() {
  local peer=$1
  shift
  case "$peer" in
    tsnspawn) "${tsnspawn[@]}" rm -f "${@/#/dens-}" >/dev/null ;;
    baseline) "${baseline[@]}" rm -f "${@/#/base-}" >/dev/null ;;
    podman) podman rm -f -a -t 0 >/dev/null ;;
    nspawn) systemctl stop 'bench-nspawn-*.service' ;;
  esac
}

# remaining PEER: what is left of PEER's containers (empty = clean)
remaining() {
  case "$1" in
    tsnspawn | baseline) "${tsnspawn[@]}" list -a -q 2>&1; ls -A /var/lib/tsnspawn/containers 2>/dev/null
      systemctl list-units --all --plain --no-legend 'tsnspawn-*.service' ;;
    podman) podman ps -a -q; systemctl list-units --all --plain --no-legend 'libpod-*' ;;
    nspawn) systemctl list-units --all --plain --no-legend 'bench-nspawn-*' ;;
  esac
}

status=0
for peer in $peers; do
  echo "== $peer"
  # warm-up: one container started and removed
  start_one "$peer" warmup
  remove_all "$peer" warmup
  sleep 1
  "${probe[@]}" snapshot /bench/before.json
  t0=$(now)
  for i in $(seq -w 1 "$count"); do
    start_one "$peer" "$i"
  done
  elapsed=$(seconds_since "$t0")
  sleep 2
  "${probe[@]}" report /bench/before.json "$peer" "$count" "$payload" "$elapsed" "$results" || {
    echo "  FAILED: not every container runs its payload"; status=1; }
  if [ "$peer" = tsnspawn ]; then
    echo "  processes in each container's unit cgroup:"
    mapfile -t units < <(names "tsnspawn-dens-" | sed 's/$/.service/')
    "${probe[@]}" units "${units[@]}" || { echo "  FAILED: a tsnspawn unit holds more than its payload"; status=1; }
    # informational: does `tsnspawn list` cope with this many containers?
    if listed=$("${tsnspawn[@]}" list -a -q 2>&1); then
      echo "  tsnspawn list -a -q: $(echo "$listed" | grep -c .) containers"
    else
      echo "  note: tsnspawn list -a -q failed with $count containers: $listed"
    fi
  fi
  t0=$(now)
  remove_all "$peer" $(seq -w 1 "$count") || { echo "  FAILED: removing $peer's containers"; status=1; }
  removed=$(seconds_since "$t0")
  "${probe[@]}" removed "$results" "$peer" "$removed"
  echo "  removed all in $(printf %.2f "$removed") s"
  sleep 1
  left=$(remaining "$peer")
  if [ -n "$left" ]; then
    echo "  FAILED: left behind ($(echo "$left" | wc -l) lines, first 10):"
    echo "$left" | head -10 | sed 's/^/    /'
    status=1
  fi
  echo
done

echo "== leftovers"
bench_check_leftovers "$mounts_before" || status=1
echo

echo "== summary (for the README)"
echo
echo "### $(bench_summary_title "Density: $count idle containers per peer, started one after another (bench/density.sh)")"
echo
"${probe[@]}" table "$results"
exit "$status"
