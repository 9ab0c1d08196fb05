/**
 * A queue of work orders (GET /work-orders?queue=…), one page at a time, live: a work order that
 * changes on screen is replaced in place from the store; one that may have joined or left the queue
 * triggers a refetch. Paging, filters and sort are the server's, so the total is the whole queue and
 * nothing beyond the first page is hidden (a busy day holds hundreds).
 */
import { onBeforeUnmount, ref, watch } from 'vue';
import { workOrdersApi } from '../api/workOrders';
import type { WorkOrder, WorkOrderFilters, WorkOrderQueue } from '../api/types';
import { workOrdersStore } from '../stores/workOrders';
import { usePagedList } from './usePagedList';

export { PAGE_SIZES } from './usePagedList';

export function useWorkOrderQueue(queue: () => WorkOrderQueue, options: number | { pageSize?: number; filters?: WorkOrderFilters } = {}) {
  const opts = typeof options === 'number' ? { pageSize: options } : options;
  // A ref, replaced whole by the filter bar (v-model): its watcher compares the JSON.
  const filters = ref<WorkOrderFilters>({ sort: 'deadline', order: 'asc', ...opts.filters });
  const list = usePagedList(async (page, pageSize) => {
    const r = await workOrdersApi.list(queue(), page, pageSize, filters.value);
    return { items: workOrdersStore.rememberAll(r.items), total: r.total };
  }, ['workOrders', 'tickets'], { pageSize: opts.pageSize });

  // Another filter starts from the first page.
  watch(() => JSON.stringify(filters.value), list.restart);

  const off = workOrdersStore.onChange((w) => {
    const data = list.data.value;
    if (!data) return;
    const i = data.items.findIndex((x) => x.id === w.id);
    if (i < 0) return;
    const items = data.items.slice();
    items[i] = w;
    list.data.value = { ...data, items };
  });
  onBeforeUnmount(off);
  return { ...list, filters };
}

/** The deadline that matters now for a work order: acknowledge until signed, then on-site, then reply. */
export function currentDeadline(w: WorkOrder): { kind: 'acknowledge' | 'onSite' | 'reply' | 'citizenReply'; at: string } | null {
  const d = w.deadlines ?? {};
  if (!w.acknowledgedAt && d.acknowledge) return { kind: 'acknowledge', at: d.acknowledge };
  if (!w.onSiteAt && d.onSite && w.status !== 'on_site') return { kind: 'onSite', at: d.onSite };
  if (!w.repliedAt && d.reply) return { kind: 'reply', at: d.reply };
  if (d.citizenReply) return { kind: 'citizenReply', at: d.citizenReply };
  return null;
}

export const byDeadline = (a: WorkOrder, b: WorkOrder) => {
  const x = currentDeadline(a)?.at;
  const y = currentDeadline(b)?.at;
  return (x ? Date.parse(x) : Infinity) - (y ? Date.parse(y) : Infinity);
};

/** Runs `fn` on each item, a few at a time, and reports each one's outcome: one failure hides no success. */
export async function eachSettled<T, R>(items: T[], fn: (item: T) => Promise<R>, concurrency = 4): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
