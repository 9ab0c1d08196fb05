/**
 * A list the server pages (`{items, total}` for one page): the page and page size the pager shows,
 * a refetch when either changes, live like any list (useLiveList), and back to the last page when
 * the rows of the last one were handled. The work-order queues, 回访, 认领池 and 督办单 all page
 * this way, so nothing beyond the first page is ever out of reach and the total is the whole list.
 */
import { computed, ref, watch } from 'vue';
import type { Page } from '../api/types';
import type { ChangeTopic } from '../stores/changes';
import { useLiveList } from './useLiveList';

export const PAGE_SIZES = [20, 50, 100, 200];

export function usePagedList<T>(fetch: (page: number, pageSize: number) => Promise<Page<T>>, topics: ChangeTopic[], opts: { pageSize?: number; debounceMs?: number; pollMs?: number } = {}) {
  const page = ref(1);
  const pageSize = ref(opts.pageSize ?? 50);
  const list = useLiveList(async (): Promise<Page<T>> => {
    const r = await fetch(page.value, pageSize.value);
    return { items: r.items, total: r.total };
  }, topics, { debounceMs: opts.debounceMs, pollMs: opts.pollMs });

  /** Another page loads it; anything else that changes what the list holds starts from the first page. */
  const restart = () => {
    if (page.value !== 1) page.value = 1;
    else list.refetch();
  };
  watch(pageSize, restart);
  watch(page, () => list.refetch());

  const items = computed<T[]>(() => list.data.value?.items ?? []);
  const total = computed(() => list.data.value?.total ?? 0);
  watch(total, (n) => {
    const last = Math.max(1, Math.ceil(n / pageSize.value));
    if (list.data.value && page.value > last) page.value = last;
  });
  return { ...list, items, total, page, pageSize, restart };
}
