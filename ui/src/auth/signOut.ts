// What the window says around a sign-out: the dialog while grades wait, and the sign-in
// page's notice after. Pure, so the decisions are unit-tested without a window.

import type { AppError, SignedOut, SyncReport } from "../backend/types";
import type { Unsent } from "../backend/bindings/Unsent";

/** What the sign-in page says about the browser after a sign-out. */
export function browserNotice(result: SignedOut): string | null {
  const provider = result.issuer ? ` of ${result.issuer}` : "";
  if (result.browserSession === "ending") return `Your browser is signing you out${provider} too. On a shared computer, close the browser when it is done.`;
  if (result.browserSession === "closeBrowser") return `Close your web browser to finish signing out${provider}: on a shared computer the next person could otherwise sign in as you.`;
  return null;
}

/** What the sign-out deleted and what it kept, when it was more than the usual. */
export function keptNotice(result: SignedOut): string | null {
  const deleted = result.unsentGradesDeleted ? `${result.unsentGradesDeleted === 1 ? "1 unsent grade was" : `${result.unsentGradesDeleted} unsent grades were`} deleted, as you chose.` : "";
  const kept = result.gradingRulesKept ? `Your grading rules (${result.gradingRulesKept === 1 ? "1 class" : `${result.gradingRulesKept} classes`}) stay on this computer for your next sign-in.` : "";
  return [deleted, kept].filter(Boolean).join(" ") || null;
}

/** The sign-in page's notice after a finished sign-out: why, the browser, what went. */
export function signedOutNotice(result: SignedOut, reason: string | null): string | null {
  return [reason, browserNotice(result), keptNotice(result)].filter(Boolean).join(" ") || null;
}

/** Why an idle sign-out happened, in the school's minutes. */
export function idleReason(idleSeconds: number): string {
  const minutes = Math.round(idleSeconds / 60);
  return minutes >= 1 ? `You were signed out after ${minutes} minute${minutes === 1 ? "" : "s"} without activity.` : "You were signed out after a while without activity.";
}

/** A sign-out refusal the teacher decides on (grades wait, or Rollbook cannot tell);
 * anything else ends the sign-out as it is. */
export function asksTeacher(error: AppError): boolean {
  return error.code === "unsent_grades" || error.code === "unsent_unknown";
}

/** The dialog's heading. `counts`: the store's count of what the district does not have
 * (the one sign-out refuses on), as the gradebook last read it; null when no gradebook
 * was read this sign-in. A new assignment is never called a grade. */
export function unsentTitle(warning: AppError, counts: Unsent | null): string {
  if (warning.code === "unsent_unknown") return "Grades may not be sent yet";
  if (counts && counts.grades > 0) return "Grades not yet sent";
  if (counts && counts.assignments > 0) return counts.assignments === 1 ? "New assignment not yet sent" : "New assignments not yet sent";
  return "Not yet sent to the district";
}

/** The dialog's words: what waits, said once (the buttons are the next step), and that
 * the grading rules stay. */
export function unsentText(error: AppError): string {
  const said = /[.!]$/.test(error.message) ? error.message : `${error.message}.`;
  return /grading rules/i.test(said) ? said : `${said} Your grading rules stay on this computer either way.`;
}

/** After "Send them, then sign out": null when nothing waits (sign out now), else what
 * the dialog says instead. `report` null: the sync itself failed. */
export function afterSendingWarning(report: SyncReport | null): AppError | null {
  if (report && report.waiting === 0) return null;
  return {
    code: "unsent_grades",
    message: report?.offline ? "The district could not be reached, so the grades are still only on this computer." : "Some grades could not be sent (refused or in conflict); they are still only on this computer.",
    nextStep: "Open the gradebook to see them, or sign out anyway.",
  };
}
