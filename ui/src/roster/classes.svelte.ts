// The signed-in pages' state: which page is on screen (the class list, a class's roster
// or gradebook), the class list and the roster with when each was read, and the error
// that replaced them. The session owns one and forgets it at sign-out.

import type { Backend } from "../backend/backend";
import { toAppError } from "../backend/errors";
import type { AppError, ClassPage, ClassSummary, Dated, Student } from "../backend/types";

export type View = { kind: "classes" } | { kind: ClassPage; class: ClassSummary };

/** A class page's data: the roster (the gradebook page loads its own), or null. */
export type PageData = Dated<Student[]> | null;

/** Errors that mean the session is gone: the teacher signs in again. */
function sessionGone(error: AppError): boolean {
  return error.code === "sign_in_again" || error.code === "not_signed_in";
}

export class ClassPages {
  view = $state<View>({ kind: "classes" });
  /** The class list and the roster on screen, each with when it was read (a saved copy,
   * or fresh from the district). */
  classList = $state<Dated<ClassSummary[]> | null>(null);
  rosterPage = $state<Dated<Student[]> | null>(null);
  readonly classes = $derived(this.classList?.value ?? null);
  readonly students = $derived(this.rosterPage?.value ?? null);
  error = $state<AppError | null>(null);
  /** A saved copy is on screen while the district is asked for a fresher one. */
  classesUpdating = $state(false);
  pageUpdating = $state(false);

  /** `onSessionGone`: a read found the session ended (the session signs the teacher out). */
  constructor(
    private readonly backend: Backend,
    private readonly onSessionGone: (error: AppError) => void,
  ) {}

  /** Forgets the signed-in pages (signed out, or a start's saved session was not
   * confirmed after all). */
  reset() {
    this.view = { kind: "classes" };
    this.classList = null;
    this.rosterPage = null;
    this.classesUpdating = this.pageUpdating = false;
  }

  private failed(e: unknown) {
    const error = toAppError(e);
    if (sessionGone(error)) this.onSessionGone(error);
    else this.error = error;
  }

  /** Asks the district for the classes; `keepShown` leaves a saved copy on screen
   * while asking, instead of the loading line. */
  async loadClasses(keepShown = false) {
    if (!keepShown) this.classList = null;
    this.error = null;
    try {
      this.classList = await this.backend.classes();
    } catch (e) {
      this.failed(e);
    }
  }

  /** Starts reading a class page's data (the roster; the gradebook page loads its own,
   * store first). */
  fetchPage(classId: string, kind: ClassPage): Promise<PageData> {
    const pending: Promise<PageData> = kind === "roster" ? this.backend.roster(classId) : Promise.resolve(null);
    pending.catch(() => {}); // handled where it is awaited; it may never be (class gone)
    return pending;
  }

  async open(c: ClassSummary, kind: ClassPage, pending: Promise<PageData> = this.fetchPage(c.sourcedId, kind)) {
    // Reopening the page on screen (a warm start's saved copy, or the same tab again)
    // keeps it there while the fresher copy comes, so nothing jumps.
    const view = this.view;
    const same = view.kind === kind && view.class.sourcedId === c.sourcedId && this.students !== null;
    this.view = { kind, class: c };
    if (!same) this.rosterPage = null;
    this.error = null;
    this.backend.rememberView({ classId: c.sourcedId, page: kind }).catch(() => {});
    try {
      const s = await pending;
      const now = this.view;
      if (now.kind !== kind || now.class.sourcedId !== c.sourcedId) return; // the teacher moved on
      if (s) this.rosterPage = s;
    } catch (e) {
      this.failed(e);
    }
  }

  backToClasses() {
    this.view = { kind: "classes" };
    this.backend.rememberView(null).catch(() => {});
  }

  retry() {
    const view = this.view;
    if (view.kind === "classes") void this.loadClasses();
    else void this.open(view.class, view.kind);
  }
}
