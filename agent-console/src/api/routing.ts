import { ApiError, http, idempotencyKey } from './http';
import type { Category, PlanRequest, RoutePlan, Ticket, TerritoryResolution } from './types';

/** Routing (分类与派单): plans, address resolution, the category tree and dispatch. */
export const routingApi = {
  plan: (body: PlanRequest) => http.post<RoutePlan>('/routing/plan', body),
  resolveAddress: (address: string) => http.post<TerritoryResolution>('/routing/resolve-address', { address }),
  categories: () => http.get<Category[]>('/categories'),
  /**
   * Dispatch by the plan the person saw (`planFingerprint`); another unit than the plan's needs
   * `overrideReason` (改派理由). A plan that changed meanwhile is refused with PLAN_CHANGED, the new
   * plan in `details.plan` (see {@link changedPlanOf}).
   */
  dispatch: (ticketId: string, body: { version: number; handlingUnitId?: string | null; overrideReason?: string | null; planFingerprint?: string | null }, key = idempotencyKey()) =>
    http.post<{ ticket: Ticket; plan: RoutePlan; overridden: boolean }>(`/tickets/${encodeURIComponent(ticketId)}/dispatch`, body, { 'idempotency-key': key }),
};

/** The new plan a PLAN_CHANGED refusal carries, to show for confirmation; null for any other error. */
export function changedPlanOf(e: unknown): RoutePlan | null {
  if (!(e instanceof ApiError) || e.code !== 'PLAN_CHANGED') return null;
  return ((e.details as { plan?: RoutePlan } | undefined)?.plan) ?? null;
}
