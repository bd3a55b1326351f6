import { describe, expect, it } from "vitest";
import { attentionWords, plainMessage, providerName, waitingWords } from "./words";

describe("words for teachers", () => {
  it("counts one grade as one", () => {
    expect(waitingWords(1)).toBe("1 grade saved on this computer, not yet sent.");
    expect(waitingWords(5)).toBe("5 grades saved on this computer, not yet sent.");
    expect(attentionWords(1)).toMatch(/^1 grade needs your attention/);
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
