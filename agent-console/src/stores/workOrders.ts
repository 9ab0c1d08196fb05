/** Work orders seen by this browser, kept fresh by API answers and live workorder.* events. */
import type { WorkOrder } from '../api/types';
import { createEntityStore } from './entityStore';

export const workOrdersStore = createEntityStore<WorkOrder>();

/** The work order carried by a live event: `{workOrder}` or the work order itself. */
export function workOrderOfEvent(data: unknown): (Partial<WorkOrder> & { id: string }) | null {
  if (!data || typeof data !== 'object') return null;
  const d = ('workOrder' in data ? (data as { workOrder: unknown }).workOrder : data) as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || typeof d.id !== 'string' || typeof d.status !== 'string') return null;
  return d as Partial<WorkOrder> & { id: string };
}
