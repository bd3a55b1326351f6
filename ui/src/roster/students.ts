import type { ClassSummary, Student } from "../backend/types";

/** Lower-case, accents removed: "Zoë Ó Súilleabháin" matches "zoe osuil". */
export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** "Family, Preferred (Given)": the SIS's names, the preferred one first when present. */
export function displayName(s: Student): string {
  const preferred = s.preferredFirstName && s.preferredFirstName !== s.givenName ? s.preferredFirstName : null;
  return preferred ? `${s.familyName}, ${preferred} (${s.givenName})` : `${s.familyName}, ${s.givenName}`;
}

export function initials(s: Student): string {
  const first = (s.preferredFirstName ?? s.givenName).trim();
  return `${first.charAt(0)}${s.familyName.trim().charAt(0)}`.toUpperCase();
}

export interface IndexedStudent {
  student: Student;
  /** Folded text searched by every keystroke, built once. */
  haystack: string;
  name: string;
}

export function indexStudents(students: Student[]): IndexedStudent[] {
  return students.map((student) => ({
    student,
    name: displayName(student),
    haystack: fold(
      [student.givenName, student.preferredFirstName ?? "", student.familyName, student.username ?? "", student.email ?? ""].join(" "),
    ),
  }));
}

/** Every word of the query must appear somewhere in the student's names or logins. */
export function search(index: IndexedStudent[], query: string): IndexedStudent[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return index;
  return index.filter((row) => words.every((w) => row.haystack.includes(w)));
}

export type SortKey = "name" | "username" | "email" | "grade";

const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });

export function sortRows(rows: IndexedStudent[], key: SortKey, descending: boolean): IndexedStudent[] {
  const value = (r: IndexedStudent): string => {
    switch (key) {
      case "name":
        return r.name;
      case "username":
        return r.student.username ?? "";
      case "email":
        return r.student.email ?? "";
      case "grade":
        return r.student.grades[0] ?? "";
    }
  };
  const sorted = [...rows].sort((a, b) => collator.compare(value(a), value(b)) || collator.compare(a.name, b.name));
  return descending ? sorted.reverse() : sorted;
}

/** Which rows to render for a scroll position (a few extra above and below). */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, total: number, overscan = 8): { start: number; end: number } {
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}

export interface TermGroup {
  title: string;
  classes: ClassSummary[];
}

/** Classes grouped by their first term's title, in period order within each group. */
export function groupByTerm(classes: ClassSummary[]): TermGroup[] {
  const groups = new Map<string, ClassSummary[]>();
  for (const c of classes) {
    const title = c.terms.map((t) => t.title ?? t.sourcedId).join(" + ") || "No term";
    groups.set(title, [...(groups.get(title) ?? []), c]);
  }
  const period = (c: ClassSummary) => Number.parseInt(c.periods[0] ?? "", 10) || Number.MAX_SAFE_INTEGER;
  return [...groups].map(([title, list]) => ({
    title,
    classes: list.sort((a, b) => period(a) - period(b) || collator.compare(a.title, b.title)),
  }));
}

/** Grade levels as a teacher says them: OneRoster's "09" is "9"; "KG" and "PK" stay. */
export function gradeLevels(grades: string[]): string {
  return grades.map((g) => (/^\d+$/.test(g) ? String(Number(g)) : g)).join(", ");
}

/** An e-mail address cut where it may wrap: before the @ and after each dot. */
export function emailParts(email: string): string[] {
  return email.split(/(?=@)|(?<=\.)/);
}
