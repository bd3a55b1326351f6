// Injected before the page's scripts when ROLLBOOK_BENCH_MARKS is set (see lib.rs).
// One function expression, no trailing semicolon: lib.rs wraps it in a call.
(clicks, ready) => {
  const report = (name) =>
    window.__TAURI_INTERNALS__.invoke("bench_mark", { name }).catch(() => {});
  const at = (name) => report(`page:${name}:${Math.round(performance.now())}`);
  const afterPaint = (name) =>
    requestAnimationFrame(() => {
      at(`${name}-frame-1`);
      requestAnimationFrame(() => {
        // The page-clock copy goes first: the app may exit on the mark itself. Both apps
        // send the same calls, so the ratios are unaffected.
        at(name);
        report(name);
      });
    });
  let painted = false;
  let step = 0;
  const check = () => {
    // First contentful paint: the first frame with text in it.
    if (!painted && document.body && document.body.textContent.trim() !== "") {
      painted = true;
      report("text-in-dom");
      at("text-in-dom");
      afterPaint("first-paint");
    }
    while (step < clicks.length) {
      const target = document.querySelector(clicks[step]);
      if (!target) break;
      step += 1;
      report(`clicked-${step}`);
      target.click();
    }
    if (ready && document.querySelector(ready)) {
      ready = null;
      report("ready-in-dom");
      at("ready-in-dom");
      afterPaint("ready");
    }
    if (painted && !ready) observer.disconnect();
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", check);
}
