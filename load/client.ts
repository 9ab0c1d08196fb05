/**
 * The driver's HTTP client: a client-side spread over the app nodes (round robin; a node that
 * refuses or cuts the connection is skipped for a moment and the request goes to the next one), with
 * retries that keep the request's Idempotency-Key, and a latency record per operation.
 */
import { sleep } from './cluster';

export interface Answer {
  status: number;
  body: any;
  node: number;
  attempts: number;
}

export class Latencies {
  readonly byOp = new Map<string, number[]>();
  add(op: string, ms: number) {
    let a = this.byOp.get(op);
    if (!a) this.byOp.set(op, (a = []));
    a.push(ms);
  }
  all(): number[] {
    return [...this.byOp.values()].flat();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarize(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

/** Answers worth retrying with the same key: the node is gone, overloaded, or its database/Redis is. */
const RETRYABLE = new Set([500, 502, 503, 504, 429]);

export class SpreadClient {
  private next = 0;
  private downUntil: number[];
  readonly latencies = new Latencies();
  /** Attempts that failed (connection refused/reset, 5xx), by kind: what a user would have seen without the retry. */
  readonly failedAttempts = new Map<string, number>();
  /** Requests that failed for good (retries exhausted, or a 4xx we did not expect). */
  readonly errors: { op: string; status: number; body: string }[] = [];
  requests = 0;

  constructor(readonly bases: string[], readonly retryForMs = 90_000) {
    this.downUntil = bases.map(() => 0);
  }

  private pick(): number {
    const now = Date.now();
    for (let i = 0; i < this.bases.length; i++) {
      const k = (this.next++) % this.bases.length;
      if (this.downUntil[k] <= now) return k;
    }
    return (this.next++) % this.bases.length;
  }

  private countFailure(kind: string) {
    this.failedAttempts.set(kind, (this.failedAttempts.get(kind) ?? 0) + 1);
  }

  /**
   * One request, retried on another node while the failure is the cluster's (connection, 5xx, 429),
   * with the same headers (the Idempotency-Key among them) for up to `retryForMs`.
   */
  async send(op: string, method: string, path: string, o: { cookie?: string; json?: unknown; form?: () => FormData; idem?: string; expect?: number[] } = {}): Promise<Answer> {
    const started = performance.now();
    const deadline = Date.now() + this.retryForMs;
    let attempts = 0;
    let pause = 100;
    for (;;) {
      attempts++;
      const k = this.pick();
      const headers: Record<string, string> = {};
      if (o.cookie) headers.cookie = o.cookie;
      if (o.idem) headers['idempotency-key'] = o.idem;
      let body: string | FormData | undefined;
      if (o.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(o.json);
      } else if (o.form) body = o.form();
      this.requests++;
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${this.bases[k]}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
        status = res.status;
        text = await res.text();
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        this.countFailure(`net:${code}`);
        this.downUntil[k] = Date.now() + 1000;
      }
      if (status && !RETRYABLE.has(status)) {
        this.latencies.add(op, performance.now() - started);
        let parsed: any = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        if (o.expect && !o.expect.includes(status)) this.errors.push({ op, status, body: text.slice(0, 300) });
        return { status, body: parsed, node: k, attempts };
      }
      if (status) {
        this.countFailure(`http:${status}`);
        if (status === 503 || status === 502) this.downUntil[k] = Date.now() + 500;
      }
      if (Date.now() > deadline) {
        this.latencies.add(op, performance.now() - started);
        this.errors.push({ op, status, body: `gave up after ${attempts} attempts: ${text.slice(0, 200)}` });
        return { status, body: null, node: k, attempts };
      }
      await sleep(pause + Math.random() * pause);
      pause = Math.min(pause * 2, 2000);
    }
  }
}
