import { describe, expect, it } from "vitest";
import { QUIET_MS, autoSyncAt, clockTime, notBeforeOf, waitWords } from "./syncPlan";
import type { SyncReport } from "../backend/types";

const report = (notBefore?: string): SyncReport => ({ sent: [], refused: [], conflicts: [], retrying: [], offline: false, waiting: 3, held: 0, ...(notBefore ? { notBefore } : {}) }) as SyncReport;

describe("when the window syncs by itself", () => {
  it("waits for typing to pause", () => {
    expect(autoSyncAt(10_000, null)).toBe(10_000 + QUIET_MS);
  });

  it("never before the district's pause ends", () => {
    const now = Date.parse("2026-12-06T14:03:00Z");
    const wait = notBeforeOf(report("2026-12-06T14:05:00Z"), now);
    expect(wait).toBe(Date.parse("2026-12-06T14:05:00Z"));
    expect(autoSyncAt(now, wait)).toBe(wait);
    // A pause already over, or none, does not hold anything back.
    expect(notBeforeOf(report("2026-12-06T14:00:00Z"), now)).toBeNull();
    expect(notBeforeOf(report(), now)).toBeNull();
  });

  it("says the pause in words, on this computer's clock", () => {
    const at = new Date(2026, 11, 6, 9, 5).getTime();
    expect(clockTime(at)).toBe("09:05");
    expect(waitWords(at)).toMatch(/^The district asked us to wait until 09:05\./);
  });
});
