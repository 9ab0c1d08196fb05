/**
 * A list on screen that stays current: loaded once, refetched (debounced) when a live event of its
 * topic arrives, at once after a reconnect (the stale marker waits for it), and patched in place from
 * the store when a record on it changes.
 */
import { onActivated, onBeforeUnmount, onDeactivated, onMounted, watch } from 'vue';
import { changes, type ChangeTopic } from '../stores/changes';
import { trackResync } from '../stores/freshness';
import { debounce, useLoader } from './useLoader';

export function useLiveList<T>(fetch: () => Promise<T>, topics: ChangeTopic[], opts: { debounceMs?: number; pollMs?: number } = {}) {
  const loader = useLoader(fetch);
  let active = false;
  const refetch = debounce(() => {
    if (active) void loader.load();
  }, opts.debounceMs ?? 500);
  let poll: ReturnType<typeof setInterval> | null = null;

  const start = () => {
    active = true;
    void loader.load();
    if (opts.pollMs && !poll) poll = setInterval(() => void loader.load(), opts.pollMs);
  };
  const stop = () => {
    active = false;
    refetch.cancel();
    if (poll) clearInterval(poll);
    poll = null;
  };
  onMounted(start);
  onActivated(() => !active && start());
  onDeactivated(stop);
  onBeforeUnmount(stop);
  watch(() => topics.map((k) => changes[k]), () => refetch());
  // After a reconnect: at once, and tracked, so that the "may be out of date" marker clears when done.
  watch(() => changes.resync, () => {
    if (!active) return;
    refetch.cancel();
    trackResync(loader.load());
  });
  return { ...loader, refetch: () => refetch.flush() };
}
