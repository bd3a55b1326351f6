import { describe, expect, it } from "vitest";
import { EMPTY, History, cellLabel, cellText, editText, fillDownTargets, markForKey, move, parseTsv, pasteTargets, rangeOf, stateSign, window1d } from "./grid";
import type { ColumnView } from "../backend/types";

describe("keyboard movement", () => {
  it("moves with arrows, Enter down, Tab right, and stays inside the grid", () => {
    const at = { row: 1, col: 1 };
    expect(move("ArrowUp", false, at, 5, 4, 3)).toEqual({ row: 0, col: 1 });
    expect(move("Enter", false, at, 5, 4, 3)).toEqual({ row: 2, col: 1 });
    expect(move("Enter", true, at, 5, 4, 3)).toEqual({ row: 0, col: 1 });
    expect(move("Tab", false, at, 5, 4, 3)).toEqual({ row: 1, col: 2 });
    expect(move("Tab", true, { row: 1, col: 0 }, 5, 4, 3)).toEqual({ row: 1, col: 0 });
    expect(move("ArrowDown", false, { row: 4, col: 3 }, 5, 4, 3)).toEqual({ row: 4, col: 3 });
    expect(move("PageDown", false, at, 5, 4, 3)).toEqual({ row: 4, col: 1 });
    expect(move("x", false, at, 5, 4, 3)).toBeNull();
  });

  it("maps the mark keys, in either case", () => {
    expect(markForKey("m")).toBe("missing");
    expect(markForKey("X")).toBe("exempt");
    expect(markForKey("e")).toBe("exempt");
    expect(markForKey("L")).toBe("late");
    expect(markForKey("i")).toBe("incomplete");
    expect(markForKey("q")).toBeNull();
    expect(markForKey("Meta")).toBeNull();
  });
});

describe("paste and fill", () => {
  it("reads a spreadsheet block and clips it to the grid", () => {
    const block = parseTsv("8\t9\r\n7\tM\r\n");
    expect(block).toEqual([["8", "9"], ["7", "M"]]);
    const targets = pasteTargets({ row: 3, col: 2 }, block, 4, 4);
    expect(targets).toEqual([
      { pos: { row: 3, col: 2 }, text: "8" },
      { pos: { row: 3, col: 3 }, text: "9" },
    ]);
  });

  it("fills each column of the selection from its top row", () => {
    const targets = fillDownTargets(rangeOf({ row: 3, col: 1 }, { row: 1, col: 0 }));
    expect(targets).toHaveLength(4);
    expect(targets[0]).toEqual({ from: { row: 1, col: 0 }, to: { row: 2, col: 0 } });
  });
});

describe("history", () => {
  it("undoes and redoes whole steps, several deep, and forgets redo after a new step", () => {
    const h = new History();
    const v = (score: number) => ({ ...EMPTY, score });
    h.record([{ lineItemId: "a", studentId: "s", before: EMPTY, after: v(1) }]);
    h.record([
      { lineItemId: "a", studentId: "s", before: v(1), after: v(2) },
      { lineItemId: "b", studentId: "s", before: EMPTY, after: v(3) },
    ]);
    h.record([{ lineItemId: "c", studentId: "s", before: v(4), after: v(4) }]); // no change: not a step
    expect(h.undo()).toHaveLength(2);
    expect(h.undo()).toHaveLength(1);
    expect(h.undo()).toBeNull();
    expect(h.redo()?.[0]?.after.score).toBe(1);
    h.record([{ lineItemId: "d", studentId: "s", before: EMPTY, after: v(5) }]);
    expect(h.canRedo).toBe(false);
  });
});

describe("how a cell is shown", () => {
  const column: ColumnView = { sourcedId: "li", title: "Quiz 1", categoryId: null, categoryTitle: null, maxPoints: 10, assignDate: null, dueDate: null, local: false };
  it("shows scores and marks, and says the state in words", () => {
    expect(cellText({ score: 8.5, mark: "late", comment: null })).toBe("8.5 L");
    expect(cellText({ score: null, mark: "missing", comment: null })).toBe("M");
    expect(editText({ score: null, mark: "exempt", comment: null })).toBe("X");
    expect(stateSign({ kind: "saved" }).sign).toBe("•");
    expect(stateSign({ kind: "refused", reason: "no" }).words).toContain("kept in Rollbook only");
    const label = cellLabel("Okafor, Amara", column, { lineItemId: "li", studentId: "s", value: { score: 12, mark: null, comment: "Retake" }, state: { kind: "conflict", server: { score: 3, mark: null, comment: null } }, overMax: true });
    expect(label).toBe("Okafor, Amara, Quiz 1: 12, 12 of 10, above the maximum, extra credit, comment: Retake, changed in the district's system meanwhile (theirs: 3); choose which to keep");
  });

  it("renders only the rows in view, with overscan", () => {
    expect(window1d(0, 360, 36, 200)).toEqual({ start: 0, end: 13 });
    expect(window1d(3600, 360, 36, 200)).toEqual({ start: 97, end: 113 });
    expect(window1d(7000, 360, 36, 200).end).toBe(200);
  });
});
