import type { AppError } from "./types";

/** Turns whatever a backend call threw into the `AppError` the UI shows. */
export function toAppError(error: unknown): AppError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    const e = error as Partial<AppError> & { code: unknown; message: unknown };
    return {
      code: String(e.code),
      message: String(e.message),
      nextStep: typeof e.nextStep === "string" ? e.nextStep : "Try again. If it keeps happening, tell your IT team the code below.",
    };
  }
  return {
    code: "internal",
    message: error instanceof Error ? error.message : String(error),
    nextStep: "Try again. If it keeps happening, tell your IT team the code below.",
  };
}
