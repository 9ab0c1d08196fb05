/**
 * A keyed store of records that change over time (tickets, work orders), fed by API answers and live
 * events alike. An older record never replaces a newer one: higher `version`, else a later
 * `updatedAt` wins (Chatwoot's UPDATE_CONVERSATION guard), so an event that arrives after a fresher
 * API answer, or a replayed event after a reconnect, changes nothing.
 */
import { shallowReactive } from 'vue';

export interface Versioned {
  id: string;
  version?: number;
  updatedAt?: string;
}

export type UpsertResult = 'new' | 'applied' | 'same' | 'stale';

const time = (s?: string) => (s ? Date.parse(s) : NaN);

/** -1: `incoming` is older than `current`; 0: the same state; 1: newer (or nothing to compare). */
export function compareVersions(current: Versioned, incoming: Versioned): -1 | 0 | 1 {
  if (typeof current.version === 'number' && typeof incoming.version === 'number' && current.version !== incoming.version) {
    return incoming.version < current.version ? -1 : 1;
  }
  const a = time(current.updatedAt);
  const b = time(incoming.updatedAt);
  if (!Number.isNaN(a) && !Number.isNaN(b) && a !== b) return b < a ? -1 : 1;
  if (typeof current.version === 'number' && current.version === incoming.version) return 0;
  if (!Number.isNaN(a) && a === b) return 0;
  return 1;
}

/** Is `incoming` older than, or the same as, `current`? */
export function isStale(current: Versioned | undefined, incoming: Versioned): boolean {
  return !!current && compareVersions(current, incoming) <= 0;
}

export function createEntityStore<T extends Versioned>() {
  const byId = shallowReactive(new Map<string, T>());
  const listeners = new Set<(record: T, result: UpsertResult) => void>();

  function upsert(incoming: Partial<T> & { id: string }): UpsertResult {
    const current = byId.get(incoming.id);
    const order = current ? compareVersions(current, incoming) : 1;
    if (order < 0) return 'stale';
    // The same state may come whole (an API answer) or in part (a live event's summary): whichever
    // came first, the record keeps every field either brought.
    const next = (current ? { ...current, ...incoming } : incoming) as T;
    byId.set(incoming.id, next);
    const result: UpsertResult = !current ? 'new' : order === 0 ? 'same' : 'applied';
    listeners.forEach((fn) => fn(next, result));
    return result;
  }

  /** Records an API answer: the same guard applies, and the answer is returned as stored. */
  function remember(record: T): T {
    upsert(record);
    return byId.get(record.id) ?? record;
  }

  return {
    get: (id: string) => byId.get(id),
    upsert,
    remember,
    rememberAll: (records: T[]) => records.map(remember),
    onChange(fn: (record: T, result: UpsertResult) => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    clear: () => byId.clear(),
  };
}
