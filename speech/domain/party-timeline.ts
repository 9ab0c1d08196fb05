/**
 * The time axis of one party's audio (通话时间轴) across engine reconnects and dropped frames.
 *
 * An engine counts milliseconds from the start of what *it* was fed. The service opens a new engine
 * stream after an error (its clock starts again at 0) and, under backpressure, drops the oldest
 * queued frames (the engine never hears them, so its clock runs behind the call's). This maps an
 * engine's milliseconds back to the party's stream: the offset at which the engine stream opened,
 * plus every gap dropped before that point. Pure: no timers, no I/O.
 */
export class PartyTimeline {
  /** Stream sample index at which the current engine stream started. */
  private base = 0;
  /** Samples written to the current engine stream. */
  private written = 0;
  /** Gaps in the current engine stream: at engine sample `at`, `samples` of the call were skipped. */
  private gaps: { at: number; samples: number }[] = [];

  constructor(readonly sampleRate: number) {}

  /** A new engine stream starts at this stream position (samples). */
  restart(streamPos: number): void {
    this.base = streamPos;
    this.written = 0;
    this.gaps = [];
  }

  wrote(samples: number): void {
    this.written += samples;
  }

  /** Frames of `samples` were dropped before the engine heard them (they would have come next). */
  dropped(samples: number): void {
    const last = this.gaps[this.gaps.length - 1];
    if (last && last.at === this.written) last.samples += samples;
    else this.gaps.push({ at: this.written, samples });
  }

  /** The party's stream time of an engine's millisecond. */
  streamMs(engineMs: number): number {
    const engineSample = Math.max(0, Math.round((engineMs * this.sampleRate) / 1000));
    let skipped = 0;
    for (const g of this.gaps) if (g.at <= engineSample) skipped += g.samples;
    return Math.round(((this.base + engineSample + skipped) * 1000) / this.sampleRate);
  }
}
