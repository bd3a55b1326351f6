// Idle sign-out (the school's policy): any key, click, touch or scroll in the window
// counts as activity. After `seconds` without any, `onIdle` is asked with how long the
// window has been idle; it answers in how many seconds to ask again (the person was at
// another program: the system's idle time says so on Windows and macOS), or 0 (done).

/** The events that count as the teacher being there. */
const ACTIVITY = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"] as const;

/** Seconds until `onIdle` asks again; 0 or nothing: it has acted (signed out). */
export type IdleAnswer = number | void;

/** Starts watching `target` (the window); returns the function that stops it. `seconds`
 * of 0 or less: never idle. */
export function watchIdle(
  target: EventTarget,
  seconds: number,
  onIdle: (windowIdleSeconds: number) => IdleAnswer | Promise<IdleAnswer>,
): () => void {
  if (seconds <= 0) return () => {};
  let lastActivity = Date.now();
  // Activity while `onIdle` is still deciding starts a new wait; the late answer must
  // not replace it with a shorter one.
  let generation = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (after: number) => {
    clearTimeout(timer);
    timer = setTimeout(fire, after * 1000);
  };
  const fire = async () => {
    const asked = generation;
    const again = await onIdle(Math.floor((Date.now() - lastActivity) / 1000));
    if (!stopped && asked === generation && typeof again === "number" && again > 0) arm(again);
  };
  const active = () => {
    lastActivity = Date.now();
    generation++;
    arm(seconds);
  };
  arm(seconds);
  for (const e of ACTIVITY) target.addEventListener(e, active, { passive: true });
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const e of ACTIVITY) target.removeEventListener(e, active);
  };
}
