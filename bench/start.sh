#!/usr/bin/env bash
# bench/start.sh — start-to-exit latency of a container running /bin/true,
# tsnspawn side by side with its peers, reported as ratios.
#
#   bash bench/start.sh (as root)            (BENCH_RUNS=30 BENCH_WARMUP=3 by default)
#   BENCH_BASELINE=/path/to/other/checkout bash bench/start.sh
#       adds the case "baseline": another checkout's tsnspawn (e.g. the commit
#       before a change, in a git worktree with its own node_modules), to
#       measure what a change costs in the same run.
#
# Everything runs inside ONE throwaway systemd host (tests/testhost.ts through
# bench/in_testhost.ts): the machine's own systemd as PID 1 of fresh
# namespaces. All peers use the same busybox rootfs (examples/busybox-rootfs.sh)
# on the same tmpfs (the host's base tmpfs, bound at /bench,
# /var/lib/tsnspawn and /var/lib/containers). The cases, timed round-robin
# (one run of each per round) by bench/timeit.ts, from spawn to exit:
#
#   floor     systemd-run --wait --collect --quiet /bin/true
#             a transient unit that runs /bin/true: what any unit-based
#             container pays before doing anything.
#   tsnspawn  tsnspawn run --rm --network none busybox /bin/true
#             attached --rm: the CLI spawns stage two itself and hands it to
#             systemd as a scope (src/runtime/attached.ts), waits for the
#             command and removes the container.
#             --network none (loopback only) like podman's --network=none; the
#             default bridge network is measured by bench/start_bridge.sh.
#   crun      systemd-run --wait --collect --quiet crun --cgroup-manager=disabled
#               run --bundle /bench/bundle bench-crun
#             an OCI bundle (crun spec; terminal off, args /bin/true, root =
#             the rootfs, read-only) inside a unit. --cgroup-manager=disabled
#             keeps the container in the unit's cgroup, as tsnspawn does (the
#             default cgroupfs manager would create /bench-crun at the root of
#             every hierarchy, outside the unit).
#   nspawn    systemd-run --wait --collect --quiet systemd-nspawn -q --register=no
#               --keep-unit --volatile=overlay --resolv-conf=off --timezone=off
#               --link-journal=no -D /bench/rootfs /bin/true
#             -q: no banner; --register=no: no machined registration (tsnspawn
#             registers with machined when it is installed, as it is in the
#             test host: that cost is tsnspawn's own); --keep-unit: stay in the
#             unit's cgroup instead of creating a scope of its own;
#             --volatile=overlay: a tmpfs overlay over the rootfs, like
#             tsnspawn's writable overlay root (and it keeps the shared rootfs
#             untouched); --resolv-conf/--timezone=off, --link-journal=no: do
#             not copy or bind host files into the rootfs.
#   podman    podman run --rm --network=none busybox /bin/true
#             the tarball imported with `podman import`; storage driver
#             overlay with the graph root /var/lib/containers bound from the
#             tmpfs (the host's own /var/lib/containers would be on its overlay
#             root, and overlayfs cannot use an overlay as upper dir);
#             cgroup manager systemd, OCI runtime crun, conmon. podman itself
#             is not started in a unit: it creates its own scope.
#
# Not timed assertions: the ratios are printed (targets: tsnspawn <= 1.0x
# podman as the first bar and <= 0.75x as the goal (issue 15; the one
# printed), <= 1.0x systemd-nspawn in a unit). Nothing is left behind: the test
# host (with its tmpfs, units, containers, mounts and podman storage) is torn
# down; inside, every peer's leftovers are checked before that.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/start.sh: must run as root" >&2; exit 1; fi
  for tool in podman crun systemd-nspawn jq; do
    command -v "$tool" >/dev/null || { echo "bench/start.sh: $tool missing: run bench/setup.sh" >&2; exit 1; }
  done
  [ -x "$deno" ] || { echo "bench/start.sh: $deno missing: run ./setup" >&2; exit 1; }
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/start.sh" "$@"
fi

# ---------------------------------------------------------------- inside the test host
. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}

bench_header "start latency"
bench_prepare          # rootfs, OCI bundle, images (bench_header set $tsnspawn/$tsnspawn_cmd)

floor="systemd-run --wait --collect --quiet /bin/true"
tsn="$tsnspawn_cmd run --rm --network none busybox /bin/true"
crun_cmd="systemd-run --wait --collect --quiet crun --cgroup-manager=disabled run --bundle /bench/bundle bench-crun"
nspawn="systemd-run --wait --collect --quiet systemd-nspawn $NSPAWN_FLAGS -D /bench/rootfs /bin/true"
podman_cmd="podman run --rm --network=none busybox /bin/true"

# BENCH_CASES selects cases (default: all), e.g. BENCH_CASES="floor crun" while
# tsnspawn is broken; the ratios need tsnspawn.
declare -A cmd=([floor]=$floor [tsnspawn]=$tsn [crun]=$crun_cmd [nspawn]=$nspawn [podman]=$podman_cmd)
# BENCH_BASELINE=/other/checkout adds its tsnspawn as the case "baseline".
baseline=$(bench_baseline_cmd)
[ -z "$baseline" ] || cmd[baseline]="$baseline run --rm --network none busybox /bin/true"
cases=()
echo "== commands"
for label in ${BENCH_CASES:-floor tsnspawn crun nspawn podman ${baseline:+baseline}}; do
  [ -n "${cmd[$label]:-}" ] || { echo "bench/start.sh: unknown case $label" >&2; exit 2; }
  echo "  $label: ${cmd[$label]}"
  cases+=("$label=${cmd[$label]}")
done
echo
ratio_opts=()
if [[ " ${cases[*]%%=*} " == *" tsnspawn "* ]]; then
  ratio_opts+=(--ref tsnspawn)
  [[ " ${cases[*]%%=*} " == *" podman "* ]] && ratio_opts+=(--target podman=0.75)
  [[ " ${cases[*]%%=*} " == *" nspawn "* ]] && ratio_opts+=(--target nspawn=1.0)
fi
[[ " ${cases[*]%%=*} " == *" floor "* ]] && ratio_opts+=(--floor floor)

mounts_before=$(wc -l </proc/self/mountinfo)
echo "== timing ($runs runs + $warmup warm-up rounds, round-robin)"
"$deno" run -A --quiet "$repo/bench/timeit.ts" --runs "$runs" --warmup "$warmup" \
  --json /bench/start.json --markdown /bench/start.md "${ratio_opts[@]}" -- "${cases[@]}"
echo

echo "== leftovers"
status=0
bench_check_leftovers "$mounts_before" || status=1
echo

echo "== summary (for the README)"
echo
echo "### $(bench_summary_title "Start latency of /bin/true (bench/start.sh, N=$runs)")"
echo
cat /bench/start.md
exit "$status"
