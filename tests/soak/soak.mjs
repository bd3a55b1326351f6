// The fault soak (docs/benchmarks.md, "Fault soak"). For SOAK_SECONDS (default 600) the
// demo district, which is both the sign-in provider and, through the roster gateway, the
// roster source, flaps behind a TCP proxy: up, down (connections refused), 5xx, 429 and
// slow, in turn. Meanwhile `rollbook` loops whoami, classes and roster, and the real
// window sits on a roster page, reloading it now and then. Access tokens live 45 s, so
// refreshes (rotating refresh tokens, reuse detection on) happen throughout, from both
// processes at once.
//
// It fails when a command crashes or hangs, a failure comes without a stable code, or
// the session ends although the provider never ended it; it reports the window's and
// the district's memory at the start and the end.
//
// Run it through scripts/soak.sh (a keychain, a display, built binaries).

import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshUserEnv, startDriver, waitForExit } from "../window/webdriver.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = (name) => join(root, "target", "debug", name);
const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const withWindow = process.env.SOAK_WINDOW !== "0" && !!process.env.DISPLAY;
const phaseSeconds = Number(process.env.SOAK_PHASE_SECONDS ?? 15);
const PHASES = ["up", "down", "up", "5xx", "up", "429", "up", "slow"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const problems = [];
const problem = (text) => {
  problems.push(text);
  console.log(`PROBLEM ${text}`);
};

// ------------------------------------------------------------------ the flapping proxy

let phase = "up";
const sockets = new Set();
let upstreamPort = 0;
const proxy = net.createServer((client) => {
  sockets.add(client);
  client.on("close", () => sockets.delete(client));
  client.on("error", () => {});
  const mode = phase;
  if (mode === "5xx" || mode === "429") {
    // Read the whole request first (head and body): answering early and closing would
    // reset the connection under the client, which looks like "down", not like a 5xx.
    let received = Buffer.alloc(0);
    client.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(received.subarray(0, headEnd).toString())?.[1] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      client.removeAllListeners("data");
      const body = JSON.stringify({ imsx_codeMajor: "failure", imsx_severity: "error", imsx_description: `soak: ${mode}` });
      const status = mode === "5xx" ? "503 Service Unavailable" : "429 Too Many Requests";
      client.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nretry-after: 2\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    return;
  }
  const connect = () => {
    const upstream = net.connect(upstreamPort, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.pipe(upstream).pipe(client);
  };
  if (mode === "slow") setTimeout(connect, 5_000);
  else connect();
});
await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
const publicPort = proxy.address().port;
const publicUrl = `http://127.0.0.1:${publicPort}`;

async function setPhase(next) {
  if (next === phase) return;
  if (next === "down") {
    // `close` completes only once every open connection has ended: end them.
    const closed = new Promise((r) => proxy.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  } else if (phase === "down") {
    await new Promise((r) => proxy.listen(publicPort, "127.0.0.1", r));
  }
  phase = next;
}

// ------------------------------------------------------------------ the district

// A free port for the district, known before it starts (its gateway reaches it through
// the proxy from the first moment).
upstreamPort = await new Promise((resolve) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const district = spawn(bin("rollbook-sandbox"), ["--port", String(upstreamPort), "--public-url", publicUrl, "--gateway-port", "0", "--json"], { stdio: ["ignore", "pipe", "inherit"] });
const ready = JSON.parse(await new Promise((resolve) => district.stdout.once("data", (d) => resolve(String(d).split("\n")[0]))));
const admin = `http://127.0.0.1:${upstreamPort}/__sandbox`;
const knobs = await (await fetch(`${admin}/knobs`)).json();
knobs.tokens.access_token_seconds = 45;
knobs.tokens.rotate_refresh_tokens = true;
await fetch(`${admin}/knobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(knobs) });

// ------------------------------------------------------------------ the teacher's computer

const env = { ...(await freshUserEnv("rollbook-soak-", "org.rollbook.desktop.soak")), ROLLBOOK_LOG: "warn" };

function rollbook(args, timeoutMs = 120_000) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(bin("rollbook"), args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const coded = /^error: ([a-z_]+):/m.exec(stderr);
      resolve({ code, signal, stdout, stderr, errorCode: coded?.[1] ?? null, ms: Date.now() - started });
    });
  });
}

const login = await rollbook(["login", "--demo", "--demo-url", publicUrl, "--browser-command", `${bin("rollbook-test-browser")} --login ${ready.teachers[0]}`, "--json"]);
if (login.code !== 0) throw new Error(`sign-in failed: ${login.stderr}`);
let classes = null;
for (let attempt = 0; !classes && attempt < 30; attempt++) {
  const listed = await rollbook(["classes", "--json"]);
  if (listed.code === 0) classes = JSON.parse(listed.stdout);
  else await sleep(1_000);
}
if (!classes) throw new Error("the classes never came");
const classId = classes[0].sourced_id ?? classes[0].sourcedId ?? classes[0].id;

// ------------------------------------------------------------------ the window

const rss = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(execFileSync("cat", [`/proc/${pid}/status`], { encoding: "utf8" }))[1]) / 1024;
  } catch {
    return NaN;
  }
};
const SESSION_GONE = new Set(["sign_in_again", "not_signed_in", "session_record_corrupt"]);
let window = null;
let windowPid = null;
// Reloads of the roster page: how many ended on the roster (after "Try again" where an
// error showed), the codes shown on the way, and failures that showed no code.
const windowChecks = { worked: 0, coded: {}, uncoded: 0 };
const rosterRows = "//table[@aria-label='Students']//tbody/tr[not(contains(@class,'spacer'))]";
if (withWindow) {
  const { driver, stop } = await startDriver(env);
  const session = await driver.start(bin("rollbook-desktop"));
  window = { driver, stop, session };
  await session.waitFor("//li[contains(@class,'card')]//h3", 90_000);
  await session.click("(//li[contains(@class,'card')]//button[starts-with(@aria-label,'Roster of')])[1]");
  await session.waitFor(rosterRows, 60_000);
  windowPid = execFileSync("pgrep", ["-n", "-f", bin("rollbook-desktop")], { encoding: "utf8" }).trim();
}

/** Opens the first class's roster again, as a teacher would: "My classes", then the
 * class; on an error, "Try again" until it works or a minute passes. Returns whether it
 * worked and the first error code the window showed. */
async function reloadWindowRoster() {
  const { session } = window;
  let firstCode = null;
  await session.click("//nav//button[normalize-space(.)='My classes']").catch(() => {});
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const opened = await session.find("(//li[contains(@class,'card')]//button[starts-with(@aria-label,'Roster of')])[1]").catch(() => []);
    if (opened.length) {
      await session.call("POST", `/element/${opened[0]}/click`, {}).catch(() => {});
      const rows = await session.waitFor(rosterRows, 10_000).then(() => true, () => false);
      if (rows) return { ok: true, code: firstCode };
    }
    const code = await session.text("//div[@role='alert']//p[contains(@class,'code')]/code").catch(() => "");
    if (code) {
      firstCode ??= code;
      if (SESSION_GONE.has(code)) return { ok: false, code };
      await sleep(2_000);
      await session.click("//div[@role='alert']//button[normalize-space(.)='Try again']").catch(() => {});
    } else if (!opened.length) {
      // No class list and no error: WebKitWebDriver can drop a click under load (seen
      // as a roster page still showing), so ask for the class list again.
      await session.click("//nav//button[normalize-space(.)='My classes']").catch(() => {});
    }
    await sleep(500);
  }
  const shown = await session.text("//main").catch(() => "?");
  return { ok: false, code: firstCode, shown: shown.replace(/\s+/g, " ").slice(0, 200) };
}

// ------------------------------------------------------------------ the soak

const start = { window: windowPid ? rss(windowPid) : NaN, district: rss(district.pid) };
const outcomes = {};
const samples = {};
const deadline = Date.now() + seconds * 1000;
const flapper = (async () => {
  for (let i = 0; Date.now() < deadline; i++) {
    await setPhase(PHASES[i % PHASES.length]);
    await sleep(phaseSeconds * 1000);
  }
  await setPhase("up");
})();
const windowLoop = (async () => {
  if (!window) return;
  while (Date.now() < deadline) {
    await sleep(30_000);
    const result = await reloadWindowRoster().catch((e) => ({ ok: false, code: null, error: String(e) }));
    if (result.ok) windowChecks.worked++;
    if (result.code) windowChecks.coded[result.code] = (windowChecks.coded[result.code] ?? 0) + 1;
    if (SESSION_GONE.has(result.code)) problem(`the window's session ended (${result.code}) in phase ${phase}`);
    if (!result.ok && !result.code) {
      windowChecks.uncoded++;
      windowChecks.uncoded_shown = result.shown ?? result.error;
    }
  }
})();
let runs = 0;
while (Date.now() < deadline) {
  for (const args of [["whoami", "--json"], ["classes", "--json"], ["roster", classId, "--json"]]) {
    const run = await rollbook(args);
    runs++;
    const key = `${args[0]} ${run.code === 0 ? "ok" : run.errorCode ?? `uncoded(exit ${run.code}, signal ${run.signal})`}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (run.code !== 0) samples[key] = run.stderr.trim().split("\n").pop().slice(0, 300);
    if (run.signal) problem(`${args[0]} was killed by ${run.signal} after ${run.ms} ms (hang or crash): ${run.stderr.slice(-300)}`);
    else if (run.code !== 0 && !run.errorCode) problem(`${args[0]} failed without a code: ${run.stderr.slice(-300)}`);
    else if (SESSION_GONE.has(run.errorCode)) {
      problem(`${args[0]}: the session ended (${run.errorCode}) in phase ${phase}: ${run.stderr.slice(-300)}`);
      break;
    }
  }
  if (problems.some((p) => p.includes("session ended"))) break;
}
await flapper;
await windowLoop;

// Everything is up again: both still signed in, both still work.
await sleep(3_000);
for (const args of [["whoami", "--refresh", "--json"], ["roster", classId, "--json"]]) {
  const run = await rollbook(args);
  if (run.code !== 0) problem(`after the soak, ${args.join(" ")} failed: ${run.stderr.slice(-300)}`);
}
let finalWindow = null;
if (window) {
  finalWindow = await reloadWindowRoster().catch((e) => ({ ok: false, error: String(e) }));
  if (!finalWindow.ok) problem(`after the soak, the window could not show the roster: ${JSON.stringify(finalWindow)}`);
}
const end = { window: windowPid ? rss(windowPid) : NaN, district: rss(district.pid) };
const stats = await (await fetch(`${admin}/stats`)).json();

const summary = {
  seconds,
  phase_seconds: phaseSeconds,
  cli_runs: runs,
  cli_outcomes: outcomes,
  cli_failure_samples: samples,
  window: window ? windowChecks : "not run (no display)",
  rss_mb: { start, end },
  district: { token_refreshes: stats.token_refresh ?? stats.refresh ?? null, tokens: stats.token ?? null },
  problems,
};
console.log(JSON.stringify(summary, null, 2));
if (window) {
  await window.session.end().catch(() => {});
  await waitForExit(bin("rollbook-desktop")).catch(() => {});
  window.stop();
}
district.kill();
proxy.close();
for (const s of sockets) s.destroy();
console.log(`\nfault soak: ${problems.length === 0 ? "passed" : `FAILED (${problems.length} problems)`}, ${runs} CLI runs over ${seconds} s`);
process.exit(problems.length === 0 ? 0 : 1);
