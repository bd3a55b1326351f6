// A static server for the UI's test build on a free loopback port: what the Chromium
// tests and the window benchmark's page snapshot load the UI from. The test build
// (`vite build --mode mock`, into ui/dist-mock) carries the mock backend, which the
// production build in ui/dist, the one the app embeds, does not.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..");
export const dist = join(ui, "dist-mock");

/** Builds the UI with the mock backend into `dist` (a few seconds; never stale). */
export async function buildTestBundle() {
  await build({ root: ui, mode: "mock", logLevel: "warn", build: { outDir: dist, emptyOutDir: true } });
}

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

/** Builds and serves the test build; resolves with the base URL and the server (to close). */
export async function serveDist() {
  await buildTestBundle();
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${server.address().port}/`, server };
}
