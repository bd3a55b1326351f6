// The floor for "roster visible": Rollbook's roster page as static HTML, for the bare
// window to open (ROLLBOOK_BENCH_PAGE=roster-page.html). The built UI renders the page in
// Chromium against the mock backend (a class of 28 students, the window's size); its DOM
// and stylesheet, without any script, go into the bare window's dist/ (not committed).
// The bare window then shows the same page with no JavaScript, no IPC and no store:
// what is left is WebKit's cost of that page. scripts/bench-window.sh runs this first.
//
//   npm --prefix ui run build && node benches/window/snapshot.mjs

import { copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dist, serveDist } from "../../ui/tests/serve-dist.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ui = join(here, "..", "..", "ui");
const out = join(here, "bare", "dist");
// playwright-core is the UI's test dependency (ui/package.json).
const { chromium } = createRequire(join(ui, "package.json"))("playwright-core");

const { base, server } = await serveDist();

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--headless=new"] });
try {
  // The size of Rollbook's window (tauri.conf.json), so as many rows are on screen.
  const page = await browser.newPage({ viewport: { width: 1180, height: 780 } });
  await page.goto(`${base}?signedIn=1&delay=0`);
  await page.getByRole("button", { name: "Roster of Algebra I - Period 1" }).click();
  await page.locator('table[aria-label="Students"] tbody tr[aria-rowindex]').first().waitFor();
  const html = await page.evaluate(() => {
    for (const script of document.querySelectorAll("script")) script.remove();
    return `<!doctype html>\n${document.documentElement.outerHTML}\n`;
  });
  await mkdir(join(out, "assets"), { recursive: true });
  for (const file of await readdir(join(dist, "assets"))) {
    if (file.endsWith(".css")) await copyFile(join(dist, "assets", file), join(out, "assets", file));
  }
  await writeFile(join(out, "roster-page.html"), html);
  console.log(`roster page snapshot: ${html.length} bytes, ${html.match(/<tr /g)?.length ?? 0} table rows`);
} finally {
  await browser.close();
  server.close();
}
