/**
 * The call recorder (录音): caller on the left channel, the hotline side (prompts, then the agent)
 * on the right, PCM16 8 kHz. Each channel is placed by wall clock since the answer, so a gap in one
 * direction (packet loss, a silent phone that sends nothing) becomes silence there and the two stay
 * aligned; frames are written once both channels have reached them (or one lags by more than
 * `LAG_SAMPLES`, when it is filled with silence).
 */
import { StereoWavWriter } from './wav';

const RATE = 8000;
/** A channel this far behind the clock is padded with silence up to it (a gap, not jitter). */
const GAP_SAMPLES = 480; // 60 ms
/** How far behind the clock a channel may lag before the writer pads it (jitter tolerance). */
const LAG_SAMPLES = 1600; // 200 ms

class Channel {
  chunks: Int16Array[] = [];
  buffered = 0;
  /** Sample index (since the start) of the end of what this channel has received. */
  end = 0;

  push(pcm: Int16Array, clock: number): void {
    if (this.end < clock - GAP_SAMPLES) this.pad(clock - pcm.length - this.end);
    this.chunks.push(pcm);
    this.buffered += pcm.length;
    this.end += pcm.length;
  }

  pad(n: number): void {
    if (n <= 0) return;
    this.chunks.push(new Int16Array(n));
    this.buffered += n;
    this.end += n;
  }

  take(n: number): Int16Array {
    const out = new Int16Array(n);
    let filled = 0;
    while (filled < n && this.chunks.length) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= filled;
    return out;
  }
}

export class CallRecorder {
  private readonly left = new Channel();
  private readonly right = new Channel();
  private readonly writer: StereoWavWriter;
  private readonly startedAt = Date.now();
  private written = 0;

  constructor(readonly path: string) {
    this.writer = new StereoWavWriter(path, RATE);
  }

  private clock(): number {
    return Math.floor(((Date.now() - this.startedAt) * RATE) / 1000);
  }

  caller(pcm: Int16Array): void {
    this.left.push(pcm, this.clock());
  }

  hotline(pcm: Int16Array): void {
    this.right.push(pcm, this.clock());
  }

  /** Writes what both channels hold; pads a channel lagging the clock by more than the jitter allowance. */
  flush(final = false): void {
    const clock = this.clock();
    if (final) {
      const end = Math.max(this.left.end, this.right.end);
      this.left.pad(end - this.left.end);
      this.right.pad(end - this.right.end);
    } else {
      for (const ch of [this.left, this.right]) if (ch.end < clock - LAG_SAMPLES) ch.pad(clock - LAG_SAMPLES - ch.end);
    }
    const n = Math.min(this.left.end, this.right.end) - this.written;
    if (n <= 0) return;
    this.writer.write(this.left.take(n), this.right.take(n));
    this.written += n;
  }

  /** Finishes the file. */
  close(): { path: string; durationMs: number; bytes: number; sampleRate: number } {
    this.flush(true);
    const bytes = this.writer.close();
    return { path: this.path, durationMs: Math.round((this.written * 1000) / RATE), bytes, sampleRate: RATE };
  }
}
