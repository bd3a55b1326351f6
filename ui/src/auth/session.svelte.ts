// Who is signed in and what the window shows about it: starting, the sign-in page (with
// its error or notice), waiting for the browser, signed in (with the class pages), or a
// sign-out the keychain has not let finish. Restore at start, sign-in, sign-out with
// the unsent-grades choice, and idle sign-out live here; App.svelte only shows them.

import type { Backend } from "../backend/backend";
import { toAppError } from "../backend/errors";
import type { AppError, SessionInfo, SignedOut, SignInProgress, SignInRequest } from "../backend/types";
import type { Unsent } from "../backend/bindings/Unsent";
import type { UnsentByClass } from "../backend/bindings/UnsentByClass";
import { ClassPages, type PageData } from "../roster/classes.svelte";
import { afterSendingWarning, asksTeacher, idleReason, signedOutNotice } from "./signOut";

export type Phase = "starting" | "signed-out" | "signing-in" | "signed-in" | "sign-out-unfinished";

export class Session {
  phase = $state<Phase>("starting");
  info = $state<SessionInfo | null>(null);
  signInError = $state<AppError | null>(null);
  waitingUrl = $state<string | null>(null);
  browserProblem = $state<string | null>(null);
  /** What the sign-in page says after a sign-out (close the browser, idle). */
  notice = $state<string | null>(null);
  /** Why sign-out is not finished (the keychain kept the saved sign-in). */
  unfinished = $state<AppError | null>(null);
  /** Seconds without activity before signing out (school policy); 0: never. */
  idleSeconds = $state(0);
  /** Grades not yet sent, when a sign-out was asked for: the teacher chooses. */
  unsentWarning = $state<AppError | null>(null);
  /** The store's count of what the district does not have, as a gradebook last read it
   * this sign-in (null before any): the dialog's heading names what waits. */
  unsent = $state<Unsent | null>(null);
  readonly pages: ClassPages;

  constructor(private readonly backend: Backend) {
    this.pages = new ClassPages(backend, (error) => {
      this.info = null;
      this.signInError = error;
      this.phase = "signed-out";
    });
  }

  /** Listens for sign-in progress, restores the saved session and reads the idle policy;
   * returns the function that stops listening. */
  start(): () => void {
    const stop = this.backend.onSignInProgress((p) => this.progress(p));
    void this.restore();
    this.backend.signInPresets().then((p) => (this.idleSeconds = p.idleSignOutSeconds), () => {});
    return stop;
  }

  private progress(p: SignInProgress) {
    if (p.stage === "waiting") {
      this.waitingUrl = p.url;
      this.browserProblem = p.browserProblem;
    }
  }

  async restore() {
    const pages = this.pages;
    // Three questions at once: what this computer saved (answered without the network),
    // the session (checked with the provider when its token has expired), and the
    // classes (from the district). A signed-in start shows the saved copy at once and
    // replaces it in place when the fresher one comes; when signed out, the saved answer
    // is null and the classes' is dropped.
    const early = this.backend.classes().catch(() => null);
    const warm = this.backend.savedStart().catch(() => null);
    const confirmed = this.backend.session();
    confirmed.catch(() => {});
    const saved = await warm;
    let last = saved?.session.lastView ?? null;
    // The last class page's fresh data is asked for now, beside the classes.
    let page: Promise<PageData> | null = last ? pages.fetchPage(last.classId, last.page) : null;
    if (saved && this.phase === "starting") {
      this.info = saved.session;
      this.phase = "signed-in";
      if (saved.classes) {
        pages.classList = saved.classes;
        pages.classesUpdating = true;
        const current = last && saved.classes.value.find((c) => c.sourcedId === last!.classId);
        if (current && last) {
          pages.view = { kind: last.page, class: current };
          if (saved.roster && last.page === "roster") {
            pages.rosterPage = saved.roster;
            pages.pageUpdating = true;
          }
        }
      }
    }
    let checked: SessionInfo | null;
    try {
      checked = await confirmed;
    } catch (e) {
      const error = toAppError(e);
      if (saved && error.offline) {
        // The provider could not be reached to check the session: work from this
        // computer's copy (the pages say they are offline) rather than sign out.
        checked = saved.session;
      } else {
        this.resetSignedIn();
        if (error.code === "sign_out_unfinished") {
          this.unfinished = error;
          this.phase = "sign-out-unfinished";
          return;
        }
        this.signInError = error;
        this.phase = "signed-out";
        return;
      }
    }
    this.info = checked;
    if (!checked) {
      this.resetSignedIn();
      this.phase = "signed-out";
      return;
    }
    if (!page && checked.lastView) {
      last = checked.lastView;
      page = pages.fetchPage(last.classId, last.page);
    }
    const ready = await early;
    this.phase = "signed-in";
    if (ready) pages.classList = ready;
    else await pages.loadClasses(pages.classes !== null);
    pages.classesUpdating = false;
    const current = last && pages.classes?.find((c) => c.sourcedId === last!.classId);
    if (last && current && page) await pages.open(current, last.page, page);
    else if (pages.view.kind !== "classes" && !current) pages.view = { kind: "classes" };
    pages.pageUpdating = false;
  }

  /** Forgets the signed-in pages (signed out, or a start's saved session was not
   * confirmed after all). */
  private resetSignedIn() {
    this.info = null;
    this.unsent = null;
    this.pages.reset();
  }

  async signIn(request: SignInRequest) {
    this.phase = "signing-in";
    this.signInError = null;
    this.notice = null;
    this.waitingUrl = null;
    this.browserProblem = null;
    try {
      this.info = await this.backend.signIn(request);
      this.phase = "signed-in";
      this.pages.view = { kind: "classes" };
      await this.pages.loadClasses();
    } catch (e) {
      const error = toAppError(e);
      this.signInError = error.code === "sign_in_cancelled" ? null : error;
      this.phase = "signed-out";
    }
  }

  /** A gradebook read the store's count (this class and the others together). */
  counted(n: UnsentByClass) {
    this.unsent = { grades: n.thisClass.grades + n.otherClasses.grades, assignments: n.thisClass.assignments + n.otherClasses.assignments };
  }

  /** Signs out (from the menu, after idle, or again after an unfinished sign-out).
   * `discardUnsent`: the teacher chose to delete what waits (or is gone: idle). */
  async signOut(reason: string | null = null, discardUnsent = false) {
    if (!discardUnsent) {
      // Asked first, so nothing on screen changes when the teacher decides to stay.
      try {
        this.finishSignOut(await this.backend.signOut(false), reason);
      } catch (e) {
        const error = toAppError(e);
        // Grades wait, or Rollbook cannot tell (a locked keychain): the teacher decides.
        if (asksTeacher(error)) this.unsentWarning = error;
        else this.failSignOut(error, reason);
      }
      return;
    }
    try {
      this.finishSignOut(await this.backend.signOut(true), reason);
    } catch (e) {
      this.failSignOut(toAppError(e), reason);
    }
  }

  /** The window saw no input for the idle limit. Unless the computer says the person is
   * only at another program (then: seconds until asking again), the teacher is gone: send
   * what waits, then sign out whatever remains. When the check itself fails, the school's
   * limit wins and the teacher is signed out (a shared computer must not stay open). */
  async idle(windowIdleSeconds = this.idleSeconds): Promise<number> {
    const check = await this.backend.idleCheck(windowIdleSeconds).catch(() => null);
    if (check && !check.signOut) return Math.max(1, check.checkAgainSeconds);
    await this.backend.syncGrades(true).catch(() => {});
    void this.signOut(idleReason(this.idleSeconds), true);
    return 0;
  }

  /** The dialog's "Send them, then sign out". */
  async sendThenSignOut() {
    const report = await this.backend.syncGrades(true).catch(() => null);
    const warning = afterSendingWarning(report);
    if (warning) this.unsentWarning = warning;
    else await this.signOut();
  }

  /** The dialog's "Stay signed in". */
  stay() {
    this.unsentWarning = null;
  }

  /** From an unfinished sign-out to the sign-in page; the keychain is tried again at start. */
  continueSignedOut() {
    this.notice = "Your saved sign-in is still to be deleted from this computer's keychain; Rollbook tries again each time it starts.";
    this.phase = "signed-out";
  }

  private finishSignOut(result: SignedOut, reason: string | null) {
    this.unsentWarning = null;
    this.resetSignedIn();
    this.notice = signedOutNotice(result, reason);
    this.unfinished = null;
    this.signInError = null;
    this.phase = "signed-out";
  }

  private failSignOut(error: AppError, reason: string | null) {
    this.unsentWarning = null;
    this.resetSignedIn();
    if (error.code === "sign_out_unfinished") {
      this.unfinished = error;
      this.phase = "sign-out-unfinished";
    } else {
      this.notice = reason;
      this.signInError = error;
      this.phase = "signed-out";
    }
  }
}
