/**
 * Whether what is on screen may be out of date (数据可能已过期). From the moment the live link drops
 * until the views have refetched after the reconnect, events may have been missed: the shell greys
 * the lists and says so, instead of showing old rows as if they were current.
 */
import { nextTick, reactive, readonly } from 'vue';

const state = reactive({ stale: false });
const pending = new Set<Promise<unknown>>();
let generation = 0;

export const freshness = readonly(state);

/** The link dropped (after having been up): what is shown may miss changes from now on. */
export function markStale() {
  generation++;
  state.stale = true;
}

/** A new session: nothing on screen to doubt. */
export function clearStale() {
  generation++;
  state.stale = false;
}

/** A view's refetch for the resync: the marker stays until it has answered. */
export function trackResync(p: Promise<unknown>) {
  pending.add(p);
  void p.finally(() => pending.delete(p));
}

/**
 * Runs the resync (`start` bumps the views) and clears the marker once every refetch it caused has
 * answered — unless the link dropped again meanwhile (then the next resync clears it).
 */
export async function resync(start: () => void) {
  const mine = generation;
  start();
  // The views' watchers run before the next render: after two ticks every refetch is tracked.
  await nextTick();
  await nextTick();
  while (pending.size) await Promise.allSettled([...pending]);
  if (mine === generation) state.stale = false;
}
