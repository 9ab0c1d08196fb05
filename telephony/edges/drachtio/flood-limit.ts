/**
 * INVITE flood protection per signalling source (来电洪水限流): a token bucket per source IP. A
 * source over its budget gets 503 with Retry-After before any media is allocated, so a scanner or a
 * looping trunk cannot exhaust rtpengine ports or the queue. Trunks that legitimately carry many
 * calls are listed in `exempt` (the carrier's SBC addresses).
 */
export class FloodLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: { perSecond: number; burst: number; exempt?: string[] }) {}

  /** Takes one token for `sourceIp`; false when the source is over its budget. */
  take(sourceIp: string, now = Date.now()): boolean {
    if (this.opts.exempt?.includes(sourceIp)) return true;
    const b = this.buckets.get(sourceIp) ?? { tokens: this.opts.burst, at: now };
    b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.perSecond);
    b.at = now;
    this.buckets.set(sourceIp, b);
    if (this.buckets.size > 10_000) this.sweep(now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until the source has a token again (the Retry-After value). */
  retryAfterSeconds(sourceIp: string): number {
    const b = this.buckets.get(sourceIp);
    if (!b || b.tokens >= 1) return 1;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.opts.perSecond));
  }

  /** Forgets full buckets, so a spoofed-source flood cannot grow the map without bound. */
  private sweep(now: number): void {
    for (const [ip, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.opts.perSecond >= this.opts.burst) this.buckets.delete(ip);
  }
}
