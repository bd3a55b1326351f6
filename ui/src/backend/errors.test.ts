import { describe, expect, it } from "vitest";
import { isErrorCode, toAppError } from "./errors";
import { ERROR_CODES } from "./bindings/ErrorCodes";

describe("errors from the backend", () => {
  it("keeps a code the shell sends", () => {
    const e = toAppError({ code: "sign_in_again", message: "Sign in again." });
    expect(e.code).toBe("sign_in_again");
    expect(e.message).toBe("Sign in again.");
  });
  it("turns a code outside the generated list into internal, keeping the message", () => {
    const e = toAppError({ code: "made_up_code", message: "Something odd." });
    expect(e.code).toBe("internal");
    expect(e.message).toBe("Something odd.");
    expect(toAppError({ code: 42, message: "x" }).code).toBe("internal");
  });
  it("knows every generated code and nothing else", () => {
    expect(ERROR_CODES.length).toBeGreaterThan(80);
    expect(ERROR_CODES.every(isErrorCode)).toBe(true);
    expect(isErrorCode("internal")).toBe(true);
    expect(isErrorCode("Internal")).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
