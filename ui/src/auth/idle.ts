// Idle sign-out (the school's policy): any key, click, touch or scroll counts as
// activity, and `onIdle` runs once after `seconds` without any.

/** The events that count as the teacher being there. */
const ACTIVITY = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"] as const;

/** Starts watching `target` (the window); returns the function that stops it. `seconds`
 * of 0 or less: never idle. */
export function watchIdle(target: EventTarget, seconds: number, onIdle: () => void): () => void {
  if (seconds <= 0) return () => {};
  let timer = setTimeout(onIdle, seconds * 1000);
  const active = () => {
    clearTimeout(timer);
    timer = setTimeout(onIdle, seconds * 1000);
  };
  for (const e of ACTIVITY) target.addEventListener(e, active, { passive: true });
  return () => {
    clearTimeout(timer);
    for (const e of ACTIVITY) target.removeEventListener(e, active);
  };
}
