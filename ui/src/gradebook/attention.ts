// What waits for the teacher to settle outside the grid's cells: a store that was set
// aside, edits whose assignment or student is gone, and new assignments the district
// has not taken. Each can be kept, tried again or discarded.
//
// A set-aside store comes with the gradebook page (`GradebookPage.setAside`). The other
// shapes are the UI's until the shell's generated bindings carry them; see
// `Backend.attention`.

import type { CellValue, SetAsideStore } from "../backend/types";

export interface OrphanEdit {
  lineItemId: string;
  studentId: string;
  /** The assignment and student as they were when the edit was made. */
  assignment: string;
  student: string;
  why: "assignmentDeleted" | "studentLeft";
  value: CellValue;
  kept: boolean;
}

export interface HeldAssignment {
  lineItemId: string;
  title: string;
  /** Refused by the district (with its words), or waiting to be sent. */
  why: "refused" | "waiting";
  reason: string | null;
  /** Grades of it that wait with it. */
  grades: number;
  kept: boolean;
}

export interface Attention {
  orphans: OrphanEdit[];
  held: HeldAssignment[];
}

export type AttentionItem =
  | { kind: "setAside"; path: string }
  | { kind: "orphan"; lineItemId: string; studentId: string }
  | { kind: "held"; lineItemId: string };

/** keep: leave it as it is (still counted as unsent); retry: open or send it again;
 * discard: delete it, after the teacher confirmed. */
export type Settle = "keep" | "retry" | "discard";

export function isEmpty(a: Attention | null, setAside: SetAsideStore | null): boolean {
  return !setAside && !a?.orphans.length && !a?.held.length;
}

const grades = (n: number) => (n === 1 ? "1 grade" : `${n} grades`);

/** What a set-aside store holds, in words. */
export function setAsideWords(s: SetAsideStore): string {
  const held = s.unsent == null ? "how many grades were waiting is not known" : s.unsent === 0 ? "no grades were waiting to be sent" : `${grades(s.unsent)} ${s.unsent === 1 ? "was" : "were"} waiting to be sent`;
  const why = { keyMissing: "its key is no longer in this computer's keychain", unreadable: "it is damaged or was made with another key", otherOwner: "it belongs to another sign-in" }[s.reason];
  return `A gradebook saved on this computer could not be opened (${why}); it was set aside, not deleted: ${held}.`;
}

export function orphanWords(o: OrphanEdit, shown: string): string {
  const gone = o.why === "assignmentDeleted" ? `“${o.assignment}” was deleted in the district's system` : `${o.student} is no longer in this class`;
  return `${o.student}, ${o.assignment}: ${shown || "a cleared grade"}, not sent because ${gone}.`;
}

export function heldWords(h: HeldAssignment): string {
  const with_ = h.grades ? ` with ${grades(h.grades)}` : "";
  return h.why === "refused" ? `“${h.title}”${with_}: the district refused it (${h.reason ?? "no reason given"}).` : `“${h.title}”${with_}: waiting to be created in the district.`;
}
