// Shared-machine mode in the real window, set by a lab's policy file
// (/etc/rollbook/policy.json's stand-in, ROLLBOOK_POLICY_FILE, which debug builds read):
// sign in to the demo district, then show that nothing of the session is on disk or in
// the keychain, that idle time signs the teacher out, and that closing the window and
// opening it again leaves the next person at the sign-in page.
//
// Needs what window.test.mjs needs (a test-hooks build, tauri-driver, Xvfb, a keyring).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { button, screenshots, startDriver, steps, waitForExit } from "./webdriver.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const app = process.env.ROLLBOOK_APP ?? join(root, "target", "debug", "rollbook-desktop");
const shots = join(root, "tests", "window", "screenshots");

const policyDir = await mkdtemp(join(tmpdir(), "rollbook-policy-"));
const policyFile = join(policyDir, "policy.json");
// One "minute" is 5 seconds in this build (ROLLBOOK_TEST_SECONDS_PER_MINUTE, test-hooks only).
// A bad value too (a plain-http issuer): named in the window, and ignored.
await writeFile(policyFile, JSON.stringify({ SharedMachine: true, IdleSignOutMinutes: 1, Issuer: "http://login.district.example" }));
const { driver, stop, env, log } = await startDriver({
  ROLLBOOK_BROWSER: join(root, "target", "debug", "rollbook-test-browser"),
  ROLLBOOK_POLICY_FILE: policyFile,
  ROLLBOOK_TEST_SECONDS_PER_MINUTE: "5",
  ROLLBOOK_LOG: "rollbook_desktop=info",
  // A keychain service of this test's own: the suites share one test keyring, and other
  // tests' entries must not count here.
  ROLLBOOK_KEYCHAIN_SERVICE: `org.rollbook.desktop.test.shared-${process.pid}`,
});

const { step, finish } = steps();
const save = screenshots(shots);

/** Every file under the user's home (config, data, cache), with its mode. */
async function filesOf(home) {
  const found = [];
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push({ path: relative(home, path), size: (await stat(path)).size });
    }
  };
  await walk(home);
  return found;
}

/** This app's entries in the test keychain (the Secret Service), by attribute search:
 * their labels and attributes only (a failure message must not print a secret). */
function keychainEntries() {
  let found;
  try {
    found = execFileSync("secret-tool", ["search", "--all", "service", env.ROLLBOOK_KEYCHAIN_SERVICE], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    found = String(error.stdout ?? "");
  }
  return found.split("\n").filter((line) => line.trim() && !line.startsWith("secret =")).join("\n");
}

/** Files that may exist on a shared computer, and why none of them holds a session,
 * a token or a student. Anything else fails the test. */
const ALLOWED = [
  [/^data\/rollbook\/session\.lock$/, "the empty lock file Rollbook processes coordinate on"],
  [/^data\/rollbook\/shared-session-open\.json$/, "while a shared session is open: the provider's name and end-session page (no account, no token), so a start after a crash can end the browser's provider session"],
  [/^data\/rollbook\/logs\/rollbook\.log(\.\d+)?$/, "the log file IT reads (the LogLevel policy): codes and events, never a token, an e-mail address or a name (checked below, and by the CLI's log test at debug level)"],
  [/^data\/rollbook\/demo-district\.key$/, "the demo district's own signing key (the made-up district's, not the teacher's)"],
  [/^config\/mimeapps\.list$|^data\/applications\//, "development builds register the app-link scheme for this user"],
  [/^data\/org\.rollbook\.desktop\/([^/]+\/)*(salt|origin)$|^data\/org\.rollbook\.desktop\/hsts-storage\.sqlite$/, "WebKit's own salts, origin names and HSTS list (the UI is served from the app, over no network, and stores nothing: no local storage, no IndexedDB)"],
  [/^cache\//, "WebKit's caches of the app's own files"],
];

/** Nothing that could hold the session or a student: only the allowed files, and the
 * lock file empty. */
async function assertNothingKept(when) {
  const files = await filesOf(env.HOME);
  const unexpected = files.filter((f) => !ALLOWED.some(([pattern]) => pattern.test(f.path)));
  const lock = files.find((f) => f.path === "data/rollbook/session.lock");
  for (const log of files.filter((f) => f.path.startsWith("data/rollbook/logs/"))) {
    const text = readFileSync(join(env.HOME, log.path), "utf8");
    // A JWT (access or ID token), a bearer header or an e-mail address would be a trace.
    const leak = /eyJ[\w-]{10,}\.|Bearer\s+\S|[\w.+-]+@[\w-]+\.[\w.]+/.exec(text);
    if (leak) throw new Error(`${when}: the log file holds ${JSON.stringify(leak[0].slice(0, 12))}…`);
  }
  if (unexpected.length || (lock && lock.size)) throw new Error(`${when}: files kept: ${JSON.stringify(unexpected)}${lock?.size ? "; the lock file has content" : ""}`);
  const entries = keychainEntries();
  if (entries) throw new Error(`${when}: keychain entries left:\n${entries}`);
  return files;
}

/** Kills this test's app (found by its own HOME among the processes running `app`), as
 * a crash or a kill at logoff would end it: no clean-up runs. */
function killThisApp() {
  let pids = [];
  try {
    pids = execFileSync("pgrep", ["-f", `^${app}`], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {}
  const ours = pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`HOME=${env.HOME}`);
    } catch {
      return false;
    }
  });
  if (!ours.length) throw new Error("this test's app is not running");
  for (const pid of ours) process.kill(pid, "SIGKILL");
}

let session;
try {
  await step("policy makes it a shared computer: the option is shown as set by the school; a bad value is named", async () => {
    session = await driver.start(app);
    await session.waitFor(button("Try the demo district"));
    await session.waitFor(`//li[contains(normalize-space(.), ${JSON.stringify(`Issuer in ${policyFile}`)})]`);
    await session.clickUntil(button("Sign-in options"), "//fieldset[@disabled]//input[@name='shared-machine']");
    await session.waitFor("//*[normalize-space(.)='Set by your school.']");
    // Ticked once the settings in force have loaded.
    const deadline = Date.now() + 10_000;
    while (!(await session.run(`return document.querySelector("input[name=shared-machine]").checked;`, [], { read: true }))) {
      if (Date.now() > deadline) throw new Error("the shared-computer box is not ticked");
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  await step("signed in to the demo district: nothing on disk, nothing in the keychain", async () => {
    await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']");
    await session.waitFor("//li[contains(@class,'card')]//h3");
    await session.click("//button[@aria-haspopup='true']");
    await session.waitFor("//*[contains(normalize-space(.),'Shared computer: closing Rollbook signs you out.')]");
    await save(session, "06-shared-signed-in");
    const files = await assertNothingKept("while signed in");
    console.log(`     files under the fresh home while signed in (besides cache/): ${files.filter((f) => !f.path.startsWith("cache/")).map((f) => `${f.path} (${f.size} B)`).join(", ") || "none"}`);
  });
  await step("idle for the school's time (1 minute, 5 s here): signed out, and told why", async () => {
    await session.waitFor("//*[contains(normalize-space(.),'without activity')]", 20_000);
    await session.waitFor(button("Try the demo district"));
    // The demo district has no end-session page (as ClassLink publishes none): the
    // teacher is told to close the browser.
    await session.waitFor("//*[contains(normalize-space(.),'Close your web browser to finish signing out')]");
    await save(session, "07-shared-idle-signed-out");
    await assertNothingKept("after the idle sign-out");
  });
  await step("signed in again, the window closed and opened: the next person sees the sign-in page", async () => {
    await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']");
    session.closeWindow();
    // The close signs out first (the demo district stops with it), then the app exits.
    await waitForExit(app, 20_000);
    await session.end().catch(() => {});
    if (!log().includes("the shared-machine session ended as the window closed")) throw new Error("closing the window did not sign out");
    session = await driver.start(app);
    await session.waitFor(button("Try the demo district"));
    await save(session, "08-shared-reopened");
    await assertNothingKept("after closing");
  });
  await step("killed while signed in (a crash): the next start finishes the sign-out and says so", async () => {
    await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']");
    killThisApp();
    await session.end().catch(() => {});
    await waitForExit(app, 20_000);
    session = await driver.start(app);
    // The demo district has no end-session page: the teacher is told to close the browser.
    await session.waitFor("//*[contains(normalize-space(.),'Rollbook closed last time before the shared-computer session ended')]", 20_000);
    await session.waitFor("//*[contains(normalize-space(.),'close your web browser to finish signing out')]");
    await save(session, "09-shared-after-crash");
    await assertNothingKept("after the crash and a new start");
  });
} catch {
  if (session) await save(session, "FAILED-shared").catch(() => {});
} finally {
  await session?.end().catch(() => {});
  stop();
}

finish("shared-machine window e2e: {passed} passed, {failed} failed", 5);
