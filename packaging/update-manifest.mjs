#!/usr/bin/env node
// Writes the updater's manifest (latest.json) for a release from the signed installers in
// a folder: every `X.sig` that `tauri build` wrote beside an installer `X` (with
// bundle.createUpdaterArtifacts and TAURI_SIGNING_PRIVATE_KEY) becomes the entry of the
// platforms that install X. The release workflow attaches the result; the .deb suite
// (tests/packaging/deb.test.sh) serves one written by this same script.
//
//   node packaging/update-manifest.mjs --version 1.2.3 --base-url URL [--notes TEXT] DIR > latest.json
//
// URL is where the installers are downloaded from (a release's download folder); each
// entry's url is URL/<file name>. Exits 1 when DIR holds no signature: a release without
// signed installers has no manifest, and installed copies are then not offered it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [value] = args.splice(i, 2).slice(1);
  return value;
};
const version = option("--version")?.replace(/^v/, "");
const baseUrl = option("--base-url")?.replace(/\/+$/, "");
const notes = option("--notes") ?? `Rollbook ${version}`;
const [dir] = args;
if (!version || !baseUrl || !dir) {
  console.error("usage: update-manifest.mjs --version V --base-url URL [--notes TEXT] DIR");
  process.exit(2);
}

// The updater looks for `{os}-{arch}-{installer}` first, then `{os}-{arch}`. The plain
// keys go to the installer each platform's users most likely have: NSIS on Windows (an
// MSI install is found by its own key), the AppImage on Linux.
const kinds = [
  [/_amd64\.deb$/, ["linux-x86_64-deb"]],
  [/_amd64\.AppImage$/, ["linux-x86_64-appimage", "linux-x86_64"]],
  [/_x64_.*\.msi$/, ["windows-x86_64-msi"]],
  [/_x64-setup\.exe$/, ["windows-x86_64-nsis", "windows-x86_64"]],
  // One universal app for both Mac architectures.
  [/\.app\.tar\.gz$/, ["darwin-aarch64-app", "darwin-x86_64-app", "darwin-aarch64", "darwin-x86_64"]],
];

const platforms = {};
for (const name of readdirSync(dir).filter((n) => n.endsWith(".sig")).sort()) {
  const installer = name.slice(0, -".sig".length);
  const kind = kinds.find(([pattern]) => pattern.test(installer));
  if (!kind) {
    console.error(`${name}: no platform installs ${installer}; left out`);
    continue;
  }
  const entry = {
    signature: readFileSync(join(dir, name), "utf8").trim(),
    url: `${baseUrl}/${encodeURIComponent(installer)}`,
  };
  for (const key of kind[1]) platforms[key] = entry;
}
if (Object.keys(platforms).length === 0) {
  console.error(`${dir}: no signed installer (*.sig); no manifest`);
  process.exit(1);
}
process.stdout.write(
  `${JSON.stringify({ version, notes, pub_date: new Date().toISOString().replace(/\.\d+Z$/, "Z"), platforms }, null, 2)}\n`,
);
