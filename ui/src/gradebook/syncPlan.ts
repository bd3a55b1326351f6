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

/** The district's pause carried by a sync report (ms since the epoch), if one is pending.
 * The engine reports it as `notBefore` (RFC 3339); a report without it has no pause. */
export function notBeforeOf(report: SyncReport, now: number): number | null {
  const text = (report as SyncReport & { notBefore?: string | null }).notBefore;
  if (!text) return null;
  const at = Date.parse(text);
  return Number.isFinite(at) && at > now ? at : null;
}

/** "HH:MM" on this computer's clock. */
export function clockTime(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** The pause in words, for the status line. */
export function waitWords(notBefore: number): string {
  return `The district asked us to wait until ${clockTime(notBefore)}. Grades stay saved on this computer and are sent then.`;
}
