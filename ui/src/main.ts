import { mount } from "svelte";
import App from "./App.svelte";
import type { Backend } from "./backend/backend";
import { MockBackend } from "./backend/mock";
import { TauriBackend } from "./backend/tauri";
import "./app.css";

// Inside the Tauri window the shell answers; anywhere else (Chromium tests, a plain
// browser) the mock backend does, driven by the page's query string.
const inTauri = "__TAURI_INTERNALS__" in window;
const backend: Backend = inTauri ? new TauriBackend() : MockBackend.fromLocation(window.location.search);
(window as unknown as { rollbookBackend: Backend }).rollbookBackend = backend;

const target = document.getElementById("app");
if (target) {
  target.replaceChildren(); // the static "Opening Rollbook…" from index.html
  mount(App, { target, props: { backend } });
}
