/**
 * A queue of work orders (GET /work-orders?queue=…), live: a work order that changes on screen is
 * replaced in place from the store; one that may have joined or left the queue triggers a refetch.
 */
import { computed, onBeforeUnmount } from 'vue';
import { workOrdersApi } from '../api/workOrders';
import type { WorkOrder, WorkOrderQueue } from '../api/types';
import { workOrdersStore } from '../stores/workOrders';
import { useLiveList } from './useLiveList';

export function useWorkOrderQueue(queue: () => WorkOrderQueue, pageSize = 100) {
  const list = useLiveList(async () => {
    const r = await workOrdersApi.list(queue(), 1, pageSize);
    return { items: workOrdersStore.rememberAll(r.items), total: r.total };
  }, ['workOrders', 'tickets']);

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

  const items = computed<WorkOrder[]>(() => list.data.value?.items ?? []);
  const total = computed(() => list.data.value?.total ?? 0);
  return { ...list, items, total };
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
