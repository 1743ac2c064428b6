#!/usr/bin/env bash
# bench/api.sh — `docker run --rm IMAGE /bin/true` through tsnspawn's Docker
# API socket, warm and cold, against tsnspawn's own CLI and podman, side by
# side in one run, reported as ratios.
#
#   bash bench/api.sh (as root)            (BENCH_RUNS=30 BENCH_WARMUP=3 by default)
#
# Everything runs inside ONE throwaway systemd host (tests/testhost.ts through
# bench/in_testhost.ts), on one tmpfs, with the busybox image in both
# stores (bench/lib.sh bench_prepare). The API's units are the repo's
# (units/tsnspawn-api.socket and .service, ExecStart pointed at this
# checkout's bundle), installed twice on two sockets. The cases, timed
# round-robin by bench/timeit.ts, from spawn to exit:
#
#   api-warm  docker -H unix:///run/tsnspawn/docker.sock run --rm --network none busybox /bin/true
#             the service already up (--idle-exit 0): its D-Bus connection,
#             modules and systemd watch are warm; the docker CLI's own start
#             and its six calls (ping, create, attach, wait, start, and the
#             end of the streams) are in the time, as they are for any docker
#             user.
#   api-cold  the same on unix:///run/tsnspawn/docker-cold.sock, whose service
#             is stopped (untimed) before every run: systemd starts it on the
#             first connection (socket activation), Deno loads the API, the
#             service connects to D-Bus, then serves.
#   tsnspawn  tsnspawn run --rm --network none busybox /bin/true (the CLI, attached)
#   podman    podman run --rm --network=none busybox /bin/true
#
# Not timed assertions: the ratios are printed (target: api-warm <= podman,
# i.e. podman/api-warm >= 1.0, printed as api-warm's ratio to podman).
# Nothing is left behind: the test host is torn down; inside, every peer's
# leftovers are checked before that.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/api.sh: must run as root" >&2; exit 1; fi
  for tool in podman docker jq crun; do
    command -v "$tool" >/dev/null || { echo "bench/api.sh: $tool missing: run ./setup and bench/setup.sh" >&2; exit 1; }
  done
  [ -x "$deno" ] || { echo "bench/api.sh: $deno missing: run ./setup" >&2; exit 1; }
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/api.sh" "$@"
fi

# ---------------------------------------------------------------- inside the test host
. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}

bench_header "the Docker API: docker run --rm through tsnspawn's socket"
printf '  %-16s %s\n' "docker CLI" "$(docker --version)"
echo
bench_prepare

# The units, as ./setup installs them, running this checkout's bundle; a
# second pair on another socket for the cold case.
echo "== the API's units"
install_api_units() { # NAME SOCKET
  local name=$1 socket=$2
  sed "s|^ListenStream=.*|ListenStream=$socket|" "$repo/units/tsnspawn-api.socket" \
    >"/etc/systemd/system/$name.socket"
  sed -e "s|^ExecStart=.*|ExecStart=$tsnspawn_cmd api --idle-exit 0|" \
    -e "s|tsnspawn-api.socket|$name.socket|g" "$repo/units/tsnspawn-api.service" \
    >"/etc/systemd/system/$name.service"
}
install_api_units tsnspawn-api /run/tsnspawn/docker.sock
install_api_units tsnspawn-api-cold /run/tsnspawn/docker-cold.sock
systemctl daemon-reload
systemctl start tsnspawn-api.socket tsnspawn-api-cold.socket
# The docker CLI (and podman, which reads it too) with an empty configuration.
mkdir -p /bench/docker-config && echo "{}" >/bench/docker-config/config.json
export DOCKER_CONFIG=/bench/docker-config
docker -H unix:///run/tsnspawn/docker.sock version --format '  warm: {{.Server.Platform.Name}} {{.Server.Version}}, API {{.Server.APIVersion}}'
echo "  cold: the service is stopped before each run (systemctl stop tsnspawn-api-cold.service)"
echo

warm="docker -H unix:///run/tsnspawn/docker.sock run --rm --network none busybox /bin/true"
cold="docker -H unix:///run/tsnspawn/docker-cold.sock run --rm --network none busybox /bin/true"
tsn="$tsnspawn_cmd run --rm --network none busybox /bin/true"
podman_cmd="podman run --rm --network=none busybox /bin/true"
echo "== commands"
echo "  api-warm: $warm"
echo "  api-cold: $cold"
echo "  tsnspawn: $tsn"
echo "  podman:   $podman_cmd"
echo

mounts_before=$(wc -l </proc/self/mountinfo)
echo "== timing ($runs runs + $warmup warm-up rounds, round-robin)"
"$deno" run -A --quiet "$repo/bench/timeit.ts" --runs "$runs" --warmup "$warmup" \
  --json /bench/api.json --markdown /bench/api.md --ref api-warm --target podman=1.0 \
  --before "api-cold=systemctl stop tsnspawn-api-cold.service" \
  -- "api-warm=$warm" "api-cold=$cold" "tsnspawn=$tsn" "podman=$podman_cmd"
echo

echo "== leftovers"
systemctl stop tsnspawn-api.service tsnspawn-api-cold.service tsnspawn-api.socket \
  tsnspawn-api-cold.socket
status=0
bench_check_leftovers "$mounts_before" || status=1
echo

echo "== summary (for the README)"
echo
echo "### $(bench_summary_title "docker run --rm /bin/true through the API (bench/api.sh, N=$runs)")"
echo
cat /bench/api.md
exit "$status"
