/**
 * The fields that differ between two versions of a record, as `before`/`after` halves for an audit
 * row (values compared as JSON, so arrays and objects compare by content). `changed` is false when
 * nothing differs.
 */
export function diffFields<T extends object>(a: T, b: T): { before: Partial<T>; after: Partial<T>; changed: boolean } {
  const before: Partial<T> = {};
  const after: Partial<T> = {};
  for (const k of Object.keys(b) as (keyof T)[]) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
      before[k] = a[k];
      after[k] = b[k];
    }
  }
  return { before, after, changed: Object.keys(after).length > 0 };
}
