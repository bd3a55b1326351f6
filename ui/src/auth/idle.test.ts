import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { watchIdle } from "./idle";

describe("idle sign-out timing", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("fires once after the limit without activity", () => {
    const target = new EventTarget();
    const idle = vi.fn();
    watchIdle(target, 60, idle);
    vi.advanceTimersByTime(59_999);
    expect(idle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(idle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(600_000);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it("restarts the wait on each kind of activity", () => {
    const target = new EventTarget();
    const idle = vi.fn();
    watchIdle(target, 10, idle);
    for (const kind of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"]) {
      vi.advanceTimersByTime(9_000);
      target.dispatchEvent(new Event(kind));
    }
    vi.advanceTimersByTime(9_999);
    expect(idle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it("other events are not activity", () => {
    const target = new EventTarget();
    const idle = vi.fn();
    watchIdle(target, 10, idle);
    vi.advanceTimersByTime(9_000);
    target.dispatchEvent(new Event("focus"));
    vi.advanceTimersByTime(1_000);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it("stops: no timer and no listener left", () => {
    const target = new EventTarget();
    const idle = vi.fn();
    const stop = watchIdle(target, 10, idle);
    stop();
    target.dispatchEvent(new Event("keydown"));
    vi.advanceTimersByTime(60_000);
    expect(idle).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("asks with the window's idle seconds and asks again when told to", async () => {
    const target = new EventTarget();
    const answers = [120, 0];
    const idle = vi.fn(async () => answers.shift());
    watchIdle(target, 60, idle);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(idle).toHaveBeenLastCalledWith(60);
    await vi.advanceTimersByTimeAsync(119_999);
    expect(idle).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(idle).toHaveBeenCalledTimes(2);
    expect(idle).toHaveBeenLastCalledWith(180);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(idle).toHaveBeenCalledTimes(2);
  });

  it("activity while the answer is awaited starts a full wait the late answer does not shorten", async () => {
    const target = new EventTarget();
    let answer: (n: number) => void = () => {};
    const idle = vi.fn(() => new Promise<number>((r) => (answer = r)));
    watchIdle(target, 60, idle);
    await vi.advanceTimersByTimeAsync(60_000);
    target.dispatchEvent(new Event("keydown"));
    answer(5);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(idle).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(idle).toHaveBeenCalledTimes(2);
    expect(idle).toHaveBeenLastCalledWith(60);
  });

  it("a limit of 0 never signs out", () => {
    const idle = vi.fn();
    watchIdle(new EventTarget(), 0, idle);
    vi.advanceTimersByTime(10_000_000);
    expect(idle).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
