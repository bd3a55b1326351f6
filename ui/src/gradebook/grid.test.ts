import { describe, expect, it } from "vitest";
import { AVERAGE_COL, EMPTY, History, arrowInEditor, averageText, historyTargets, cellLabel, cellText, cellTip, editText, editedChange, fillDownTargets, pasteFailureWords, printSign, problemCounts, gradeCells, markForKey, move, parseCellText, parseTsv, pastedChange, pasteCut, pasteTargets, rangeOf, stateSign, tabInEditor, typedChange, window1d } from "./grid";
import type { ColumnView, StudentAverage } from "../backend/types";

describe("keyboard movement", () => {
  it("moves with arrows, Enter down, Tab right, and stays inside the grid", () => {
    const at = { row: 1, col: 1 };
    expect(move("ArrowUp", false, at, 5, 4, 3)).toEqual({ row: 0, col: 1 });
    expect(move("Enter", false, at, 5, 4, 3)).toEqual({ row: 2, col: 1 });
    expect(move("Enter", true, at, 5, 4, 3)).toEqual({ row: 0, col: 1 });
    expect(move("ArrowDown", false, { row: 4, col: 3 }, 5, 4, 3)).toEqual({ row: 4, col: 3 });
    expect(move("PageDown", false, at, 5, 4, 3)).toEqual({ row: 4, col: 1 });
    expect(move("x", false, at, 5, 4, 3)).toBeNull();
  });

  it("lets Tab leave: outside the editor it is not a move; in it, it leaves from the last column", () => {
    expect(move("Tab", false, { row: 1, col: 1 }, 5, 4, 3)).toBeNull();
    expect(tabInEditor(false, { row: 1, col: 1 }, 4)).toEqual({ row: 1, col: 2 });
    expect(tabInEditor(false, { row: 1, col: 3 }, 4)).toBe("leave");
    expect(tabInEditor(true, { row: 1, col: 1 }, 4)).toEqual({ row: 1, col: 0 });
    expect(tabInEditor(true, { row: 1, col: 0 }, 4)).toBe("leave");
  });

  // Review of issues 18/22: "8 ↓ 9 ↓ 7 ⏎" typed fast left 897 in the first cell (the
  // arrows moved the caret in the editor), a grade for three students in one.
  it("commits and moves on an arrow in an editor opened by typing, not in one opened to edit the text", () => {
    const at = { row: 1, col: 1 };
    expect(arrowInEditor("ArrowDown", true, at, 5, 4)).toEqual({ row: 2, col: 1 });
    expect(arrowInEditor("ArrowUp", true, at, 5, 4)).toEqual({ row: 0, col: 1 });
    expect(arrowInEditor("ArrowRight", true, at, 5, 4)).toEqual({ row: 1, col: 2 });
    expect(arrowInEditor("ArrowLeft", true, { row: 1, col: 0 }, 5, 4)).toEqual({ row: 1, col: 0 });
    expect(arrowInEditor("ArrowDown", false, at, 5, 4)).toBeNull();
    expect(arrowInEditor("Home", true, at, 5, 4)).toBeNull();
    expect(arrowInEditor("5", true, at, 5, 4)).toBeNull();
  });

  it("reaches the average column from the keyboard, which holds no grade", () => {
    expect(move("ArrowLeft", false, { row: 2, col: 0 }, 5, 4, 3)).toEqual({ row: 2, col: AVERAGE_COL });
    expect(move("ArrowLeft", false, { row: 2, col: AVERAGE_COL }, 5, 4, 3)).toEqual({ row: 2, col: AVERAGE_COL });
    expect(move("Home", false, { row: 2, col: 3 }, 5, 4, 3)).toEqual({ row: 2, col: 0 });
    expect(move("Home", false, { row: 2, col: 0 }, 5, 4, 3)).toEqual({ row: 2, col: AVERAGE_COL });
    // A selection that takes in the average column edits only grade cells.
    expect(gradeCells(rangeOf({ row: 0, col: AVERAGE_COL }, { row: 1, col: 0 }))).toEqual([{ row: 0, col: 0 }, { row: 1, col: 0 }]);
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
    const targets = pasteTargets(rangeOf({ row: 3, col: 2 }, { row: 3, col: 2 }), block, 4, 4);
    expect(targets).toEqual([
      { pos: { row: 3, col: 2 }, text: "8" },
      { pos: { row: 3, col: 3 }, text: "9" },
    ]);
  });

  it("pastes from the selection's top-left corner, whichever way it was selected", () => {
    const block = parseTsv("1\n2\n3");
    // Top-down: anchor on row 1, cursor ended on row 3.
    const down = pasteTargets(rangeOf({ row: 1, col: 1 }, { row: 3, col: 1 }), block, 10, 4);
    // Bottom-up: anchor on row 3, cursor ended on row 1.
    const up = pasteTargets(rangeOf({ row: 3, col: 1 }, { row: 1, col: 1 }), block, 10, 4);
    const rows = [{ pos: { row: 1, col: 1 }, text: "1" }, { pos: { row: 2, col: 1 }, text: "2" }, { pos: { row: 3, col: 1 }, text: "3" }];
    expect(down).toEqual(rows);
    expect(up).toEqual(rows);
    // Right to left as well.
    expect(pasteTargets(rangeOf({ row: 0, col: 3 }, { row: 0, col: 1 }), [["a", "b"]], 10, 4).map((t) => t.pos.col)).toEqual([1, 2]);
  });

  it("skips the blank cells of a pasted block instead of clearing grades", () => {
    const block = parseTsv("8\t\t9\n\t \t7\n");
    const targets = pasteTargets(rangeOf({ row: 0, col: 0 }, { row: 0, col: 0 }), block, 10, 10);
    expect(targets).toEqual([
      { pos: { row: 0, col: 0 }, text: "8" },
      { pos: { row: 0, col: 2 }, text: "9" },
      { pos: { row: 1, col: 2 }, text: "7" },
    ]);
  });

  it("reads a cell's text as the grid shows it, late and incomplete scores included", () => {
    expect(parseCellText("8 L")).toEqual({ score: 8, mark: "late" });
    expect(parseCellText("8,5l")).toEqual({ score: 8.5, mark: "late" });
    expect(parseCellText("6 I")).toEqual({ score: 6, mark: "incomplete" });
    expect(parseCellText("m")).toEqual({ score: null, mark: "missing" });
    expect(parseCellText(" 9.5 ")).toEqual({ score: 9.5, mark: null });
    expect(parseCellText("")).toEqual({ score: null, mark: null });
    for (const bad of ["8 M", "-1", "abc", "1e3", "8 L L", "Infinity", "0x10"]) expect(parseCellText(bad), bad).toBeNull();
    // Whatever the grid shows reads back as the same value.
    for (const v of [{ score: 8, mark: "late" as const }, { score: 7.25, mark: "incomplete" as const }, { score: null, mark: "exempt" as const }, { score: 3, mark: null }]) {
      expect(parseCellText(cellText({ ...v, comment: null }))).toEqual(v);
    }
  });

  it("pastes the copied value exactly and keeps the comment; types a late score like a paste", () => {
    const before = { score: 5, mark: "late" as const, comment: "Retake" };
    expect(pastedChange("8 L", before)).toEqual({ kind: "value", value: { score: 8, mark: "late", comment: "Retake" } });
    expect(pastedChange("8", before)).toEqual({ kind: "value", value: { score: 8, mark: null, comment: "Retake" } });
    expect(pastedChange("nonsense", before)).toEqual({ kind: "typed", text: "nonsense" });
    expect(typedChange("8 L", EMPTY)).toEqual({ kind: "value", value: { score: 8, mark: "late", comment: null } });
    // A plain score or mark keeps the store's rules (a new score stays late).
    expect(typedChange("9", before)).toEqual({ kind: "typed", text: "9" });
    expect(typedChange("m", before)).toEqual({ kind: "typed", text: "m" });
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

  it("shows an average one way everywhere: the store's rounded text, never rounded again", () => {
    const average = { percent: 89.9, percentText: "89.9", unroundedPercent: 89.96, letter: "B" } as StudentAverage;
    expect(averageText(average)).toBe("89.9% B");
    expect(averageText({ ...average, percentText: "90", letter: "A" })).toBe("90% A");
    expect(averageText({ ...average, letter: null })).toBe("89.9%");
    expect(averageText({ ...average, percentText: null, letter: null })).toBe("");
  });

  it("renders only the rows in view, with overscan", () => {
    expect(window1d(0, 360, 36, 200)).toEqual({ start: 0, end: 13 });
    expect(window1d(3600, 360, 36, 200)).toEqual({ start: 97, end: 113 });
    expect(window1d(7000, 360, 36, 200).end).toBe(200);
  });
});

describe("a cell's tooltip", () => {
  const cell = (over: Partial<import("../backend/types").CellView>) => ({ lineItemId: "li", studentId: "s", value: { score: 9, mark: null, comment: null }, state: { kind: "synced" as const }, overMax: false, ...over });
  it("says nothing the cell already shows", () => {
    expect(cellTip(cell({}))).toBeUndefined();
    expect(cellTip(undefined)).toBeUndefined();
  });
  it("gives the state, extra credit and the comment in sentences", () => {
    expect(cellTip(cell({ state: { kind: "saved" }, overMax: true, value: { score: 12, mark: null, comment: "Retake" } }))).toBe("Saved on this computer, not yet sent. Above the maximum (extra credit). Comment: Retake");
  });
});

describe("undo and redo after the district changed a cell", () => {
  // Review of issues 18/22: 8 typed in an empty cell, a conflict (the district has 3),
  // "Take theirs", then Ctrl+Z cleared the district's 3 (the undo wrote the value from
  // before the 8 over it).
  const v = (score: number | null): import("../backend/types").CellValue => ({ score, mark: null, comment: null });
  const mine = { lineItemId: "li", studentId: "s0", before: EMPTY, after: v(8) };
  const other = { lineItemId: "li", studentId: "s1", before: v(4), after: v(5) };
  it("undoes only the cells that still hold what the step left", () => {
    const now = new Map([["s0", v(3)], ["s1", v(5)]]);
    const { apply, changedSince } = historyTargets([mine, other], "before", (r) => now.get(r.studentId) ?? EMPTY);
    expect(apply).toEqual([other]);
    expect(changedSince).toEqual([mine]);
  });
  it("redoes only the cells that still hold what the undo left", () => {
    const now = new Map([["s0", EMPTY], ["s1", v(9)]]);
    const { apply, changedSince } = historyTargets([mine, other], "after", (r) => now.get(r.studentId) ?? EMPTY);
    expect(apply).toEqual([mine]);
    expect(changedSince).toEqual([other]);
  });
});

describe("a paste past the grid's edge", () => {
  // Review of issues 18/22: the part of a block past the last student or assignment was
  // dropped without a word.
  it("counts the grades that fall outside, by rows and columns, blanks not counted", () => {
    const sel = rangeOf({ row: 3, col: 2 }, { row: 3, col: 2 });
    // 5 rows x 4 columns into a 6 x 4 grid from (3, 2): rows 6 and 7 and columns 4 and 5 fall out.
    const block = parseTsv("1\t2\t3\t4\n1\t2\t3\t\n1\t2\t\t\n1\t2\t3\t4\n\t\t\t\n");
    expect(pasteCut(sel, block, 6, 4)).toEqual({ rows: 1, cols: 2, cells: 4 + 2 + 1 });
    expect(pasteCut(sel, parseTsv("1\t2\n3\t4"), 6, 4)).toEqual({ rows: 0, cols: 0, cells: 0 });
    expect(pasteTargets(sel, block, 6, 4).length + pasteCut(sel, block, 6, 4).cells).toBe(13);
  });
});

describe("teacher's review (issue 22)", () => {
  const late = { score: 8, mark: "late" as const, comment: "Retake" };
  it("opens the editor on the cell's whole text, so the L can be deleted", () => {
    expect(editText(late)).toBe("8 L");
    // F2 on "8 L", the L deleted: 8, no longer late, the comment kept.
    expect(editedChange("8", late, false)).toEqual({ kind: "value", value: { score: 8, mark: null, comment: "Retake" } });
    expect(editedChange("8 L", late, false)).toBeNull();
    // Typed over the cell: as typed (the store keeps "late" on a new score).
    expect(editedChange("9", late, true)).toEqual({ kind: "typed", text: "9" });
    expect(editedChange("abc", late, false)).toEqual({ kind: "typed", text: "abc" });
  });

  it("prints a sign on every grade the district does not have", () => {
    expect(printSign({ kind: "saved" })).toBe("*");
    expect(printSign({ kind: "refused", reason: "no" })).toBe("⚠");
    expect(printSign({ kind: "conflict", server: EMPTY })).toBe("⇄");
    expect(printSign({ kind: "sent" })).toBe("");
    expect(printSign(undefined)).toBe("");
  });

  const cell = (studentId: string, lineItemId: string, kind: "saved" | "sent" | "refused") =>
    ({ lineItemId, studentId, value: { score: 1, mark: null, comment: null }, state: kind === "refused" ? { kind, reason: "no" } : { kind }, overMax: false }) as const;

  it("counts refused grades no cell shows apart, for the To-settle list", () => {
    const cells = [cell("s1", "li1", "refused"), cell("gone", "li1", "refused"), cell("s1", "deleted", "refused"), cell("s1", "li1", "saved")];
    expect(problemCounts(cells, new Set(["s1"]), new Set(["li1"]))).toEqual({ shown: 1, left: 1, gone: 1 });
  });

  it("says every refused cell of a paste, not only the last", () => {
    const failures = [1, 2, 3, 4].map((k) => ({ where: `Student ${k}, Quiz 1`, text: `x${k}`, reason: `“x${k}” is not a score or a mark.` }));
    const words = pasteFailureWords(failures);
    expect(words).toMatch(/^4 pasted cells were not entered: Student 1, Quiz 1 “x1”: “x1” is not a score or a mark; Student 2/);
    expect(words).toContain("; and 1 more.");
    expect(pasteFailureWords(failures.slice(0, 1))).toMatch(/^1 pasted cell was not entered/);
  });
});
