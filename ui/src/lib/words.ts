// Counts said the same way on every face (the status line, the dialogs).

import type { Unsent } from "../backend/bindings/Unsent";
import type { UnsentByClass } from "../backend/bindings/UnsentByClass";

/** "1 grade", "5 grades". */
export function grades(n: number): string {
  return n === 1 ? "1 grade" : `${n} grades`;
}

/** "2 grades and 1 new assignment": a new assignment is never called a grade. "" when
 * nothing. Core's sign-out message says the same numbers the same way. */
export function unsentThings(n: Unsent): string {
  const assignments = n.assignments === 1 ? "1 new assignment" : `${n.assignments} new assignments`;
  return [n.grades > 0 && grades(n.grades), n.assignments > 0 && assignments].filter(Boolean).join(" and ");
}

/** The status line's count of what the district does not have yet, from the store's one
 * count (the one sign-out refuses on): this class first, then the teacher's other
 * classes, so what it adds up to is what the sign-out dialog says. "" when nothing. */
export function unsentWords(n: UnsentByClass): string {
  const here = unsentThings(n.thisClass);
  const there = unsentThings(n.otherClasses);
  if (here && there) return `${here} in this class not yet sent · ${there} in other classes.`;
  if (here) return `${here} in this class not yet sent.`;
  return there ? `${there} in other classes not yet sent.` : "";
}

/** The grades the teacher has to look at: refused, or changed in the district meanwhile. */
export function attentionWords(n: number): string {
  return `${grades(n)} ${n === 1 ? "needs" : "need"} your attention (⚠ refused, ⇄ changed in the district).`;
}

/** Refused or in-conflict grades no cell shows, pointed at the list where they are
 * settled: "1 grade for a student no longer in the class — see To settle." */
export function hiddenProblemWords(left: number, gone: number): string {
  const parts = [
    left > 0 && `${grades(left)} for ${left === 1 ? "a student" : "students"} no longer in the class`,
    gone > 0 && `${grades(gone)} for ${gone === 1 ? "an assignment" : "assignments"} deleted in the district`,
  ].filter(Boolean);
  return parts.length ? `${parts.join(", ")} — see To settle.` : "";
}

/** Where a sign-in was made, as a teacher names it: the district's provider, not a URL. */
export function providerName(issuer: string, demo: boolean): string {
  if (demo) return "the demo district";
  let host = issuer;
  try {
    host = new URL(issuer).hostname;
  } catch {
    // Not a URL: shown as it is.
  }
  if (/(^|\.)classlink\.com$/.test(host)) return "ClassLink";
  if (/(^|\.)google\.com$/.test(host)) return "Google";
  if (/(^|\.)microsoftonline\.com$/.test(host)) return "Microsoft";
  return host;
}

/** Splits an error's message into the words a teacher reads and the technical detail
 * (an HTTP status, a server's own phrase in brackets) kept for IT behind "Details":
 * "the district refused it (HTTP 403: forbidden)" → "the district refused it" and
 * "HTTP 403: forbidden". */
export function plainMessage(message: string): { words: string; detail: string[] } {
  const detail: string[] = [];
  const words = message
    .replace(/\s*[([]((?:[^()[\]]|\([^()]*\))*\bHTTP \d{3}\b(?:[^()[\]]|\([^()]*\))*)[)\]]/g, (_, inner: string) => {
      detail.push(inner.trim());
      return "";
    })
    .replace(/\s+([.,;:])/g, "$1")
    .trim();
  return { words: words || message, detail };
}
