import { describe as group, expect, it } from "vitest";
import { age, describe } from "./freshness";

const now = Date.parse("2026-11-29T15:00:00Z");
const ago = (ms: number) => new Date(now - ms).toISOString();

group("how old the data is", () => {
  it("is just now under a minute, then counts minutes, hours and days", () => {
    expect(age(ago(20_000), now, "en")).toBe("just now");
    expect(age(ago(60_000), now, "en")).toBe("1 minute ago");
    expect(age(ago(5 * 60_000 + 30_000), now, "en")).toBe("5 minutes ago");
    expect(age(ago(2 * 3_600_000), now, "en")).toBe("2 hours ago");
    expect(age(ago(30 * 3_600_000), now, "en")).toBe("yesterday");
    expect(age(ago(3 * 86_400_000), now, "en")).toBe("3 days ago");
  });

  it("never says the future, and says so when the time cannot be read", () => {
    expect(age(new Date(now + 90_000).toISOString(), now, "en")).toBe("just now");
    expect(age("not a time", now, "en")).toBe("at an unknown time");
  });

  it("says fresh data was updated, and offline data is the saved copy with why", () => {
    expect(describe({ readAt: ago(1_000), offlineReason: null }, now, "en")).toBe("Updated just now");
    expect(describe({ readAt: ago(10 * 60_000), offlineReason: null }, now, "en")).toBe("Last updated 10 minutes ago");
    const offline = describe({ readAt: ago(3_600_000), offlineReason: "Could not reach the roster server." }, now, "en");
    expect(offline).toBe("Offline: showing the copy saved on this computer, updated 1 hour ago. Could not reach the roster server.");
  });
});
