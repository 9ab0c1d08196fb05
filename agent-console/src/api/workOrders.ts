/**
 * Work orders (工单/任务单), the claim pool (认领池), callbacks (回访) and supervision (督办): the one
 * module that speaks to the work-order API (workorders/workorders.routes.ts), so that a change of its
 * contract is absorbed here. Lists come back as `{items, total}` whatever the route answers (some
 * answer bare arrays), and their rows are read into the console's shapes (api/types.ts).
 *
 * The contract:
 *  GET  /work-orders?queue=to_acknowledge|returned|extension_requested|overdue|at_risk|open|all&page=&pageSize=
 *       &unitId=&urgency=a,b&categoryId=&territoryId=&deadlineFrom=&deadlineTo=&sort=deadline|created|urgency&order=asc|desc
 *       → {items: WorkOrder[], total} (total: the whole queue under the filters)
 *  GET  /work-orders/:id → WorkOrder + notes[], attachments[], history[]
 *  unit:   POST /work-orders/:id/acknowledge {version}; /on-site {version, note?}; /notes {text};
 *          /attachments (multipart); /reply {version, result}; /extension-request {version, reason, proposedDeadline};
 *          /return {version, reason}
 *  center: POST /work-orders/:id/return-ruling {version, decision, handlingUnitId?, reason};
 *          /extension-ruling {version, decision, newDeadline?, reason?}; POST /tickets/:id/reply-review {decision, reason?}
 *  claim pool: GET /claim-pool?page=&pageSize= → {items: [{ticketId, number, title, situation, addressText, categoryId, reason, offeredAt}], total};
 *              POST /claim-pool/:ticketId/claim
 *  callbacks:  GET /callbacks?status=due|pending|all&page=&pageSize= → {items: [{id, ticketId, status, attempts, nextAttemptAt, …, ticket}], total};
 *              POST /callbacks/:id/result {satisfaction, comment?}; POST /callbacks/:id/attempts {outcome:'no_answer'}
 *  supervision: GET /supervision-orders?status=open|answered&page=&pageSize= → {items, total}; POST /supervision-orders/:id/answer {answer};
 *               POST /work-orders/:id/supervision-orders {reason}
 *  attachments: GET /work-orders/:id/attachments/:attachmentId (download)
 */
import { http, idempotencyKey } from './http';
import type {
  CallbackItem, CallbackStatus, ClaimPoolItem, Page, Satisfaction, SupervisionOrder, Ticket, WorkOrder, WorkOrderAttachment, WorkOrderDetail,
  WorkOrderFilters, WorkOrderNote, WorkOrderQueue,
} from './types';

const wo = (id: string, action = '') => `/work-orders/${encodeURIComponent(id)}${action}`;
const key = () => ({ 'idempotency-key': idempotencyKey() });

/** Lists answer `{items, total}`; a bare array is accepted too. */
function pageOf<T>(r: Page<T> | T[] | { items: T[] }): Page<T> {
  if (Array.isArray(r)) return { items: r, total: r.length };
  return { items: r.items ?? [], total: (r as Page<T>).total ?? r.items?.length ?? 0 };
}

type Raw = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : null);

function claimItemOf(r: Raw): ClaimPoolItem {
  return {
    ...r,
    ticketId: String(r.ticketId ?? r.id ?? ''),
    ticketNumber: str(r.ticketNumber) ?? str(r.number) ?? undefined,
    ticketTitle: str(r.ticketTitle) ?? str(r.title) ?? str(r.situation),
    createdAt: str(r.offeredAt) ?? str(r.createdAt) ?? undefined,
  } as ClaimPoolItem;
}

function callbackOf(r: Raw): CallbackItem {
  const tk = (r.ticket ?? {}) as Partial<Ticket>;
  return {
    ...r,
    id: String(r.id),
    ticketId: String(r.ticketId ?? tk.id ?? ''),
    ticketNumber: str(r.ticketNumber) ?? tk.number,
    ticketTitle: str(r.ticketTitle) ?? tk.title ?? tk.situation ?? null,
    callerPhone: str(r.callerPhone) ?? tk.callerPhone ?? null,
    handlingUnitId: tk.handlingUnitId ?? null,
    dueAt: str(r.dueAt) ?? str(r.nextAttemptAt),
  } as CallbackItem;
}

function detailOf(r: WorkOrderDetail, id: string): WorkOrderDetail {
  return {
    ...r,
    attachments: (r.attachments ?? []).map((a) => ({ ...a, url: a.url ?? `/api/v1/work-orders/${encodeURIComponent(id)}/attachments/${encodeURIComponent(a.id)}` })),
  };
}

export const workOrdersApi = {
  list: async (queue: WorkOrderQueue, page = 1, pageSize = 50, filters: WorkOrderFilters = {}) => {
    const { urgency, ...rest } = filters;
    return pageOf(await http.get<Page<WorkOrder>>('/work-orders', { queue, page, pageSize, ...rest, ...(urgency?.length ? { urgency: urgency.join(',') } : {}) }));
  },
  get: async (id: string) => detailOf(await http.get<WorkOrderDetail>(wo(id)), id),

  // 承办单位 (unit) actions
  acknowledge: (w: Pick<WorkOrder, 'id' | 'version'>) => http.post<WorkOrder>(wo(w.id, '/acknowledge'), { version: w.version }, key()),
  onSite: (w: Pick<WorkOrder, 'id' | 'version'>, note?: string) => http.post<WorkOrder>(wo(w.id, '/on-site'), { version: w.version, ...(note ? { note } : {}) }, key()),
  addNote: (id: string, text: string) => http.post<WorkOrderNote>(wo(id, '/notes'), { text }, key()),
  upload: (id: string, file: File) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return http.upload<WorkOrderAttachment>(wo(id, '/attachments'), form);
  },
  reply: (w: Pick<WorkOrder, 'id' | 'version'>, result: string) => http.post<WorkOrder>(wo(w.id, '/reply'), { version: w.version, result }, key()),
  requestExtension: (w: Pick<WorkOrder, 'id' | 'version'>, reason: string, proposedDeadline: string) =>
    http.post<WorkOrder>(wo(w.id, '/extension-request'), { version: w.version, reason, proposedDeadline }, key()),
  returnToCenter: (w: Pick<WorkOrder, 'id' | 'version'>, reason: string) => http.post<WorkOrder>(wo(w.id, '/return'), { version: w.version, reason }, key()),

  // 中心 (center) rulings
  returnRuling: (w: Pick<WorkOrder, 'id' | 'version'>, body: { decision: 'redispatch' | 'confirm'; handlingUnitId?: string; reason: string }) =>
    http.post<WorkOrder>(wo(w.id, '/return-ruling'), { version: w.version, ...body }, key()),
  extensionRuling: (w: Pick<WorkOrder, 'id' | 'version'>, body: { decision: 'grant' | 'refuse'; newDeadline?: string; reason?: string }) =>
    http.post<WorkOrder>(wo(w.id, '/extension-ruling'), { version: w.version, ...body }, key()),
  replyReview: (ticketId: string, body: { decision: 'accept' | 'rework'; reason?: string }) =>
    http.post<Ticket>(`/tickets/${encodeURIComponent(ticketId)}/reply-review`, body, key()),

  // 认领池 (claim pool)
  claimPool: async (page = 1, pageSize = 50) => {
    const r = pageOf(await http.get<Page<Raw>>('/claim-pool', { page, pageSize }));
    return { items: r.items.map(claimItemOf), total: r.total };
  },
  claim: (ticketId: string) => http.post<WorkOrder>(`/claim-pool/${encodeURIComponent(ticketId)}/claim`, {}, key()),

  // 回访 (callbacks)
  callbacks: async (status: CallbackStatus = 'due', page = 1, pageSize = 50) => {
    const r = pageOf(await http.get<Page<Raw>>('/callbacks', { status, page, pageSize }));
    return { items: r.items.map(callbackOf), total: r.total };
  },
  callbackResult: (id: string, satisfaction: Satisfaction, comment?: string) =>
    http.post<CallbackItem>(`/callbacks/${encodeURIComponent(id)}/result`, { satisfaction, ...(comment ? { comment } : {}) }, key()),
  callbackNoAnswer: (id: string) => http.post<CallbackItem>(`/callbacks/${encodeURIComponent(id)}/attempts`, { outcome: 'no_answer' }, key()),

  // 督办 (supervision)
  supervisionOrders: async (status: 'open' | 'answered' | undefined, page = 1, pageSize = 50) =>
    pageOf(await http.get<Page<SupervisionOrder>>('/supervision-orders', { page, pageSize, ...(status ? { status } : {}) })),
  answerSupervision: (id: string, answer: string) => http.post<SupervisionOrder>(`/supervision-orders/${encodeURIComponent(id)}/answer`, { answer }, key()),
  supervise: (workOrderId: string, reason: string) => http.post<SupervisionOrder>(wo(workOrderId, '/supervision-orders'), { reason }, key()),
};
