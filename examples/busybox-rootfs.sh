#!/bin/sh
# Builds a minimal root file system from Debian's busybox-static and writes it
# as a tarball: the image used by the demo, the tests and the benchmarks.
#   examples/busybox-rootfs.sh OUT.tar [EXTRA_FILE_DIR]
# The tarball holds /bin/busybox with a link per applet, /etc/passwd and
# /etc/group (root, nobody, and an unprivileged user 1000 "app"), and the
# usual empty directories. EXTRA_FILE_DIR, if given, is copied over the root.
set -eu
out=${1:?usage: busybox-rootfs.sh OUT.tar [EXTRA_DIR]}
extra=${2:-}
busybox=/bin/busybox
if ! "$busybox" --list >/dev/null 2>&1 || ! ldd "$busybox" 2>&1 | grep -q "not a dynamic"; then
  echo "busybox-rootfs: $busybox is not busybox-static; install it: apt-get install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/root" \
  "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/var/www" "$root/home/app"
chmod 755 "$root"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<GROUP
root:x:0:
tty:x:5:
app:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$root/home/app"
echo "<h1>hello from tsnspawn</h1>" > "$root/var/www/index.html"
if [ -n "$extra" ]; then cp -a "$extra/." "$root/"; fi
tar --numeric-owner -C "$root" -cf "$out" .
