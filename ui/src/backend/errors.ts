import type { AppError } from "./types";
import type { ErrorCode } from "./bindings/ErrorCode";

/** Turns whatever a backend call threw into the `AppError` the UI shows. */
export function toAppError(error: unknown): AppError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    const e = error as Partial<AppError> & { code: unknown; message: unknown };
    return {
      // The shell only sends `ErrorCode`s (the bindings are generated from its enum).
      code: typeof e.code === "string" ? (e.code as ErrorCode) : "internal",
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
