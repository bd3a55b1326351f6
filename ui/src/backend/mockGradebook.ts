// The mock backend's gradebook: an in-memory stand-in for the local store and the
// district, enough for the UI's tests (entry, marks, states, sync outcomes). The real
// rules (averages, outbox, conflicts) live in Rust and are tested there.

import type { AppError, CellState, CellValue, CellView, ColumnView, GradeChange, GradebookPage, GradingRules, Mark, NewLineItem, SetAsideStore, StudentAverage, SyncReport } from "./types";
import { mockStudents } from "./mock";
import type { Attention, AttentionItem, Settle } from "../gradebook/attention";
import type { Unsent } from "./bindings/Unsent";
import type { UnsentByClass } from "./bindings/UnsentByClass";

export interface GradebookScenario {
  /** The district cannot be reached. */
  offline: boolean;
  /** The district refuses every write. */
  refuseWrites: boolean;
  /** The first sync finds the first edited cell changed in the district. */
  conflictOnce: boolean;
  /** Students per class in the gradebook, and assignments. */
  rows: number;
  columns: number;
  /** Something to settle: a set-aside store, orphaned edits, a refused new assignment. */
  attention: boolean;
  /** The fourth assignment has a title too long for its header (wraps, then clips). */
  longTitles?: boolean;
  /** The district answers 429 with `Retry-After` this many seconds (0: never). */
  backoffSeconds: number;
}

const MARKS: Record<string, Mark> = { M: "missing", X: "exempt", E: "exempt", L: "late", I: "incomplete" };

function invalid(text: string): AppError {
  return { code: "grade_invalid", message: `“${text}” is not a score or a mark; type a number, or M (missing), X or E (exempt), L (late), I (incomplete)`, nextStep: "Check what you typed." };
}

/** An average cut to the class's decimal places, its way (as the store does). */
function round(percent: number, rules: GradingRules): number {
  const scale = 10 ** rules.precision;
  // The small nudge keeps 89.95 from reading as 89.94999… before it is cut.
  const scaled = percent * scale + 1e-9;
  return (rules.rounding === "truncate" ? Math.floor(scaled) : Math.round(scaled)) / scale;
}

function letterOf(percent: number, rules: GradingRules): string | null {
  return [...rules.scale.grades].sort((a, b) => b.minPercent - a.minPercent).find((g) => percent >= g.minPercent)?.letter ?? null;
}

const SET_ASIDE_PATH = "/home/teacher/.local/share/rollbook/gradebook.sqlite.keyless-1796000000";

export class MockGradebooks {
  private books = new Map<string, { columns: ColumnView[]; cells: Map<string, CellView>; rules: GradingRules; syncedAt: string; students: ReturnType<typeof mockStudents> }>();
  private conflictUsed = false;
  private notBefore = 0;
  private attentionState: Attention | null = null;
  private setAsideGone = false;
  /** The class the attention scenario's orphans and held assignment belong to. */
  private attentionClass: string | null = null;

  constructor(private readonly scenario: GradebookScenario) {}

  private book(classId: string) {
    let book = this.books.get(classId);
    if (book) return book;
    const n = Number(classId.replace(/\D/g, ""));
    const students = mockStudents(n, this.scenario.rows);
    const columns: ColumnView[] = Array.from({ length: this.scenario.columns }, (_, i) => ({
      sourcedId: `li-${classId}-${i + 1}`,
      title: i === 3 && this.scenario.longTitles ? "Participation and discussion, week 4" : i % 3 === 2 ? `Unit ${i + 1} Test` : `Homework ${i + 1}`,
      categoryId: i % 3 === 2 ? "cat-tests" : "cat-homework",
      categoryTitle: i % 3 === 2 ? "Tests" : "Homework",
      maxPoints: i % 3 === 2 ? 100 : 10,
      assignDate: "2026-09-01",
      dueDate: "2026-09-08",
      local: false,
    }));
    const cells = new Map<string, CellView>();
    students.forEach((s, si) =>
      columns.forEach((c, ci) => {
        if ((si * 3 + ci) % 11 === 0) return;
        const kind = (si + ci) % 6;
        const value: CellValue =
          kind === 3 ? { score: null, mark: "missing", comment: null } : kind === 5 ? { score: null, mark: "exempt", comment: null } : { score: Math.round(c.maxPoints * (0.6 + ((si * 7 + ci) % 40) / 100)), mark: null, comment: null };
        cells.set(`${s.sourcedId}|${c.sourcedId}`, { lineItemId: c.sourcedId, studentId: s.sourcedId, value, state: { kind: "synced" }, overMax: false });
      }),
    );
    book = { columns, cells, students, rules: { categories: [], missingCountsAsZero: true, precision: 1, rounding: "halfUp", uncategorised: { weightPercent: 0, dropLowest: 0 }, scale: { grades: [{ letter: "A", minPercent: 90 }, { letter: "B", minPercent: 80 }, { letter: "C", minPercent: 70 }, { letter: "D", minPercent: 60 }, { letter: "F", minPercent: 0 }] } }, syncedAt: new Date().toISOString() };
    this.books.set(classId, book);
    return book;
  }

  page(classId: string): GradebookPage {
    const book = this.book(classId);
    const cells = [...book.cells.values()];
    const averages: StudentAverage[] = book.students.map((s) => {
      let earned = 0;
      let possible = 0;
      for (const c of book.columns) {
        const v = book.cells.get(`${s.sourcedId}|${c.sourcedId}`)?.value;
        if (!v || v.mark === "exempt") continue;
        if (v.mark === "missing") possible += c.maxPoints;
        else if (v.score != null) {
          earned += v.score;
          possible += c.maxPoints;
        }
      }
      const unrounded = possible > 0 ? (earned / possible) * 100 : null;
      // One rounded value, and the letter of it, as the store gives them.
      const percent = unrounded == null ? null : round(unrounded, book.rules);
      const letter = percent == null ? null : letterOf(percent, book.rules);
      const percentText = percent == null ? null : percent.toFixed(book.rules.precision);
      return { percent, percentText, unroundedPercent: unrounded, letter, weighted: false, categories: [], exempt: [], missing: [], unweighted: [], extraCreditPoints: 0, explanation: percent == null ? ["No graded work counts yet."] : [`Total points: ${earned} of ${possible} = ${percentText}%.`] };
    });
    const itemAverages = book.columns.map((c) => {
      const scores = cells.filter((x) => x.lineItemId === c.sourcedId && x.value.score != null).map((x) => x.value.score!);
      const mean = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
      const percent = mean == null ? null : round((mean / c.maxPoints) * 100, book.rules);
      return { percent, percentText: percent == null ? null : percent.toFixed(book.rules.precision), meanPoints: mean, counted: scores.length };
    });
    const shown = averages.flatMap((a) => (a.percent == null ? [] : [a.percent]));
    const classPercent = shown.length ? round(shown.reduce((a, b) => a + b, 0) / shown.length, book.rules) : null;
    const classAverage = { percent: classPercent, percentText: classPercent == null ? null : classPercent.toFixed(book.rules.precision), letter: classPercent == null ? null : letterOf(classPercent, book.rules), counted: shown.length };
    return {
      gradebook: {
        classId,
        title: `Class ${classId}`,
        syncedAt: book.syncedAt,
        students: book.students.map((s) => ({ sourcedId: s.sourcedId, givenName: s.givenName, familyName: s.familyName })),
        columns: book.columns,
        cells,
        rules: book.rules,
        studentAverages: averages,
        itemAverages,
        classAverage,
        pending: cells.filter((c) => c.state.kind === "saved").length,
        unsent: this.unsentByClass(classId),
      },
      setAside: this.setAsideStore(),
      location: { kind: "disk" },
      offlineReason: this.scenario.offline ? "could not reach the roster server (connection refused); check the network" : null,
    };
  }

  enter(classId: string, lineItemId: string, studentId: string, change: GradeChange): CellView {
    const book = this.book(classId);
    const column = book.columns.find((c) => c.sourcedId === lineItemId);
    if (!column || !book.students.some((s) => s.sourcedId === studentId)) throw { code: "gradebook_not_found", message: "That cell is not in this gradebook.", nextStep: "Sync, or check the id." } as AppError;
    const key = `${studentId}|${lineItemId}`;
    const current = book.cells.get(key);
    const before = current?.value ?? { score: null, mark: null, comment: null };
    let value: CellValue;
    if (change.kind === "value") value = change.value;
    else if (change.kind === "comment") value = { ...before, comment: change.comment };
    else {
      const text = change.text.trim();
      const mark = MARKS[text.toUpperCase()];
      if (!text) value = { score: null, mark: null, comment: before.comment };
      else if (mark) value = { score: mark === "late" || mark === "incomplete" ? before.score : null, mark, comment: before.comment };
      else {
        const score = Number(text.replace(",", "."));
        if (!Number.isFinite(score) || score < 0) throw invalid(text);
        value = { score, mark: before.mark === "late" ? "late" : null, comment: before.comment };
      }
    }
    const state: CellState = current?.state.kind === "conflict" ? current.state : { kind: "saved" };
    const view: CellView = { lineItemId, studentId, value, state, overMax: value.score != null && value.score > column.maxPoints };
    book.cells.set(key, view);
    return view;
  }

  createAssignment(classId: string, item: NewLineItem): string {
    if (!item.title.trim()) throw { code: "grade_invalid", message: "an assignment needs a title", nextStep: "Give it a title." } as AppError;
    const book = this.book(classId);
    const id = `new-${book.columns.length + 1}`;
    book.columns.push({ sourcedId: id, title: item.title, categoryId: item.categoryId, categoryTitle: book.columns.find((c) => c.categoryId === item.categoryId)?.categoryTitle ?? null, maxPoints: item.maxPoints, assignDate: item.assignDate, dueDate: item.dueDate, local: true });
    return id;
  }

  resolve(lineItemId: string, studentId: string, resolution: "keepMine" | "takeTheirs"): CellState {
    for (const book of this.books.values()) {
      const cell = book.cells.get(`${studentId}|${lineItemId}`);
      if (cell?.state.kind !== "conflict") continue;
      if (resolution === "takeTheirs") cell.value = cell.state.server;
      cell.state = resolution === "keepMine" ? { kind: "saved" } : { kind: "synced" };
      return cell.state;
    }
    throw { code: "gradebook_not_found", message: "No conflict there.", nextStep: "" } as AppError;
  }

  /** Classes whose grading rules the teacher set (they outlive a sign-out). */
  ruledClasses(): number {
    return this.ruled.size;
  }
  private ruled = new Set<string>();

  setRules(classId: string, rules: GradingRules): void {
    const total = rules.categories.reduce((a, c) => a + c.weightPercent, 0);
    if (total > 0 && Math.abs(total - 100) > 0.01) throw { code: "grade_invalid", message: `category weights must add up to 100% (they add up to ${total}%)`, nextStep: "Change the weights." } as AppError;
    const grades = rules.scale.grades;
    const letters = new Set(grades.map((g) => g.letter.trim()));
    const bad = (message: string) => ({ code: "grade_invalid", message, nextStep: "Change the letter scale." }) as AppError;
    if (!Number.isInteger(rules.precision) || rules.precision < 0 || rules.precision > 3) throw { code: "grade_invalid", message: `averages can be shown with 0 to 3 decimal places (not ${rules.precision})`, nextStep: "Change the decimal places." } as AppError;
    if (!grades.length || grades.some((g) => !g.letter.trim())) throw bad("every letter needs a name");
    if (letters.size !== grades.length) throw bad("each letter may appear only once");
    if (grades.some((g) => !Number.isFinite(g.minPercent) || g.minPercent < 0)) throw bad("a letter's minimum must be a percent of 0 or more");
    if (!grades.some((g) => g.minPercent === 0)) throw bad("the lowest letter must start at 0%, so every average has a letter");
    rules = { ...rules, scale: { grades: [...grades].sort((a, b) => b.minPercent - a.minPercent) } };
    this.book(classId).rules = rules;
    this.ruled.add(classId);
  }

  /** What the district does not have in one class, as the store's outbox counts it:
   * grades waiting, refused or in conflict, new assignments, and the attention
   * scenario's orphaned edits and held assignment (with its grades), in the class they
   * were first shown in. */
  private unsentIn(classId: string): Unsent {
    const n = { grades: 0, assignments: 0 };
    const book = this.books.get(classId);
    if (book) {
      for (const c of book.cells.values()) if (c.state.kind === "saved" || c.state.kind === "refused" || c.state.kind === "conflict") n.grades++;
      n.assignments += book.columns.filter((c) => c.local).length;
    }
    if (this.attentionState && this.attentionClass === classId) {
      n.grades += this.attentionState.orphans.length;
      for (const h of this.attentionState.held) {
        n.assignments++;
        n.grades += h.grades;
      }
    }
    return n;
  }

  /** The page's count: this class and the others. */
  unsentByClass(classId: string): UnsentByClass {
    const others = { grades: 0, assignments: 0 };
    const classes = new Set([...this.books.keys(), ...(this.attentionClass ? [this.attentionClass] : [])]);
    for (const id of classes) {
      if (id === classId) continue;
      const n = this.unsentIn(id);
      others.grades += n.grades;
      others.assignments += n.assignments;
    }
    return { thisClass: this.unsentIn(classId), otherClasses: others };
  }

  /** What sign-out counts: every class. */
  unsent(): Unsent {
    const all = this.unsentByClass("");
    return all.otherClasses;
  }

  /** The store set aside in the attention scenario, until kept, discarded or opened. */
  private setAsideStore(): SetAsideStore | null {
    return this.scenario.attention && !this.setAsideGone ? { code: "store_set_aside", path: SET_ASIDE_PATH, reason: "keyMissing", setAsideAt: 1796000000, unsent: 3, message: "" } : null;
  }

  attention(classId: string): Attention {
    const book = this.book(classId);
    if (!this.scenario.attention) return { setAside: [], orphans: [], held: [] };
    this.attentionClass ??= classId;
    this.attentionState ??= {
      setAside: [],
      orphans: [
        { lineItemId: "li-gone-1", studentId: book.students[0]!.sourcedId, assignment: "Lab safety quiz", student: `${book.students[0]!.familyName}, ${book.students[0]!.givenName}`, why: "assignmentGone", value: { score: 9, mark: null, comment: null }, editedAt: "2026-11-30T09:00:00.000Z", kept: false },
        { lineItemId: book.columns[0]!.sourcedId, studentId: "stu-left", assignment: book.columns[0]!.title, student: "Reyes, Dana", why: "studentLeft", value: { score: 7, mark: "late", comment: null }, editedAt: "2026-11-30T09:00:00.000Z", kept: false },
      ],
      held: [{ lineItemId: "li-held-1", title: "Poster project", why: "refused", grades: 4, kept: false }],
    };
    const setAside = this.setAsideStore();
    return structuredClone({ ...this.attentionState, setAside: setAside ? [setAside] : [] });
  }

  settle(item: AttentionItem, action: Settle): void {
    const a = this.attentionState;
    if (item.kind === "setAside") {
      if (item.path !== SET_ASIDE_PATH || this.setAsideGone) throw { code: "gradebook_not_found", message: "That set-aside gradebook is gone.", nextStep: "" } as AppError;
      if (action === "retry") throw { code: "keychain_error", message: "The set-aside gradebook still cannot be opened: its key is not in the keychain.", nextStep: "Restore the keychain it was made with, then try again; or keep it for your IT team." } as AppError;
      // Kept: it stays on disk and the window stops showing it.
      this.setAsideGone = true;
      return;
    }
    if (!a) throw { code: "gradebook_not_found", message: "Nothing of that kind waits.", nextStep: "" } as AppError;
    if (item.kind === "orphan") {
      const o = a.orphans.find((x) => x.lineItemId === item.lineItemId && x.studentId === item.studentId);
      if (!o) throw { code: "gradebook_not_found", message: "That edit is gone.", nextStep: "" } as AppError;
      if (action === "retry") throw { code: "gradebook_not_found", message: o.why === "assignmentGone" ? `“${o.assignment}” is still deleted in the district's system.` : `${o.student} is still not in this class.`, nextStep: "Keep the grade (it is in the CSV export) or discard it." } as AppError;
      if (action === "keep") o.kept = true;
      else a.orphans = a.orphans.filter((x) => x !== o);
    } else {
      const h = a.held.find((x) => x.lineItemId === item.lineItemId);
      if (!h) throw { code: "gradebook_not_found", message: "That assignment is gone.", nextStep: "" } as AppError;
      // Retried, it goes with the next sync, no longer held.
      if (action === "keep") h.kept = true;
      else a.held = a.held.filter((x) => x !== h);
    }
  }

  sync(): SyncReport {
    const report: SyncReport = { sent: [], refused: [], conflicts: [], retrying: [], offline: this.scenario.offline, waiting: 0, held: 0, pausedSeconds: null, pausedByServer: false };
    if (this.scenario.backoffSeconds > 0) {
      // The district answered 429: nothing more is sent until its pause is over.
      if (Date.now() >= this.notBefore) this.notBefore = Date.now() + this.scenario.backoffSeconds * 1000;
      report.pausedSeconds = Math.ceil((this.notBefore - Date.now()) / 1000);
      report.pausedByServer = true;
      for (const book of this.books.values()) for (const c of book.cells.values()) if (c.state.kind === "saved") report.waiting++;
      return report;
    }
    for (const book of this.books.values()) {
      for (const c of book.cells.values()) {
        if (c.state.kind !== "saved") continue;
        const outcome = { kind: "result", sourcedId: `${c.lineItemId}.${c.studentId}`, lineItemId: c.lineItemId, studentId: c.studentId, reason: null };
        if (this.scenario.offline) {
          report.waiting++;
        } else if (this.scenario.conflictOnce && !this.conflictUsed) {
          this.conflictUsed = true;
          c.state = { kind: "conflict", server: { score: 3, mark: null, comment: null } };
          report.conflicts.push(outcome);
        } else if (this.scenario.refuseWrites) {
          const reason = "the roster server refused access (HTTP 403): \u201cThis district's student information system does not accept grades from other applications.\u201d";
          c.state = { kind: "refused", reason };
          report.refused.push({ ...outcome, reason });
        } else {
          c.state = { kind: "sent" };
          report.sent.push(outcome);
        }
      }
      for (const col of book.columns) if (!this.scenario.offline) col.local = false;
    }
    return report;
  }
}
