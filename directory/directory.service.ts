import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import { recordAudit } from '../audit';
import { AppError, badRequest, newId, normalizePhone, notFound, systemClock, toDbTime, dbTimeToIso, type Clock, type CommandContext, TtlCache } from '../core';
import { DirectoryRepository, type CityRow, type HotlineLineRow, type TerritoryRow, type UnitRow, type UnitSearch } from './directory.repository';
import type { OfficeHours } from '../calendar';
import { CitySettings } from './domain/city-settings';
import {
  childPath, idsOfPath, parentLevelOf, parentsFirst, territoryLevelForUnitKind, TERRITORY_LEVELS,
  type TerritoryLevel, type UnitKind,
} from './domain/territory';

export interface DirectoryDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  /** How long a cached territory path, city setting or line list may be served (default 5 min). */
  cacheTtlMs?: number;
}

/** A city (城市) the hotline serves; one installation may hold several. */
export interface City {
  id: string;
  name: string;
  isDemo: boolean;
  settings: CitySettings;
  createdAt: string;
  updatedAt: string;
}

/** A piece of the territory (属地): district, street/town, community/village or grid. */
export interface Territory {
  id: string;
  cityId: string;
  code: string | null;
  name: string;
  level: TerritoryLevel;
  parentId: string | null;
  /** '/<district id>/<street id>/…/<own id>/': subtree checks are prefix checks. */
  path: string;
}
export interface TerritoryNode extends Territory {
  children: TerritoryNode[];
}

/** A handling unit (承办单位). Its phones are work numbers, shown to every role. */
export interface Unit {
  id: string;
  cityId: string;
  code: string;
  name: string;
  kind: UnitKind;
  parentId: string | null;
  territoryId: string | null;
  smsPhone: string | null;
  dutyPerson: string | null;
  dutyPhone: string | null;
  active: boolean;
}
export interface UnitNode extends Unit {
  children: UnitNode[];
}

/** A legacy hotline merged into 12345 (热线归并), e.g. 12319 城建热线. */
export interface HotlineLine {
  id: string;
  cityId: string;
  number: string;
  name: string;
  /** 'YYYY-MM-DD' when it was merged, if known. */
  mergedOn: string | null;
}

export interface CityInput {
  id: string;
  name: string;
  isDemo: boolean;
  settings: CitySettings;
}
export interface TerritoryInput {
  code: string;
  name: string;
  level: TerritoryLevel;
  parentCode: string | null;
}
export interface UnitInput {
  code: string;
  name: string;
  kind: UnitKind;
  parentCode: string | null;
  territoryCode: string | null;
  smsPhone: string | null;
  dutyPerson: string | null;
  dutyPhone: string | null;
}
export interface HotlineLineInput {
  number: string;
  name: string;
  mergedOn: string | null;
}

export type ChangeKind = 'created' | 'updated' | 'unchanged';
export interface ApplyResult {
  created: number;
  updated: number;
  unchanged: number;
  /** The id of every row given, by its code (number for hotline lines). */
  idsByCode: Map<string, string>;
}

export const toTerritory = (r: TerritoryRow): Territory => ({
  id: r.id,
  cityId: r.city_id,
  code: r.code,
  name: r.name,
  level: r.level as TerritoryLevel,
  parentId: r.parent_id,
  path: r.path,
});

export const toUnit = (r: UnitRow): Unit => ({
  id: r.id,
  cityId: r.city_id,
  code: r.code,
  name: r.name,
  kind: r.kind as UnitKind,
  parentId: r.parent_id,
  territoryId: r.territory_id,
  smsPhone: r.sms_phone,
  dutyPerson: r.duty_person,
  dutyPhone: r.duty_phone,
  active: Number(r.active) === 1,
});

export const toHotlineLine = (r: HotlineLineRow): HotlineLine => ({ id: r.id, cityId: r.city_id, number: r.number, name: r.name, mergedOn: r.merged_on });

/** JSON with object keys sorted: two equal settings compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sort) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])])) : x;
  return JSON.stringify(sort(v));
}

/** The fields of `after` that differ from `before`, as {before, after} halves for the audit row. */
function changes<T extends Record<string, unknown>>(before: T, after: T): { before: Partial<T>; after: Partial<T> } | null {
  const b: Partial<T> = {};
  const a: Partial<T> = {};
  for (const k of Object.keys(after) as (keyof T)[]) {
    if (before[k] !== after[k]) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return Object.keys(a).length ? { before: b, after: a } : null;
}

const digitsOfDialled = (raw: string): string => {
  let s = raw.replace(/[^\d+]/g, '');
  if (s.startsWith('+86')) s = s.slice(3);
  else if (s.startsWith('0086')) s = s.slice(4);
  return s.replace(/\D/g, '');
};

/**
 * The directory (基础信息): cities and their settings, the territory tree, handling units and the
 * legacy hotline numbers merged into 12345. Reads are open to every role of the city; writes come
 * from the city import (and later the admin console), each with its audit row.
 */
export function createDirectoryService(deps: DirectoryDeps) {
  const clock = deps.clock ?? systemClock;
  const ttl = deps.cacheTtlMs ?? 5 * 60_000;
  const repo = new DirectoryRepository(deps.db);
  // territoryPathOf runs on every authenticated request (the actor's scope): keep it off the database.
  const paths = new TtlCache<string>(ttl, 100_000);
  const settingsCache = new TtlCache<CitySettings>(ttl, 1_000);
  const linesCache = new TtlCache<HotlineLine[]>(ttl, 1_000);

  function parseSettings(row: CityRow): CitySettings {
    const raw: unknown = typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings;
    const parsed = CitySettings.safeParse(raw);
    if (!parsed.success) {
      throw new AppError('CITY_SETTINGS_INVALID', 500, `settings of city ${row.id} are invalid: ${parsed.error.message}`, `城市 ${row.id} 的参数配置有误`);
    }
    return parsed.data;
  }

  const toCity = (row: CityRow): City => ({
    id: row.id,
    name: row.name,
    isDemo: Number(row.is_demo) === 1,
    settings: parseSettings(row),
    createdAt: dbTimeToIso(row.created_at)!,
    updatedAt: dbTimeToIso(row.updated_at)!,
  });

  const territoryNotFound = (id: string) => notFound('TERRITORY_NOT_FOUND', `no territory ${id}`, `区域 ${id} 不存在`, { id });
  const unitNotFound = (id: string) => notFound('UNIT_NOT_FOUND', `no unit ${id}`, `承办单位 ${id} 不存在`, { id });

  function forgetCached() {
    paths.clear();
    settingsCache.clear();
    lastSettings.clear();
    linesCache.clear();
  }

  // The settings last read per city, kept past the cache's time: see cachedSettings.
  const lastSettings = new Map<string, CitySettings>();
  const refreshing = new Map<string, Promise<CitySettings>>();
  async function readSettings(cityId: string): Promise<CitySettings> {
    const row = await repo.findCity(cityId);
    if (!row) throw notFound('CITY_NOT_FOUND', `no city ${cityId}`, `城市 ${cityId} 不存在`, { id: cityId });
    const settings = parseSettings(row);
    settingsCache.set(cityId, settings);
    lastSettings.set(cityId, settings);
    return settings;
  }

  /**
   * A city's settings, from the cache. Past its time the settings last read are still answered at
   * once and read again in the background: clocks (office hours, grid-call limits) run inside other
   * parts' transactions, and on SQLite (one connection) a read of our own there would wait for the
   * very transaction that waits for it. Only a city never read in this process is awaited.
   */
  async function cachedSettings(cityId: string): Promise<CitySettings> {
    const settings = settingsCache.get(cityId);
    if (settings) return settings;
    const stale = lastSettings.get(cityId);
    let pending = refreshing.get(cityId);
    if (!pending) {
      pending = readSettings(cityId).finally(() => refreshing.delete(cityId));
      refreshing.set(cityId, pending);
      if (stale) pending.catch(() => undefined);
    }
    return stale ?? pending;
  }

  async function loadLines(cityId: string): Promise<HotlineLine[]> {
    const hit = linesCache.get(cityId);
    if (hit) return hit;
    const lines = (await repo.listHotlineLines(cityId)).map(toHotlineLine);
    linesCache.set(cityId, lines);
    return lines;
  }

  function buildTree<T extends { id: string; parentId: string | null }>(items: T[]): (T & { children: (T & { children: unknown[] })[] })[] {
    type N = T & { children: N[] };
    const nodes = new Map<string, N>(items.map((t) => [t.id, { ...t, children: [] as N[] }]));
    const roots: N[] = [];
    for (const n of nodes.values()) {
      const parent = n.parentId ? nodes.get(n.parentId) : undefined;
      if (parent) parent.children.push(n);
      else roots.push(n);
    }
    return roots;
  }

  return {
    // ---- Reads ----

    async getCity(cityId: string): Promise<City> {
      const row = await repo.findCity(cityId);
      if (!row) throw notFound('CITY_NOT_FOUND', `no city ${cityId}`, `城市 ${cityId} 不存在`, { id: cityId });
      return toCity(row);
    },

    /** Every city of this installation, by id. */
    async listCities(): Promise<City[]> {
      return (await repo.listCities()).map(toCity);
    },

    /** Whether the city exists (first start imports the demo city when it does not). */
    async cityExists(cityId: string): Promise<boolean> {
      return !!(await repo.findCity(cityId));
    },

    /** The city's office hours (作息时间) by season: the base of every working-hours deadline. */
    async cityOfficeHours(cityId: string): Promise<OfficeHours> {
      return (await cachedSettings(cityId)).officeHours;
    },

    /**
     * The city's settings, cached like its office hours (dropped by an import of the city): for the
     * clocks that run inside other parts' transactions (a grid call's step limits).
     */
    citySettings: (cityId: string): Promise<CitySettings> => cachedSettings(cityId),

    /** The '/…/' path of a territory, or null when there is no such territory. Cached. */
    async territoryPathOf(territoryId: string): Promise<string | null> {
      const hit = paths.get(territoryId);
      if (hit) return hit;
      const row = await repo.findTerritoryPath(territoryId);
      if (!row) return null;
      paths.set(territoryId, row.path);
      return row.path;
    },

    /** A territory, or null when unknown or (with `cityId`) of another city. */
    async getTerritory(id: string, cityId?: string): Promise<Territory | null> {
      const row = await repo.findTerritory(id);
      return !row || (cityId && row.city_id !== cityId) ? null : toTerritory(row);
    },

    /** Like {@link getTerritory}, but 404 TERRITORY_NOT_FOUND instead of null (for routes). */
    async requireTerritory(id: string, cityId?: string): Promise<Territory> {
      const row = await repo.findTerritory(id);
      if (!row || (cityId && row.city_id !== cityId)) throw territoryNotFound(id);
      return toTerritory(row);
    },

    async findTerritoryByCode(cityId: string, code: string): Promise<Territory | null> {
      const row = await repo.findTerritoryByCode(cityId, code);
      return row ? toTerritory(row) : null;
    },

    /** The children of a territory, or the districts when `parentId` is null; optionally of one level. */
    async listTerritoryChildren(cityId: string, parentId: string | null, level?: TerritoryLevel): Promise<Territory[]> {
      return (await repo.listTerritoryChildren(cityId, parentId, level)).map(toTerritory);
    },

    async listTerritoriesAtLevel(cityId: string, level: TerritoryLevel): Promise<Territory[]> {
      return (await repo.listTerritoriesAtLevel(cityId, level)).map(toTerritory);
    },

    /** The city's whole territory as a forest of districts. */
    async territoryTree(cityId: string): Promise<TerritoryNode[]> {
      return buildTree((await repo.listCityTerritories(cityId)).map(toTerritory)) as TerritoryNode[];
    },

    /** The ancestors of a territory, top down (district first), without itself; 404 when unknown. */
    async territoryAncestors(id: string, cityId?: string): Promise<Territory[]> {
      const row = await repo.findTerritory(id);
      if (!row || (cityId && row.city_id !== cityId)) throw territoryNotFound(id);
      const ids = idsOfPath(row.path).filter((x) => x !== id);
      const byId = new Map((await repo.listTerritoriesByIds(ids)).map((r) => [r.id, r]));
      return ids.map((x) => byId.get(x)).filter((r): r is TerritoryRow => !!r).map(toTerritory);
    },

    /** A unit, or null when unknown or (with `cityId`) of another city. */
    async getUnit(id: string, cityId?: string): Promise<Unit | null> {
      const row = await repo.findUnit(id);
      return !row || (cityId && row.city_id !== cityId) ? null : toUnit(row);
    },

    /** Like {@link getUnit}, but 404 UNIT_NOT_FOUND instead of null (for routes). */
    async requireUnit(id: string, cityId?: string): Promise<Unit> {
      const row = await repo.findUnit(id);
      if (!row || (cityId && row.city_id !== cityId)) throw unitNotFound(id);
      return toUnit(row);
    },

    /** Units registered with this SMS or duty phone (短信指令: who is texting). */
    async unitsWithPhone(phone: string): Promise<Unit[]> {
      return (await repo.unitsWithPhone(phone)).map(toUnit);
    },

    async findUnitByCode(cityId: string, code: string): Promise<Unit | null> {
      const row = await repo.findUnitByCode(cityId, code);
      return row ? toUnit(row) : null;
    },

    /** Units by kind and a substring of name or code; one page when `page`/`pageSize` are given. */
    async listUnits(cityId: string, search: UnitSearch = {}): Promise<{ items: Unit[]; total: number }> {
      const { rows, total } = await repo.searchUnits(cityId, search);
      return { items: rows.map(toUnit), total };
    },

    /** The units as a forest along parent_id (a street office under its district government, …). */
    async unitTree(cityId: string): Promise<UnitNode[]> {
      return buildTree((await repo.listCityUnits(cityId)).map(toUnit)) as UnitNode[];
    },

    async listHotlineLines(cityId: string): Promise<HotlineLine[]> {
      return loadLines(cityId);
    },

    /**
     * The merged line a call was dialled to, or null (12345 itself, or unknown). Accepts the number as
     * the switch gives it: '12319', '0536-12319', '+86 536 12319'.
     */
    async lineByNumber(cityId: string, dialled: string): Promise<HotlineLine | null> {
      const digits = digitsOfDialled(dialled);
      if (!digits) return null;
      const lines = await loadLines(cityId);
      const exact = lines.find((l) => l.number === digits);
      if (exact) return exact;
      // With the area code in front (区号 + 短号): the rest must be an area code, 0 optional.
      const withArea = lines
        .filter((l) => digits.endsWith(l.number) && /^0?\d{2,3}$/.test(digits.slice(0, digits.length - l.number.length)))
        .sort((a, b) => b.number.length - a.number.length);
      return withArea[0] ?? null;
    },

    // ---- Writes (the city import; each in the caller's transaction, each change audited) ----

    /** Drops every cached path, setting and line list; call after a transaction that wrote the directory commits. */
    forgetCached,

    async upsertCityIn(trx: Kysely<DB>, ctx: CommandContext, input: CityInput): Promise<ChangeKind> {
      const r = new DirectoryRepository(trx);
      const now = clock.now();
      const existing = await r.findCity(input.id);
      const settings = canonicalJson(input.settings);
      if (!existing) {
        await r.insertCity({ id: input.id, name: input.name, is_demo: input.isDemo ? 1 : 0, settings, created_at: toDbTime(now), updated_at: toDbTime(now) });
        await recordAudit(trx, ctx, { entityType: 'city', entityId: input.id, action: 'city.created', after: input, cityId: input.id }, now);
        return 'created';
      }
      const before = { name: existing.name, isDemo: Number(existing.is_demo) === 1, settings: canonicalJson(typeof existing.settings === 'string' ? JSON.parse(existing.settings) : existing.settings) };
      const diff = changes(before, { name: input.name, isDemo: input.isDemo, settings });
      if (!diff) return 'unchanged';
      await r.updateCity(input.id, { name: input.name, is_demo: input.isDemo ? 1 : 0, settings, updated_at: toDbTime(now) });
      const readable = (d: Partial<typeof before>) => ({ ...d, ...(d.settings ? { settings: JSON.parse(d.settings) } : {}) });
      await recordAudit(trx, ctx, { entityType: 'city', entityId: input.id, action: 'city.updated', before: readable(diff.before), after: readable(diff.after), cityId: input.id }, now);
      return 'updated';
    },

    /**
     * Adds and updates territories by code (parents may be given in the same batch or exist already).
     * Moving a territory rewrites the paths of its whole subtree. Territories not given are left alone:
     * tickets and users refer to them.
     */
    async applyTerritoriesIn(trx: Kysely<DB>, ctx: CommandContext, cityId: string, rows: TerritoryInput[]): Promise<ApplyResult> {
      const r = new DirectoryRepository(trx);
      const now = clock.now();
      const all = await r.listCityTerritories(cityId);
      const byId = new Map(all.map((t) => [t.id, t]));
      const byCode = new Map(all.filter((t) => t.code).map((t) => [t.code!, t]));
      const result: ApplyResult = { created: 0, updated: 0, unchanged: 0, idsByCode: new Map() };
      const ordered = [...rows].sort((a, b) => TERRITORY_LEVELS.indexOf(a.level) - TERRITORY_LEVELS.indexOf(b.level));
      for (const t of ordered) {
        const wantParentLevel = parentLevelOf(t.level);
        let parent: TerritoryRow | null = null;
        if (t.parentCode) {
          parent = byCode.get(t.parentCode) ?? null;
          if (!parent) throw badRequest('TERRITORY_PARENT_UNKNOWN', `territory ${t.code}: no parent ${t.parentCode}`, `区域 ${t.code} 的上级 ${t.parentCode} 不存在`, { code: t.code });
        }
        if ((parent?.level ?? null) !== wantParentLevel) {
          throw badRequest('TERRITORY_LEVEL_ORDER', `territory ${t.code} (${t.level}) needs a ${wantParentLevel ?? 'no'} parent`, `区域 ${t.code} 的上级层级不正确`, { code: t.code });
        }
        const existing = byCode.get(t.code);
        if (!existing) {
          const id = newId();
          const row: TerritoryRow = { id, city_id: cityId, code: t.code, name: t.name, level: t.level, parent_id: parent?.id ?? null, path: childPath(parent?.path ?? null, id), created_at: toDbTime(now) };
          await r.insertTerritory(row);
          byId.set(id, row);
          byCode.set(t.code, row);
          await recordAudit(trx, ctx, { entityType: 'territory', entityId: id, action: 'territory.created', after: toTerritory(row), cityId }, now);
          result.created++;
          result.idsByCode.set(t.code, id);
          continue;
        }
        result.idsByCode.set(t.code, existing.id);
        const next = { name: t.name, level: t.level as string, parentId: parent?.id ?? null, path: childPath(parent?.path ?? null, existing.id) };
        const diff = changes({ name: existing.name, level: existing.level, parentId: existing.parent_id, path: existing.path }, next);
        if (!diff) {
          result.unchanged++;
          continue;
        }
        await r.updateTerritory(existing.id, { name: next.name, level: next.level, parent_id: next.parentId, path: next.path });
        let moved = 0;
        if (existing.path !== next.path) {
          // A move: every descendant's path starts with the old path and must start with the new one.
          for (const d of await r.listTerritoriesUnderPath(cityId, existing.path)) {
            if (d.id === existing.id) continue;
            const path = next.path + d.path.slice(existing.path.length);
            await r.updateTerritory(d.id, { path });
            const known = byId.get(d.id);
            if (known) known.path = path;
            moved++;
          }
        }
        Object.assign(existing, { name: next.name, level: next.level, parent_id: next.parentId, path: next.path });
        await recordAudit(trx, ctx, { entityType: 'territory', entityId: existing.id, action: 'territory.updated', before: diff.before, after: moved ? { ...diff.after, descendantsMoved: moved } : diff.after, cityId }, now);
        result.updated++;
      }
      forgetCached();
      return result;
    },

    /**
     * Adds and updates handling units by code; parents before children. Territorial units (district,
     * street, community) must name a territory of their own level. Units not given are left alone,
     * and so is `active` (an administrator's decision).
     */
    async applyUnitsIn(trx: Kysely<DB>, ctx: CommandContext, cityId: string, rows: UnitInput[]): Promise<ApplyResult> {
      const r = new DirectoryRepository(trx);
      const now = clock.now();
      const unitsByCode = new Map((await r.listCityUnits(cityId)).map((u) => [u.code, u]));
      const territoriesByCode = new Map((await r.listCityTerritories(cityId)).filter((t) => t.code).map((t) => [t.code!, t]));
      const { ordered, cyclic } = parentsFirst(rows, (u) => u.code, (u) => u.parentCode);
      if (cyclic.length) {
        throw badRequest('UNIT_CYCLE', `units in a parent cycle: ${cyclic.map((u) => u.code).join(', ')}`, `承办单位上下级关系成环：${cyclic.map((u) => u.code).join('、')}`);
      }
      const phone = (code: string, field: string, v: string | null) => {
        if (!v) return null;
        const p = normalizePhone(v);
        if (!p) throw badRequest('UNIT_PHONE_INVALID', `unit ${code}: malformed ${field}`, `承办单位 ${code} 的电话格式不正确`, { code, field });
        return p;
      };
      const result: ApplyResult = { created: 0, updated: 0, unchanged: 0, idsByCode: new Map() };
      for (const u of ordered) {
        const parent = u.parentCode ? unitsByCode.get(u.parentCode) : null;
        if (u.parentCode && !parent) throw badRequest('UNIT_PARENT_UNKNOWN', `unit ${u.code}: no parent ${u.parentCode}`, `承办单位 ${u.code} 的上级 ${u.parentCode} 不存在`, { code: u.code });
        const territory = u.territoryCode ? territoriesByCode.get(u.territoryCode) : null;
        if (u.territoryCode && !territory) throw badRequest('UNIT_TERRITORY_UNKNOWN', `unit ${u.code}: no territory ${u.territoryCode}`, `承办单位 ${u.code} 的属地 ${u.territoryCode} 不存在`, { code: u.code });
        const wantLevel = territoryLevelForUnitKind(u.kind);
        if (wantLevel && territory?.level !== wantLevel) {
          throw badRequest('UNIT_TERRITORY_LEVEL', `unit ${u.code} (${u.kind}) needs a ${wantLevel} territory`, `属地单位 ${u.code} 须对应同级区域`, { code: u.code });
        }
        const fields = {
          name: u.name,
          kind: u.kind as string,
          parent_id: parent?.id ?? null,
          territory_id: territory?.id ?? null,
          sms_phone: phone(u.code, 'sms_phone', u.smsPhone),
          duty_person: u.dutyPerson || null,
          duty_phone: phone(u.code, 'duty_phone', u.dutyPhone),
        };
        const existing = unitsByCode.get(u.code);
        if (!existing) {
          const row: UnitRow = { id: newId(), city_id: cityId, code: u.code, ...fields, active: 1, created_at: toDbTime(now), updated_at: toDbTime(now) };
          await r.insertUnit(row);
          unitsByCode.set(u.code, row);
          await recordAudit(trx, ctx, { entityType: 'unit', entityId: row.id, action: 'unit.created', after: toUnit(row), cityId }, now);
          result.created++;
          result.idsByCode.set(u.code, row.id);
          continue;
        }
        result.idsByCode.set(u.code, existing.id);
        const diff = changes(
          { name: existing.name, kind: existing.kind, parent_id: existing.parent_id, territory_id: existing.territory_id, sms_phone: existing.sms_phone, duty_person: existing.duty_person, duty_phone: existing.duty_phone },
          fields,
        );
        if (!diff) {
          result.unchanged++;
          continue;
        }
        await r.updateUnit(existing.id, { ...fields, updated_at: toDbTime(now) });
        Object.assign(existing, fields);
        await recordAudit(trx, ctx, { entityType: 'unit', entityId: existing.id, action: 'unit.updated', before: diff.before, after: diff.after, cityId }, now);
        result.updated++;
      }
      return result;
    },

    /** Adds and updates the merged hotline lines by number; lines not given are left alone. */
    async applyHotlineLinesIn(trx: Kysely<DB>, ctx: CommandContext, cityId: string, rows: HotlineLineInput[]): Promise<ApplyResult> {
      const r = new DirectoryRepository(trx);
      const now = clock.now();
      const byNumber = new Map((await r.listHotlineLines(cityId)).map((l) => [l.number, l]));
      const result: ApplyResult = { created: 0, updated: 0, unchanged: 0, idsByCode: new Map() };
      for (const l of rows) {
        const number = l.number.replace(/\D/g, '');
        const existing = byNumber.get(number);
        if (!existing) {
          const row: HotlineLineRow = { id: newId(), city_id: cityId, number, name: l.name, merged_on: l.mergedOn };
          await r.insertHotlineLine(row);
          byNumber.set(number, row);
          await recordAudit(trx, ctx, { entityType: 'hotline_line', entityId: row.id, action: 'hotline_line.created', after: toHotlineLine(row), cityId }, now);
          result.created++;
          result.idsByCode.set(number, row.id);
          continue;
        }
        result.idsByCode.set(number, existing.id);
        const diff = changes({ name: existing.name, merged_on: existing.merged_on }, { name: l.name, merged_on: l.mergedOn });
        if (!diff) {
          result.unchanged++;
          continue;
        }
        await r.updateHotlineLine(existing.id, { name: l.name, merged_on: l.mergedOn });
        await recordAudit(trx, ctx, { entityType: 'hotline_line', entityId: existing.id, action: 'hotline_line.updated', before: diff.before, after: diff.after, cityId }, now);
        result.updated++;
      }
      linesCache.clear();
      return result;
    },
  };
}

export type DirectoryService = ReturnType<typeof createDirectoryService>;
export type { UnitSearch };
