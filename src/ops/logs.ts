/**
 * A container's logs, for every front end (`tsnspawn logs`, the Docker API's
 * `GET /containers/NAME/logs`): its output lines from the journal
 * (systemd/journal.ts; every line carries TSNSPAWN_CONTAINER=), the last N,
 * since or until a time, and followed while the container runs. A followed
 * stream ends when the container stops, as docker's does (a plain
 * `journalctl --follow` never ends): the unit is watched from before the
 * journal is read, and the lines journalctl had not delivered by then are
 * read after a journal sync, so none is lost.
 */
import { containerUnit, loadContainer } from "../container/state.ts";
import { followLogs, type LogLine, type LogQuery, readLogs } from "../systemd/journal.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { OpsContext } from "./context.ts";

/** What to read. */
export interface LogsOptions {
  /** Go on while the container runs. */
  follow: boolean;
  /** The last N lines only. */
  tail?: number;
  /** From this time (ns since the epoch). */
  sinceNs?: bigint;
  /** Up to this time (ns since the epoch); a followed stream then does not follow. */
  untilNs?: bigint;
  /** journalctl's own --since text (the CLI's `--since "1 hour ago"`); sinceNs wins. */
  sinceText?: string;
}

/** A time for journalctl's --since/--until: `@SECONDS.MICROS` (systemd.time(7)). */
export function formatJournalTime(ns: bigint): string {
  const us = ns / 1000n;
  return `@${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, "0")}`;
}

/**
 * Reads the logs of container `name`, each line to `onLine`. Resolves once
 * done: at once without `follow`, else when the container stopped (and its
 * last lines were passed on) or `signal` aborted.
 */
export async function readContainerLogs(
  ctx: OpsContext,
  name: string,
  options: LogsOptions,
  onLine: (line: LogLine) => void,
  signal?: AbortSignal,
): Promise<void> {
  loadContainer(name); // not-found before anything else
  const since = options.sinceNs !== undefined
    ? formatJournalTime(options.sinceNs)
    : options.sinceText;
  const query: LogQuery = {
    container: name,
    ...(options.tail !== undefined ? { lines: options.tail } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(options.untilNs !== undefined ? { until: formatJournalTime(options.untilNs) } : {}),
  };
  if (!options.follow || options.untilNs !== undefined) {
    await readLogs(query, onLine);
    return;
  }
  const { unit } = containerUnit(name);
  const systemd = await ctx.systemd();
  // Watching before reading: a stop between the two is not missed.
  const watch = systemd.watchUnit(unit);
  try {
    if (!isRunning(await systemd.unitState(unit))) {
      await readLogs(query, onLine);
      return;
    }
    const follower = followLogs(query, onLine);
    let aborted = signal?.aborted ?? false;
    const abort = new Promise<void>((resolve) => {
      signal?.addEventListener("abort", () => {
        aborted = true;
        resolve();
      }, { once: true });
    });
    await Promise.race([watch.untilInactive(), abort]);
    if (aborted) await follower.cancel();
    else await follower.finish();
  } finally {
    watch.close();
  }
}
