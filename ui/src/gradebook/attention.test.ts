import { describe, expect, it } from "vitest";
import { heldWords, isEmpty, orphanWords, setAsideStores, type OrphanEdit } from "./attention";
import type { SetAsideStore } from "../backend/types";

const aside: SetAsideStore = { code: "store_set_aside", path: "/data/gradebook-1.db.keyless-1", reason: "keyMissing", setAsideAt: 1, unsent: 2, message: "" };

describe("the things to settle, in words", () => {
  it("names an orphan the shell could not name: a deleted assignment's title and a departed student are gone from the store", () => {
    const gone: OrphanEdit = { lineItemId: "li-1", studentId: "stu-9", assignment: null, student: null, why: "studentLeft", value: { score: 7, mark: null, comment: null }, editedAt: "2026-11-30T09:00:00.000Z", kept: false };
    expect(orphanWords(gone, "7")).toBe("A student no longer in this class (stu-9), an assignment no longer in this class: 7, not sent because they are no longer in this class.");
    expect(orphanWords({ ...gone, why: "assignmentGone", student: "Reyes, Dana", assignment: "Lab quiz" }, "")).toBe("Reyes, Dana, Lab quiz: a cleared grade, not sent because “Lab quiz” was deleted in the district's system.");
  });

  it("says why an assignment is held", () => {
    expect(heldWords({ lineItemId: "li", title: "Poster", why: "refused", grades: 1, kept: false })).toBe("“Poster” with 1 grade: the district refused it.");
    expect(heldWords({ lineItemId: "li", title: "Poster", why: "conflict", grades: 0, kept: false })).toBe("“Poster”: the district already has another assignment by its id.");
  });

  it("shows the shell's list of set-aside stores once read, the page's until then", () => {
    expect(setAsideStores(null, aside)).toEqual([aside]);
    const read = { setAside: [], orphans: [], held: [] };
    expect(setAsideStores(read, aside)).toEqual([]);
    expect(isEmpty(read, aside)).toBe(true);
    expect(isEmpty(null, aside)).toBe(false);
  });
});
