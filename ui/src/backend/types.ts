// What the shell and the UI exchange. Tokens never cross: the UI gets who is signed
// in and roster data; core attaches bearer tokens itself.

export type Provider = "demo" | "classlink" | "oidc";

export interface SignInRequest {
  provider: Provider;
  /** For "classlink" and "oidc". */
  issuer?: string;
  clientId?: string;
  onerosterUrl?: string;
}

export interface SessionInfo {
  name: string;
  email: string | null;
  issuer: string;
  /** Unix seconds, when the provider said. */
  expiresAt: number | null;
  renews: boolean;
  demo: boolean;
}

export type SignInProgress =
  | { stage: "starting" }
  | { stage: "waiting"; url: string; browserProblem: string | null }
  | { stage: "finishing" };

export interface AppError {
  code: string;
  message: string;
  /** What the teacher can do next. */
  nextStep: string;
}

export interface NamedRef {
  sourcedId: string;
  type: string;
  name?: string;
}

export interface TermRef {
  sourcedId: string;
  type: string;
  title?: string;
  startDate?: string;
  endDate?: string;
}

export interface ClassSummary {
  sourcedId: string;
  title: string;
  classCode: string | null;
  periods: string[];
  school: NamedRef | null;
  terms: TermRef[];
  grades: string[];
  subjects: string[];
  location: string | null;
  studentCount: number | null;
}

export interface Student {
  sourcedId: string;
  givenName: string;
  familyName: string;
  preferredFirstName?: string;
  middleName?: string;
  email: string | null;
  username: string | null;
  grades: string[];
}

export interface GuidRef {
  sourcedId: string;
  type?: string;
}

export interface LineItem {
  sourcedId: string;
  title: string;
  assignDate: string | null;
  dueDate: string | null;
  category: GuidRef | null;
  resultValueMin: number | null;
  resultValueMax: number | null;
}

export interface GradeResult {
  sourcedId: string;
  lineItem: GuidRef;
  student: GuidRef;
  scoreStatus: string;
  score: number | null;
  scoreDate: string | null;
  comment?: string;
}

export interface Gradebook {
  lineItems: LineItem[];
  results: GradeResult[];
}
