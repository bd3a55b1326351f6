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
export type { Dated } from "./bindings/Dated";
export type { LastView } from "./bindings/LastView";
export type { NamedRef } from "./bindings/NamedRef";
export type { Preferences } from "./bindings/Preferences";
export type { Provider } from "./bindings/Provider";
export type { RedirectMode } from "./bindings/RedirectMode";
export type { SavedStart } from "./bindings/SavedStart";
export type { SessionInfo } from "./bindings/SessionInfo";
export type { SignInPresets } from "./bindings/SignInPresets";
export type { SignInProgress } from "./bindings/SignInProgress";
export type { SignInRequest } from "./bindings/SignInRequest";
export type { SignedOut } from "./bindings/SignedOut";
export type { Student } from "./bindings/Student";
export type { TermRef } from "./bindings/TermRef";
export type { CategoryBreakdown } from "./bindings/CategoryBreakdown";
export type { CategoryRule } from "./bindings/CategoryRule";
export type { CellState } from "./bindings/CellState";
export type { CellValue } from "./bindings/CellValue";
export type { CellView } from "./bindings/CellView";
export type { ColumnView } from "./bindings/ColumnView";
export type { GradeChange } from "./bindings/GradeChange";
export type { GradebookPage } from "./bindings/GradebookPage";
export type { GradebookView } from "./bindings/GradebookView";
export type { GradingRules } from "./bindings/GradingRules";
export type { ItemAverage } from "./bindings/ItemAverage";
export type { Mark } from "./bindings/Mark";
export type { NewLineItem } from "./bindings/NewLineItem";
export type { Resolution } from "./bindings/Resolution";
export type { StoreLocation } from "./bindings/StoreLocation";
export type { StudentAverage } from "./bindings/StudentAverage";
export type { StudentName } from "./bindings/StudentName";
export type { SyncReport } from "./bindings/SyncReport";
export type { WriteOutcome } from "./bindings/WriteOutcome";
export type { SetAsideStore } from "./bindings/SetAsideStore";
export type { SetAsideReason } from "./bindings/SetAsideReason";
export type { ClassAverage } from "./bindings/ClassAverage";
export type { Rounding } from "./bindings/Rounding";
export type { Attention } from "./bindings/Attention";
export type { AttentionItem } from "./bindings/AttentionItem";
export type { HeldAssignment } from "./bindings/HeldAssignment";
export type { HeldReason } from "./bindings/HeldReason";
export type { OrphanEdit } from "./bindings/OrphanEdit";
export type { OrphanReason } from "./bindings/OrphanReason";
export type { SettleAction } from "./bindings/SettleAction";
