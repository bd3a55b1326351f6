// The real Rollbook window under Xvfb, driven through tauri-driver and WebKitWebDriver,
// inside a D-Bus session with an unlocked gnome-keyring (scripts/in-test-session.sh).
// It signs in to the embedded demo district through a ROLLBOOK_BROWSER script that
// follows the provider's pages over HTTP, sees the classes and a roster, restarts the
// app and is still signed in, then signs out. Screenshots go to tests/window/screenshots/.
//
// Needs: a built app (`cargo build --features custom-protocol` after `npm --prefix ui
// run build`), tauri-driver and WebKitWebDriver on PATH, DISPLAY, and a keyring.

import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { button, screenshots, startDriver, steps, waitForExit } from "./webdriver.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const app = process.env.ROLLBOOK_APP ?? join(root, "target", "debug", "rollbook-desktop");
const shots = join(root, "tests", "window", "screenshots");
await mkdir(shots, { recursive: true });
const { driver, stop } = await startDriver({ ROLLBOOK_BROWSER: join(root, "target", "debug", "rollbook-test-browser") });

const { step, finish } = steps();
const save = screenshots(shots);

let session;
try {
  await step("first start shows the sign-in choices", async () => {
    session = await driver.start(app);
    await session.waitFor(button("Try the demo district"));
    await save(session, "01-sign-in");
  });
  await step("demo sign-in through the browser script lands on the classes", async () => {
    await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']", 60_000, 15_000);
    await session.waitFor("//li[contains(@class,'card')]//h3");
    await save(session, "02-classes");
  });
  let opened = "";
  await step("a roster is visible", async () => {
    const first = await session.text("(//li[contains(@class,'card')]//h3)[1]");
    opened = first;
    await session.clickUntil(`//button[@aria-label=${JSON.stringify(`Roster of ${first}`)}]`, "//table[@aria-label='Students']//tbody/tr[not(contains(@class,'spacer'))]");
    const status = await session.text("//p[@role='status']");
    if (!/\d+ of \d+ students/.test(status)) throw new Error(`roster status: ${status}`);
    // The roster came the way a real district's does: through the roster gateway.
    const metrics = await (await fetch("http://127.0.0.1:47602/metrics")).text();
    const served = metrics.split("\n").find((l) => l.includes('route="/ims/oneroster/v1p1/classes/{id}/students"') && l.includes('status="200"'));
    if (!served) throw new Error(`the roster did not come through the gateway:\n${metrics}`);
    await save(session, "03-roster");
  });
  await step("the webview may listen to no event (the deep-link plugin's raw URL included)", async () => {
    const answer = await session.run(`
      const internals = window.__TAURI_INTERNALS__;
      return await internals.invoke("plugin:event|listen", { event: "deep-link://new-url", target: { kind: "Any" }, handler: internals.transformCallback(() => {}) });
    `);
    if (!answer || typeof answer.rejected !== "string") throw new Error(`listening was allowed: ${JSON.stringify(answer)}`);
    if (!/not allowed|denied|permission/i.test(answer.rejected)) throw new Error(`unexpected refusal: ${answer.rejected}`);
  });
  await step("after a restart the teacher is still signed in, on the same roster", async () => {
    await session.end();
    await waitForExit(app);
    session = await driver.start(app);
    // Signed in at once, on the roster that was open when the app quit.
    await session.waitFor(`//h1[normalize-space(.)=${JSON.stringify(opened)}]`, 60_000);
    await session.waitFor("//table[@aria-label='Students']//tbody/tr[not(contains(@class,'spacer'))]");
    // From the copy saved in the encrypted store, then the district's, said under the title.
    await session.waitFor("//p[contains(@class,'freshness')][starts-with(normalize-space(.),'Updated just now')]", 60_000);
    // Right after a launch WebKitWebDriver can hand back the previous composited frame
    // (the loading screen) although the DOM is ready; give the compositor a moment.
    await new Promise((resolve) => setTimeout(resolve, 750));
    await save(session, "04-restarted");
    await session.clickUntil("//nav//button[normalize-space(.)='My classes']", "//li[contains(@class,'card')]//h3");
  });
  await step("sign out from the account menu forgets the session", async () => {
    await session.clickUntil("//button[@aria-haspopup='true']", button("Sign out"));
    await session.clickUntil(button("Sign out"), button("Try the demo district"));
    // Signing out of the demo stops the embedded district and its gateway.
    for (const port of [47601, 47602]) {
      const answered = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
      if (answered) throw new Error(`port ${port} still answers after sign-out`);
    }
    await session.end();
    await waitForExit(app);
    session = await driver.start(app);
    await session.waitFor(button("Try the demo district"));
    await save(session, "05-signed-out");
  });
} catch {
  if (session) await save(session, "FAILED").catch(() => {});
} finally {
  await session?.end().catch(() => {});
  stop();
}

finish("window e2e: {passed} passed, {failed} failed (tauri-driver + WebKitWebDriver; screenshots in tests/window/screenshots/)", 6);
