#!/usr/bin/env bash
# bench/exec.sh — `exec` into a running container: latency of `exec c /bin/true`
# and the throughput of 64 MiB through the command's stdout, tsnspawn beside
# podman, reported as ratios.
#
#   bash bench/exec.sh (as root)      (BENCH_RUNS=20 BENCH_WARMUP=3 by default)
#   BENCH_BASELINE=/path/to/other/checkout bash bench/exec.sh
#       adds the same cases run by another tsnspawn checkout (say, the commit
#       before a change: git worktree add /tmp/base HEAD~1 && (cd /tmp/base &&
#       ./setup)) against the same containers, to measure what a change costs.
#
# Inside one throwaway systemd host (bench/in_testhost.ts), on one tmpfs:
#   exec            tsnspawn exec bench-exec /bin/true
#   exec-64m        tsnspawn exec bench-exec cat /data/64m   (stdout piped to the timer)
#   podman          podman exec bench-exec /bin/true
#   podman-64m      podman exec bench-exec cat /data/64m
# The containers: `sleep 3600` in the busybox image, /bench/data bound at
# /data (read-only), --network none.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/exec.sh: must run as root" >&2; exit 1; fi
  for tool in podman crun jq; do
    command -v "$tool" >/dev/null || { echo "bench/exec.sh: $tool missing: run bench/setup.sh" >&2; exit 1; }
  done
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/exec.sh" "$@"
fi

# ---------------------------------------------------------------- inside the test host
. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-20}
warmup=${BENCH_WARMUP:-3}

bench_header "exec"
bench_prepare
mkdir -p /bench/data
head -c 64M /dev/urandom >/bench/data/64m
"${tsnspawn[@]}" run -d --name bench-exec --network none -v /bench/data:/data:ro busybox sleep 3600 >/dev/null
podman run -d --name bench-exec --network=none -v /bench/data:/data:ro busybox sleep 3600 >/dev/null

cases=(
  "exec=$tsnspawn_cmd exec bench-exec /bin/true"
  "exec-64m=$tsnspawn_cmd exec bench-exec cat /data/64m"
  "podman=podman exec bench-exec /bin/true"
  "podman-64m=podman exec bench-exec cat /data/64m"
)
baseline=$(bench_baseline_cmd)
if [ -n "$baseline" ]; then
  cases+=("baseline=$baseline exec bench-exec /bin/true" "baseline-64m=$baseline exec bench-exec cat /data/64m")
fi
echo "== commands"
printf '  %s\n' "${cases[@]}"
echo

mounts_before=$(wc -l </proc/self/mountinfo)
echo "== timing ($runs runs + $warmup warm-up rounds, round-robin)"
"$deno" run -A --quiet "$repo/bench/timeit.ts" --runs "$runs" --warmup "$warmup" \
  --json /bench/exec.json --markdown /bench/exec.md --ref exec -- "${cases[@]}"
echo
"${tsnspawn[@]}" rm -f bench-exec >/dev/null
podman rm -f -t 0 bench-exec >/dev/null

echo "== leftovers"
status=0
bench_check_leftovers "$mounts_before" || status=1
echo
echo "== summary (for the README)"
echo
echo "### $(bench_summary_title "exec (bench/exec.sh, N=$runs)")"
echo
cat /bench/exec.md
exit "$status"
