import { describe, expect, it } from "vitest";
import type { AppError, SignedOut, SyncReport } from "../backend/types";
import { afterSendingWarning, asksTeacher, idleReason, signedOutNotice, unsentText, unsentTitle } from "./signOut";

const unsent: AppError = { code: "unsent_grades", message: "1 new assignment saved on this computer is not yet sent to the district; signing out would delete it (your grading rules stay on this computer)", nextStep: "" };
const unknown: AppError = { code: "unsent_unknown", message: "Rollbook cannot tell", nextStep: "" };
const report = (waiting: number, offline = false): SyncReport => ({ sent: [], refused: [], conflicts: [], retrying: [], offline, waiting, held: 0, pausedSeconds: null, pausedByServer: false });
const out = (over: Partial<SignedOut> = {}): SignedOut => ({ browserSession: "kept", issuer: null, unsentGradesDeleted: 0, gradingRulesKept: 0, ...over });

describe("the unsent dialog's heading", () => {
  it("names grades only when grades wait", () => {
    expect(unsentTitle(unsent, { grades: 3, assignments: 1 })).toBe("Grades not yet sent");
    expect(unsentTitle(unsent, { grades: 1, assignments: 0 })).toBe("Grades not yet sent");
  });
  it("calls new assignments alone what they are", () => {
    expect(unsentTitle(unsent, { grades: 0, assignments: 1 })).toBe("New assignment not yet sent");
    expect(unsentTitle(unsent, { grades: 0, assignments: 2 })).toBe("New assignments not yet sent");
  });
  it("says neither when no count was read", () => {
    expect(unsentTitle(unsent, null)).toBe("Not yet sent to the district");
    expect(unsentTitle(unsent, { grades: 0, assignments: 0 })).toBe("Not yet sent to the district");
  });
  it("an unknown count stays uncertain whatever the last count was", () => {
    expect(unsentTitle(unknown, { grades: 0, assignments: 1 })).toBe("Grades may not be sent yet");
  });
});

describe("sign-out decisions", () => {
  it("the teacher decides only on what waits, or cannot be counted", () => {
    expect(asksTeacher(unsent)).toBe(true);
    expect(asksTeacher(unknown)).toBe(true);
    expect(asksTeacher({ code: "sign_out_unfinished", message: "", nextStep: "" })).toBe(false);
    expect(asksTeacher({ code: "keychain_locked", message: "", nextStep: "" })).toBe(false);
  });
  it("after sending, signs out only when nothing waits", () => {
    expect(afterSendingWarning(report(0))).toBeNull();
    expect(afterSendingWarning(report(2))?.message).toMatch(/could not be sent \(refused or in conflict\)/);
    expect(afterSendingWarning(report(2, true))?.message).toMatch(/could not be reached/);
    expect(afterSendingWarning(null)?.code).toBe("unsent_grades");
  });
  it("the dialog's words end once and say the rules stay", () => {
    expect(unsentText(unsent)).toBe(`${unsent.message}.`);
    expect(unsentText({ ...unknown, message: "Cannot tell." })).toBe("Cannot tell. Your grading rules stay on this computer either way.");
  });
});

describe("after a sign-out", () => {
  it("idle names the school's minutes", () => {
    expect(idleReason(60)).toBe("You were signed out after 1 minute without activity.");
    expect(idleReason(900)).toBe("You were signed out after 15 minutes without activity.");
    expect(idleReason(20)).toBe("You were signed out after a while without activity.");
  });
  it("the notice joins the reason, the browser and what was deleted or kept", () => {
    expect(signedOutNotice(out(), null)).toBeNull();
    expect(signedOutNotice(out({ browserSession: "closeBrowser", issuer: "https://idp", unsentGradesDeleted: 2, gradingRulesKept: 1 }), "Idle.")).toBe(
      "Idle. Close your web browser to finish signing out of https://idp: on a shared computer the next person could otherwise sign in as you. 2 unsent grades were deleted, as you chose. Your grading rules (1 class) stay on this computer for your next sign-in.",
    );
  });
});
