/**
 * Identity's side effects behind ports, each with an in-process adapter (one node, the default) and
 * a Redis one (several nodes share it); `app/` chooses by REDIS_URL.
 */

/** A failure counter: how many failed logins were counted under a key, and when the last one was. */
export interface AttemptCounter {
  failures: number;
  /** Epoch ms of the last failure (the service's clock, so tests control it). */
  lastFailureAt: number;
}

/**
 * Failed-login counters (登录失败计数), shared by every node of the installation. Keys are opaque
 * strings built by the throttle (account, account+address, address). A counter left alone for
 * `ttlMs` may be forgotten; the throttle also ignores counters older than its window.
 */
export interface LoginAttemptStore {
  readonly kind: 'in-process' | 'redis';
  /** The counters under `keys`, in order; null where none is kept. */
  read(keys: string[]): Promise<(AttemptCounter | null)[]>;
  /** Adds one failure at `at` to each key (atomic per key across nodes). */
  fail(keys: string[], at: number, ttlMs: number): Promise<void>;
  /** Forgets the counters under `keys`. */
  reset(keys: string[]): Promise<void>;
  close(): Promise<void>;
}
