import type { GradeResult, LineItem } from "../backend/types";

export interface Cell {
  text: string;
  /** Spoken and shown on hover: "42 of 50, fully graded". */
  label: string;
  kind: "score" | "partial" | "submitted" | "missing" | "exempt" | "none";
}

function formatScore(score: number): string {
  return Number.isInteger(score) ? String(score) : score.toFixed(1);
}

export function cell(result: GradeResult | undefined, item: LineItem): Cell {
  if (!result) return { text: "·", label: "no result yet", kind: "none" };
  const out = item.resultValueMax != null ? ` of ${formatScore(item.resultValueMax)}` : "";
  switch (result.scoreStatus) {
    case "fully graded":
      return result.score == null
        ? { text: "?", label: "graded, no score", kind: "score" }
        : { text: formatScore(result.score), label: `${formatScore(result.score)}${out}, fully graded`, kind: "score" };
    case "partially graded":
      return { text: result.score == null ? "~" : `~${formatScore(result.score)}`, label: `${result.score ?? "no score"}${out}, partially graded`, kind: "partial" };
    case "submitted":
      return { text: "Sub", label: "submitted, not graded yet", kind: "submitted" };
    case "not submitted":
      return { text: "Miss", label: "not submitted", kind: "missing" };
    case "exempt":
      return { text: "Ex", label: "exempt", kind: "exempt" };
    default:
      return { text: result.scoreStatus, label: result.scoreStatus, kind: "none" };
  }
}

export function resultIndex(results: GradeResult[]): Map<string, GradeResult> {
  return new Map(results.map((r) => [`${r.student.sourcedId}|${r.lineItem.sourcedId}`, r]));
}
