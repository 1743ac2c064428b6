#!/usr/bin/env bash
# bench/build.sh — `tsnspawn build` against `buildah build --layers` and
# `podman build --layers`, side by side in one run: a cold multi-stage build,
# the rebuild with nothing changed, and the rebuild after one source file
# changed; medians, ratios, and which steps each tool ran again.
#
#   bash bench/build.sh (as root)                 (BENCH_RUNS=5 by default)
#
# Runs inside ONE throwaway systemd host (bench/in_testhost.ts): every store
# (tsnspawn's, and the containers/storage buildah and podman share) and the
# build context live on the host's base tmpfs. All three tools start from the
# same busybox image (examples/busybox-rootfs.sh, imported by tsnspawn, saved
# as an OCI archive, copied into containers/storage by skopeo).
#
# The Containerfile (bench/build/Containerfile): a stage generating 2,000
# small files, a stage COPYing a 64 MiB file, and a final stage with RUN
# steps, COPY --from both stages and a COPY of 20 source files.
#   cold       every tool's build cache emptied first (the base image kept)
#   no-change  the same build again
#   one-file   the same build after one source file changed
# RUN steps use each tool's default network (tsnspawn and podman: a bridge;
# buildah: its default). buildah builds stages one at a time unless --jobs;
# BENCH_BUILDAH_JOBS (default 1, its default) is passed as --jobs.
# Needs ./setup (skopeo, buildah) and bench/setup.sh (podman).
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/build.sh: must run as root" >&2; exit 1; fi
  for tool in podman buildah skopeo; do
    command -v "$tool" >/dev/null || {
      echo "bench/build.sh: $tool missing: run ./setup and bench/setup.sh" >&2; exit 1; }
  done
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/build.sh" "$@"
fi

. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-5}
jobs=${BENCH_BUILDAH_JOBS:-1}
bench_find_tsnspawn
bench_quiet_podman_units
work=/bench/build
rm -rf "$work"; mkdir -p "$work"
mounts_before=$(wc -l </proc/self/mountinfo)
mkdir -p /etc/containers
printf 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n' >/etc/containers/registries.conf

echo "== tsnspawn benchmark: build"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools:   $("${tsnspawn[@]}" version | head -1), $(buildah --version), $(podman --version), $(crun --version | head -1)"
echo

# --- the base image, the same in both stores ----------------------------------
sh "$repo/examples/busybox-rootfs.sh" "$work/busybox.tar"
"${tsnspawn[@]}" import "$work/busybox.tar" localhost/busybox:latest >/dev/null
"${tsnspawn[@]}" save -o "$work/busybox-oci.tar" localhost/busybox:latest
load_base_containers() {
  skopeo copy --quiet "oci-archive:$work/busybox-oci.tar" containers-storage:localhost/busybox:latest \
    2>>"$work/skopeo.log"
}
load_base_containers

# --- the context ---------------------------------------------------------------
ctx="$work/ctx"
mkdir -p "$ctx/src"
head -c 64M /dev/urandom >"$ctx/big.bin"
for i in $(seq 20); do
  printf '/* source %d */\nint f%d(void) { return %d; }\n' "$i" "$i" "$i" >"$ctx/src/f$i.c"
done
cat >"$ctx/Containerfile" <<'EOF'
FROM localhost/busybox AS files
RUN mkdir -p /gen && cd /gen && i=0 && while [ $i -lt 2000 ]; do echo "file $i" > f$i; i=$((i+1)); done

FROM localhost/busybox AS data
COPY big.bin /data/big.bin

FROM localhost/busybox
RUN mkdir -p /app && echo "tools" > /etc/tools
COPY --from=files /gen /srv/gen
COPY --from=data /data /srv/data
COPY src/ /app/src/
RUN cat /app/src/*.c | wc -l > /app/lines
RUN ls /srv/gen | wc -l > /app/count
CMD ["sh"]
EOF
echo "context: $(du -sh "$ctx" | cut -f1) ($(find "$ctx" -type f | wc -l) files); Containerfile: 3 stages, $(grep -cE '^(RUN|COPY)' "$ctx/Containerfile") RUN/COPY steps"
echo

now_ns() { date +%s%N; }
# timed OUT CMD...: runs CMD with its output in OUT, prints elapsed milliseconds.
timed() {
  local out=$1 t0 t1
  shift
  t0=$(now_ns)
  "$@" >"$out" 2>&1 || { echo "bench/build.sh: failed: $*" >&2; cat "$out" >&2; exit 1; }
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000000 ))
}
# ran OUT: the steps a build ran (not from its cache), e.g. "[3/3] STEP 5/8".
ran() {
  awk 'match($0, /^(\[[0-9]+\/[0-9]+\] )?STEP [0-9]+\/[0-9]+/) { step = substr($0, RSTART, RLENGTH); next }
       /^--> Using cache/ { step = ""; next }
       /^--> [0-9a-f]+$/ && step != "" { printf "%s%s", sep, step; sep = ", "; step = "" }
       /COMMIT/ { exit }' "$1"
}

tsn_reset() { "${tsnspawn[@]}" rmi -f localhost/bench-build >/dev/null 2>&1 || true; "${tsnspawn[@]}" image prune >/dev/null; }
tsn_build() { "${tsnspawn[@]}" build -t localhost/bench-build "$ctx"; }
buildah_reset() { buildah rmi -a -f >/dev/null 2>&1 || true; load_base_containers; }
buildah_build() { buildah build --layers --jobs "$jobs" -t localhost/bench-build "$ctx"; }
podman_reset() { podman rmi -a -f >/dev/null 2>&1 || true; load_base_containers; }
podman_build() { podman build --layers -t localhost/bench-build "$ctx"; }

cases=(tsnspawn buildah podman)
declare -A cold same one steps_one
for c in "${cases[@]}"; do cold[$c]=""; same[$c]=""; one[$c]=""; done
echo "== timing ($runs runs each, round-robin; ms)"
for run in $(seq "$runs"); do
  for c in "${cases[@]}"; do
    reset=${c}_reset; build=${c}_build
    case $c in tsnspawn) reset=tsn_reset; build=tsn_build ;; esac
    $reset; sync
    cold[$c]+="$(timed "$work/$c-cold.out" $build) "
    same[$c]+="$(timed "$work/$c-same.out" $build) "
    echo "/* changed in run $run */" >>"$ctx/src/f7.c"
    one[$c]+="$(timed "$work/$c-one.out" $build) "
    steps_one[$c]=$(ran "$work/$c-one.out")
    if [ -n "$(ran "$work/$c-same.out")" ]; then
      echo "  $c: the no-change rebuild ran steps: $(ran "$work/$c-same.out")" >&2
    fi
  done
  last() { local words=($1); echo "${words[-1]}"; }
  echo "  run $run: cold $(last "${cold[tsnspawn]}")/$(last "${cold[buildah]}")/$(last "${cold[podman]}")" \
    "no-change $(last "${same[tsnspawn]}")/$(last "${same[buildah]}")/$(last "${same[podman]}")" \
    "one-file $(last "${one[tsnspawn]}")/$(last "${one[buildah]}")/$(last "${one[podman]}") (tsnspawn/buildah/podman)"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
echo
printf '%-10s %10s %14s %14s   %s\n' case "cold ms" "no-change ms" "one-file ms" "steps the one-file rebuild ran"
for c in "${cases[@]}"; do
  printf '%-10s %10s %14s %14s   %s\n' "$c" "$(echo "${cold[$c]}" | median)" \
    "$(echo "${same[$c]}" | median)" "$(echo "${one[$c]}" | median)" "${steps_one[$c]}"
done
tc=$(echo "${cold[tsnspawn]}" | median); bc=$(echo "${cold[buildah]}" | median); pc=$(echo "${cold[podman]}" | median)
ts=$(echo "${same[tsnspawn]}" | median); bs=$(echo "${same[buildah]}" | median); ps=$(echo "${same[podman]}" | median)
to=$(echo "${one[tsnspawn]}" | median); bo=$(echo "${one[buildah]}" | median); po=$(echo "${one[podman]}" | median)
echo
echo "cold:      buildah/tsnspawn $(ratio "$bc" "$tc") (target >= 1.00x), podman/tsnspawn $(ratio "$pc" "$tc")"
echo "no-change: tsnspawn $ts ms (target < 500 ms); buildah/tsnspawn $(ratio "$bs" "$ts") (target >= 3x), podman/tsnspawn $(ratio "$ps" "$ts")"
echo "one-file:  buildah/tsnspawn $(ratio "$bo" "$to"), podman/tsnspawn $(ratio "$po" "$to")"
echo "one-file steps ran again (target: only those from COPY src/ on, [3/3] STEP 5/8 to 8/8): tsnspawn ${steps_one[tsnspawn]}"
echo
echo "== leftovers"
"${tsnspawn[@]}" rmi -f localhost/bench-build >/dev/null
bench_check_leftovers "$mounts_before" || true
