import { describe, expect, it } from "vitest";
import { afterEdit } from "./unsent";

const n = { thisClass: { grades: 2, assignments: 1 }, otherClasses: { grades: 3, assignments: 0 } };

describe("the status line's count between reads", () => {
  it("moves by the edited cell only, in this class", () => {
    expect(afterEdit(n, undefined, { kind: "saved" })).toEqual({ ...n, thisClass: { grades: 3, assignments: 1 } });
    expect(afterEdit(n, { kind: "synced" }, { kind: "saved" }).thisClass.grades).toBe(3);
    // Edited again while waiting: still one write waiting, not two.
    expect(afterEdit(n, { kind: "saved" }, { kind: "saved" })).toBe(n);
    expect(afterEdit(n, { kind: "refused", reason: "no" }, { kind: "saved" })).toBe(n);
    // Put back to the district's value: nothing waits for that cell any more.
    expect(afterEdit(n, { kind: "saved" }, { kind: "synced" }).thisClass.grades).toBe(1);
    expect(afterEdit(n, { kind: "sent" }, { kind: "saved" }).otherClasses).toEqual(n.otherClasses);
  });
});
