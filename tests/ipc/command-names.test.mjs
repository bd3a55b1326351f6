// The shell's command names agree wherever they are written: the permissions build.rs
// declares, the handlers lib.rs registers, what the main window's capability grants, and
// what the UI's Tauri backend invokes. Every list is read from its file, so a command
// added in all four places needs no change here.
//
//   node tests/ipc/command-names.test.mjs [ROOT]    (ROOT: a checkout; default this one)

import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", ".."));
const read = (path) => readFile(join(root, path), "utf8");

// build.rs: `const COMMANDS: &[&str] = &[ "a", "b", … ];`
const buildRs = await read("src-tauri/build.rs");
const declaredBlock = buildRs.match(/const COMMANDS: &\[&str\] = &\[([\s\S]*?)\];/);
if (!declaredBlock) throw new Error("src-tauri/build.rs: no `const COMMANDS` list found");
const declared = [...declaredBlock[1].replace(/\/\/.*$/gm, "").matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1]);

// lib.rs: the handlers of `fn app_commands` (what ships), and every other
// `generate_handler!` or name-matched command (feature-gated: test hooks, benchmarks).
const libRs = await read("src-tauri/lib.rs");
const handlerNames = (text) => [...text.matchAll(/commands::([a-z0-9_]+)/g)].map((m) => m[1]);
const appBlock = libRs.match(/fn app_commands\(\)[\s\S]*?generate_handler!\[([\s\S]*?)\]/);
if (!appBlock) throw new Error("src-tauri/lib.rs: no `fn app_commands` with a generate_handler! list found");
const shipped = handlerNames(appBlock[1]);
const registered = new Set(
  [...libRs.matchAll(/generate_handler!\[([\s\S]*?)\]/g)].flatMap((m) => handlerNames(m[1])),
);
// A command routed by a crate's own handler, matched on a constant it exports
// (`invoke.message.command() == some_crate::COMMAND`).
const manifest = await read("Cargo.toml");
for (const [, crate] of libRs.matchAll(/command\(\) == ([a-z0-9_]+)::COMMAND/g)) {
  const name = crate.replaceAll("_", "-");
  const dir = manifest.match(new RegExp(`^${name} = \\{[^}]*path = "([^"]+)"`, "m"))?.[1];
  if (!dir) throw new Error(`src-tauri/lib.rs routes ${crate}::COMMAND, but Cargo.toml has no path for ${name}`);
  const lib = await read(join(dir, "src", "lib.rs")).catch(() => "");
  const command = lib.match(/pub const COMMAND: &str = "([a-z0-9_]+)"/)?.[1];
  if (!command) throw new Error(`src-tauri/lib.rs routes ${crate}::COMMAND, whose value was not found in ${dir}/src/lib.rs`);
  registered.add(command);
}

// The main window's capability: `allow-<command, kebab-case>` per command it may call.
const capability = JSON.parse(await read("src-tauri/capabilities/main.json"));
const granted = capability.permissions.map((p) => (typeof p === "string" ? p : p.identifier));

// The UI: `invoke("name", …)` in its Tauri backend.
const tauriTs = await read("ui/src/backend/tauri.ts");
const invoked = [...tauriTs.matchAll(/invoke(?:<[^>]*>)?\(\s*"([a-z0-9_]+)"/g)].map((m) => m[1]);

const problems = [];
const missing = (what, names, from) => {
  for (const n of names) if (!from.has(n)) problems.push(`${n}: ${what}`);
};
const kebab = (n) => `allow-${n.replaceAll("_", "-")}`;
if (shipped.length < 5 || invoked.length < 5) problems.push(`too few commands read (${shipped.length} shipped, ${invoked.length} invoked): has a file's shape changed?`);
missing("registered in lib.rs but not declared in build.rs (it would have no permission)", registered, new Set(declared));
missing("declared in build.rs but no handler in lib.rs", declared, registered);
missing("invoked by ui/src/backend/tauri.ts but not a shipped command in lib.rs's app_commands", invoked, new Set(shipped));
missing("a shipped command the UI never invokes (ui/src/backend/tauri.ts)", shipped, new Set(invoked));
missing("a shipped command the main window's capability does not grant", shipped.map(kebab), new Set(granted));
const allowed = new Set(shipped.map(kebab));
for (const p of granted) {
  if (!allowed.has(p)) problems.push(`${p}: granted by src-tauri/capabilities/main.json but no shipped command of that name (test and benchmark commands are granted at run time only)`);
}
for (const [what, list] of [["build.rs", declared], ["app_commands", shipped], ["main.json", granted], ["tauri.ts", invoked]]) {
  const seen = new Set();
  for (const n of list) {
    if (seen.has(n)) problems.push(`${n}: written twice in ${what}`);
    seen.add(n);
  }
}

if (problems.length) {
  for (const p of problems) console.error(`FAILED: ${p}`);
  process.exit(1);
}
console.log(`command names: ${shipped.length} shipped commands agree across build.rs, lib.rs, the capability and tauri.ts (${registered.size - shipped.length} more for tests and benchmarks, declared, not granted)`);
