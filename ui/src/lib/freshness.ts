// How old the data on screen is, in words: "Updated just now", "Last updated 5 minutes
// ago", or, offline, that the copy saved on this computer is shown and why.

export interface Freshness {
  /** When the server gave the data (RFC 3339). */
  readAt: string;
  /** Set when the saved copy is shown because the district could not be reached. */
  offlineReason: string | null;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** "just now" under a minute, else "5 minutes ago", "2 hours ago", "yesterday". */
export function age(readAt: string, now: number, locale?: string): string {
  const then = Date.parse(readAt);
  if (Number.isNaN(then)) return "at an unknown time";
  const elapsed = Math.max(0, now - then);
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  for (const [unit, ms] of UNITS) {
    if (elapsed >= ms) return format.format(-Math.floor(elapsed / ms), unit);
  }
  return "just now";
}

/** The sentence shown under a page's heading. */
export function describe(freshness: Freshness, now: number, locale?: string): string {
  const when = age(freshness.readAt, now, locale);
  if (freshness.offlineReason) {
    return `Offline: showing the copy saved on this computer, updated ${when}. ${freshness.offlineReason}`;
  }
  return when === "just now" ? "Updated just now" : `Last updated ${when}`;
}
