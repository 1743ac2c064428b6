#!/usr/bin/env bash
# bench/profile_start.sh — where the time of `tsnspawn run --rm --network none
# busybox /bin/true` goes, inside a throwaway systemd host. Changes nothing in src/.
#
#   bash bench/profile_start.sh (as root)     (BENCH_PROFILE_RUNS=10, BENCH_RUNS=10)
#
# 1. Component costs (bench/timeit.ts, round-robin): a bare Deno start, the
#    module graphs of each process (CLI, shim, stage two, cleanup) imported
#    with nothing run (with --no-lock as the units run, and with the lock
#    file as the CLI runs), `tsnspawn version`, `journalctl --sync`, and the whole
#    `run --rm` and `run -d` + `rm -f`.
# 2. A timeline: the CLI and every process it causes (shim, stage two,
#    cleanup) run bench/prof_entry.ts instead of mod.ts (TSNSPAWN_ENTRY), which
#    logs timestamped events; with systemd's own messages about the unit from
#    the journal, bench/profile_report.ts prints each phase's median.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/profile_start.sh: must run as root" >&2; exit 1; fi
  command -v podman >/dev/null || { echo "bench/profile_start.sh: run bench/setup.sh first" >&2; exit 1; }
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/profile_start.sh" "$@"
fi

. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-10}
profile_runs=${BENCH_PROFILE_RUNS:-10}
bench_header "profile of tsnspawn run --rm busybox /bin/true"
bench_prepare

# ---------------------------------------------------------------- components
cfg=(--no-lock --config "$repo/deno.json")
echo 'export {};' >/bench/empty.ts
for m in cli/main shim:runtime/shim stage2:runtime/stage2 cleanup:runtime/cleanup; do
  name=${m%%:*}; path=${m#*:}
  echo "import \"$repo/src/$path.ts\";" >"/bench/load_$(basename "$name").ts"
done
mv /bench/load_main.ts /bench/load_cli.ts
# two dependencies on their own: @std/path (npm:deno-std) is in the CLI's
# graph, and the D-Bus client (src/systemd/bus.ts: the parts of dbus-next it uses)
echo 'import { join } from "@std/path"; if (!join) Deno.exit(1);' >/bench/load_std_path.ts
echo "import \"$repo/src/systemd/bus.ts\";" >/bench/load_dbus_client.ts
d="$deno run -A --quiet"
echo "== component costs"
"$deno" run -A --quiet "$repo/bench/timeit.ts" --runs "$runs" --warmup 2 --floor deno-empty -- \
  "deno-empty=$d ${cfg[*]} /bench/empty.ts" \
  "load-cli-graph=$d ${cfg[*]} /bench/load_cli.ts" \
  "load-shim-graph=$d ${cfg[*]} /bench/load_shim.ts" \
  "load-stage2-graph=$d ${cfg[*]} /bench/load_stage2.ts" \
  "load-cleanup-graph=$d ${cfg[*]} /bench/load_cleanup.ts" \
  "load-shim-graph-locked=$d --config $repo/deno.json /bench/load_shim.ts" \
  "load-cli-graph-locked=$d --config $repo/deno.json /bench/load_cli.ts" \
  "load-std-path-only=$d ${cfg[*]} /bench/load_std_path.ts" \
  "load-dbus-client=$d --config $repo/deno.json /bench/load_dbus_client.ts" \
  "tsnspawn-version=$tsnspawn_cmd version" \
  "journalctl-sync=journalctl --sync" \
  "run--rm=$tsnspawn_cmd run --rm --network none busybox /bin/true" \
  "run-d=$tsnspawn_cmd run -d --network none --name prof-d busybox sleep 1000" \
  "rm-f=$tsnspawn_cmd rm -f prof-d"
echo

# ---------------------------------------------------------------- timeline
echo "== timeline ($profile_runs profiled runs of run --rm, after 2 unprofiled)"
mkdir -p /bench/prof
export TSNSPAWN_ENTRY="$repo/bench/prof_entry.ts"
# the shim computes stage two's command line from its own environment: give
# every unit TSNSPAWN_ENTRY through the manager's environment
systemctl set-environment TSNSPAWN_ENTRY="$TSNSPAWN_ENTRY"
# like the /usr/local/bin/tsnspawn wrapper (with the lock file: the CLI's npm
# packages are resolved from it; the units run with --no-lock, src/self_exec.ts)
prof_cli=("$deno" run -A --quiet --no-prompt --config "$repo/deno.json" "$repo/bench/prof_entry.ts")
for i in w1 w2 $(seq 1 "$profile_runs"); do
  export TSNSPAWN_PROF_LOG=/bench/prof.log
  : >"$TSNSPAWN_PROF_LOG"
  echo "$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t * 1000 }') 0 bash cli-spawn" >>"$TSNSPAWN_PROF_LOG"
  "${prof_cli[@]}" run --rm --network none --name "prof-$i" busybox /bin/true
  echo "$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t * 1000 }') 0 bash cli-exited" >>"$TSNSPAWN_PROF_LOG"
  case $i in w*) continue ;; esac
  cp "$TSNSPAWN_PROF_LOG" "/bench/prof/run-$i.prof"
  journalctl --sync
  journalctl -o json --no-pager _PID=1 UNIT="tsnspawn-prof-$i.service" >"/bench/prof/run-$i.journal"
done
"$deno" run -A --quiet "$repo/bench/profile_report.ts" /bench/prof
echo

# one more run with systemd's debug log, to see what PID 1 does in between
echo "== systemd's debug log of one more run (journalctl -o short-monotonic _PID=1)"
systemd-analyze log-level debug
since=$(awk '{ print $1 }' /proc/uptime)
: >"$TSNSPAWN_PROF_LOG"
# (with systemd at debug level, its forked child's messages carry the unit's
# LogExtraFields and so show up as the container's output: dropped here)
"${prof_cli[@]}" run --rm --network none --name prof-debug busybox /bin/true >/dev/null
systemd-analyze log-level info
journalctl --sync
# the prof events on the same (monotonic) clock, for reading the log side by side
mono_now=$(awk '{ print $1 }' /proc/uptime); real_now=$EPOCHREALTIME
awk -v m="$mono_now" -v r="$real_now" '{ printf "[%12.6f] %s %s %s\n", $1 / 1000 - r + m, $3, $2, $4 }' \
  "$TSNSPAWN_PROF_LOG" >/bench/prof-debug.events
# (awk, not head: a closed pipe would kill the script under pipefail)
journalctl -o short-monotonic --no-pager _PID=1 --since "-1min" |
  awk -v s="$since" '/^\[/ { t = substr($0, 2, index($0, "]") - 2) + 0; if (t >= s) print }' |
  grep -vE 'sd-bus|Bus (bus-api|private)|D-Bus|Cannot add dependency job' |
  cut -c1-200 | awk 'NR <= 150' >/bench/prof-debug.journal || true
sort -m /bench/prof-debug.events /bench/prof-debug.journal | sed 's/^/  /'
systemctl unset-environment TSNSPAWN_ENTRY
unset TSNSPAWN_ENTRY
