import { describe, expect, it, vi } from "vitest";
import type { Backend } from "../backend/backend";
import type { AppError, SessionInfo, SignedOut, SyncReport } from "../backend/types";
import { Session } from "./session.svelte";

const rosa: SessionInfo = { name: "Rosa", email: null, issuer: "https://idp", expiresAt: null, renews: true, demo: false, lastView: null, sharedMachine: false, exportAllowed: true };
const signedOut: SignedOut = { browserSession: "kept", issuer: null, unsentGradesDeleted: 0, gradingRulesKept: 0 };
const waiting: AppError = { code: "unsent_grades", message: "2 grades saved on this computer are not yet sent", nextStep: "" };
const report = (n: number): SyncReport => ({ sent: [], refused: [], conflicts: [], retrying: [], offline: false, waiting: n, held: 0, pausedSeconds: null, pausedByServer: false });

/** A backend whose sign-out refuses while `unsent` grades wait, as core does. */
function backend(over: Partial<Backend> = {}, state = { unsent: 0 }) {
  const calls: string[] = [];
  const b = {
    signOut: vi.fn(async (discard = false) => {
      calls.push(discard ? "signOut:discard" : "signOut");
      if (state.unsent > 0 && !discard) throw waiting;
      return { ...signedOut, unsentGradesDeleted: discard ? state.unsent : 0 };
    }),
    syncGrades: vi.fn(async () => {
      calls.push("sync");
      return report(state.unsent);
    }),
    classes: vi.fn(async () => ({ value: [], readAt: "2026-01-01T00:00:00Z", offlineReason: null })),
    rememberView: vi.fn(async () => {}),
    idleCheck: vi.fn(async () => ({ signOut: true, checkAgainSeconds: 0 })),
    ...over,
  } as unknown as Backend;
  return { b, calls, state };
}

function signedIn(b: Backend): Session {
  const s = new Session(b);
  s.info = rosa;
  s.phase = "signed-in";
  return s;
}

describe("sign-out", () => {
  it("with nothing waiting, signs out at once", async () => {
    const { b, calls } = backend();
    const s = signedIn(b);
    await s.signOut();
    expect(calls).toEqual(["signOut"]);
    expect(s.phase).toBe("signed-out");
    expect(s.info).toBeNull();
  });

  it("with grades waiting, asks and changes nothing on screen", async () => {
    const { b, calls } = backend({}, { unsent: 2 });
    const s = signedIn(b);
    await s.signOut();
    expect(calls).toEqual(["signOut"]);
    expect(s.unsentWarning).toEqual(waiting);
    expect(s.phase).toBe("signed-in");
    expect(s.info).toBe(rosa);
    s.stay();
    expect(s.unsentWarning).toBeNull();
    expect(s.phase).toBe("signed-in");
  });

  it("deletes them only when the teacher says so, and says so after", async () => {
    const { b, calls } = backend({}, { unsent: 2 });
    const s = signedIn(b);
    await s.signOut();
    await s.signOut(null, true);
    expect(calls).toEqual(["signOut", "signOut:discard"]);
    expect(s.phase).toBe("signed-out");
    expect(s.unsentWarning).toBeNull();
    expect(s.notice).toBe("2 unsent grades were deleted, as you chose.");
  });

  it("send-then-sign-out keeps the dialog while grades still wait", async () => {
    const { b, calls, state } = backend({}, { unsent: 2 });
    const s = signedIn(b);
    await s.signOut();
    await s.sendThenSignOut();
    expect(calls).toEqual(["signOut", "sync"]);
    expect(s.phase).toBe("signed-in");
    expect(s.unsentWarning?.message).toMatch(/could not be sent/);
    state.unsent = 0;
    await s.sendThenSignOut();
    expect(calls).toEqual(["signOut", "sync", "sync", "signOut"]);
    expect(s.phase).toBe("signed-out");
  });

  it("an unfinished sign-out shows as such, and continuing says the keychain is retried", async () => {
    const unfinished: AppError = { code: "sign_out_unfinished", message: "kept", nextStep: "" };
    const { b } = backend({ signOut: vi.fn(async () => Promise.reject(unfinished)) });
    const s = signedIn(b);
    await s.signOut();
    expect(s.phase).toBe("sign-out-unfinished");
    expect(s.unfinished).toEqual(unfinished);
    expect(s.info).toBeNull();
    s.continueSignedOut();
    expect(s.phase).toBe("signed-out");
    expect(s.notice).toMatch(/tries again each time it starts/);
  });

  it("idle sends what waits, then signs out whatever remains, saying why", async () => {
    const { b, calls } = backend({}, { unsent: 1 });
    const s = signedIn(b);
    s.idleSeconds = 300;
    await s.idle();
    await vi.waitFor(() => expect(s.phase).toBe("signed-out"));
    expect(calls).toEqual(["sync", "signOut:discard"]);
    expect(s.unsentWarning).toBeNull();
    expect(s.notice).toMatch(/^You were signed out after 5 minutes without activity\./);
  });

  it("idle while the person works in another program: nothing sent, still signed in, ask again then", async () => {
    const { b, calls } = backend({ idleCheck: vi.fn(async () => ({ signOut: false, checkAgainSeconds: 240 })) }, { unsent: 1 });
    const s = signedIn(b);
    s.idleSeconds = 300;
    expect(await s.idle(300)).toBe(240);
    expect(b.idleCheck).toHaveBeenCalledWith(300);
    expect(calls).toEqual([]);
    expect(s.phase).toBe("signed-in");
  });

  it("idle when the system's idle time cannot be asked: the school's limit wins", async () => {
    const { b, calls } = backend({ idleCheck: vi.fn(async () => Promise.reject(new Error("gone"))) });
    const s = signedIn(b);
    s.idleSeconds = 300;
    expect(await s.idle(300)).toBe(0);
    await vi.waitFor(() => expect(s.phase).toBe("signed-out"));
    expect(calls).toEqual(["sync", "signOut:discard"]);
  });

  it("the dialog's count is the store's, both parts added, and is forgotten at sign-out", async () => {
    const { b } = backend();
    const s = signedIn(b);
    s.counted({ thisClass: { grades: 1, assignments: 1 }, otherClasses: { grades: 2, assignments: 0 } });
    expect(s.unsent).toEqual({ grades: 3, assignments: 1 });
    await s.signOut();
    expect(s.unsent).toBeNull();
  });
});

describe("a read that finds the session gone", () => {
  it("sends the teacher back to sign in with the error; other errors stay on the page", async () => {
    const gone: AppError = { code: "sign_in_again", message: "ended", nextStep: "" };
    const down: AppError = { code: "roster_server_error", message: "503", nextStep: "" };
    const classes = vi.fn().mockRejectedValueOnce(down).mockRejectedValueOnce(gone);
    const s = signedIn(backend({ classes }).b);
    await s.pages.loadClasses();
    expect(s.pages.error).toEqual(down);
    expect(s.phase).toBe("signed-in");
    await s.pages.loadClasses();
    expect(s.phase).toBe("signed-out");
    expect(s.signInError).toEqual(gone);
  });
});

describe("restore at start", () => {
  const saved = { session: rosa, classes: null, roster: null };
  const start = (over: Partial<Backend>) =>
    backend({ savedStart: vi.fn(async () => saved), onSignInProgress: () => () => {}, signInPresets: vi.fn(async () => ({ idleSignOutSeconds: 900 })), ...over } as Partial<Backend>).b;

  it("an unreachable provider keeps the saved session (offline), not a sign-out", async () => {
    const s = new Session(start({ session: vi.fn(async () => Promise.reject({ code: "provider_unreachable", message: "down", nextStep: "", offline: true })) }));
    await s.restore();
    expect(s.phase).toBe("signed-in");
    expect(s.info).toBe(rosa);
  });

  it("a refused session signs out with its error", async () => {
    const refused: AppError = { code: "sign_in_again", message: "ended", nextStep: "" };
    const s = new Session(start({ session: vi.fn(async () => Promise.reject(refused)) }));
    await s.restore();
    expect(s.phase).toBe("signed-out");
    expect(s.signInError).toEqual(refused);
    expect(s.info).toBeNull();
  });

  it("reads the idle policy", async () => {
    const s = new Session(start({ session: vi.fn(async () => rosa) }));
    s.start();
    await vi.waitFor(() => expect(s.idleSeconds).toBe(900));
    await vi.waitFor(() => expect(s.phase).toBe("signed-in"));
  });
});
