import type { Clock } from '../../../../src/node/bgp/session/clock.ts';

/** A clock whose timers fire only when the test advances it. */
export class SimulatedClock implements Clock {
  #now = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; ms: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { at: this.#now + ms, ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }

  /** The durations of the timers now pending. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.ms);
  }
}
