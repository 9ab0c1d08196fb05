/** A token bucket per source address: the INVITE flood guard (503 with Retry-After when empty). */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly now: () => number = Date.now) {}

  /** Takes a token for `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until `key` has a token again (at least 1). */
  retryAfterSeconds(key: string): number {
    const b = this.buckets.get(key);
    if (!b || b.tokens >= 1) return 1;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSecond));
  }

  /** Forgets buckets that have refilled (so a scan of many sources does not grow the map forever). */
  prune(): void {
    const now = this.now();
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.ratePerSecond >= this.burst) this.buckets.delete(k);
  }
}
