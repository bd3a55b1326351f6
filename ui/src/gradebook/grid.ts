// The gradebook grid's logic, free of the DOM: which cell a key moves to, what a key
// does, spreadsheet paste, fill down, undo history, and how a cell is shown and spoken.

import type { CellState, CellValue, CellView, ColumnView, Mark } from "../backend/types";

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

export function clamp(pos: Pos, rows: number, cols: number): Pos {
  return { row: Math.max(0, Math.min(rows - 1, pos.row)), col: Math.max(0, Math.min(cols - 1, pos.col)) };
}

/** Where a navigation key moves the active cell (not editing). `null`: not a move. */
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
    case "Tab":
      return to(pos.row, pos.col + (shift ? -1 : 1));
    case "PageDown":
      return to(pos.row + page, pos.col);
    case "PageUp":
      return to(pos.row - page, pos.col);
    case "Home":
      return to(pos.row, 0);
    case "End":
      return to(pos.row, cols - 1);
    default:
      return null;
  }
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

/** The cells a paste at `at` writes: (position, text), clipped to the grid. */
export function pasteTargets(at: Pos, block: string[][], rows: number, cols: number): { pos: Pos; text: string }[] {
  const out: { pos: Pos; text: string }[] = [];
  block.forEach((line, r) =>
    line.forEach((text, c) => {
      const pos = { row: at.row + r, col: at.col + c };
      if (pos.row < rows && pos.col < cols) out.push({ pos, text });
    }),
  );
  return out;
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

export const EMPTY: CellValue = { score: null, mark: null, comment: null };

export function sameValue(a: CellValue, b: CellValue): boolean {
  return a.score === b.score && a.mark === b.mark && (a.comment ?? null) === (b.comment ?? null);
}

export function formatScore(score: number): string {
  return String(Math.round(score * 100) / 100);
}

/** An average as the grid shows it: one decimal ("87.5%"). */
export function formatPercent(percent: number): string {
  return `${Math.round(percent * 10) / 10}%`;
}

const MARK_LETTER: Record<Mark, string> = { missing: "M", exempt: "X", late: "L", incomplete: "I" };

/** What the cell shows: "8.5", "M", "8.5 L". */
export function cellText(value: CellValue): string {
  const score = value.score == null ? "" : formatScore(value.score);
  const mark = value.mark ? MARK_LETTER[value.mark] : "";
  return [score, mark].filter(Boolean).join(" ");
}

/** The text a cell is edited from. */
export function editText(value: CellValue): string {
  if (value.score != null) return formatScore(value.score);
  return value.mark ? MARK_LETTER[value.mark] : "";
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

/** Rows or columns to render for a scroll position (with a small overscan). */
export function window1d(offset: number, viewport: number, size: number, count: number, overscan = 3): { start: number; end: number } {
  const start = Math.max(0, Math.floor(offset / size) - overscan);
  const end = Math.min(count, Math.ceil((offset + viewport) / size) + overscan);
  return { start, end };
}
