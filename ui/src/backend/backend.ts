import type {
  Attention,
  AttentionItem,
  CellState,
  CellView,
  ClassSummary,
  Dated,
  GradeChange,
  GradebookPage,
  GradingRules,
  NewLineItem,
  Resolution,
  SyncReport,
  LastView,
  Preferences,
  SavedStart,
  SessionInfo,
  SignInPresets,
  SignInProgress,
  SignInRequest,
  SettleAction,
  SignedOut,
  Student,
} from "./types";
import type { IdleCheck } from "./bindings/IdleCheck";

export type Unsubscribe = () => void;

/** Everything the UI asks of the app. Components get one of these and never import
 * Tauri: `TauriBackend` talks to the shell, `MockBackend` serves tests and demos. */
export interface Backend {
  /** The saved session after a silent restore, or null when signed out. */
  session(): Promise<SessionInfo | null>;
  /** What a signed-in start shows at once, from this computer only (no network call):
   * the saved session, the class list and the last roster as last read; null when there
   * is nothing to show yet. `session()` then confirms the session. */
  savedStart(): Promise<SavedStart | null>;
  /** Resolves once signed in; progress arrives through `onSignInProgress`. */
  signIn(request: SignInRequest): Promise<SessionInfo>;
  onSignInProgress(listener: (progress: SignInProgress) => void): Unsubscribe;
  cancelSignIn(): Promise<void>;
  openSignInAgain(): Promise<void>;
  /** What this build presets for ClassLink (client id, roster gateway): those fields are not asked. */
  signInPresets(): Promise<SignInPresets>;
  /** The sign-in options saved on this computer (how the browser returns). */
  preferences(): Promise<Preferences>;
  savePreferences(preferences: Preferences): Promise<void>;
  /** This term's classes, kept on this computer for the next start; offline, the saved
   * copy with `offlineReason` (rejects when there is none). */
  classes(): Promise<Dated<ClassSummary[]>>;
  /** A class's roster by name, kept like the classes. */
  roster(classId: string): Promise<Dated<Student[]>>;
  /** The class's gradebook read from the district into this computer's store (the saved
   * copy, with `offlineReason`, when the district cannot be reached). */
  gradebook(classId: string): Promise<GradebookPage>;
  /** The copy on this computer, at once; null if the class was never read here. */
  savedGradebook(classId: string): Promise<GradebookPage | null>;
  /** Changes a cell; resolves once the change is committed on this computer. */
  enterGrade(classId: string, lineItemId: string, studentId: string, change: GradeChange): Promise<CellView>;
  /** Adds an assignment; resolves with its id (chosen here, sent with the next sync). */
  createAssignment(classId: string, assignment: NewLineItem): Promise<string>;
  resolveConflict(lineItemId: string, studentId: string, resolution: Resolution): Promise<CellState>;
  setGradingRules(classId: string, rules: GradingRules): Promise<void>;
  /** Sends what waits on this computer; says what was sent, refused, in conflict, and
   * any pause before the next try. `now`: the teacher asked (Sync now), so Rollbook's own
   * back-off is skipped; a pause the district asked for (429) still holds. */
  syncGrades(now?: boolean): Promise<SyncReport>;
  /** What waits for the teacher outside the cells: this sign-in's set-aside stores,
   * edits whose assignment or student is gone, new assignments the district refused. */
  attention(classId: string): Promise<Attention>;
  /** Keeps, retries or discards one of them. Retrying a set-aside store opens it again
   * when a key in the keychain opens it (rejects with words when none does, or while the
   * gradebook in use holds unsent grades); discarding deletes it (the window asks twice). */
  settle(item: AttentionItem, action: SettleAction): Promise<void>;
  /** Writes the gradebook as CSV to the Downloads folder; resolves with the path. */
  exportGradebook(classId: string): Promise<string>;
  /** Remembers the class page shown (null: the class list), reopened on the next start. */
  rememberView(view: LastView | null): Promise<void>;
  /** The window saw no input for `windowIdleSeconds` (the idle limit): is the person gone
   * (sign out), or only at another program, by the system's idle time (ask again later)?
   * Where the platform does not tell, the window's idle time decides alone. */
  idleCheck(windowIdleSeconds: number): Promise<IdleCheck>;
  /** Signs out; on a shared computer it says what became of the browser's provider
   * session. Rejects with `sign_out_unfinished` when the keychain kept the saved sign-in,
   * and with `unsent_grades` while grades wait to be sent (unless `discardUnsent`). */
  signOut(discardUnsent?: boolean): Promise<SignedOut>;
}
