import { mount } from "svelte";
import App from "./App.svelte";
import type { Backend } from "./backend/backend";
import { TauriBackend } from "./backend/tauri";
import "./app.css";

// The mock backend exists for the Chromium tests and for demos on the Vite dev server.
// Vite replaces these flags when it builds, so a production build drops this branch
// and the mock's module with it: the shipped bundle holds no mock and sets no global
// (ui/tests/bundle.test.mjs checks the built files).
const mockAllowed = import.meta.env.DEV || import.meta.env.MODE === "mock";

async function chooseBackend(): Promise<Backend | null> {
  if ("__TAURI_INTERNALS__" in window) return new TauriBackend();
  if (mockAllowed) {
    // Outside the window the mock answers, driven by the page's query string; the
    // tests reach it through the global.
    const { MockBackend } = await import("./backend/mock");
    const backend = MockBackend.fromLocation(window.location.search);
    (window as unknown as { rollbookBackend: Backend }).rollbookBackend = backend;
    return backend;
  }
  return null;
}

const target = document.getElementById("app");
if (target) {
  const backend = await chooseBackend();
  if (backend) {
    target.replaceChildren(); // the static "Opening Rollbook…" from index.html
    mount(App, { target, props: { backend } });
  } else {
    target.textContent = "Rollbook runs in its own window; this page has nothing to show in a browser.";
  }
}
