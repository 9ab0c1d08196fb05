/**
 * Puts a node's incoming events back in sequence order. The database hands out the numbers, but
 * two publishers (two connections, two nodes) can deliver 11 before 10, and pub/sub can drop one
 * while Redis reconnects. A node therefore delivers strictly in order: it holds events after a gap
 * and, when the gap does not close by itself, reads the missing numbers from the database.
 *
 * `delivered` is the watermark: every event up to it has been handed to the connections (or is a
 * hole no event will ever fill). A console that joins reads its catch-up from the database up to
 * the watermark and takes everything after it live: that split is what makes resume lossless.
 */
export interface Sequenced {
  seq: number;
}

export class Sequencer<E extends Sequenced> {
  private pending = new Map<number, E>();
  private highestPending = 0;
  /** Numbers given up on: never stored (a failed insert), or stored too late to keep the order. */
  holesSkipped = 0;

  constructor(private watermark: number) {}

  get delivered(): number {
    return this.watermark;
  }

  /** The highest number seen, delivered or held. */
  get highestSeen(): number {
    return Math.max(this.watermark, this.highestPending);
  }

  get hasGap(): boolean {
    return this.pending.size > 0;
  }

  /** Takes an event; returns the events now deliverable, in order (empty when it waits on a gap or is old). */
  accept(e: E): E[] {
    if (e.seq <= this.watermark || this.pending.has(e.seq)) return [];
    this.pending.set(e.seq, e);
    if (e.seq > this.highestPending) this.highestPending = e.seq;
    return this.drain();
  }

  /**
   * Takes what the database holds for the gaps up to `upTo` (`found`, any order) and returns the
   * deliverable events. With `skipHoles`, numbers neither held nor found are holes (an insert that
   * failed after taking its number) and are passed over; without it, delivery stops at the first
   * missing number, which may still be committing.
   */
  fill(found: E[], upTo: number, skipHoles: boolean): E[] {
    for (const e of found) {
      if (e.seq <= this.watermark || this.pending.has(e.seq)) continue;
      this.pending.set(e.seq, e);
      if (e.seq > this.highestPending) this.highestPending = e.seq;
    }
    if (!skipHoles) return this.drain();
    const out: E[] = [];
    for (let s = this.watermark + 1; s <= upTo; s++) {
      const e = this.pending.get(s);
      if (e) {
        this.pending.delete(s);
        out.push(e);
      } else this.holesSkipped++;
      this.watermark = s;
    }
    return out.concat(this.drain());
  }

  private drain(): E[] {
    const out: E[] = [];
    for (;;) {
      const next = this.pending.get(this.watermark + 1);
      if (!next) break;
      this.pending.delete(next.seq);
      this.watermark = next.seq;
      out.push(next);
    }
    return out;
  }
}
