// What waits for the teacher to settle outside the grid's cells: stores that were set
// aside, edits whose assignment or student is gone, and new assignments the district
// refused. Each can be kept, tried again or discarded.
//
// The shapes are the shell's, generated from Rust (`gradebook_attention`,
// `settle_attention`); this module only words them.

import type { Attention, AttentionItem, HeldAssignment, OrphanEdit, SetAsideStore, SettleAction } from "../backend/types";

export type { Attention, AttentionItem, HeldAssignment, OrphanEdit };

/** keep: leave it as it is (still counted as unsent) and stop asking; retry: open or
 * send it again; discard: delete it, after the teacher confirmed. */
export type Settle = SettleAction;

/** The set-aside stores to show: the shell's list once read, else the one the page
 * reported when it opened the store. */
export function setAsideStores(a: Attention | null, fromPage: SetAsideStore | null): SetAsideStore[] {
  if (a) return a.setAside;
  return fromPage ? [fromPage] : [];
}

export function isEmpty(a: Attention | null, fromPage: SetAsideStore | null): boolean {
  return !setAsideStores(a, fromPage).length && !a?.orphans.length && !a?.held.length;
}

const grades = (n: number) => (n === 1 ? "1 grade" : `${n} grades`);

/** What a set-aside store holds, in words. */
export function setAsideWords(s: SetAsideStore): string {
  const held = s.unsent == null ? "how many grades were waiting is not known" : s.unsent === 0 ? "no grades were waiting to be sent" : `${grades(s.unsent)} ${s.unsent === 1 ? "was" : "were"} waiting to be sent`;
  const why = { keyMissing: "its key is no longer in this computer's keychain", unreadable: "it is damaged or was made with another key", otherOwner: "it belongs to another sign-in" }[s.reason];
  return `A gradebook saved on this computer could not be opened (${why}); it was set aside, not deleted: ${held}.`;
}

/** The student as the teacher knows them; a student who left is no longer on the roster
 * read here, so only their id is known. */
export function orphanStudent(o: OrphanEdit): string {
  return o.student ?? `A student no longer in this class (${o.studentId})`;
}

export function orphanAssignment(o: OrphanEdit): string {
  return o.assignment ?? "an assignment no longer in this class";
}

export function orphanWords(o: OrphanEdit, shown: string): string {
  const gone = o.why === "assignmentGone" ? `“${orphanAssignment(o)}” was deleted in the district's system` : o.student ? `${o.student} is no longer in this class` : "they are no longer in this class";
  return `${orphanStudent(o)}, ${orphanAssignment(o)}: ${shown || "a cleared grade"}, not sent because ${gone}.`;
}

export function heldWords(h: HeldAssignment): string {
  const with_ = h.grades ? ` with ${grades(h.grades)}` : "";
  return h.why === "refused" ? `“${h.title}”${with_}: the district refused it.` : `“${h.title}”${with_}: the district already has another assignment by its id.`;
}
