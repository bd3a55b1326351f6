import type { Backend, Unsubscribe } from "./backend";
import type { AppError, CellState, CellView, ClassSummary, Dated, GradeChange, GradebookPage, GradingRules, LastView, NewLineItem, Preferences, Resolution, SavedStart, SessionInfo, SignInPresets, SignInProgress, SignInRequest, SignedOut, Student, SyncReport } from "./types";
import type { IdleCheck } from "./bindings/IdleCheck";
import { MockGradebooks, type GradebookScenario } from "./mockGradebook";
import type { Attention, AttentionItem, Settle } from "../gradebook/attention";
import { unsentThings } from "../lib/words";

/** How the mock behaves; tests pick one with `?scenario=…` (see `fromLocation`). */
export interface MockScenario {
  signedIn: boolean;
  /** Students per class. */
  rows: number;
  classes: number;
  /** Fail these calls with this error. */
  failSignIn?: AppError;
  /** The session check at start fails (say, `providerDown` with an expired token). */
  failSession?: AppError;
  failClasses?: AppError;
  failRoster?: AppError;
  failPreferences?: AppError;
  preferences: Preferences;
  /** What the build presets for ClassLink (`?presets=classlink`: everything). */
  presets: SignInPresets;
  /** The class page a signed-in restart reopens. */
  lastView: LastView | null;
  /** Sign-in waits for `completeSignIn()` instead of finishing by itself. */
  holdSignIn?: boolean;
  /** Sign-out cannot delete the saved sign-in (a locked keychain) this many times. */
  unfinishedSignOuts: number;
  /** What a shared-machine sign-out does with the browser's provider session. */
  browserSession: SignedOut["browserSession"];
  delayMs: number;
  /** How long committing a grade takes (`?enterDelay=N`), to type ahead of it. */
  enterDelayMs: number;
  /** The gradebook's district: offline, refusing, conflicting (`?offline=1` …). */
  gradebook: GradebookScenario;
  /** A copy of the class list and rosters saved on this computer this many minutes ago
   * (`?saved=N`), shown at once by a signed-in start, and offline (`?offline=1`). */
  savedMinutesAgo: number | null;
}

const OFFLINE_REASON = "Could not reach the roster server (connection refused).";

const GIVEN = ["Aaliyah", "Mateo", "Zoë", "Kenji", "Amara", "Siobhán", "Tomás", "Priya", "Noah", "Thandiwe", "Wei", "Yara"];
const FAMILY = ["Nguyễn", "O'Brien", "García-López", "Okafor", "Kowalski", "Tanaka", "Smith", "Haddad", "Ó Súilleabháin", "Patel", "Begay", "Müller"];

export const ERRORS: Record<string, AppError> = {
  providerDown: { code: "provider_unreachable", message: "Could not reach the sign-in provider.", nextStep: "Check your network connection, then try again.", offline: true },
  denied: { code: "authorization_access_denied", message: "Access was not allowed at the provider.", nextStep: "Sign in again and choose Allow." },
  timeout: { code: "sign_in_timeout", message: "The browser did not come back within 5 minutes.", nextStep: "Try again, and finish signing in in the browser." },
  rosterDown: { code: "roster_server_error", message: "The roster server failed (HTTP 503).", nextStep: "Try again in a few minutes." },
  keychainLocked: { code: "keychain_locked", message: "The system keychain is locked.", nextStep: "Unlock your keychain (or sign in to your computer again), then retry." },
  fileError: { code: "file_error", message: "Could not write preferences.json (permission denied).", nextStep: "Try again. If it keeps happening, tell your IT team the code below." },
  expired: { code: "sign_in_again", message: "Your session has ended.", nextStep: "Sign in again." },
  signOutUnfinished: {
    code: "sign_out_unfinished",
    message: "You are signed out, but your saved sign-in could not be deleted from this computer's keychain (the system keychain did not answer; it may be locked). Rollbook will try again when it next starts.",
    nextStep: "Unlock your keychain (or sign in to your computer again), then try again.",
  },
};

export function mockStudents(classIndex: number, count: number): Student[] {
  return Array.from({ length: count }, (_, i) => {
    const given = GIVEN[(i * 7 + classIndex) % GIVEN.length]!;
    const family = FAMILY[(i * 5 + classIndex * 3) % FAMILY.length]!;
    const n = String(i).padStart(4, "0");
    return {
      sourcedId: `stu-${classIndex}-${n}`,
      givenName: given,
      familyName: `${family}${count > FAMILY.length ? ` ${Math.floor(i / FAMILY.length)}` : ""}`,
      preferredFirstName: i % 9 === 3 ? "Alex" : undefined,
      email: `s${classIndex}${n}@students.demo-district.example`,
      username: `s${classIndex}${n}`,
      grades: [String(9 + (i % 4)).padStart(2, "0")],
    };
  });
}

function mockClasses(count: number): ClassSummary[] {
  const titles = ["Algebra I", "Geometry", "Biology", "World History", "English 10", "Spanish II"];
  return Array.from({ length: count }, (_, i) => ({
    sourcedId: `cls-${i + 1}`,
    title: `${titles[i % titles.length]} - Period ${i + 1}`,
    classCode: i === 2 ? null : `CODE-${100 + i}`,
    periods: i === 2 ? [] : [String(i + 1)],
    school: { sourcedId: "sch-1", type: "org", name: "Maple Grove High School" },
    terms: [i % 4 === 3 ? { sourcedId: "t-spring", type: "academicSession", title: "Spring 2027" } : { sourcedId: "t-fall", type: "academicSession", title: "Fall 2026" }],
    grades: ["09"],
    subjects: ["Mathematics"],
    location: "Room 114",
    studentCount: 0,
  }));
}

export class MockBackend implements Backend {
  private listeners = new Set<(p: SignInProgress) => void>();
  private pending: { resolve: (s: SessionInfo) => void; reject: (e: AppError) => void } | null = null;
  readonly calls: string[] = [];

  constructor(readonly scenario: MockScenario) {}

  static fromLocation(search: string): MockBackend {
    const q = new URLSearchParams(search);
    const error = (key: string) => (q.get(key) ? ERRORS[q.get(key)!] : undefined);
    return new MockBackend({
      signedIn: q.get("signedIn") === "1",
      rows: Number(q.get("rows") ?? 28),
      classes: Number(q.get("classes") ?? 5),
      failSignIn: error("failSignIn"),
      failSession: error("failSession"),
      failClasses: error("failClasses"),
      failRoster: error("failRoster"),
      failPreferences: error("failPreferences"),
      preferences: { redirect: q.get("redirect") === "scheme" ? "scheme" : "loopback", sharedMachine: q.get("shared") === "1" || q.get("policy") === "lab" },
      // `?policy=lab`: a managed lab (ClassLink only, no demo, sign-in options locked,
      // a shared computer); `?idle=N`: idle sign-out after N seconds.
      presets: {
        classlinkClientId: q.get("presets") === "classlink" || q.get("policy") === "lab",
        classlinkRoster: q.get("presets") === "classlink" || q.get("policy") === "lab",
        otherProvidersAllowed: q.get("policy") !== "lab",
        demoAllowed: q.get("policy") !== "lab",
        redirectSetBySchool: q.get("policy") === "lab",
        sharedMachineSetBySchool: q.get("policy") === "lab",
        idleSignOutSeconds: Number(q.get("idle") ?? 0),
        // `?policyProblem=1`: the lab's policy file has a plain-http issuer.
        policyProblems: q.get("policyProblem") ? ['Issuer in /etc/rollbook/policy.json: Issuer must use https (got "http://login.district.example"); it was ignored'] : [],
        classlinkAllowed: q.get("policy") !== "district",
        // `?policyNotice=1`: policy ended the saved session at this start.
        policyNotice: q.get("policyNotice") ? "Your saved sign-in with https://login.district.example was ended: your school allows signing in with ClassLink only. Everything waiting was sent to the district first." : null,
      },
      unfinishedSignOuts: Number(q.get("unfinishedSignOuts") ?? 0),
      browserSession: q.get("browserSession") === "ending" ? "ending" : q.get("browserSession") === "closeBrowser" ? "closeBrowser" : "kept",
      lastView: q.get("lastView") ? { classId: q.get("lastView")!, page: q.get("lastPage") === "gradebook" ? "gradebook" : "roster" } : null,
      holdSignIn: q.get("hold") === "1",
      delayMs: Number(q.get("delay") ?? 150),
      gradebook: {
        offline: q.get("offline") === "1",
        refuseWrites: q.get("refuseWrites") === "1",
        conflictOnce: q.get("conflict") === "1",
        rows: Math.min(Number(q.get("gradeRows") ?? q.get("rows") ?? 28), 1000),
        columns: Number(q.get("gradeColumns") ?? 6),
        attention: q.get("attention") === "1",
        longTitles: q.get("longTitles") === "1",
        backoffSeconds: Number(q.get("backoff") ?? 0),
      },
      enterDelayMs: Number(q.get("enterDelay") ?? 0),
      savedMinutesAgo: q.get("saved") === null ? null : Number(q.get("saved")),
    });
  }

  private wait<T>(value: T): Promise<T> {
    return new Promise((resolve) => setTimeout(() => resolve(value), this.scenario.delayMs));
  }

  private info(lastView: LastView | null = null): SessionInfo {
    const sharedMachine = this.scenario.preferences.sharedMachine;
    return { name: "Rosa Martínez-Ortega", email: "rosa.martinez@demo-district.example", issuer: "http://127.0.0.1:47600", expiresAt: null, renews: !sharedMachine, demo: true, lastView, sharedMachine, exportAllowed: !sharedMachine };
  }

  async session(): Promise<SessionInfo | null> {
    this.calls.push("session");
    if (this.scenario.unfinishedSignOuts > 0) {
      this.scenario.unfinishedSignOuts -= 1;
      throw await this.wait(ERRORS.signOutUnfinished!);
    }
    if (this.scenario.signedIn && this.scenario.failSession) throw await this.wait(this.scenario.failSession);
    return this.wait(this.scenario.signedIn ? this.info(this.scenario.lastView) : null);
  }

  signIn(request: SignInRequest): Promise<SessionInfo> {
    this.calls.push(`signIn:${request.provider}`);
    this.emit({ stage: "starting" });
    return new Promise((resolve, reject) => {
      // Pending from the start, so Cancel works at every stage.
      this.pending = { resolve, reject };
      setTimeout(() => {
        if (!this.pending) return;
        this.emit({ stage: "waiting", url: "http://127.0.0.1:47600/oauth2/v2/auth?client_id=rollbook-desktop", browserProblem: null });
        if (this.scenario.failSignIn) {
          this.finish(this.scenario.failSignIn);
        } else if (!this.scenario.holdSignIn) {
          setTimeout(() => this.finish(), this.scenario.delayMs * 2);
        }
      }, this.scenario.delayMs);
    });
  }

  /** Ends a held sign-in (tests). */
  finish(error?: AppError): void {
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    if (error) {
      pending.reject(error);
    } else {
      this.emit({ stage: "finishing" });
      this.scenario.signedIn = true;
      pending.resolve(this.info());
    }
  }

  onSignInProgress(listener: (p: SignInProgress) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(p: SignInProgress): void {
    for (const l of this.listeners) l(p);
  }

  async cancelSignIn(): Promise<void> {
    this.calls.push("cancelSignIn");
    this.finish({ code: "sign_in_cancelled", message: "Sign-in was cancelled.", nextStep: "Choose a way to sign in when you are ready." });
  }

  async openSignInAgain(): Promise<void> {
    this.calls.push("openSignInAgain");
  }

  /** When the saved copies were read (RFC 3339), or null when there are none. */
  private savedAt(): string | null {
    const minutes = this.scenario.savedMinutesAgo;
    return minutes === null ? null : new Date(Date.now() - minutes * 60_000).toISOString();
  }

  private classList(): ClassSummary[] {
    return mockClasses(this.scenario.classes).map((c) => ({ ...c, studentCount: this.scenario.rows }));
  }

  private students(classId: string): Student[] {
    return mockStudents(Number(classId.replace(/\D/g, "")), this.scenario.rows);
  }

  /** Fresh from the "district", or offline the saved copy with the reason. */
  private async dated<T>(read: () => T, failure: AppError | undefined): Promise<Dated<T>> {
    const savedAt = this.savedAt();
    if (this.scenario.gradebook.offline && savedAt) return this.wait({ value: read(), readAt: savedAt, offlineReason: OFFLINE_REASON });
    if (failure) throw await this.wait(failure);
    return this.wait({ value: read(), readAt: new Date().toISOString(), offlineReason: null });
  }

  async savedStart(): Promise<SavedStart | null> {
    this.calls.push("savedStart");
    const readAt = this.savedAt();
    if (!this.scenario.signedIn || readAt === null || this.scenario.unfinishedSignOuts > 0) return null;
    const last = this.scenario.lastView;
    return {
      session: this.info(last),
      classes: { value: this.classList(), readAt, offlineReason: null },
      roster: last && last.page === "roster" ? { value: this.students(last.classId), readAt, offlineReason: null } : null,
    };
  }

  async classes(): Promise<Dated<ClassSummary[]>> {
    this.calls.push("classes");
    return this.dated(() => this.classList(), this.scenario.failClasses);
  }

  async roster(classId: string): Promise<Dated<Student[]>> {
    this.calls.push(`roster:${classId}`);
    return this.dated(() => this.students(classId), this.scenario.failRoster);
  }

  private grades: MockGradebooks | null = null;
  private get books(): MockGradebooks {
    this.grades ??= new MockGradebooks(this.scenario.gradebook);
    return this.grades;
  }
  /** Classes read at least once (the "saved copy" exists only after that). */
  private readClasses = new Set<string>();

  async gradebook(classId: string): Promise<GradebookPage> {
    this.calls.push(`gradebook:${classId}`);
    if (this.scenario.failRoster) throw await this.wait(this.scenario.failRoster);
    if (this.scenario.gradebook.offline && !this.readClasses.has(classId)) {
      // Offline and never read: the saved copy is what shows (the mock has one ready).
    }
    this.readClasses.add(classId);
    return this.wait(this.books.page(classId));
  }

  async savedGradebook(classId: string): Promise<GradebookPage | null> {
    this.calls.push(`savedGradebook:${classId}`);
    return this.readClasses.has(classId) ? { ...this.books.page(classId), offlineReason: null } : null;
  }

  async enterGrade(classId: string, lineItemId: string, studentId: string, change: GradeChange): Promise<CellView> {
    this.calls.push(`enterGrade:${lineItemId}:${studentId}:${change.kind === "typed" ? change.text : change.kind}`);
    if (this.scenario.enterDelayMs) await new Promise((r) => setTimeout(r, this.scenario.enterDelayMs));
    return this.books.enter(classId, lineItemId, studentId, change);
  }

  async createAssignment(classId: string, assignment: NewLineItem): Promise<string> {
    this.calls.push(`createAssignment:${assignment.title}`);
    return this.books.createAssignment(classId, assignment);
  }

  async resolveConflict(lineItemId: string, studentId: string, resolution: Resolution): Promise<CellState> {
    this.calls.push(`resolveConflict:${resolution}`);
    return this.books.resolve(lineItemId, studentId, resolution);
  }

  async setGradingRules(classId: string, rules: GradingRules): Promise<void> {
    this.calls.push("setGradingRules");
    this.books.setRules(classId, rules);
  }

  async syncGrades(now = false): Promise<SyncReport> {
    this.calls.push(now ? "syncGrades:now" : "syncGrades");
    return this.wait(this.books.sync());
  }

  async attention(classId: string): Promise<Attention> {
    this.calls.push(`attention:${classId}`);
    return this.books.attention(classId);
  }

  async settle(item: AttentionItem, action: Settle): Promise<void> {
    this.calls.push(`settle:${item.kind}:${action}`);
    this.books.settle(item, action);
  }

  async exportGradebook(classId: string): Promise<string> {
    this.calls.push(`exportGradebook:${classId}`);
    return `/home/teacher/Downloads/Class ${classId} gradebook.csv`;
  }

  async signInPresets(): Promise<SignInPresets> {
    this.calls.push("signInPresets");
    return this.wait({ ...this.scenario.presets });
  }

  async preferences(): Promise<Preferences> {
    this.calls.push("preferences");
    return this.wait({ ...this.scenario.preferences });
  }

  async savePreferences(preferences: Preferences): Promise<void> {
    this.calls.push(`savePreferences:${preferences.redirect}:${preferences.sharedMachine ? "shared" : "personal"}`);
    await this.wait(undefined);
    if (this.scenario.failPreferences) throw this.scenario.failPreferences;
    this.scenario.preferences = { ...preferences };
  }

  async rememberView(view: LastView | null): Promise<void> {
    this.calls.push(`rememberView:${view ? `${view.classId}:${view.page}` : "classes"}`);
    this.scenario.lastView = view;
  }

  /** A browser has no system idle time: the window's idle time decides, as on Linux. */
  async idleCheck(windowIdleSeconds: number): Promise<IdleCheck> {
    this.calls.push(`idleCheck:${windowIdleSeconds}`);
    return { signOut: true, checkAgainSeconds: 0 };
  }

  async signOut(discardUnsent = false): Promise<SignedOut> {
    this.calls.push(discardUnsent ? "signOut:discardUnsent" : "signOut");
    const waiting = this.grades?.unsent() ?? { grades: 0, assignments: 0 };
    const unsent = waiting.grades + waiting.assignments;
    if (unsent > 0 && !discardUnsent) {
      // Core's words (error.rs, `unsent_message`), from the same count as the status line.
      throw await this.wait<AppError>({ code: "unsent_grades", message: `${unsentThings(waiting)} saved on this computer ${unsent === 1 ? "is" : "are"} not yet sent to the district; signing out would delete ${unsent === 1 ? "it" : "them"} (your grading rules stay on this computer)`, nextStep: "Send them first, or sign out anyway (they are then deleted)." });
    }
    const wasSignedIn = this.scenario.signedIn;
    this.scenario.signedIn = false;
    if (this.scenario.unfinishedSignOuts > 0) {
      this.scenario.unfinishedSignOuts -= 1;
      throw await this.wait(ERRORS.signOutUnfinished!);
    }
    const shared = wasSignedIn && this.scenario.preferences.sharedMachine;
    return this.wait({ browserSession: shared ? this.scenario.browserSession : "kept", issuer: wasSignedIn ? "http://127.0.0.1:47600" : null, unsentGradesDeleted: discardUnsent ? unsent : 0, gradingRulesKept: this.grades?.ruledClasses() ?? 0 });
  }
}
