// The gradebook's state against the mock backend (the same one the Chromium tests use):
// the order of changes, undo, the store's count and the status line.
import { afterEach, describe, expect, it, vi } from "vitest";
import { MockBackend } from "../backend/mock";
import { Book } from "./book.svelte";

async function opened(query = "") {
  const backend = MockBackend.fromLocation(`?signedIn=1&delay=0&offline=1${query}`);
  const book = new Book(backend, "cls-1");
  await book.load();
  return { backend, book };
}

afterEach(() => void vi.useRealTimers());

describe("the gradebook's book", () => {
  it("reads the page, then a key's change waits for the commit before it and sees its value", async () => {
    const { backend, book } = await opened("&enterDelay=5");
    expect(book.students.length).toBeGreaterThan(2);
    const pos = { row: 0, col: 0 };
    expect(book.valueAt(pos).score).not.toBe(7);
    const first = book.change([{ pos, change: { kind: "typed", text: "7" } }]);
    // Decided when it runs: one more than the cell holds then (the first's 7, committed).
    const second = book.change([{ pos, change: (before) => ({ kind: "typed", text: String((before.score ?? 0) + 1) }) }]);
    await Promise.all([first, second]);
    expect(backend.calls.filter((c) => c.startsWith("enterGrade")).map((c) => c.split(":")[3])).toEqual(["7", "8"]);
    expect(book.valueAt(pos).score).toBe(8);
  });

  it("undo puts the value back and redo again; a step is one change", async () => {
    const { book } = await opened();
    const before = book.valueAt({ row: 0, col: 0 });
    await book.change([{ pos: { row: 0, col: 0 }, change: { kind: "typed", text: "3" } }]);
    expect(book.canUndo).toBe(true);
    await book.undoRedo(false);
    expect(book.valueAt({ row: 0, col: 0 }).score).toBe(before.score);
    expect(book.canRedo).toBe(true);
    await book.undoRedo(true);
    expect(book.valueAt({ row: 0, col: 0 }).score).toBe(3);
  });

  it("the store's count follows an edit at once, and the status line says it", async () => {
    const { book } = await opened();
    const waiting = book.view!.unsent.thisClass.grades;
    await book.change([{ pos: { row: 2, col: 1 }, change: { kind: "typed", text: "6" } }]);
    expect(book.view!.unsent.thisClass.grades).toBe(waiting + 1);
    expect(book.status()).toMatch(/grades? in this class not yet sent/);
  });

  it("a refused entry is told with the cell's name and the store's code", async () => {
    const { book } = await opened();
    await book.change([{ pos: { row: 0, col: 0 }, change: { kind: "typed", text: "abc" } }]);
    expect(book.message?.text).toMatch(new RegExp(`^${book.studentName(0)}, ${book.columns[0]!.title}: `));
    expect(book.message?.code).toBeTruthy();
  });

  it("sends by itself once typing pauses (1.2 s after the last edit), not before", async () => {
    const { backend, book } = await opened();
    vi.useFakeTimers();
    book.syncSoon();
    await vi.advanceTimersByTimeAsync(1_100);
    book.syncSoon();
    await vi.advanceTimersByTimeAsync(1_100);
    expect(backend.calls.filter((c) => c.startsWith("syncGrades"))).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(backend.calls.filter((c) => c.startsWith("syncGrades"))).toEqual(["syncGrades"]);
  });
});
