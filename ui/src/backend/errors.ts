import type { AppError } from "./types";
import type { ErrorCode } from "./bindings/ErrorCode";
import { ERROR_CODES } from "./bindings/ErrorCodes";

const knownCodes: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether `value` is one of the codes the shell sends (the list generated from its enum). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && knownCodes.has(value);
}

/** Turns whatever a backend call threw into the `AppError` the UI shows. */
export function toAppError(error: unknown): AppError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    const e = error as Partial<AppError> & { code: unknown; message: unknown };
    return {
      // A code outside the generated list (a broken answer, a mismatched build) is not
      // one the UI can branch on.
      code: isErrorCode(e.code) ? e.code : "internal",
      message: String(e.message),
      nextStep: typeof e.nextStep === "string" ? e.nextStep : "Try again. If it keeps happening, tell your IT team the code below.",
      ...("offline" in e && e.offline === true ? { offline: true } : {}),
    };
  }
  return {
    code: "internal",
    message: error instanceof Error ? error.message : String(error),
    nextStep: "Try again. If it keeps happening, tell your IT team the code below.",
  };
}
