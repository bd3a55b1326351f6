import { describe, expect, it } from "vitest";
import { QUIET_MS, autoSyncAt, clockTime, pauseOf, waitWords } from "./syncPlan";
import type { SyncReport } from "../backend/types";

const report = (pausedSeconds: number | null, pausedByServer = true): SyncReport => ({ sent: [], refused: [], conflicts: [], retrying: [], offline: false, waiting: 3, held: 0, pausedSeconds, pausedByServer });

describe("when the window syncs by itself", () => {
  it("waits for typing to pause", () => {
    expect(autoSyncAt(10_000, null)).toBe(10_000 + QUIET_MS);
  });

  it("never before the district's pause ends", () => {
    const now = Date.parse("2026-12-06T14:03:00Z");
    const pause = pauseOf(report(120), now);
    expect(pause).toEqual({ at: now + 120_000, byServer: true });
    expect(autoSyncAt(now, pause!.at)).toBe(now + 120_000);
    // No pause, or one already over, holds nothing back.
    expect(pauseOf(report(null), now)).toBeNull();
    expect(pauseOf(report(0), now)).toBeNull();
  });

  it("says the pause in words, on this computer's clock, and whose it is", () => {
    const at = new Date(2026, 11, 6, 9, 5).getTime();
    expect(clockTime(at)).toBe("09:05");
    expect(waitWords({ at, byServer: true })).toMatch(/^The district asked us to wait until 09:05\./);
    expect(waitWords({ at, byServer: false })).toMatch(/tries again at 09:05/);
  });
});
