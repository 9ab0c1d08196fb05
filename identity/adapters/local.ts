/** The in-process failed-login counters (one node, the default). */
import type { AttemptCounter, LoginAttemptStore } from '../ports';

/** At most this many counters are kept; the oldest make room (a flood of random usernames cannot grow memory). */
const MAX_COUNTERS = 100_000;

export function createLocalLoginAttemptStore(): LoginAttemptStore {
  const counters = new Map<string, AttemptCounter & { until: number }>();
  const live = (key: string, at: number) => {
    const c = counters.get(key);
    if (c && c.until <= at) {
      counters.delete(key);
      return undefined;
    }
    return c;
  };
  return {
    kind: 'in-process',
    async read(keys) {
      // Expiry by the caller's clock happens in `fail`/the throttle's window; here only presence.
      return keys.map((k) => {
        const c = counters.get(k);
        return c ? { failures: c.failures, lastFailureAt: c.lastFailureAt } : null;
      });
    },
    async fail(keys, at, ttlMs) {
      for (const k of keys) {
        const c = live(k, at);
        counters.delete(k); // re-inserted last: Map order is then oldest-failure first
        if (counters.size >= MAX_COUNTERS) counters.delete(counters.keys().next().value as string);
        counters.set(k, { failures: (c?.failures ?? 0) + 1, lastFailureAt: at, until: at + ttlMs });
      }
    },
    async reset(keys) {
      for (const k of keys) counters.delete(k);
    },
    async close() {
      counters.clear();
    },
  };
}
