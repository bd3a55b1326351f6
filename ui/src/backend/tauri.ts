import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Backend, Unsubscribe } from "./backend";
import type { ClassSummary, Gradebook, LastView, Preferences, SessionInfo, SignInPresets, SignInProgress, SignInRequest, Student } from "./types";

/** The real app: thin calls into the Rust shell's commands. */
export class TauriBackend implements Backend {
  session(): Promise<SessionInfo | null> {
    return invoke("session_info");
  }
  signIn(request: SignInRequest): Promise<SessionInfo> {
    return invoke("sign_in", { request });
  }
  onSignInProgress(listener: (progress: SignInProgress) => void): Unsubscribe {
    let stop: (() => void) | null = null;
    let cancelled = false;
    void listen<SignInProgress>("sign-in-progress", (event) => listener(event.payload)).then((un) => {
      if (cancelled) un();
      else stop = un;
    });
    return () => {
      cancelled = true;
      stop?.();
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
  classes(): Promise<ClassSummary[]> {
    return invoke("classes");
  }
  roster(classId: string): Promise<Student[]> {
    return invoke("roster", { classId });
  }
  gradebook(classId: string): Promise<Gradebook> {
    return invoke("gradebook", { classId });
  }
  rememberView(view: LastView | null): Promise<void> {
    return invoke("remember_view", { view });
  }
  signOut(): Promise<void> {
    return invoke("sign_out");
  }
}
