// The shipped UI holds no mock backend and sets no global: builds the production bundle
// (as the app embeds it, into a temporary folder) and fails if any of its files holds a
// string found only in the mock's modules, or the name of the global the mock sets. The
// same check on the test build (with the mock) must find them, so the check can fail.
//
// Run: node ui/tests/bundle.test.mjs

import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(ui, "src");
const mockModules = ["backend/mock.ts", "backend/mockGradebook.ts"];
const global = "rollbookBackend";

async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

// Plain ASCII string literals of the mock's modules that no other source file holds:
// if one is in a bundle, the mock is.
async function mockOnlyStrings() {
  const literal = /"([ -!#-[\]-~]{12,})"/g;
  const mock = new Set();
  for (const file of mockModules) {
    for (const [, text] of (await readFile(join(src, file), "utf8")).matchAll(literal)) mock.add(text);
  }
  for (const file of await filesUnder(src)) {
    if (mockModules.some((m) => file.endsWith(m))) continue;
    const text = await readFile(file, "utf8");
    for (const s of [...mock]) if (text.includes(s)) mock.delete(s);
  }
  return [...mock];
}

async function builtText(mode) {
  const outDir = await mkdtemp(join(tmpdir(), `rollbook-ui-${mode}-`));
  try {
    await build({ root: ui, mode, logLevel: "error", build: { outDir, emptyOutDir: true } });
    const files = (await filesUnder(outDir)).filter((f) => /\.(js|html)$/.test(f));
    return (await Promise.all(files.map((f) => readFile(f, "utf8")))).join("\n");
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

const markers = await mockOnlyStrings();
if (markers.length < 5) throw new Error(`only ${markers.length} strings tell the mock apart; the check would be weak`);

const failures = [];
const shipped = await builtText("production");
const leaked = markers.filter((m) => shipped.includes(m));
if (leaked.length) failures.push(`the production bundle holds the mock backend (${leaked.slice(0, 3).map((m) => JSON.stringify(m)).join(", ")})`);
if (shipped.includes(global)) failures.push(`the production bundle sets window.${global}`);

const withMock = await builtText("mock");
if (!markers.some((m) => withMock.includes(m))) failures.push("the test build holds none of the mock's strings: the check above proves nothing");
if (!withMock.includes(global)) failures.push(`the test build does not set window.${global}`);

if (failures.length) {
  for (const f of failures) console.error(`FAILED: ${f}`);
  process.exit(1);
}
console.log(`bundle: the production bundle holds none of the mock's ${markers.length} strings and no window.${global}; the test build holds them`);
