// One class's gradebook as the page works on it: the page read from this computer's
// store and the district, the cursor and selection, every change to cells through one
// queue (with undo), and when grades are sent. Gradebook.svelte and its panels show it;
// GradeGrid.svelte turns keys into calls here.

import type { Backend } from "../backend/backend";
import { toAppError } from "../backend/errors";
import type { CellValue, CellView, GradeChange, GradebookPage, GradingRules, NewLineItem, Resolution, SyncReport } from "../backend/types";
import { age } from "../lib/freshness";
import { plainMessage, unsentWords } from "../lib/words";
import { EMPTY, History, cellText, historyTargets, problemCounts, rangeOf, type CellChangeRecord, type Pos } from "./grid";
import { autoSyncAt, pauseOf, waitWords, type Pause } from "./syncPlan";
import { afterEdit } from "./unsent";

/** What the teacher is told beside the grid (a refused entry, an export, an error): the
 * words first, the next step, and the code for IT behind "Details". */
export type Message = { text: string; nextStep?: string; code?: string; detail?: string[] };

/** A cell the store would not take, for a paste that says them all at once. */
export type Failure = { where: string; text: string; reason: string };

type Target = { pos: Pos; change: GradeChange | ((before: CellValue) => GradeChange | null) };

export class Book {
  page = $state<GradebookPage | null>(null);
  /** The page could not be read at all (nothing saved either). */
  error = $state<ReturnType<typeof toAppError> | null>(null);
  /** Why the district could not be reached (the saved copy is shown). */
  offline = $state<string | null>(null);
  refreshing = $state(false);
  syncing = $state(false);
  lastReport = $state<SyncReport | null>(null);
  now = $state(new Date());
  message = $state<Message | null>(null);
  /** A pause the engine reported (the district's 429, or back-off): no automatic sync before it. */
  pause = $state<Pause | null>(null);
  /** Bumped after each sync, so the list of things to settle is read again. */
  synced = $state(0);

  active = $state<Pos>({ row: 0, col: 0 });
  anchor = $state<Pos>({ row: 0, col: 0 });

  private readonly history = new History();
  private historyVersion = $state(0);

  readonly view = $derived(this.page?.gradebook ?? null);
  readonly students = $derived(this.view?.students ?? []);
  readonly columns = $derived(this.view?.columns ?? []);
  readonly cells = $derived(new Map<string, CellView>((this.view?.cells ?? []).map((c) => [`${c.studentId}|${c.lineItemId}`, c] as const)));
  readonly selection = $derived(rangeOf(this.anchor, this.active));
  readonly categories = $derived(
    [...new Map(this.columns.filter((c) => c.categoryId).map((c) => [c.categoryId!, c.categoryTitle ?? c.categoryId!])).entries()].map(([id, title]) => ({ id, title })),
  );
  // `historyVersion` changes with every step, so these follow the history.
  readonly canUndo = $derived(this.historyVersion >= 0 && this.history.canUndo);
  readonly canRedo = $derived(this.historyVersion >= 0 && this.history.canRedo);
  // Refused and in-conflict grades a cell shows (⚠, ⇄), and those no cell shows (the
  // student left, the assignment was deleted): those are settled in the To-settle list.
  readonly problemSplit = $derived(problemCounts(this.view?.cells ?? [], new Set(this.students.map((s) => s.sourcedId)), new Set(this.columns.map((c) => c.sourcedId))));

  constructor(
    private readonly backend: Backend,
    readonly classId: string,
  ) {}

  /** Reads the page and keeps it current (the clock of "updated N minutes ago", a sync
   * when the network comes back); returns the function that stops it all. */
  start(): () => void {
    void this.load();
    const clock = setInterval(() => (this.now = new Date()), 15_000);
    // The network is back: send what waits (unless the district asked for a pause).
    const online = () => void this.sync("auto");
    window.addEventListener("online", online);
    return () => {
      clearInterval(clock);
      clearTimeout(this.syncTimer);
      clearTimeout(this.rereadTimer);
      window.removeEventListener("online", online);
    };
  }

  tell(e: unknown, about = "") {
    const error = toAppError(e);
    const plain = plainMessage(error.message);
    this.message = { text: `${about}${plain.words}`, nextStep: error.nextStep, code: error.code, detail: plain.detail };
  }

  cellAt(pos: Pos): CellView | undefined {
    const s = this.students[pos.row];
    const c = this.columns[pos.col];
    return s && c ? this.cells.get(`${s.sourcedId}|${c.sourcedId}`) : undefined;
  }
  valueAt(pos: Pos): CellValue {
    return this.cellAt(pos)?.value ?? EMPTY;
  }
  studentName(row: number): string {
    const s = this.students[row];
    return s ? `${s.familyName}, ${s.givenName}` : "";
  }
  /** "Malak Adeyemi", for sentences ("Malak Adeyemi's average"); the grid lists family first. */
  givenFirst(row: number): string {
    const s = this.students[row];
    return s ? `${s.givenName} ${s.familyName}` : "";
  }
  /** "Adeyemi, Malak, Quiz 1": a cell as the panels and messages name it. */
  cellName(pos: Pos): string {
    return `${this.studentName(pos.row)}, ${this.columns[pos.col]?.title}`;
  }

  /** The copy on this computer first (instant), then the district's, without jumping. */
  async load() {
    this.error = null;
    try {
      const saved = await this.backend.savedGradebook(this.classId);
      if (saved) this.page = saved;
    } catch (e) {
      this.error = toAppError(e);
    }
    await this.refresh();
  }

  async refresh() {
    this.refreshing = true;
    try {
      const fresh = await this.backend.gradebook(this.classId);
      this.page = fresh;
      this.offline = fresh.offlineReason;
      this.error = null;
    } catch (e) {
      if (!this.page) this.error = toAppError(e);
      else this.tell(e);
    } finally {
      this.refreshing = false;
    }
  }

  /** Re-reads this computer's copy (after edits and syncs: states and averages). */
  async reread() {
    const saved = await this.backend.savedGradebook(this.classId).catch(() => null);
    // A set-aside store is reported when the store is opened; it stays on screen until
    // the teacher settles it.
    if (saved) this.page = { ...saved, offlineReason: this.offline, setAside: saved.setAside ?? this.page?.setAside ?? null };
  }

  /** The list to settle opened a set-aside store again (or kept it aside): it leaves the page. */
  setAsideSettled() {
    if (this.page) this.page = { ...this.page, setAside: null };
  }

  // The window syncs by itself only once typing pauses (1.2 s after the last edit), and
  // when the network comes back; never before a pause the district asked for. There is
  // no periodic retry: the engine keeps what waits, and "Sync now" sends it.
  private syncTimer: ReturnType<typeof setTimeout> | undefined;
  private lastEditAt = 0;
  /** An automatic sync was due while one ran: run it after. */
  private syncAgain = false;
  syncSoon() {
    this.lastEditAt = Date.now();
    this.scheduleSync();
  }
  private scheduleSync() {
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => void this.sync("auto"), Math.max(0, autoSyncAt(this.lastEditAt, this.pause?.at ?? null) - Date.now()));
  }

  async sync(why: "auto" | "now") {
    const pause = this.pause;
    if (why === "auto" && pause && Date.now() < pause.at) {
      if (this.view && this.view.pending > 0) this.scheduleSync();
      return;
    }
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    try {
      const report = await this.backend.syncGrades(why === "now");
      this.lastReport = report;
      this.pause = pauseOf(report, Date.now());
      this.offline = report.offline ? "The district could not be reached." : null;
      // The teacher's Sync now also reads the district's copy, so a change made in the SIS
      // meanwhile shows; a sync of its own re-reads only this computer's.
      if (why === "now" && !report.offline) await this.refresh();
      else await this.reread();
      this.synced++;
    } catch (e) {
      this.tell(e);
    } finally {
      this.syncing = false;
    }
    // Once the pause is over, what still waits goes by itself (one sync, not a retry loop).
    if (this.syncAgain || (this.pause && this.view && this.view.pending > 0)) {
      this.syncAgain = false;
      this.scheduleSync();
    }
  }

  private patch(cell: CellView) {
    const page = this.page;
    if (!page) return;
    const before = page.gradebook.cells.find((c) => c.studentId === cell.studentId && c.lineItemId === cell.lineItemId);
    const others = page.gradebook.cells.filter((c) => c !== before);
    // The store's count of what waits moves with the cell, so the status line follows the
    // typing; the next read gives the store's own count again.
    const unsent = afterEdit(page.gradebook.unsent, before?.state, cell.state);
    this.page = { ...page, gradebook: { ...page.gradebook, cells: [...others, cell], unsent } };
  }

  // Every change to cells goes through one queue, in the order the keys were pressed: a
  // key typed while a commit is in flight waits for it, and what it changes was decided
  // when it was pressed (the cell the cursor was on then), never the cell of an earlier
  // key. Each job reads the cells' values when it runs, so it sees the commits before it.
  private work: Promise<void> = Promise.resolve();
  enqueue(job: () => Promise<void>): Promise<void> {
    this.work = this.work.then(job).catch((e) => {
      this.tell(e);
    });
    return this.work;
  }

  /** Queues changes to cells (one undo step) and schedules a sync. `failures`: collect
   * what the store would not take, instead of telling each one (a paste says them all at
   * once; one message would replace the other). */
  change(targets: Target[], recordHistory = true, failures?: Failure[]): Promise<void> {
    return this.enqueue(() => this.apply(targets, recordHistory, failures));
  }

  private async apply(targets: Target[], recordHistory: boolean, failures?: Failure[]): Promise<void> {
    const records: CellChangeRecord[] = [];
    for (const target of targets) {
      const pos = target.pos;
      const s = this.students[pos.row];
      const c = this.columns[pos.col];
      if (!s || !c) continue;
      const before = this.valueAt(pos);
      const change = typeof target.change === "function" ? target.change(before) : target.change;
      if (!change) continue;
      try {
        const after = await this.backend.enterGrade(this.classId, c.sourcedId, s.sourcedId, change);
        this.patch(after);
        records.push({ lineItemId: c.sourcedId, studentId: s.sourcedId, before, after: after.value });
      } catch (e) {
        if (failures) failures.push({ where: `${this.studentName(pos.row)}, ${c.title}`, text: change.kind === "typed" ? change.text : cellText(change.kind === "value" ? change.value : before), reason: plainMessage(toAppError(e).message).words });
        else this.tell(e, `${this.studentName(pos.row)}, ${c.title}: `);
      }
    }
    if (recordHistory) {
      this.history.record(records);
      this.historyVersion++;
    }
    // The cells show at once (above); the averages follow once typing pauses, so a big
    // class is not re-read on every keystroke.
    this.rereadSoon();
    this.syncSoon();
  }

  private rereadTimer: ReturnType<typeof setTimeout> | undefined;
  private rereadSoon() {
    clearTimeout(this.rereadTimer);
    this.rereadTimer = setTimeout(() => void this.reread(), 250);
  }

  private async applyValues(step: CellChangeRecord[], which: "before" | "after") {
    const valueOf = (r: CellChangeRecord) => this.cells.get(`${r.studentId}|${r.lineItemId}`)?.value ?? EMPTY;
    const { apply: still, changedSince } = historyTargets(step, which, valueOf);
    if (changedSince.length) {
      const named = changedSince.slice(0, 3).map((r) => {
        const row = this.students.findIndex((s) => s.sourcedId === r.studentId);
        return `${row >= 0 ? this.studentName(row) : "a student who left"}, ${this.columns.find((c) => c.sourcedId === r.lineItemId)?.title ?? "a deleted assignment"}`;
      });
      const more = changedSince.length > 3 ? ` and ${changedSince.length - 3} more` : "";
      this.message = { text: `${which === "before" ? "Undo" : "Redo"} left ${changedSince.length === 1 ? "a grade" : `${changedSince.length} grades`} as ${changedSince.length === 1 ? "it is" : "they are"}: changed since (in the district, or a conflict settled): ${named.join("; ")}${more}.` };
    }
    const targets = still.flatMap((r) => {
      const row = this.students.findIndex((s) => s.sourcedId === r.studentId);
      const col = this.columns.findIndex((c) => c.sourcedId === r.lineItemId);
      return row < 0 || col < 0 ? [] : [{ pos: { row, col }, change: { kind: "value", value: r[which] } as GradeChange }];
    });
    await this.apply(targets, false);
    this.historyVersion++;
  }

  undoRedo(redo: boolean) {
    return this.enqueue(async () => {
      const step = redo ? this.history.redo() : this.history.undo();
      if (step) await this.applyValues(step, redo ? "after" : "before");
    });
  }

  async resolve(pos: Pos, resolution: Resolution) {
    const s = this.students[pos.row];
    const c = this.columns[pos.col];
    if (!s || !c) return;
    try {
      await this.backend.resolveConflict(c.sourcedId, s.sourcedId, resolution);
    } catch (e) {
      this.tell(e);
    }
    await this.reread();
    if (resolution === "keepMine") this.syncSoon();
  }

  /** Adds an assignment; resolves with its id (rejects with the store's error). */
  createAssignment(item: NewLineItem): Promise<string> {
    return this.backend.createAssignment(this.classId, item);
  }

  /** The column of an assignment (a new one: the last, until the page is read again). */
  columnOf(lineItemId: string): number {
    const col = this.columns.findIndex((c) => c.sourcedId === lineItemId);
    return col >= 0 ? col : this.columns.length - 1;
  }

  saveRules(rules: GradingRules): Promise<void> {
    return this.backend.setGradingRules(this.classId, rules);
  }

  async exportCsv() {
    try {
      const path = await this.backend.exportGradebook(this.classId);
      const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
      const folder = cut > 0 ? path.slice(0, cut) : path;
      const file = path.slice(cut + 1);
      this.message = { text: `Saved “${file}” in the folder ${folder}. It holds students' grades: keep it somewhere safe.` };
    } catch (e) {
      this.tell(e);
    }
  }

  /** The status line: what waits, a pause, sending, and when the district was last read. */
  status(): string {
    const view = this.view;
    if (!view) return "";
    const now = this.now.getTime();
    const updated = view.syncedAt ? age(view.syncedAt, now) : "never";
    // The store's count, the one sign-out refuses on: this class, then the others.
    const unsent = unsentWords(view.unsent);
    if (this.offline) return `Offline: ${unsent ? `${unsent} ` : ""}Grades are saved on this computer and will be sent when the district can be reached. Last updated ${updated}.`;
    if (this.pause && this.pause.at > now) return waitWords(this.pause);
    if (this.syncing) return "Sending grades to the district…";
    // "All sent" only when nothing waits and nothing was refused, in any class.
    const waiting = unsent ? `${unsent} ` : this.lastReport?.sent.length ? "All grades sent. " : "";
    return `${waiting}Updated ${updated}.`;
  }
}
