// The custom-scheme redirect end to end: the app signs in with
// org.rollbook.desktop:/oauth/callback; the "browser" hands the redirect to a second app
// instance started with that URL (as the OS does for a deep link); single-instance
// passes it to the first instance, which completes the pending sign-in. The app link is
// chosen the way a teacher would, in "Sign-in options", so the setting is tested too.
// Runs under Xvfb in the test session, like window.test.mjs.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { button, startDriver, waitForExit } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.ROLLBOOK_APP ?? join(here, "..", "..", "target", "debug", "rollbook-desktop");
const shots = join(here, "screenshots");
await mkdir(shots, { recursive: true });
const { driver, stop } = await startDriver({
  ROLLBOOK_BROWSER: join(here, "deep-link-browser.sh"),
  ROLLBOOK_APP: app,
});

let ok = false;
let session;
try {
  // An instance left by the previous suite would take this one's launch (single
  // instance) and the WebDriver session would hang up: wait until it is gone.
  await waitForExit(app);
  session = await driver.start(app);
  // Clicks are verified and repeated when dropped (see Session.clickUntil).
  const linkChoice = "//label[contains(normalize-space(.),'Through the Rollbook app link')]/input";
  await session.clickUntil(button("Sign-in options"), linkChoice);
  await session.clickUntil(linkChoice, "//*[@role='status'][contains(.,'Saved.')]");
  await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']", 60_000, 15_000);
  await session.waitFor("//li[contains(@class,'card')]//h3");
  await writeFile(join(shots, "06-deep-link-signed-in.png"), await session.screenshot());
  ok = true;
  console.log("ok   a second instance's org.rollbook.desktop: link completed the first instance's sign-in");
} catch (error) {
  console.log(`FAIL deep link\n     ${error?.stack ?? error}`);
  if (session) await writeFile(join(shots, "FAILED-deep-link.png"), await session.screenshot()).catch(() => {});
} finally {
  await session?.end().catch(() => {});
  stop();
}
console.log(`\ndeep-link e2e: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
