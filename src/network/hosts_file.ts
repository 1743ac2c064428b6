/**
 * The `/etc/hosts` shared by the containers of a bridge network. Pure.
 *
 * Name resolution between containers uses a hosts file rather than a DNS
 * responder: no daemon to run, supervise and restart, nothing listening on
 * the bridge, and libc/busybox read it directly. One file per network,
 * `<root>/networks/<net>/hosts`, lists every container that holds a lease
 * on the network by name (and hostname); every container of the network
 * gets it bind-mounted read-only as /etc/hosts (read-only: one container
 * must not redirect another's names). It changes only on create and rm
 * (leases survive stop and start), and is rewritten in place, never
 * replaced by rename — a bind mount pins the inode, a renamed-over file
 * would never be seen. A single file keeps the cost of a change O(N)
 * instead of O(N²) for per-container copies (1,500 containers = one
 * ~60 KB write, not 1,500 of them).
 */

/** What the hosts file needs of a lease. */
export interface HostsEntry {
  address: string;
  container: string;
  hostname: string;
  /** More names (network aliases). */
  aliases?: readonly string[];
}

/** The fixed head of every container's /etc/hosts: loopback and IPv6 names, as docker writes them. */
export const STANDARD_HOSTS_ENTRIES: readonly string[] = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

/** Numeric sort key of a dotted quad. */
function addressKey(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** The file's text for `entries` (sorted by address; hostname added when it differs from the name). */
export function planHostsFile(network: string, entries: readonly HostsEntry[]): string {
  const lines = [
    ...STANDARD_HOSTS_ENTRIES,
    `# tsnspawn network ${network}: one line per container`,
  ];
  const sorted = [...entries].sort((a, b) => addressKey(a.address) - addressKey(b.address));
  for (const e of sorted) {
    const names = [e.container];
    if (e.hostname && e.hostname !== e.container) names.push(e.hostname);
    for (const alias of e.aliases ?? []) if (!names.includes(alias)) names.push(alias);
    lines.push(`${e.address}\t${names.join("\t")}`);
  }
  return lines.join("\n") + "\n";
}
