// What the shell and the UI exchange. Tokens never cross: the UI gets who is signed
// in and roster data; core attaches bearer tokens itself.
//
// The types are generated from the Rust side into ./bindings/ (scripts/bindings.sh);
// `cargo test` fails when those files are out of date, and svelte-check then checks the
// UI against them. Do not write IPC types by hand here.

export type { AppError } from "./bindings/AppError";
export type { BrowserSession } from "./bindings/BrowserSession";
export type { ClassPage } from "./bindings/ClassPage";
export type { ClassSummary } from "./bindings/ClassSummary";
export type { GradeResult } from "./bindings/GradeResult";
export type { Gradebook } from "./bindings/Gradebook";
export type { GuidRef } from "./bindings/GuidRef";
export type { LastView } from "./bindings/LastView";
export type { LineItem } from "./bindings/LineItem";
export type { NamedRef } from "./bindings/NamedRef";
export type { Preferences } from "./bindings/Preferences";
export type { Provider } from "./bindings/Provider";
export type { RedirectMode } from "./bindings/RedirectMode";
export type { ScoreStatus } from "./bindings/ScoreStatus";
export type { SessionInfo } from "./bindings/SessionInfo";
export type { SignInPresets } from "./bindings/SignInPresets";
export type { SignInProgress } from "./bindings/SignInProgress";
export type { SignInRequest } from "./bindings/SignInRequest";
export type { SignedOut } from "./bindings/SignedOut";
export type { Student } from "./bindings/Student";
export type { TermRef } from "./bindings/TermRef";
