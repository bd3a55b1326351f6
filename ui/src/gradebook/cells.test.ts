import { expect, it } from "vitest";
import type { GradeResult, LineItem } from "../backend/types";
import { cell } from "./cells";

const item: LineItem = { sourcedId: "li", status: "active", title: "Quiz", assignDate: null, dueDate: null, class: null, category: null, resultValueMin: 0, resultValueMax: 20 };
const result = (scoreStatus: string, score: number | null): GradeResult => ({ sourcedId: "r", status: "active", lineItem: { sourcedId: "li" }, student: { sourcedId: "s" }, scoreStatus, score, scoreDate: null });

it("shows every score status in words a teacher reads at a glance", () => {
  expect(cell(result("fully graded", 17.5), item)).toMatchObject({ text: "17.5", label: "17.5 of 20, fully graded", kind: "score" });
  expect(cell(result("partially graded", 4), item).text).toBe("~4");
  expect(cell(result("submitted", null), item).kind).toBe("submitted");
  expect(cell(result("not submitted", null), item).text).toBe("Miss");
  expect(cell(result("exempt", null), item).text).toBe("Ex");
  expect(cell(undefined, item).kind).toBe("none");
});
