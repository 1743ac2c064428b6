#!/usr/bin/env bash
# bench/setup.sh — installs the peers tsnspawn is benchmarked against, from
# Debian: podman (+ conmon, containernetworking-plugins, ...), crun and
# systemd-nspawn (package systemd-container), plus jq (the scripts edit the OCI
# bundle's config.json with it). Timing is bench/timeit.ts (round-robin), so
# no hyperfine. Idempotent; run as root.
#
# Note: systemd-container is built from the systemd source package and wants
# the same version of systemd; if the candidate is newer than the installed
# systemd, apt upgrades systemd (and libsystemd0, udev, ...) along with it.
# This script prints the systemd version before and after so that is visible.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "bench/setup.sh: must run as root" >&2
  exit 1
fi

packages=(podman crun systemd-container jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

systemd_version() { dpkg-query -W -f='${Version}' systemd 2>/dev/null || echo none; }

if [ ${#missing[@]} -gt 0 ]; then
  before=$(systemd_version)
  echo "bench/setup.sh: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  after=$(systemd_version)
  if [ "$before" != "$after" ]; then
    echo "bench/setup.sh: note: systemd was upgraded from $before to $after" \
      "(systemd-container pulls a matching systemd); test hosts boot the new binary"
  fi
fi

for p in "${packages[@]}" systemd conmon; do
  printf '  %-18s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"
done
echo "bench/setup.sh: done"
