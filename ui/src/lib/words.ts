// Counts said the same way on every face (the status line, the dialogs).

/** "1 grade", "5 grades". */
export function grades(n: number): string {
  return n === 1 ? "1 grade" : `${n} grades`;
}

/** The status line's count of grades kept here until they are sent. */
export function waitingWords(n: number): string {
  return `${grades(n)} saved on this computer, not yet sent.`;
}

/** The grades the teacher has to look at: refused, or changed in the district meanwhile. */
export function attentionWords(n: number): string {
  return `${grades(n)} ${n === 1 ? "needs" : "need"} your attention (⚠ refused, ⇄ changed in the district).`;
}

/** Where a sign-in was made, as a teacher names it: the district's provider, not a URL. */
export function providerName(issuer: string, demo: boolean): string {
  if (demo) return "the demo district";
  let host = issuer;
  try {
    host = new URL(issuer).hostname;
  } catch {
    // Not a URL: shown as it is.
  }
  if (/(^|\.)classlink\.com$/.test(host)) return "ClassLink";
  if (/(^|\.)google\.com$/.test(host)) return "Google";
  if (/(^|\.)microsoftonline\.com$/.test(host)) return "Microsoft";
  return host;
}

/** Splits an error's message into the words a teacher reads and the technical detail
 * (an HTTP status, a server's own phrase in brackets) kept for IT behind "Details":
 * "the district refused it (HTTP 403: forbidden)" → "the district refused it" and
 * "HTTP 403: forbidden". */
export function plainMessage(message: string): { words: string; detail: string[] } {
  const detail: string[] = [];
  const words = message
    .replace(/\s*[([]((?:[^()[\]]|\([^()]*\))*\bHTTP \d{3}\b(?:[^()[\]]|\([^()]*\))*)[)\]]/g, (_, inner: string) => {
      detail.push(inner.trim());
      return "";
    })
    .replace(/\s+([.,;:])/g, "$1")
    .trim();
  return { words: words || message, detail };
}
