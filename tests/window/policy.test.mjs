// Policy pushed after the teacher signed in, in the real window: a saved demo session,
// then IT turns the demo district off (ROLLBOOK_POLICY_FILE, the debug builds' stand-in
// for /etc/rollbook/policy.json). The next start ends the saved session instead of
// restoring it, says so on the sign-in page, and no longer offers the demo.
//
// Needs what window.test.mjs needs (a test-hooks build, tauri-driver, Xvfb, a keyring).

import { statSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { button, screenshots, startDriver, steps, waitForExit } from "./webdriver.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const app = process.env.ROLLBOOK_APP ?? join(root, "target", "debug", "rollbook-desktop");
const shots = join(root, "tests", "window", "screenshots");

const policyDir = await mkdtemp(join(tmpdir(), "rollbook-policy-"));
const policyFile = join(policyDir, "policy.json");
await writeFile(policyFile, "{}", { mode: 0o644 });
const { driver, stop, log } = await startDriver({
  ROLLBOOK_BROWSER: join(root, "target", "debug", "rollbook-test-browser"),
  ROLLBOOK_POLICY_FILE: policyFile,
  // The test need not run as root: trust the file's owner (the owner rule has a unit test).
  ROLLBOOK_POLICY_FILE_OWNER: String(statSync(policyFile).uid),
  ROLLBOOK_LOG: "rollbook_desktop=info,rollbook_core=info",
  ROLLBOOK_KEYCHAIN_SERVICE: `org.rollbook.desktop.test.policy-${process.pid}`,
});

const { step, finish } = steps();
const save = screenshots(shots);

let session;
try {
  await step("signed in to the demo district; the window closed: the session is kept", async () => {
    session = await driver.start(app);
    await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']");
    await session.waitFor("//li[contains(@class,'card')]//h3");
    session.closeWindow();
    await waitForExit(app, 20_000);
    await session.end().catch(() => {});
    session = await driver.start(app);
    await session.waitFor("//h1[normalize-space(.)='My classes']", 20_000);
    session.closeWindow();
    await waitForExit(app, 20_000);
    await session.end().catch(() => {});
  });
  await step("IT turns the demo off: the next start ends the saved session and says why", async () => {
    await writeFile(policyFile, JSON.stringify({ DemoDistrictAllowed: false }));
    session = await driver.start(app);
    await session.waitFor("//*[contains(normalize-space(.),'Your saved sign-in with') and contains(normalize-space(.),'turned the demo district off')]", 20_000);
    await session.waitFor("//*[contains(normalize-space(.),'Everything waiting was sent to the district first.')]");
    await save(session, "10-policy-ended-session");
    const offered = await session.run(`return [...document.querySelectorAll("button")].some((b) => b.textContent.includes("Try the demo district"));`, [], { read: true });
    if (offered) throw new Error("the demo district is still offered");
    if (!log().includes("policy ends the saved session")) throw new Error("core did not end the session");
  });
} catch {
  if (session) await save(session, "FAILED-policy").catch(() => {});
} finally {
  await session?.end().catch(() => {});
  stop();
}

finish("policy window e2e: {passed} passed, {failed} failed", 2);
