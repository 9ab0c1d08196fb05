/** A small map whose entries expire; the oldest entry makes room when it is full. */
export class TtlCache<V> {
  private entries = new Map<string, { value: V; until: number }>();
  constructor(private readonly ttlMs: number, private readonly max = 10_000) {}
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: V) {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, until: Date.now() + this.ttlMs });
  }
  delete(key: string) {
    this.entries.delete(key);
  }
  clear() {
    this.entries.clear();
  }
}

/**
 * An async lookup remembered per key (a city's categories, policies, units) for `ttlMs`; a failed
 * load is not remembered. `forget(key)` drops one key (after an import), `forget()` all.
 */
export function cachedPerKey<T>(ttlMs: number, load: (key: string) => Promise<T>) {
  const cache = new TtlCache<Promise<T>>(ttlMs, 1_000);
  const get = (key: string): Promise<T> => {
    const hit = cache.get(key);
    if (hit) return hit;
    const value = load(key);
    value.catch(() => cache.delete(key));
    cache.set(key, value);
    return value;
  };
  return Object.assign(get, { forget: (key?: string) => (key ? cache.delete(key) : cache.clear()) });
}
