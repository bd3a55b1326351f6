// When the window syncs by itself: only once typing has paused, and never while the
// district has asked for a pause (429 `Retry-After`, or the engine's back-off). Explicit
// "Sync now" and the network coming back are the teacher's and the system's calls.

import type { SyncReport } from "../backend/types";

/** Quiet time after the last edit before the window syncs by itself. */
export const QUIET_MS = 1200;

/** The earliest moment an automatic sync may start. */
export function autoSyncAt(lastEditAt: number, notBefore: number | null): number {
  return Math.max(lastEditAt + QUIET_MS, notBefore ?? 0);
}

/** A pause the engine reported: sending waits until `at` (ms since the epoch); `byServer`:
 * the district asked for it (429 `Retry-After`), else it is Rollbook's own back-off after
 * failures. */
export interface Pause {
  at: number;
  byServer: boolean;
}

/** The pause carried by a sync report, if one is pending, from the report's arrival. */
export function pauseOf(report: SyncReport, now: number): Pause | null {
  const seconds = report.pausedSeconds;
  if (seconds == null || !(seconds > 0)) return null;
  return { at: now + seconds * 1000, byServer: report.pausedByServer };
}

/** "HH:MM" on this computer's clock. */
export function clockTime(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** The pause in words, for the status line. */
export function waitWords(pause: Pause): string {
  return pause.byServer
    ? `The district asked us to wait until ${clockTime(pause.at)}. Grades stay saved on this computer and are sent then.`
    : `The district did not answer; Rollbook tries again at ${clockTime(pause.at)}. Grades stay saved on this computer.`;
}
