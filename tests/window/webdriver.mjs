// A minimal W3C WebDriver client (fetch only), enough to drive the Rollbook window
// through tauri-driver: sessions, elements by XPath, clicks, text, screenshots.

import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Starts tauri-driver for an app that runs as a fresh user: its own home and data
 * folders, the test keychain service, and `extra` environment (the app inherits
 * tauri-driver's environment). Returns the driver and a `stop` function. */
export async function startDriver(extra = {}) {
  const env = { ...(await freshUserEnv("rollbook-window-", "org.rollbook.desktop.test")), ...extra };
  // Both ports are our own: WebKitWebDriver's default (4445) would be shared with any
  // other tauri-driver on the machine, and its sessions with them.
  // Below the ephemeral range (32768+), where outgoing connections could hold the port.
  const port = 12000 + 2 * Math.floor(Math.random() * 10000);
  const child = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], { env, stdio: ["ignore", "inherit", "pipe"] });
  // The app's log (its stderr reaches us through the drivers) is echoed and kept, so a
  // test can check what the app did where the window shows nothing.
  let log = "";
  child.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    log = (log + chunk.toString()).slice(-200_000);
  });
  await new Promise((r) => setTimeout(r, 1500)); // tauri-driver starts WebKitWebDriver
  return { driver: new WebDriver(`http://127.0.0.1:${port}`), stop: () => child.kill(), env, log: () => log };
}

/** The environment of a fresh user: its own home and data folders under a new temporary
 * folder, and a keychain service of its own unless the test session names one. */
export async function freshUserEnv(prefix, keychainService) {
  const home = await mkdtemp(join(tmpdir(), prefix));
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_DATA_HOME: join(home, "data"),
    XDG_CACHE_HOME: join(home, "cache"),
    ROLLBOOK_KEYCHAIN_SERVICE: process.env.ROLLBOOK_KEYCHAIN_SERVICE ?? keychainService,
  };
}

/** One request on a fresh connection: tauri-driver's proxy stalls on reused ones. */
function send(url, method, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, agent: false, headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {} }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

export class WebDriver {
  constructor(base) {
    this.base = base;
  }

  async call(method, path, body, { idempotent = false } = {}) {
    if (process.env.WEBDRIVER_DEBUG) console.log(">", method, path);
    // Reads may be retried once when the connection drops without an answer (seen
    // rarely from WebKitWebDriver under load). Actions only when tauri-driver dropped
    // ours because it could not pass it on: its pooled connection to WebKitWebDriver was
    // closed (it logs "client error (SendRequest)", we get "socket hang up" at once, in
    // about one CI run in two, mostly on the request after a session ended with its
    // app), so the action never reached the window and cannot run twice.
    const safe = idempotent || method === "GET" || path.endsWith("/elements");
    const started = Date.now();
    const response = await send(`${this.base}${path}`, method, body).catch(async (error) => {
      const notPassedOn = /socket hang up|ECONNRESET/.test(String(error?.message ?? error)) && Date.now() - started < 2_000;
      if (!safe && !notPassedOn) throw error;
      await new Promise((r) => setTimeout(r, 500));
      return send(`${this.base}${path}`, method, body);
    });
    if (process.env.WEBDRIVER_DEBUG) console.log("<", response.status, response.text.slice(0, 120));
    let json = {};
    try {
      json = JSON.parse(response.text);
    } catch {
      // not JSON
    }
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json.value ?? json).slice(0, 400)}`);
    }
    return json.value;
  }

  async start(application) {
    const value = await this.call("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application } } },
    });
    return new Session(this, value.sessionId);
  }
}

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class Session {
  constructor(driver, id) {
    this.driver = driver;
    this.id = id;
  }

  call(method, path, body, options) {
    return this.driver.call(method, `/session/${this.id}${path}`, body, options);
  }

  async find(xpath) {
    const found = await this.call("POST", "/elements", { using: "xpath", value: xpath });
    return found.map((e) => e[ELEMENT]);
  }

  /** Waits until `xpath` matches something; returns the first match. */
  async waitFor(xpath, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.find(xpath).catch(() => []);
      if (found.length) return found[0];
      if (Date.now() > deadline) {
        const text = await this.textNow("//body").catch(() => "?");
        throw new Error(`timed out waiting for ${xpath}; the window shows:\n${text.slice(0, 800)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async click(xpath) {
    const element = await this.waitFor(xpath);
    await this.call("POST", `/element/${element}/click`, {});
  }

  /** Clicks `xpath` until `expected` shows. tauri-driver's pooled connection to
   * WebKitWebDriver is sometimes reset ("socket hang up" here, "Connection reset by
   * peer" in tauri-driver's log) and the click never reaches the page. It clicks again
   * only when `expected` has not shown and `xpath` is still there, as a person would. */
  async clickUntil(xpath, expected, timeoutMs = 60_000, retryAfterMs = 8_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.click(xpath).catch(() => {});
      const retryAt = Math.min(Date.now() + retryAfterMs, deadline);
      while (Date.now() < retryAt) {
        const found = await this.find(expected).catch(() => []);
        if (found.length) return found[0];
        await new Promise((r) => setTimeout(r, 200));
      }
      if (Date.now() >= deadline) return this.waitFor(expected, 1);
      if (!(await this.find(xpath).catch(() => [])).length) return this.waitFor(expected, deadline - Date.now());
    }
  }

  async type(xpath, text) {
    const element = await this.waitFor(xpath);
    await this.call("POST", `/element/${element}/value`, { text });
  }

  /** The text of the first match of `xpath`, once there is one: reading before the page
   * has rendered it would give "" and send the test after a label that does not exist. */
  async text(xpath, timeoutMs = 30_000) {
    const element = await this.waitFor(xpath, timeoutMs);
    return this.call("GET", `/element/${element}/text`);
  }

  /** The text of the first match of `xpath` as the page is now ("" without one). */
  async textNow(xpath) {
    const element = (await this.find(xpath))[0];
    return element ? this.call("GET", `/element/${element}/text`) : "";
  }

  /** Runs `script` (an async function body) in the page and returns what it resolves to.
   * `{ read: true }`: the script only reads, so a dropped connection may be retried. */
  async run(script, args = [], { read = false } = {}) {
    return this.call("POST", "/execute/async", {
      script: `const done = arguments[arguments.length - 1]; (async () => { ${script} })().then(done, (e) => done({ rejected: String(e) }));`,
      args,
    }, { idempotent: read });
  }

  async screenshot() {
    return Buffer.from(await this.call("GET", "/screenshot"), "base64");
  }

  async end() {
    await this.call("DELETE", "");
  }

  /** Closes the window as its close button does: the app sees a close request (which
   * WebDriver's own "close window" skips). */
  closeWindow(title = "Rollbook") {
    execFileSync(join(dirname(fileURLToPath(import.meta.url)), "close-window.py"), [title], { stdio: "inherit" });
  }
}

/** Named steps that stop at the first failure, each reported as it ends, and the
 * closing line: `finish(label, expected)` prints "label: N passed, M failed" and exits,
 * failing also when fewer than `expected` steps ran. */
export function steps() {
  const results = [];
  async function step(name, body) {
    const started = Date.now();
    try {
      await body();
      results.push({ name, ok: true });
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      results.push({ name, ok: false });
      console.log(`FAIL ${name}\n     ${error?.stack ?? error}`);
      throw error;
    }
  }
  function finish(label, expected) {
    const failed = results.filter((r) => !r.ok).length;
    console.log(`\n${label.replace("{passed}", results.length - failed).replace("{failed}", failed)}`);
    process.exit(failed || results.length < expected ? 1 : 0);
  }
  return { step, finish };
}

/** `save(session, name)`: the window's screenshot as `dir/name.png`. */
export const screenshots = (dir) => async (session, name) => writeFile(join(dir, `${name}.png`), await session.screenshot());

/** XPath for a button by its visible text. */
export const button = (label) => `//button[normalize-space(.)=${JSON.stringify(label)}]`;

/** Whether the app's single-instance D-Bus name still has an owner. */
function singleInstanceNameOwned() {
  try {
    const reply = execFileSync("dbus-send", ["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.rollbook.desktop.SingleInstance"], { encoding: "utf8" });
    return reply.includes("boolean true");
  } catch {
    return false;
  }
}

/** Waits until no process runs `app` and its single-instance name is released. A new
 * instance started while the old one is still exiting would find it through
 * single-instance and try to hand over to it. */
export async function waitForExit(app, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let running = true;
    try {
      execFileSync("pgrep", ["-f", `^${app}`], { stdio: "ignore" });
    } catch {
      running = singleInstanceNameOwned();
    }
    if (!running) return;
    if (Date.now() > deadline) throw new Error(`${app} is still running ${timeoutMs} ms after its session ended`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
