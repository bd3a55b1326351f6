// The status line's count between two reads of the store: the store counts what the
// district does not have (the count sign-out refuses on); a cell's edit moves it by the
// one cell, as the store's own count moves, until the next read replaces it.

import type { CellState } from "../backend/types";
import type { UnsentByClass } from "../backend/bindings/UnsentByClass";

/** A cell whose grade the district does not have: waiting, refused or in conflict. */
function isUnsent(state: CellState | undefined): boolean {
  return state?.kind === "saved" || state?.kind === "refused" || state?.kind === "conflict";
}

/** `n` after a cell of this class went from `before` to `after`. */
export function afterEdit(n: UnsentByClass, before: CellState | undefined, after: CellState): UnsentByClass {
  const delta = Number(isUnsent(after)) - Number(isUnsent(before));
  if (!delta) return n;
  return { ...n, thisClass: { ...n.thisClass, grades: Math.max(0, n.thisClass.grades + delta) } };
}
