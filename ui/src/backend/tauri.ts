import { Channel, invoke } from "@tauri-apps/api/core";
import type { Backend, Unsubscribe } from "./backend";
import type { UpdateStatus } from "./bindings/UpdateStatus";
import type { IdleCheck } from "./bindings/IdleCheck";
import type { Attention, AttentionItem, CellState, CellView, ClassSummary, Dated, GradeChange, GradebookPage, GradingRules, LastView, NewLineItem, Resolution, SyncReport, Preferences, SavedStart, SessionInfo, SignInPresets, SignInProgress, SignInRequest, SettleAction, SignedOut, Student } from "./types";

/** The real app: thin calls into the Rust shell's commands. */
export class TauriBackend implements Backend {
  session(): Promise<SessionInfo | null> {
    return invoke("session_info");
  }
  savedStart(): Promise<SavedStart | null> {
    return invoke("saved_start");
  }
  private progressListeners = new Set<(progress: SignInProgress) => void>();

  signIn(request: SignInRequest): Promise<SessionInfo> {
    // Progress comes on this call's own channel: the webview may listen to no events.
    const progress = new Channel<SignInProgress>();
    progress.onmessage = (message) => {
      for (const listener of this.progressListeners) listener(message);
    };
    return invoke("sign_in", { request, progress });
  }
  onSignInProgress(listener: (progress: SignInProgress) => void): Unsubscribe {
    this.progressListeners.add(listener);
    return () => {
      this.progressListeners.delete(listener);
    };
  }
  cancelSignIn(): Promise<void> {
    return invoke("cancel_sign_in");
  }
  openSignInAgain(): Promise<void> {
    return invoke("open_sign_in_again");
  }
  signInPresets(): Promise<SignInPresets> {
    return invoke("sign_in_presets");
  }
  preferences(): Promise<Preferences> {
    return invoke("preferences");
  }
  savePreferences(preferences: Preferences): Promise<void> {
    return invoke("save_preferences", { preferences });
  }
  classes(): Promise<Dated<ClassSummary[]>> {
    return invoke("classes");
  }
  roster(classId: string): Promise<Dated<Student[]>> {
    return invoke("roster", { classId });
  }
  gradebook(classId: string): Promise<GradebookPage> {
    return invoke("gradebook", { classId });
  }
  savedGradebook(classId: string): Promise<GradebookPage | null> {
    return invoke("saved_gradebook", { classId });
  }
  enterGrade(classId: string, lineItemId: string, studentId: string, change: GradeChange): Promise<CellView> {
    return invoke("enter_grade", { classId, lineItemId, studentId, change });
  }
  createAssignment(classId: string, assignment: NewLineItem): Promise<string> {
    return invoke("create_assignment", { classId, assignment });
  }
  resolveConflict(lineItemId: string, studentId: string, resolution: Resolution): Promise<CellState> {
    return invoke("resolve_conflict", { lineItemId, studentId, resolution });
  }
  setGradingRules(classId: string, rules: GradingRules): Promise<void> {
    return invoke("set_grading_rules", { classId, rules });
  }
  syncGrades(now = false): Promise<SyncReport> {
    return invoke("sync_grades", { now });
  }
  attention(classId: string): Promise<Attention> {
    return invoke("gradebook_attention", { classId });
  }
  settle(item: AttentionItem, action: SettleAction): Promise<void> {
    return invoke("settle_attention", { item, action });
  }
  exportGradebook(classId: string): Promise<string> {
    return invoke("export_gradebook", { classId });
  }
  rememberView(view: LastView | null): Promise<void> {
    return invoke("remember_view", { view });
  }
  signOut(discardUnsent = false): Promise<SignedOut> {
    return invoke("sign_out", { discardUnsent });
  }
  /** What the check at start found (lib/UpdateNotice.svelte); the window only. */
  updateStatus(): Promise<UpdateStatus> {
    return invoke("update_status");
  }
  /** Sends the grades that wait (or keeps them on disk), installs, restarts. */
  installUpdate(): Promise<UpdateStatus> {
    return invoke("install_update");
  }
  /** The window saw no input for the idle limit: is the person gone, or only at another
   * program (the system's idle time, where the platform tells)? The window only. */
  idleCheck(windowIdleSeconds: number): Promise<IdleCheck> {
    return invoke("idle_check", { windowIdleSeconds });
  }
}
