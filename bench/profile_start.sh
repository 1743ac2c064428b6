#!/usr/bin/env bash
# bench/profile_start.sh — where the time of `tsnspawn run --rm --network none
# busybox /bin/true` goes, inside a throwaway systemd host. Changes nothing in src/.
#
#   bash bench/profile_start.sh (as root)     (BENCH_PROFILE_RUNS=20, BENCH_RUNS=10;
#                                              BENCH_PROFILE_CHECKOUT=DIR: another checkout)
#
# 1. Component costs (bench/timeit.ts, round-robin): a bare Deno start, each
#    process's chunks of the bundle (dist/bundle, tools/bundle.ts) imported
#    with nothing run (the CLI; the CLI with `run` and the D-Bus client; the
#    shim, stage two, cleanup), node:buffer alone, `tsnspawn version`,
#    `journalctl --sync`, and the whole `run --rm` and `run -d` + `rm -f`.
# 2. A timeline from the CLI's exec to its exit, each step the median of
#    BENCH_PROFILE_RUNS runs (bench/profile_report.ts): the marks the CLI, the
#    shim and stage two write themselves (src/trace.ts, $TSNSPAWN_TRACE; the
#    very program users run, nothing swapped in), systemd's messages about the
#    unit, and the kernel's fork/execve/exit of every process (perf's sched
#    tracepoints: systemd forking the shim, the command's execve and exit,
#    ExecStop=, ExecStopPost=, journalctl). Printed as a table, also in
#    Markdown for the README.
# 3. With BENCH_PROFILE_DEBUG=1, one more run with systemd's debug log beside
#    the marks.
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
profile_runs=${BENCH_PROFILE_RUNS:-20}
bench_header "profile of tsnspawn run --rm busybox /bin/true"
bench_prepare
# BENCH_PROFILE_CHECKOUT=DIR profiles another checkout's tsnspawn (one with
# src/trace.ts: the timeline of the code before a change)
if [ -n "${BENCH_PROFILE_CHECKOUT:-}" ]; then
  tsnspawn_cmd=$(bench_checkout_cmd "$BENCH_PROFILE_CHECKOUT")
  read -r -a tsnspawn <<<"$tsnspawn_cmd"
  echo "profiling $tsnspawn_cmd"
fi

# ---------------------------------------------------------------- components
# (BENCH_RUNS=0 skips them)
if [ "$runs" -gt 0 ]; then
bundle=$repo/dist/bundle
chunk() { sed -n "/case \"$1\":/{n;s|.*import(\"\./\([^\"]*\)\").*|\1|p}" "$bundle/mod.js"; }
echo 'export {};' >/bench/empty.js
# each process's own chunks, imported with nothing run (the bundle, as users run it)
main=$(sed -n 's|.*import("\./\(main-[^"]*\)").*|\1|p' "$bundle/mod.js")
echo "import \"$bundle/$main\";" >/bench/load_cli.js
for f in run bus; do
  echo "import \"$bundle/$(cd "$bundle" && ls $f-*.js)\";" >>/bench/load_cli_run.js
done
cat /bench/load_cli.js >>/bench/load_cli_run.js
for mode in shim stage2 cleanup; do echo "import \"$bundle/$(chunk "__$mode")\";" >"/bench/load_$mode.js"; done
echo 'import "node:buffer";' >/bench/load_node_buffer.js
d="$deno run -A --quiet --no-lock --no-config"
echo "== component costs"
"$deno" run -A --quiet "$repo/bench/timeit.ts" --runs "$runs" --warmup 2 --floor deno-empty -- \
  "deno-empty=$d /bench/empty.js" \
  "load-cli=$d /bench/load_cli.js" \
  "load-cli-run-bus=$d /bench/load_cli_run.js" \
  "load-shim=$d /bench/load_shim.js" \
  "load-stage2=$d /bench/load_stage2.js" \
  "load-cleanup=$d /bench/load_cleanup.js" \
  "load-node-buffer=$d /bench/load_node_buffer.js" \
  "tsnspawn-version=$tsnspawn_cmd version" \
  "journalctl-sync=journalctl --sync" \
  "run--rm=$tsnspawn_cmd run --rm --network none busybox /bin/true" \
  "run-d=$tsnspawn_cmd run -d --network none --name prof-d busybox sleep 1000" \
  "rm-f=$tsnspawn_cmd rm -f prof-d"
echo
fi

# ---------------------------------------------------------------- timeline
echo "== timeline ($profile_runs profiled runs of run --rm, after 2 unprofiled)"
rm -rf /bench/prof && mkdir -p /bench/prof
# The processes' own marks (src/trace.ts): the CLI from our environment, the
# units' processes from the manager's.
export TSNSPAWN_TRACE=/bench/trace.log
systemctl set-environment TSNSPAWN_TRACE="$TSNSPAWN_TRACE"
# The kernel's view of every process (fork, execve, exit), system-wide, on
# CLOCK_MONOTONIC; perf.offset turns it into wall-clock ms like the marks.
perf_pid=
if command -v perf >/dev/null; then
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
  perf record -q -k mono -a -o /bench/prof/perf.data \
    -e sched:sched_process_fork -e sched:sched_process_exec -e sched:sched_process_exit 2>/dev/null &
  perf_pid=$!
  sleep 1
fi
# (bash's own clock: no awk to fork around the CLI)
now_ms() { local us=${EPOCHREALTIME/./}; printf '%d.%03d' $((us / 1000)) $((us % 1000)); }
for i in w1 w2 $(seq 1 "$profile_runs"); do
  : >"$TSNSPAWN_TRACE"
  echo "$(now_ms) 0 bash cli-spawn" >>"$TSNSPAWN_TRACE"
  "${tsnspawn[@]}" run --rm --network none --name "prof-$i" busybox /bin/true
  echo "$(now_ms) 0 bash cli-exited" >>"$TSNSPAWN_TRACE"
  case $i in w*) continue ;; esac
  cp "$TSNSPAWN_TRACE" "/bench/prof/run-$i.trace"
  journalctl --sync
  journalctl -o json --no-pager _PID=1 UNIT="tsnspawn-prof-$i.service" >"/bench/prof/run-$i.journal"
  # a pause between runs, so one run's stragglers do not overlap the next
  sleep 0.2
done
systemctl unset-environment TSNSPAWN_TRACE
unset TSNSPAWN_TRACE
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  python3 -c 'import time; print(time.time() * 1000 - time.clock_gettime(time.CLOCK_MONOTONIC) * 1000)' \
    >/bench/prof/perf.offset
  perf script -i /bench/prof/perf.data -F comm,pid,tid,time,event,trace >/bench/prof/perf.txt 2>/dev/null
fi
"$deno" run -A --quiet "$repo/bench/profile_report.ts" /bench/prof --markdown /bench/prof/timeline.md
# BENCH_PROFILE_KEEP=DIR (a path outside the test host's /tmp) keeps the raw data
if [ -n "${BENCH_PROFILE_KEEP:-}" ]; then mkdir -p "$BENCH_PROFILE_KEEP" && cp -r /bench/prof/. "$BENCH_PROFILE_KEEP/"; fi
echo
echo "== timeline (for the README)"
cat /bench/prof/timeline.md
echo
[ "${BENCH_PROFILE_DEBUG:-}" = 1 ] || exit 0

# one more run with systemd's debug log, to see what PID 1 does in between
echo "== systemd's debug log of one more run (journalctl -o short-monotonic _PID=1)"
export TSNSPAWN_TRACE=/bench/trace.log
systemd-analyze log-level debug
since=$(awk '{ print $1 }' /proc/uptime)
: >"$TSNSPAWN_TRACE"
# (with systemd at debug level, its forked child's messages carry the unit's
# LogExtraFields and so show up as the container's output: dropped here)
"${tsnspawn[@]}" run --rm --network none --name prof-debug busybox /bin/true >/dev/null
systemd-analyze log-level info
journalctl --sync
# the marks on the same (monotonic) clock, for reading the log side by side
mono_now=$(awk '{ print $1 }' /proc/uptime); real_now=$EPOCHREALTIME
awk -v m="$mono_now" -v r="$real_now" '{ printf "[%12.6f] %s %s %s\n", $1 / 1000 - r + m, $3, $2, $4 }' \
  "$TSNSPAWN_TRACE" >/bench/prof-debug.events
# (awk, not head: a closed pipe would kill the script under pipefail)
journalctl -o short-monotonic --no-pager _PID=1 --since "-1min" |
  awk -v s="$since" '/^\[/ { t = substr($0, 2, index($0, "]") - 2) + 0; if (t >= s) print }' |
  grep -vE 'sd-bus|Bus (bus-api|private)|D-Bus|Cannot add dependency job' |
  cut -c1-200 | awk 'NR <= 200' >/bench/prof-debug.journal || true
sort -m /bench/prof-debug.events /bench/prof-debug.journal | sed 's/^/  /'
unset TSNSPAWN_TRACE
