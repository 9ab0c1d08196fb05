/**
 * 四级联动 (市—镇街—社区—网格): the one module that speaks to the grid-task routes of
 * gridcalls/gridcalls.routes.ts.
 *
 *  POST /work-orders/:id/hand-down {territoryId, note?} → the task (201)   下派网格 (town's or community's unit)
 *  GET  /grid-tasks?status=assigned,reported → {items, total}              the unit's own, or the grid's
 *  POST /grid-tasks/:id/report {result} → the task                         网格反馈 (grid member, grid leader)
 * Commands carry an Idempotency-Key made once per form submission, so a double click acts once.
 */
import { http, idempotencyKey } from './http';

/** A work order handed down to a grid (网格任务). */
export interface GridTask {
  id: string;
  ticketId: string;
  workOrderId: string;
  unitId: string;
  /** The grid it was handed down to. */
  territoryId: string;
  title: string;
  note: string | null;
  assignedByName: string;
  /** The work order's reply deadline (答复时限): its clocks keep running while the grid works. */
  replyDue: string | null;
  status: 'assigned' | 'reported';
  statusZh: string;
  result: string | null;
  reportedAt: string | null;
  version: number;
  createdAt: string;
}

const enc = encodeURIComponent;

export const gridTasksApi = {
  /** Newest first, a page at a time; `workOrderIds` (up to 100): only the tasks of those work orders. */
  list: (q: { status?: GridTask['status'][]; workOrderIds?: string[]; page?: number; pageSize?: number } = {}) =>
    http.get<{ items: GridTask[]; total: number; page: number; pageSize: number }>('/grid-tasks', { status: q.status, workOrderId: q.workOrderIds, page: q.page, pageSize: q.pageSize }),
  /** A new key per submission; the form keeps it while the same submission is retried. */
  newKey: idempotencyKey,
  handDown: (workOrderId: string, body: { territoryId: string; note?: string | null }, key = idempotencyKey()) =>
    http.post<GridTask>(`/work-orders/${enc(workOrderId)}/hand-down`, body, { 'idempotency-key': key }),
  report: (taskId: string, result: string, key = idempotencyKey()) =>
    http.post<GridTask>(`/grid-tasks/${enc(taskId)}/report`, { result }, { 'idempotency-key': key }),
};
