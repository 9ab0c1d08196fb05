/**
 * What intake needs from other parts, as narrow ports; app/ wires them to the directory and routing
 * parts' public interfaces (tests may pass fakes).
 */
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
}
