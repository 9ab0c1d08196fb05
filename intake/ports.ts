/**
 * What intake needs from other parts, as narrow ports; app/ wires them to the directory and routing
 * parts' public interfaces (tests may pass fakes).
 */
import type { SelectQueryBuilder } from 'kysely';
import type { DB } from '../db';

/**
 * The tickets on which a unit holds a work order — as lead (主办) or co-handler (协办), in any round,
 * open or done (a round it replied to stays its business: a rework or a complaint comes back to it) —
 * as the work-order part keeps them; not a work order the center took away from it by 改派 (the
 * ticket was never its business: it said so by returning it). They are in the unit's scope for
 * reading like the ticket it handles.
 */
export interface UnitWorkOrders {
  /** Whether the unit holds a work order on this ticket. */
  holds(unitId: string, ticketId: string): Promise<boolean>;
  /** The same for a list: a subquery of the ticket ids (`ticket_id`), for `tickets.id IN (…)`. */
  ticketIds(unitId: string): SelectQueryBuilder<DB, 'work_orders', { ticket_id: string }>;
}
export interface TerritoryRef {
  id: string;
  cityId: string;
  name: string;
  level: string;
  path: string;
}
export interface UnitRef {
  id: string;
  cityId: string;
  name: string;
  active: boolean;
}
export interface CategoryRef {
  id: string;
  cityId: string;
  code: string;
  name: string;
}

export interface IntakeLookups {
  territory(id: string): Promise<TerritoryRef | null>;
  /**
   * Where a report is, when it came without a territory: a QR building code (exact), or an address or
   * point resolved by routing. Only a confident, unambiguous answer is returned; null otherwise.
   */
  placeOf?(cityId: string, q: { buildingCode?: string | null; address?: string | null; lat?: number | null; lng?: number | null }): Promise<{ territoryId: string; confidence: number } | null>;
  unit(id: string): Promise<UnitRef | null>;
  category(id: string): Promise<CategoryRef | null>;
  /**
   * The display names of users (姓名) by id, for the audit trail: people read "张三 · 派单员", not ids.
   * Optional: without it the trail carries the role only.
   */
  userNames?(cityId: string, ids: string[]): Promise<Map<string, string>>;
  /** Optional: without it a unit sees only the tickets whose handling unit it is. */
  unitWorkOrders?: UnitWorkOrders;
}
