// Window benchmarks: Rollbook against a bare Tauri window built the same way
// (benches/window/bare). Run by scripts/bench-window.sh inside a D-Bus session with an
// unlocked keyring, under Xvfb. See docs/benchmarks.md for what each figure means.
//
//   node benches/window/measure.mjs [--rounds N]
//
// Environment: ROLLBOOK_APP and BARE_APP (the two binaries, built with the marks),
// ROLLBOOK_TEST_BROWSER (follows the demo district's pages for the one sign-in).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForExit } from "../../tests/window/webdriver.mjs";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 15);
const rollbook = process.env.ROLLBOOK_APP;
const bare = process.env.BARE_APP;
if (!rollbook || !bare || !process.env.ROLLBOOK_TEST_BROWSER) {
  console.error("set ROLLBOOK_APP, BARE_APP and ROLLBOOK_TEST_BROWSER (scripts/bench-window.sh does)");
  process.exit(2);
}

const SELECT = {
  demoButton: ".choices button:nth-child(2)",
  choices: ".choices button",
  firstRoster: "li.card button.primary",
  rosterRow: 'table[aria-label="Students"] tbody tr[aria-rowindex]',
};

function home() {
  const dir = mkdtempSync(join(tmpdir(), "rollbook-bench-"));
  return {
    dir,
    env: { HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), XDG_DATA_HOME: join(dir, "data"), XDG_CACHE_HOME: join(dir, "cache") },
  };
}
const signedIn = home();
const signedOut = home();
// The bare window gets a home of its own too, so no app starts with warmer caches
// (fontconfig, WebKit's stores) than another.
const bareHome = home();

/** Starts `app`; resolves with the marks it printed (ms after the spawn) and the child. */
function launch(app, env, { exitAt, click = [], ready = "", onMark } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.timeOrigin + performance.now();
    const child = spawn(app, [], {
      env: {
        ...process.env,
        ...env,
        ROLLBOOK_BENCH_MARKS: exitAt,
        ROLLBOOK_BENCH_CLICK: click.join("||"),
        ROLLBOOK_BENCH_READY: ready,
        ROLLBOOK_BROWSER: process.env.ROLLBOOK_TEST_BROWSER,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const marks = {};
    let stderr = "";
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const m = /^rollbook-mark (\S+) ([\d.]+)$/.exec(line);
        if (!m) continue;
        marks[m[1]] = Number(m[2]) - started;
        onMark?.(m[1], child, marks);
      }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${app} did not reach its mark in 60 s; marks ${JSON.stringify(marks)}\n${stderr.slice(-2000)}`));
    }, 60_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ marks, child, exit: signal ?? code, stderr });
    });
  });
}

async function timed(app, env, options, attempt = 1) {
  const { marks, exit, stderr } = await launch(app, env, options);
  if (app === rollbook) await waitForExit(rollbook);
  const value = marks[options.exitAt];
  if (value !== undefined) return value;
  const failure = `${app} exited (${exit}) without the ${options.exitAt} mark; marks ${JSON.stringify(marks)}\n${stderr.slice(-2000)}`;
  // A launch that died is not a measurement. One in several hundred has (WebKit under
  // Xvfb); it is reported and made again once, and a second one stops the run.
  if (attempt > 1) throw new Error(failure);
  console.log(`a launch failed and is made again: ${failure}`);
  return timed(app, env, options, attempt + 1);
}

// --- memory: the whole process tree (the app, WebKit's web and network processes) ---
function children(pid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry), ...children(Number(entry)));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
function kib(file, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"));
  return m ? Number(m[1]) : 0;
}
function treeMemory(pid) {
  let rss = 0;
  let pss = 0;
  for (const p of [pid, ...children(pid)]) {
    try {
      rss += kib(`/proc/${p}/status`, "VmRSS");
      pss += kib(`/proc/${p}/smaps_rollup`, "Pss");
    } catch {
      // gone
    }
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

const IDLE_MS = 5_000;
async function idleMemory(app, env, options) {
  let sample;
  await launch(app, env, {
    ...options,
    exitAt: "none",
    onMark: (name, child) => {
      if (name !== (options.ready ? "ready" : "first-paint")) return;
      setTimeout(() => {
        sample = treeMemory(child.pid);
        child.kill("SIGTERM");
      }, IDLE_MS);
    },
  });
  if (app === rollbook) await waitForExit(rollbook);
  return sample;
}

// --- statistics ---
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => `${x.toFixed(0)} ms`;
const mb = (x) => `${x.toFixed(1)} MB`;

// --- the run ---
console.log(`window benchmarks: ${rounds} rounds, interleaved (bare, then Rollbook, order rotated each round)`);
// Under Xvfb WebKitGTK composites with Mesa's software GL (llvmpipe) unless told not to;
// docs/benchmarks.md has figures for both.
console.log(`WebKit compositing: ${process.env.WEBKIT_DISABLE_COMPOSITING_MODE ? "off (WEBKIT_DISABLE_COMPOSITING_MODE)" : "on"}`);
// Sign in once and open the first class's roster: the window remembers it, so every
// signed-in restart below opens on that roster by itself, with no click.
console.log("signing in to the demo district once…");
await timed(rollbook, signedIn.env, { exitAt: "ready", click: [SELECT.demoButton, SELECT.firstRoster], ready: SELECT.rosterRow });

const STATIC_ROSTER = "bare window: the roster page as static HTML, first paint";
const ROSTER = "Rollbook: roster visible (signed-in restart)";
const scenarios = {
  "bare window: first paint": () => timed(bare, bareHome.env, { exitAt: "first-paint" }),
  // The same roster page as static HTML in the bare window (benches/window/snapshot.mjs):
  // no script, IPC or store, so this is what WebKit needs to show that page at all.
  [STATIC_ROSTER]: () => timed(bare, { ...bareHome.env, ROLLBOOK_BENCH_PAGE: "roster-page.html" }, { exitAt: "first-paint" }),
  "Rollbook: first paint (signed in)": () => timed(rollbook, signedIn.env, { exitAt: "first-paint" }),
  "Rollbook: sign-in choices (first start)": () => timed(rollbook, signedOut.env, { exitAt: "ready", ready: SELECT.choices }),
  [ROSTER]: () => timed(rollbook, signedIn.env, { exitAt: "ready", ready: SELECT.rosterRow }),
  // The same restart with the district's roster API answering 1.5 s late (a district far
  // away, or a slow gateway): the roster still comes from the store at once.
  "Rollbook: roster visible, district 1.5 s away (signed-in restart)": () =>
    timed(rollbook, { ...signedIn.env, ROLLBOOK_TEST_DEMO_LATENCY_MS: "1500" }, { exitAt: "ready", ready: SELECT.rosterRow }),
};
const names = Object.keys(scenarios);
const samples = Object.fromEntries(names.map((n) => [n, []]));
console.log("one untimed round to warm each home's caches…");
for (const name of names) await scenarios[name]();
for (let round = 0; round < rounds; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]);
  for (const name of order) samples[name].push(await scenarios[name]());
}
const baseline = median(samples["bare window: first paint"]);
console.log("\n| launch to … | median | min | max | ratio to the bare window's first paint |");
console.log("|---|---:|---:|---:|---:|");
for (const name of names) {
  const xs = samples[name];
  console.log(`| ${name} | ${ms(median(xs))} | ${ms(Math.min(...xs))} | ${ms(Math.max(...xs))} | ${(median(xs) / baseline).toFixed(2)}× |`);
}
const floor = median(samples[STATIC_ROSTER]);
console.log(`\nroster visible against the same page as static HTML in the bare window: ${(median(samples[ROSTER]) / floor).toFixed(2)}× (what Rollbook's script, IPC and store add to the page's own cost)`);

const memoryRounds = Math.min(rounds, 3);
const memory = {
  "bare window, idle": () => idleMemory(bare, bareHome.env, {}),
  "Rollbook, sign-in screen, idle": () => idleMemory(rollbook, signedOut.env, { ready: SELECT.choices }),
  "Rollbook, roster open, idle (demo district in-process)": () => idleMemory(rollbook, signedIn.env, { ready: SELECT.rosterRow }),
};
const mem = Object.fromEntries(Object.keys(memory).map((n) => [n, []]));
for (let round = 0; round < memoryRounds; round++) {
  for (const [name, run] of Object.entries(memory)) mem[name].push(await run());
}
const bareMem = median(mem["bare window, idle"].map((m) => m.pss));
console.log(`\n| idle ${IDLE_MS / 1000} s after ready, whole process tree | RSS | PSS | PSS ratio to the bare window |`);
console.log("|---|---:|---:|---:|");
for (const [name, xs] of Object.entries(mem)) {
  const pss = median(xs.map((m) => m.pss));
  console.log(`| ${name} | ${mb(median(xs.map((m) => m.rss)))} | ${mb(pss)} | ${(pss / bareMem).toFixed(2)}× |`);
}

for (const { dir } of [signedIn, signedOut, bareHome]) rmSync(dir, { recursive: true, force: true });
