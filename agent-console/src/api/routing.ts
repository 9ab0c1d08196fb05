import { http, idempotencyKey } from './http';
import type { Category, PlanRequest, RoutePlan, Ticket, TerritoryResolution } from './types';

/** Routing (分类与派单): plans, address resolution, the category tree and dispatch. */
export const routingApi = {
  plan: (body: PlanRequest) => http.post<RoutePlan>('/routing/plan', body),
  resolveAddress: (address: string) => http.post<TerritoryResolution>('/routing/resolve-address', { address }),
  categories: () => http.get<Category[]>('/categories'),
  /** Dispatch by the plan; another unit than the plan's needs `overrideReason` (改派理由). */
  dispatch: (ticketId: string, body: { version: number; handlingUnitId?: string | null; overrideReason?: string | null }, key = idempotencyKey()) =>
    http.post<{ ticket: Ticket; plan: RoutePlan; overridden: boolean }>(`/tickets/${encodeURIComponent(ticketId)}/dispatch`, body, { 'idempotency-key': key }),
};
