#!/usr/bin/env bash
# bench/pull.sh — cold and warm pull of a multi-layer image from a local
# registry: tsnspawn against `podman pull` and `skopeo copy` to an OCI dir,
# side by side in one run, with ratios and on-disk sizes.
#
#   bash bench/pull.sh (as root)                 (BENCH_RUNS=5 by default)
#
# Runs inside ONE throwaway systemd host (bench/in_testhost.ts), so the
# registry, every store and every temp file live on the host's base tmpfs and
# the traffic stays on the host's own loopback. The image (built with umoci,
# pushed with skopeo to Debian's docker-registry on 127.0.0.1:5000):
#   layer 1  the busybox rootfs (examples/busybox-rootfs.sh)
#   layer 2  one 64 MiB file of random bytes
#   layer 3  5,000 small files (64..1024 bytes) in 50 directories
# Cases (each run starts from an empty store for "cold"; "warm" repeats the
# pull with everything present):
#   tsnspawn  tsnspawn pull -q      (download + verify + unpack to layer dirs)
#   podman    podman pull -q --tls-verify=false   (download + unpack)
#   skopeo    skopeo copy docker://… oci:DIR       (download only, no unpack)
# Needs ./setup (docker-registry, skopeo, umoci) and bench/setup.sh (podman).
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
deno="$repo/node_modules/.bin/deno"

if [ "${BENCH_IN_TESTHOST:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench/pull.sh: must run as root" >&2; exit 1; fi
  for tool in podman skopeo umoci docker-registry; do
    command -v "$tool" >/dev/null || {
      echo "bench/pull.sh: $tool missing: run ./setup and bench/setup.sh" >&2; exit 1; }
  done
  exec "$deno" run -A --quiet "$repo/bench/in_testhost.ts" -- bash "$repo/bench/pull.sh" "$@"
fi

. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-5}
bench_find_tsnspawn
bench_quiet_podman_units
work=/bench/pull
rm -rf "$work"; mkdir -p "$work"
image=127.0.0.1:5000/bench/pull:1

echo "== tsnspawn benchmark: pull"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools:   $(podman --version), skopeo $(skopeo --version | awk '{print $3}'), docker-registry $(docker-registry --version | awk '{print $3}')"
echo

# --- registry on 127.0.0.1:5000 (the host's own network namespace) -----------
mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/storage
http:
  addr: 127.0.0.1:5000
EOF
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true; wait $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && break
  sleep 0.05
done

# --- the image: three layers built with umoci, pushed with skopeo ------------
echo "== building the image"
sh "$repo/examples/busybox-rootfs.sh" "$work/busybox.tar"
layout="$work/layout"
umoci init --layout "$layout"
umoci new --image "$layout:img"
add_layer() { # add_layer NAME COMMANDS...: unpack, change rootfs, repack
  local bundle="$work/bundle-$1"; shift
  umoci unpack --image "$layout:img" "$bundle" >/dev/null
  (cd "$bundle/rootfs" && eval "$*")
  umoci repack --image "$layout:img" "$bundle"
  rm -rf "$bundle"
}
add_layer base "tar -xf $work/busybox.tar"
add_layer random "head -c 64M /dev/urandom > random.bin"
add_layer small 'for d in $(seq 50); do mkdir -p small/$d; for f in $(seq 100); do head -c $((64 + (d * 100 + f) % 960)) /dev/urandom > small/$d/$f; done; done'
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:img" "docker://$image"
compressed=$(du -sb "$work/registry/storage" | cut -f1)
echo "image: $image, 3 layers, $(numfmt --to=iec "$compressed") in the registry"
echo

now_ns() { date +%s%N; }
# time_ms CMD...: runs CMD (output discarded), prints elapsed milliseconds.
time_ms() {
  local t0 t1
  t0=$(now_ns)
  "$@" >/dev/null 2>&1 || { echo "bench/pull.sh: failed: $*" >&2; "$@" >&2 || true; exit 1; }
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000000 ))
}

tsn_reset() { rm -rf /var/lib/tsnspawn/images /var/lib/tsnspawn/tmp; }
podman_reset() { podman rmi -a -f >/dev/null 2>&1 || true; }
skopeo_reset() { rm -rf "$work/oci-out"; }
tsn_pull() { "${tsnspawn[@]}" pull -q "$image"; }
podman_pull() { podman pull -q --tls-verify=false "$image"; }
skopeo_pull() { skopeo copy --quiet --src-tls-verify=false "docker://$image" "oci:$work/oci-out:img"; }

declare -A cold warm
for c in tsnspawn podman skopeo; do cold[$c]=""; warm[$c]=""; done
version_runs="" # `tsnspawn version`: the CLI start that a warm pull includes
echo "== timing ($runs runs each, round-robin; ms)"
for run in $(seq "$runs"); do
  tsn_reset; sync; cold[tsnspawn]+="$(time_ms tsn_pull) "; warm[tsnspawn]+="$(time_ms tsn_pull) "
  version_runs+="$(time_ms "${tsnspawn[@]}" version) "
  podman_reset; sync; cold[podman]+="$(time_ms podman_pull) "; warm[podman]+="$(time_ms podman_pull) "
  skopeo_reset; sync; cold[skopeo]+="$(time_ms skopeo_pull) "; warm[skopeo]+="$(time_ms skopeo_pull) "
  echo "  run $run: tsnspawn ${cold[tsnspawn]##* }" >/dev/null
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\n%-10s %10s %10s   %s\n' case "cold ms" "warm ms" "all cold runs"
for c in tsnspawn podman skopeo; do
  printf '%-10s %10s %10s   %s\n' "$c" "$(echo "${cold[$c]}" | median)" "$(echo "${warm[$c]}" | median)" "${cold[$c]}"
done
t=$(echo "${cold[tsnspawn]}" | median); p=$(echo "${cold[podman]}" | median); s=$(echo "${cold[skopeo]}" | median)
echo
echo "cold ratio podman/tsnspawn: $(awk -v a="$p" -v b="$t" 'BEGIN {printf "%.2fx", a / b}') (target >= 1.8x)"
echo "cold ratio skopeo/tsnspawn: $(awk -v a="$s" -v b="$t" 'BEGIN {printf "%.2fx", a / b}') (skopeo does not unpack)"
echo "warm tsnspawn: $(echo "${warm[tsnspawn]}" | median) ms (target < 50 ms, CLI start included; \`tsnspawn version\`: $(echo "$version_runs" | median) ms)"

# --- disk use after the last cold+warm run ------------------------------------
layers_size=$(du -sb /var/lib/tsnspawn/images/layers | cut -f1)
store_size=$(du -sb /var/lib/tsnspawn/images | cut -f1)
podman_size=$(du -sb /var/lib/containers/storage | cut -f1)
oci_size=$(du -sb "$work/oci-out" | cut -f1)
uncompressed=0
for f in $(find "$layout/blobs/sha256" -type f -size +100k); do
  n=$(gzip -dc "$f" 2>/dev/null | wc -c || true); uncompressed=$((uncompressed + n))
done
echo
echo "== disk use"
printf '  %-34s %s\n' "layers, uncompressed tar size" "$(numfmt --to=iec "$uncompressed") ($uncompressed)"
printf '  %-34s %s\n' "tsnspawn store (layers only)" "$(numfmt --to=iec "$layers_size") ($layers_size)"
printf '  %-34s %s\n' "tsnspawn store (all)" "$(numfmt --to=iec "$store_size") ($store_size)"
printf '  %-34s %s\n' "podman storage" "$(numfmt --to=iec "$podman_size") ($podman_size)"
printf '  %-34s %s\n' "skopeo OCI dir (compressed)" "$(numfmt --to=iec "$oci_size") ($oci_size)"
