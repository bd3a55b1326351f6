// The gradebook grid's logic, free of the DOM: which cell a key moves to, what a key
// does, spreadsheet paste, fill down, undo history, and how a cell is shown and spoken.

import type { CellState, CellValue, CellView, ColumnView, GradeChange, Mark } from "../backend/types";

export interface Pos {
  row: number;
  col: number;
}

/** A rectangle of cells, inclusive, whatever corner it was started from. */
export interface Range {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

export function rangeOf(a: Pos, b: Pos): Range {
  return { top: Math.min(a.row, b.row), bottom: Math.max(a.row, b.row), left: Math.min(a.col, b.col), right: Math.max(a.col, b.col) };
}

/** The average column, left of the assignments: the cursor can rest there (Enter explains
 * the average), but it holds no grade, so edits, paste and fill never reach it. */
export const AVERAGE_COL = -1;

export function clamp(pos: Pos, rows: number, cols: number): Pos {
  return { row: Math.max(0, Math.min(rows - 1, pos.row)), col: Math.max(AVERAGE_COL, Math.min(cols - 1, pos.col)) };
}

/** The grade cells of a selection (the average column left out). */
export function gradeCells(range: Range): Pos[] {
  const out: Pos[] = [];
  for (let row = range.top; row <= range.bottom; row++) for (let col = Math.max(0, range.left); col <= range.right; col++) out.push({ row, col });
  return out;
}

/** Where a navigation key moves the active cell (not editing). `null`: not a move.
 * Tab is not a move: outside the editor it leaves the grid (see `tabInEditor`). */
export function move(key: string, shift: boolean, pos: Pos, rows: number, cols: number, page: number): Pos | null {
  const to = (row: number, col: number) => clamp({ row, col }, rows, cols);
  switch (key) {
    case "ArrowUp":
      return to(pos.row - 1, pos.col);
    case "ArrowDown":
      return to(pos.row + 1, pos.col);
    case "ArrowLeft":
      return to(pos.row, pos.col - 1);
    case "ArrowRight":
      return to(pos.row, pos.col + 1);
    case "Enter":
      return to(pos.row + (shift ? -1 : 1), pos.col);
    case "PageDown":
      return to(pos.row + page, pos.col);
    case "PageUp":
      return to(pos.row - page, pos.col);
    case "Home":
      // Home goes to the first assignment; again, to the average.
      return to(pos.row, pos.col > 0 ? 0 : AVERAGE_COL);
    case "End":
      return to(pos.row, cols - 1);
    default:
      return null;
  }
}

/** Tab in the editor, as in a spreadsheet: it commits and moves right (Shift: left), but
 * from the last column (Shift: the first) it commits and leaves the grid, so the keyboard
 * is never trapped (WCAG 2.1.2). Outside the editor Tab always leaves the grid. */
export function tabInEditor(shift: boolean, pos: Pos, cols: number): Pos | "leave" {
  const col = pos.col + (shift ? -1 : 1);
  return col < 0 || col >= cols ? "leave" : { row: pos.row, col };
}

/** An arrow key in the editor, as in a spreadsheet: when the editor was opened by typing
 * into the cell, the arrow commits and moves (so "8 ↓ 9 ↓" grades two students, never
 * one with 89); when it was opened to edit the text (F2, a double click), the arrows move
 * the caret in the text. `null`: the key stays the editor's. */
export function arrowInEditor(key: string, typedIn: boolean, pos: Pos, rows: number, cols: number): Pos | null {
  if (!typedIn || !key.startsWith("Arrow")) return null;
  const to = move(key, false, pos, rows, cols, 1);
  // Left from the first assignment stays in the grade cells: the average holds no grade.
  return to && to.col < 0 ? { ...to, col: 0 } : to;
}

const MARK_KEYS: Record<string, Mark> = { m: "missing", x: "exempt", e: "exempt", l: "late", i: "incomplete" };

/** A mark key pressed on a cell that is not being edited. */
export function markForKey(key: string): Mark | null {
  return key.length === 1 ? (MARK_KEYS[key.toLowerCase()] ?? null) : null;
}

/** A key that starts editing with itself as the first character (digits, a decimal point). */
export function startsEditing(key: string): boolean {
  return key.length === 1 && /[0-9.,]/.test(key);
}

/** Rows and columns of a spreadsheet paste (tab-separated, one line per row). */
export function parseTsv(text: string): string[][] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => line.split("\t").map((cell) => cell.trim()));
}

/** The cells a paste writes: (position, text), from the selection's top-left corner
 * whichever way it was selected, clipped to the grid. Blank cells of the block are
 * skipped: a gap in a spreadsheet column must not clear a grade. */
export function pasteTargets(selection: Range, block: string[][], rows: number, cols: number): { pos: Pos; text: string }[] {
  const at = { row: selection.top, col: Math.max(0, selection.left) };
  const out: { pos: Pos; text: string }[] = [];
  block.forEach((line, r) =>
    line.forEach((text, c) => {
      const pos = { row: at.row + r, col: at.col + c };
      if (text.trim() !== "" && pos.row < rows && pos.col < cols) out.push({ pos, text });
    }),
  );
  return out;
}

/** How much of a pasted block falls past the grid's last student or assignment (and is
 * not pasted): the teacher is told, rather than left to believe the whole block landed. */
export function pasteCut(selection: Range, block: string[][], rows: number, cols: number): { rows: number; cols: number; cells: number } {
  const at = { row: selection.top, col: Math.max(0, selection.left) };
  let cells = 0;
  let cutRows = 0;
  let cutCols = 0;
  block.forEach((line, r) => {
    const rowOut = at.row + r >= rows;
    let lineOut = 0;
    line.forEach((text, c) => {
      if (text.trim() === "") return;
      if (rowOut || at.col + c >= cols) {
        cells++;
        if (!rowOut) lineOut = Math.max(lineOut, at.col + c - cols + 1);
      }
    });
    if (rowOut && line.some((t) => t.trim() !== "")) cutRows++;
    cutCols = Math.max(cutCols, lineOut);
  });
  return { rows: cutRows, cols: cutCols, cells };
}

const MARK_LETTERS: Record<string, Mark> = { M: "missing", X: "exempt", E: "exempt", L: "late", I: "incomplete" };
// A score as the store reads it: digits with a decimal point or comma, nothing else.
const SCORE = /^(?:\d+(?:[.,]\d*)?|[.,]\d+)$/;

/** Reads a cell's text as the grid shows it: "8.5", "M", "8.5 L" (a score with the late
 * or incomplete mark, the two marks that keep a score), or "" (empty). `null`: not a
 * cell's text; the store then says why. */
export function parseCellText(text: string): { score: number | null; mark: Mark | null } | null {
  const t = text.trim();
  if (t === "") return { score: null, mark: null };
  const mark = MARK_LETTERS[t.toUpperCase()];
  if (mark) return { score: null, mark };
  const scored = /^(.*?)\s*([LlIi])$/.exec(t);
  const number = scored ? scored[1]! : t;
  if (!SCORE.test(number)) return null;
  const score = Number(number.replace(",", "."));
  if (!Number.isFinite(score)) return null;
  return { score, mark: scored ? MARK_LETTERS[scored[2]!.toUpperCase()]! : null };
}

/** What typing `text` into a cell asks of the store. A score with a mark ("8 L") is sent
 * as that value; anything else as typed, so the store's rules (a new score keeps
 * "late") and its error words apply. */
export function typedChange(text: string, before: CellValue): GradeChange {
  const parsed = parseCellText(text);
  if (parsed && parsed.score != null && parsed.mark) return { kind: "value", value: { ...parsed, comment: before.comment } };
  return { kind: "typed", text };
}

/** What pasting `text` into a cell asks of the store: exactly the copied value (a pasted
 * "8" is 8, not late), the cell's comment kept. Text that is not a cell's goes as typed,
 * so the store refuses it with its words. */
export function pastedChange(text: string, before: CellValue): GradeChange {
  const parsed = parseCellText(text);
  return parsed ? { kind: "value", value: { ...parsed, comment: before.comment } } : { kind: "typed", text };
}

/** Fill down: every cell of the range below its top row takes the top row's value. */
export function fillDownTargets(range: Range): { from: Pos; to: Pos }[] {
  const out: { from: Pos; to: Pos }[] = [];
  for (let col = range.left; col <= range.right; col++) {
    for (let row = range.top + 1; row <= range.bottom; row++) out.push({ from: { row: range.top, col }, to: { row, col } });
  }
  return out;
}

export interface CellChangeRecord {
  lineItemId: string;
  studentId: string;
  before: CellValue;
  after: CellValue;
}

/** Undo and redo, several levels deep; one step may change many cells (a paste). */
export class History {
  private done: CellChangeRecord[][] = [];
  private undone: CellChangeRecord[][] = [];
  constructor(private readonly limit = 200) {}

  record(step: CellChangeRecord[]): void {
    const changed = step.filter((c) => !sameValue(c.before, c.after));
    if (!changed.length) return;
    this.done.push(changed);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }
  /** The step to undo: apply each record's `before`. */
  undo(): CellChangeRecord[] | null {
    const step = this.done.pop();
    if (!step) return null;
    this.undone.push(step);
    return step;
  }
  /** The step to redo: apply each record's `after`. */
  redo(): CellChangeRecord[] | null {
    const step = this.undone.pop();
    if (!step) return null;
    this.done.push(step);
    return step;
  }
  get canUndo(): boolean {
    return this.done.length > 0;
  }
  get canRedo(): boolean {
    return this.undone.length > 0;
  }
}

/** What undo (`which: "before"`) or redo (`"after"`) of a step may write: only the cells
 * that still hold what the step left them with. A cell changed since (the district's
 * value came in, a conflict was settled, a later sync took theirs) is left alone and
 * listed in `changedSince`, so an undo never writes over a grade the teacher did not
 * see replace theirs (a "take theirs" then Ctrl+Z used to clear the district's grade). */
export function historyTargets(
  step: CellChangeRecord[],
  which: "before" | "after",
  current: (record: CellChangeRecord) => CellValue,
): { apply: CellChangeRecord[]; changedSince: CellChangeRecord[] } {
  const expected = which === "before" ? "after" : "before";
  const apply: CellChangeRecord[] = [];
  const changedSince: CellChangeRecord[] = [];
  for (const record of step) (sameValue(current(record), record[expected]) ? apply : changedSince).push(record);
  return { apply, changedSince };
}

export const EMPTY: CellValue = { score: null, mark: null, comment: null };

function sameValue(a: CellValue, b: CellValue): boolean {
  return a.score === b.score && a.mark === b.mark && (a.comment ?? null) === (b.comment ?? null);
}

export function formatScore(score: number): string {
  return String(Math.round(score * 100) / 100);
}

/** An average as every face shows it (grid, its spoken name, the explanation, print):
 * the store's text, already rounded the class's way ("89.9%"), with the letter of that
 * rounded value. Never rounded again here. "" when nothing counts yet. */
export function averageText(average: { percentText: string | null; letter?: string | null } | undefined): string {
  if (!average || average.percentText == null) return "";
  return average.letter ? `${average.percentText}% ${average.letter}` : `${average.percentText}%`;
}
const MARK_LETTER: Record<Mark, string> = { missing: "M", exempt: "X", late: "L", incomplete: "I" };

/** What the cell shows: "8.5", "M", "8.5 L". */
export function cellText(value: CellValue): string {
  const score = value.score == null ? "" : formatScore(value.score);
  const mark = value.mark ? MARK_LETTER[value.mark] : "";
  return [score, mark].filter(Boolean).join(" ");
}

/** The text a cell is edited from: all of what it shows ("8 L"), as copy and paste
 * carry it, so the teacher can delete the L (an editor opened on "8" could not). */
export function editText(value: CellValue): string {
  return cellText(value);
}

/** What ending an edit asks of the store. Typed into the cell (the editor opened by a
 * key): as typed, so the store's rules apply (a new score keeps "late"). Opened on the
 * cell's text (F2, a double click): the text is the whole value, so "8 L" edited to "8"
 * is no longer late. `null`: nothing changed. */
export function editedChange(text: string, before: CellValue, typedIn: boolean): GradeChange | null {
  if (text.trim() === editText(before)) return null;
  return typedIn ? typedChange(text, before) : pastedChange(text, before);
}

/** The words of a print-out cell's state: a sign beside the value, the same signs as
 * the grid's, so a grade the district does not have never prints like one it has. The
 * print-out's legend (`PRINT_SIGNS`) says what each means. "" for a sent grade. */
export function printSign(state: CellState | undefined): string {
  switch (state?.kind) {
    case "saved":
      return "*";
    case "refused":
      return "⚠";
    case "conflict":
      return "⇄";
    default:
      return "";
  }
}
export const PRINT_SIGNS = "* saved on this computer, not yet in the district · ⚠ refused by the district · ⇄ in conflict (changed in the district meanwhile)";

/** Refused and in-conflict grades, split into those a cell shows (the grid's ⚠ and ⇄)
 * and those no cell shows: the student left (`left`), the assignment was deleted
 * (`gone`). The teacher settles those in the To-settle list, so the status line points
 * there rather than counting a sign nobody can find. */
export function problemCounts(cells: CellView[], studentIds: Set<string>, columnIds: Set<string>): { shown: number; left: number; gone: number } {
  const out = { shown: 0, left: 0, gone: 0 };
  for (const c of cells) {
    if (c.state.kind !== "refused" && c.state.kind !== "conflict") continue;
    if (!columnIds.has(c.lineItemId)) out.gone++;
    else if (!studentIds.has(c.studentId)) out.left++;
    else out.shown++;
  }
  return out;
}

/** One paste's cells the store would not take, said once: each error used to replace
 * the one before, so only the last showed. `where` names the cell ("Adeyemi, Malak,
 * Quiz 1"); `reason` is the store's words. At most `limit` are spelled out. */
export function pasteFailureWords(failures: { where: string; text: string; reason: string }[], limit = 3): string {
  if (!failures.length) return "";
  const n = failures.length;
  const head = `${n === 1 ? "1 pasted cell was" : `${n} pasted cells were`} not entered: `;
  const listed = failures.slice(0, limit).map((f) => `${f.where} “${f.text}”: ${f.reason.replace(/[.\s]+$/, "")}`);
  const more = n > limit ? `; and ${n - limit} more` : "";
  return `${head}${listed.join("; ")}${more}.`;
}

/** The state's sign (never colour alone) and its words. */
export function stateSign(state: CellState): { sign: string; words: string } {
  switch (state.kind) {
    case "saved":
      return { sign: "•", words: "saved on this computer, not yet sent" };
    case "sent":
      return { sign: "✓", words: "sent to the district" };
    case "refused":
      return { sign: "⚠", words: `kept in Rollbook only: the district refused it (${state.reason})` };
    case "conflict":
      return { sign: "⇄", words: `changed in the district's system meanwhile (theirs: ${cellText(state.server) || "empty"}); choose which to keep` };
    default:
      return { sign: "", words: "" };
  }
}

/** The whole cell in words, for screen readers and the tooltip. */
export function cellLabel(student: string, column: ColumnView, cell: CellView | undefined): string {
  const value = cell?.value ?? EMPTY;
  // The name starts with what the cell shows ("9 L"), then says it in words.
  const shown = cellText(value);
  const parts: string[] = shown ? [shown] : [];
  if (value.score != null) parts.push(`${formatScore(value.score)} of ${formatScore(column.maxPoints)}`);
  if (value.mark) parts.push(value.mark);
  if (!shown) parts.push("no grade");
  if (cell?.overMax) parts.push("above the maximum, extra credit");
  if (value.comment) parts.push(`comment: ${value.comment}`);
  const state = cell ? stateSign(cell.state).words : "";
  if (state) parts.push(state);
  return `${student}, ${column.title}: ${parts.join(", ")}`;
}

/** The cell's tooltip: only what the cell does not show already (its comment, its state
 * in words, extra credit), for a teacher's eyes; `undefined` for a plain grade. The
 * screen reader's whole sentence is `cellLabel`. */
export function cellTip(cell: CellView | undefined): string | undefined {
  if (!cell) return undefined;
  const parts: string[] = [];
  const state = stateSign(cell.state).words;
  if (state) parts.push(state.charAt(0).toUpperCase() + state.slice(1));
  if (cell.overMax) parts.push("Above the maximum (extra credit)");
  if (cell.value.comment) parts.push(`Comment: ${cell.value.comment}`);
  return parts.length ? parts.join(". ") : undefined;
}

/** Rows or columns to render for a scroll position (with a small overscan). */
export function window1d(offset: number, viewport: number, size: number, count: number, overscan = 3): { start: number; end: number } {
  const start = Math.max(0, Math.floor(offset / size) - overscan);
  const end = Math.min(count, Math.ceil((offset + viewport) / size) + overscan);
  return { start, end };
}
