import { describe, expect, it } from "vitest";
import { attentionWords, hiddenProblemWords, plainMessage, providerName, unsentThings, unsentWords } from "./words";

describe("words for teachers", () => {
  const here = (grades: number, assignments: number) => ({ thisClass: { grades, assignments }, otherClasses: { grades: 0, assignments: 0 } });
  it("counts one grade as one", () => {
    expect(unsentWords(here(1, 0))).toBe("1 grade in this class not yet sent.");
    expect(unsentWords(here(5, 0))).toBe("5 grades in this class not yet sent.");
    expect(attentionWords(1)).toMatch(/^1 grade needs your attention/);
  });
  it("calls a new assignment an assignment, never a grade", () => {
    expect(unsentWords(here(0, 1))).toBe("1 new assignment in this class not yet sent.");
    expect(unsentWords(here(2, 3))).toBe("2 grades and 3 new assignments in this class not yet sent.");
    expect(unsentWords(here(0, 0))).toBe("");
    expect(unsentThings({ grades: 0, assignments: 2 })).toBe("2 new assignments");
  });
  it("counts the other classes too, so the status line adds up to what sign-out says", () => {
    const both = { thisClass: { grades: 2, assignments: 1 }, otherClasses: { grades: 3, assignments: 0 } };
    expect(unsentWords(both)).toBe("2 grades and 1 new assignment in this class not yet sent · 3 grades in other classes.");
    expect(unsentWords({ thisClass: { grades: 0, assignments: 0 }, otherClasses: { grades: 1, assignments: 1 } })).toBe("1 grade and 1 new assignment in other classes not yet sent.");
    // Sign-out's count is the two added up, said the same way.
    expect(unsentThings({ grades: 5, assignments: 1 })).toBe("5 grades and 1 new assignment");
  });
  it("points at To settle for grades no cell shows", () => {
    expect(hiddenProblemWords(1, 0)).toBe("1 grade for a student no longer in the class — see To settle.");
    expect(hiddenProblemWords(0, 2)).toBe("2 grades for assignments deleted in the district — see To settle.");
    expect(hiddenProblemWords(0, 0)).toBe("");
  });
  it("names the provider, not its address", () => {
    expect(providerName("http://127.0.0.1:47601", true)).toBe("the demo district");
    expect(providerName("https://launchpad.classlink.com", false)).toBe("ClassLink");
    expect(providerName("https://login.district.example/realms/staff", false)).toBe("login.district.example");
  });
  it("keeps HTTP statuses out of the words, for the details", () => {
    expect(plainMessage("The district refused the grade (HTTP 403: forbidden). Ask IT.")).toEqual({ words: "The district refused the grade. Ask IT.", detail: ["HTTP 403: forbidden"] });
    expect(plainMessage("Could not reach the district (timed out)")).toEqual({ words: "Could not reach the district (timed out)", detail: [] });
  });
});
