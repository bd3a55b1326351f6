// The gradebook in the real window, against the embedded demo district through its
// roster gateway: enter grades from the keyboard, see them sent; restart and they are
// there; take the district's roster gateway down (a test-build switch that really stops
// it: connections are refused), keep entering grades offline, bring it back, and they
// sync. Issue 18's two stories: a grade changed in the district (through its OneRoster
// API, with the demo application's credentials) shows after the next Sync now; a
// cleared grade graded again lands. Runs under Xvfb in the test session, like
// window.test.mjs.

import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { button, screenshots, startDriver, steps, waitForExit } from "./webdriver.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const app = process.env.ROLLBOOK_APP ?? join(root, "target", "debug", "rollbook-desktop");
const shots = join(root, "tests", "window", "screenshots");
await mkdir(shots, { recursive: true });
const { driver, stop } = await startDriver({
  ROLLBOOK_BROWSER: join(root, "target", "debug", "rollbook-test-browser"),
  ROLLBOOK_TEST_DEMO_CONTROL: "1",
});

const { step, finish } = steps();
const save = screenshots(shots);
const grid = "//div[@role='grid'][@aria-label='Gradebook']";
const cellText = (row, col) => `//div[@id='cell-${row}-${col}']/span[@class='value']`;
const cellWithSign = (row, col, sign) => `//div[@id='cell-${row}-${col}'][span[contains(@class,'sign')][normalize-space(.)='${sign}']]`;
// In the district: sent (✓), or, after Sync now has read the district's copy back, plain.
const cellInDistrict = (row, col, text) => `//div[@id='cell-${row}-${col}'][contains(concat(' ',@class,' '),' sent ') or contains(concat(' ',@class,' '),' synced ')][span[contains(@class,'value')][normalize-space(.)='${text}']]`;
const cellShowing = (row, col, text) => `//div[@id='cell-${row}-${col}'][span[contains(@class,'value')][normalize-space(.)='${text}']]`;

/** Types a score into a cell: the first key opens the editor, the rest go to it. */
async function enter(session, row, col, score) {
  await session.clickUntil(`//div[@id='cell-${row}-${col}']`, `//div[@id='cell-${row}-${col}'][contains(@class,'active')]`);
  const editor = "//input[contains(@class,'editor')]";
  // A dropped request ("socket hang up") is not retried by the driver (keys must not be
  // typed twice); what reached the page is checked instead, and only the missing keys are
  // typed again.
  await session.type(grid, score[0]).catch(() => {});
  if (!(await session.waitFor(editor, 5_000).catch(() => null))) {
    await session.type(grid, score[0]);
    await session.waitFor(editor);
  }
  await session.type(editor, `${score.slice(1)}\uE007`).catch(() => {});
  // WebKitWebDriver sometimes drops a forwarded request (see clickUntil): when the editor
  // is still open with only the first key in it, the rest is typed again, once.
  const shown = await session.waitFor(cellShowing(row, col, score), 8_000).catch(() => null);
  if (!shown) {
    const stuck = await session.run(`const e = document.querySelector("input.editor"); return e ? e.value : null;`, [], { read: true });
    if (stuck === score[0]) await session.type(editor, `${score.slice(1)}\uE007`);
    await session.waitFor(cellShowing(row, col, score), 20_000);
  }
}

// The embedded demo district's own OneRoster API (not the gateway), with the demo
// application's published bearer (crates/sandbox/src/config.rs, `PROXY_BEARER`): what the
// SIS's own screens and a department head's edit go through.
const district = "http://127.0.0.1:47601/ims/oneroster/v1p1";
const appAuth = { Authorization: "Bearer demo-proxy-bearer-not-a-secret" };

/** The class shown and the ids of the cell at (row, col), as the window has them. */
async function cellIds(session, row, col) {
  const ids = await session.run(`
    const invoke = window.__TAURI_INTERNALS__.invoke;
    const info = await invoke("session_info");
    const page = await invoke("saved_gradebook", { classId: info.lastView.classId });
    return { classId: info.lastView.classId, lineItemId: page.gradebook.columns[${col}].sourcedId, studentId: page.gradebook.students[${row}].sourcedId };
  `, [], { read: true });
  if (!ids || ids.rejected) throw new Error(`could not read the cell's ids: ${JSON.stringify(ids)}`);
  return ids;
}

/** The district's result for a cell, or null when it has none. */
async function districtResult({ classId, lineItemId, studentId }) {
  const response = await fetch(`${district}/classes/${classId}/results?limit=1000`, { headers: appAuth });
  if (!response.ok) throw new Error(`the district answered ${response.status} to reading the class's results`);
  const { results } = await response.json();
  return results.find((r) => r.lineItem?.sourcedId === lineItemId && r.student?.sourcedId === studentId && r.status !== "tobedeleted") ?? null;
}

async function setRosterOnline(session, online) {
  const answer = await session.run(`return await window.__TAURI_INTERNALS__.invoke("test_demo_roster", { online: ${online} });`);
  if (answer && answer.rejected) throw new Error(`the offline switch failed: ${answer.rejected}`);
}

let session;
let classTitle = "";
try {
  await step("sign in to the demo and open a gradebook", async () => {
    session = await driver.start(app);
    await session.clickUntil(button("Try the demo district"), "//h1[normalize-space(.)='My classes']", 60_000, 15_000);
    classTitle = await session.text("(//li[contains(@class,'card')]//h3)[1]");
    await session.clickUntil(`//button[@aria-label=${JSON.stringify(`Gradebook of ${classTitle}`)}]`, grid, 60_000);
    await session.waitFor(`${grid}//div[@role='columnheader'][3]`);
  });
  let first = "";
  await step("grades typed from the keyboard are saved, then sent to the district", async () => {
    first = "7.5";
    await enter(session, 0, 0, first);
    await enter(session, 1, 0, "6");
    // Sent by itself shortly after typing (✓), through the gateway.
    await session.waitFor(cellWithSign(0, 0, "✓"), 30_000);
    await session.waitFor(cellWithSign(1, 0, "✓"), 30_000);
    const metrics = await (await fetch("http://127.0.0.1:47602/metrics")).text();
    const written = metrics.split("\n").find((l) => l.includes('route="/ims/oneroster/v1p1/results/{id}"') && l.includes('method="PUT"') && /status="20[01]"/.test(l));
    if (!written) throw new Error(`no grade reached the district through the gateway:\n${metrics.split("\n").filter((l) => l.includes("results")).join("\n")}`);
    await save(session, "07-gradebook-entered");
  });
  await step("after a restart the grades are there, on the same page", async () => {
    await session.end();
    await waitForExit(app);
    session = await driver.start(app);
    await session.waitFor(grid, 60_000);
    await session.waitFor(cellShowing(0, 0, first), 30_000);
    await session.waitFor(cellShowing(1, 0, "6"), 30_000);
  });
  await step("offline: the window says so, keeps taking grades, and sends them when the district is back", async () => {
    await setRosterOnline(session, false);
    await enter(session, 2, 0, "8.25");
    await session.clickUntil(button("Sync now"), "//p[@role='status'][contains(.,'Offline')]", 30_000);
    await session.waitFor(cellWithSign(2, 0, "•"));
    // Said plainly, with the grade kept here.
    await session.waitFor("//p[@role='status'][contains(.,'saved on this computer and will be sent')]");
    await save(session, "08-gradebook-offline");
    await setRosterOnline(session, true);
    await session.clickUntil(button("Sync now"), cellInDistrict(2, 0, "8.25"), 30_000);
    const status = await session.text("//p[@role='status']");
    if (/Offline/.test(status)) throw new Error(`still says offline: ${status}`);
  });
  await step("a grade changed in the district after it was sent shows after the next Sync now", async () => {
    await enter(session, 3, 0, "5");
    await session.clickUntil(button("Sync now"), cellInDistrict(3, 0, "5"), 30_000);
    const ids = await cellIds(session, 3, 0);
    const sent = await districtResult(ids);
    if (sent?.score !== 5) throw new Error(`the district does not hold the grade sent: ${JSON.stringify(sent)}`);
    // A department head changes 5 to 9.25 in the SIS.
    const changed = await fetch(`${district}/results/${sent.sourcedId}`, {
      method: "PUT",
      headers: { ...appAuth, "Content-Type": "application/json" },
      body: JSON.stringify({ result: { ...sent, score: 9.25, scoreStatus: "fully graded", dateLastModified: new Date().toISOString() } }),
    });
    if (changed.status !== 200) throw new Error(`the district refused the change: ${changed.status} ${await changed.text()}`);
    await session.clickUntil(button("Sync now"), cellShowing(3, 0, "9.25"), 30_000);
    const label = await session.run(`return document.getElementById("cell-3-0").getAttribute("aria-label");`, [], { read: true });
    if (/conflict|not yet sent/.test(label)) throw new Error(`the district's value is not shown as the district's: ${label}`);
    await save(session, "09-gradebook-district-change");
  });
  await step("a cleared grade, synced, graded again and synced, lands in the district", async () => {
    await enter(session, 4, 0, "6");
    await session.clickUntil(button("Sync now"), cellInDistrict(4, 0, "6"), 30_000);
    const ids = await cellIds(session, 4, 0);
    if ((await districtResult(ids))?.score !== 6) throw new Error("the first grade did not reach the district");
    // Clear it (Delete on the cell), and sync: the district's result goes.
    await session.clickUntil(`//div[@id='cell-4-0']`, `//div[@id='cell-4-0'][contains(@class,'active')]`);
    await session.type(grid, "\uE017");
    await session.waitFor(cellShowing(4, 0, ""), 20_000);
    await session.clickUntil(button("Sync now"), "//p[@role='status'][not(contains(.,'not yet sent'))][not(contains(.,'Sending'))]", 30_000);
    for (let i = 0; (await districtResult(ids)) && i < 50; i++) await new Promise((r) => setTimeout(r, 200));
    if (await districtResult(ids)) throw new Error("the cleared grade is still in the district");
    // Graded again: a new record, sent, not refused.
    await enter(session, 4, 0, "7.5");
    await session.clickUntil(button("Sync now"), cellInDistrict(4, 0, "7.5"), 30_000);
    const landed = await districtResult(ids);
    if (landed?.score !== 7.5) throw new Error(`the new grade did not land: ${JSON.stringify(landed)}`);
    await save(session, "10-gradebook-graded-again");
  });
  await step("measure: a keystroke's grade committed in the store, against a refused IPC call", async () => {
    // Both go through the same IPC: a grade is parsed, committed (WAL, synchronous=FULL)
    // and answered; the baseline is a call the window's permissions refuse at once.
    const timings = await session.run(`
      const invoke = window.__TAURI_INTERNALS__.invoke;
      const info = await invoke("session_info");
      const page = await invoke("saved_gradebook", { classId: info.lastView.classId });
      const lineItemId = page.gradebook.columns[1].sourcedId;
      const studentId = page.gradebook.students[5].sourcedId;
      const grade = [], floor = [];
      for (let i = 0; i < 60; i++) {
        let t = performance.now();
        await invoke("enter_grade", { classId: info.lastView.classId, lineItemId, studentId, change: { kind: "typed", text: String(50 + (i % 40)) } });
        grade.push(performance.now() - t);
        t = performance.now();
        await invoke("plugin:event|listen", { event: "x", target: { kind: "Any" }, handler: 0 }).catch(() => {});
        floor.push(performance.now() - t);
      }
      const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
      const p95 = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.95)];
      return { grade: median(grade), gradeP95: p95(grade), floor: median(floor) };
    `, [], { read: true });
    if (!timings || timings.rejected) throw new Error(`measuring failed: ${JSON.stringify(timings)}`);
    console.log(`keystroke to committed grade (debug build): median ${timings.grade.toFixed(2)} ms, p95 ${timings.gradeP95.toFixed(2)} ms; refused IPC call ${timings.floor.toFixed(2)} ms; ratio ${(timings.grade / timings.floor).toFixed(1)}×`);
  });
} catch {
  if (session) await save(session, "FAILED-gradebook").catch(() => {});
} finally {
  await session?.end().catch(() => {});
  stop();
}

finish("window gradebook: {passed} passed, {failed} failed (tauri-driver + WebKitWebDriver; screenshots in tests/window/screenshots/)", 7);
