// The custom-scheme redirect end to end: the app signs in with
// org.rollbook.desktop:/oauth/callback; the "browser" hands the redirect to a second app
// instance started with that URL (as the OS does for a deep link); single-instance
// passes it to the first instance, which completes the pending sign-in.
// Runs under Xvfb in the test session, like window.test.mjs.

import { spawn } from "node:child_process";
import { mkdtemp, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebDriver, button } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const app = process.env.ROLLBOOK_APP ?? join(root, "target", "debug", "rollbook-desktop");
const shots = join(here, "screenshots");
await mkdir(shots, { recursive: true });
const home = await mkdtemp(join(tmpdir(), "rollbook-deeplink-"));
const env = {
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: join(home, "config"),
  XDG_DATA_HOME: join(home, "data"),
  XDG_CACHE_HOME: join(home, "cache"),
  ROLLBOOK_BROWSER: join(here, "deep-link-browser.sh"),
  ROLLBOOK_REDIRECT: "scheme",
  ROLLBOOK_APP: app,
  ROLLBOOK_KEYCHAIN_SERVICE: process.env.ROLLBOOK_KEYCHAIN_SERVICE ?? "org.rollbook.desktop.test",
};
const port = 5500 + Math.floor(Math.random() * 1000);
const driverProcess = spawn("tauri-driver", ["--port", String(port)], { env, stdio: ["ignore", "inherit", "inherit"] });
await new Promise((r) => setTimeout(r, 1500));
const driver = new WebDriver(`http://127.0.0.1:${port}`);

let ok = false;
let session;
try {
  session = await driver.start(app);
  await session.click(button("Try the demo district"));
  await session.waitFor("//h1[normalize-space(.)='My classes']", 60_000);
  await session.waitFor("//li[contains(@class,'card')]//h3");
  await writeFile(join(shots, "06-deep-link-signed-in.png"), await session.screenshot());
  ok = true;
  console.log("ok   a second instance's org.rollbook.desktop: link completed the first instance's sign-in");
} catch (error) {
  console.log(`FAIL deep link\n     ${error?.stack ?? error}`);
  if (session) await writeFile(join(shots, "FAILED-deep-link.png"), await session.screenshot()).catch(() => {});
} finally {
  await session?.end().catch(() => {});
  driverProcess.kill();
}
console.log(`\ndeep-link e2e: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
