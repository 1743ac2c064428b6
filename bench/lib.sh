# bench/lib.sh — shared parts of bench/start.sh and bench/density.sh, sourced
# INSIDE the throwaway test host (after bench/in_testhost.ts booted it).
# Expects $repo and $deno to be set.

# systemd-nspawn flags used by every benchmark (explained in bench/start.sh):
# quiet, no machined, stay in the unit's cgroup, tmpfs overlay over the
# rootfs, touch nothing of the rootfs.
NSPAWN_FLAGS="-q --register=no --keep-unit --volatile=overlay --resolv-conf=off --timezone=off --link-journal=no"

bench_versions() {
  printf '  %-16s %s\n' "tsnspawn" "$("${tsnspawn[@]}" version 2>/dev/null | head -1 || echo '?') (checkout $repo)"
  printf '  %-16s %s\n' "deno" "$("$deno" --version | head -1)"
  printf '  %-16s %s\n' "systemd" "$(systemctl --version | head -1)"
  printf '  %-16s %s\n' "systemd-nspawn" "$(systemd-nspawn --version | head -1)"
  printf '  %-16s %s\n' "crun" "$(crun --version | head -1)"
  printf '  %-16s %s\n' "podman" "$(podman --version)"
  printf '  %-16s %s\n' "conmon" "$(conmon --version 2>/dev/null | head -1)"
}

# The tsnspawn command of checkout $1, as its ./setup installs it: the bundle
# (tools/bundle.ts, rebuilt here if its sources changed), or, for a checkout
# from before the bundle, its mod.ts.
bench_checkout_cmd() {
  local dir=$1
  if [ -f "$dir/tools/bundle.ts" ]; then
    "$dir/node_modules/.bin/deno" run -A --quiet "$dir/tools/bundle.ts" --if-stale >&2
    echo "$dir/node_modules/.bin/deno run -A --quiet --no-prompt --no-lock --no-config --unstable-lazy-dynamic-imports $dir/dist/bundle/mod.js"
  else
    echo "$dir/node_modules/.bin/deno run -A --quiet --no-prompt $dir/mod.ts"
  fi
}

# Sets $tsnspawn (array) and $tsnspawn_cmd (the same as one space-separated
# string): the command ./setup's /usr/local/bin/tsnspawn runs for this
# checkout (without the wrapper's sh).
bench_find_tsnspawn() {
  tsnspawn_cmd=$(bench_checkout_cmd "$repo")
  read -r -a tsnspawn <<<"$tsnspawn_cmd"
  for word in "${tsnspawn[@]}"; do
    case "$word" in *" "*) echo "bench: paths with spaces are not supported" >&2; exit 1 ;; esac
  done
}

# The CLI of another tsnspawn checkout ($BENCH_BASELINE, set up with its own
# ./setup), to time a change against the code before it in the same run;
# prints nothing when unset.
bench_baseline_cmd() {
  [ -n "${BENCH_BASELINE:-}" ] || return 0
  [ -x "$BENCH_BASELINE/node_modules/.bin/deno" ] || {
    echo "bench: BENCH_BASELINE=$BENCH_BASELINE has no node_modules/.bin/deno: run its ./setup" >&2; exit 1
  }
  bench_checkout_cmd "$BENCH_BASELINE"
}

# What machine, when, which versions.
bench_header() {
  bench_find_tsnspawn
  local what=$1
  echo "== tsnspawn benchmark: $what"
  echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"
  echo "kernel:  $(uname -r); cgroups: $(stat -f -c %T /sys/fs/cgroup | sed 's/tmpfs/v1 (hybrid)/;s/cgroup2fs/v2/')"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the machine may be shared)"
  echo "host:    throwaway systemd host ${BENCH_HOST_NAME:-?} (tests/testhost.ts); all storage on one tmpfs"
  echo "versions:"
  bench_versions
  echo
}

bench_summary_title() {
  echo "$1 — $(date -u +%Y-%m-%d), $(nproc) CPUs, Linux $(uname -r), $(systemctl --version | head -1 | cut -d' ' -f1-2), $(podman --version), $(crun --version | head -1)"
}

# Units installed with podman that the test host starts at boot
# (default.target.wants): they are not part of what is measured.
bench_quiet_podman_units() {
  systemctl stop podman.socket podman.service podman-auto-update.service \
    podman-restart.service >/dev/null 2>&1 || true
}

# Build the busybox rootfs once and give it to every peer:
#   /bench/busybox.tar      the tarball (examples/busybox-rootfs.sh)
#   /bench/rootfs           extracted (crun's bundle root, systemd-nspawn -D)
#   /bench/bundle           OCI bundle for crun (config.json only; root.path=/bench/rootfs)
#   image busybox           in tsnspawn's store (tsnspawn import)
#   image busybox           in podman's store (podman import; localhost/busybox:latest)
bench_prepare() {
  bench_quiet_podman_units
  echo "== preparing the rootfs, the OCI bundle and the images"
  sh "$repo/examples/busybox-rootfs.sh" /bench/busybox.tar
  mkdir -p /bench/rootfs /bench/bundle
  tar -C /bench/rootfs -xf /bench/busybox.tar
  crun spec --bundle /bench/bundle
  jq '.process.terminal = false | .process.args = ["/bin/true"] | .root.path = "/bench/rootfs" | .root.readonly = true' \
    /bench/bundle/config.json >/bench/bundle/config.json.new
  mv /bench/bundle/config.json.new /bench/bundle/config.json
  "${tsnspawn[@]}" import /bench/busybox.tar busybox >/dev/null
  podman import --quiet /bench/busybox.tar busybox >/dev/null
  echo "  rootfs: $(du -sh /bench/rootfs | cut -f1) ($(find /bench/rootfs | wc -l) entries), on $(stat -f -c %T /bench) (same tmpfs as /var/lib/tsnspawn and /var/lib/containers)"
  echo "  podman storage: $(podman info --format '{{.Store.GraphDriverName}} at {{.Store.GraphRoot}}, cgroup manager {{.Host.CgroupManager}}, runtime {{.Host.OCIRuntime.Name}}')"
  echo
}

# Check that no peer left anything behind inside the host (before the host
# itself is torn down). $1: line count of /proc/self/mountinfo before.
bench_check_leftovers() {
  local before=$1 bad=0 out
  out=$("${tsnspawn[@]}" list -a -q 2>&1 || true)
  if [ -n "$out" ]; then echo "  tsnspawn containers left: $(echo "$out" | head -10 | tr '\n' ' ')"; bad=1; fi
  if [ -n "$(ls -A /var/lib/tsnspawn/containers 2>/dev/null)" ]; then
    echo "  tsnspawn container dirs left: $(ls -A /var/lib/tsnspawn/containers | head -10 | tr '\n' ' ')"; bad=1
  fi
  out=$(crun list --quiet 2>/dev/null || true)
  if [ -n "$out" ]; then echo "  crun containers left: $out"; bad=1; fi
  out=$(podman ps -a -q)
  if [ -n "$out" ]; then echo "  podman containers left: $out"; bad=1; fi
  out=$(systemctl list-units --all --plain --no-legend 'tsnspawn-*.service' 'run-*' 'crun-*' 'libpod-*' \
    'bench-*' 2>/dev/null || true)
  if [ -n "$out" ]; then
    echo "  units left ($(echo "$out" | wc -l), first 10):"; echo "$out" | head -10 | sed 's/^/    /'; bad=1
  fi
  local after
  after=$(wc -l </proc/self/mountinfo)
  if [ "$after" != "$before" ]; then
    echo "  mounts: $before before, $after after:"; grep -E 'tsnspawn|overlay|nspawn|containers' /proc/self/mountinfo | sed 's/^/    /'
    bad=1
  fi
  if [ "$bad" = 0 ]; then echo "  none (containers, units, mounts checked; the test host is torn down next)"; fi
  return "$bad"
}
