/**
 * Fake time for the ACD: timers fire only when the test advances the clock, in due order.
 */
import type { Scheduler } from '../../telephony';

export class FakeScheduler implements Scheduler {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = '2025-10-09T02:00:00Z') {
    this.t = new Date(start).getTime();
  }

  now() {
    return new Date(this.t);
  }

  setTimer(ms: number, fn: () => void) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimer(h: unknown) {
    this.timers.delete(h as number);
  }

  /** Moves time forward, firing every timer due on the way (timers set by timers included). */
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }

  get pending() {
    return this.timers.size;
  }
}
