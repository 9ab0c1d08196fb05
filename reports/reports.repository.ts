/**
 * The reports' own tables: `report_facts` (what each ticket counts for) and `report_rollups` (the
 * counters). Only the reports service calls this.
 */
import { sql, type Kysely } from 'kysely';
import { upsertAdd, newestCommitted, type DB, type DialectName } from '../db';
import type { Contribution, Measure } from './domain/kpis';

export const ROLLUP_KEY = ['city_id', 'grain', 'measure', 'day', 'unit_id', 'category_id', 'territory_id', 'channel', 'type'] as const;

/** The grains the counters are kept at: every dimension, or one kept and '*' in the others. */
export const Grain = { full: 'full', unit: 'unit', ct: 'ct', category: 'category', category1: 'category1', territory1: 'territory1' } as const;
export type Grain = (typeof Grain)[keyof typeof Grain];
const ANY = '*';

/** A fact at every grain. */
export function atEveryGrain(c: Contribution): (Contribution & { grain: Grain })[] {
  return [
    { ...c, grain: 'full' },
    { ...c, grain: 'unit', categoryId: ANY, territoryId: ANY, channel: ANY, type: ANY },
    { ...c, grain: 'category', unitId: ANY, territoryId: ANY, channel: ANY, type: ANY },
    { ...c, grain: 'category1', categoryId: c.categoryTop, unitId: ANY, territoryId: ANY, channel: ANY, type: ANY },
    { ...c, grain: 'territory1', territoryId: c.territoryTop, unitId: ANY, categoryId: ANY, channel: ANY, type: ANY },
    { ...c, grain: 'ct', unitId: ANY, categoryId: ANY, territoryId: ANY },
  ];
}

/** The grains also kept per month (`report_rollups_month`): all but `full`, which is about as big as the facts. */
export const MONTH_GRAINS: readonly Grain[] = ['unit', 'ct', 'category', 'category1', 'territory1'];
/** A month-level counter's grain in keys (`rollupKeyOf`): 'month:unit' etc., with day = 'YYYY-MM'. */
export const MONTH_GRAIN_PREFIX = 'month:';
export type RollupGrain = Grain | `month:${Grain}`;

/** A fact's month-level counters (月度汇总): every grain but full, keyed by the month 'YYYY-MM' in `day`. */
export function atEveryMonthGrain(c: Contribution): (Contribution & { grain: RollupGrain })[] {
  return atEveryGrain(c).filter((g) => g.grain !== 'full').map((g) => ({ ...g, grain: `month:${g.grain}` as RollupGrain, day: g.day.slice(0, 7) }));
}

/** A fact's day and month counters: what one ticket adds to the rollups. */
export const atEveryRollup = (c: Contribution): (Contribution & { grain: RollupGrain })[] => [...atEveryGrain(c), ...atEveryMonthGrain(c)];

const isMonthKey = (day: string) => day.length === 7;
const firstOfMonth = (day: string) => `${day.slice(0, 7)}-01`;
function nextMonth(day: string): string {
  const y = Number(day.slice(0, 4)), m = Number(day.slice(5, 7));
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

/**
 * Whether a counter's day (or month, 'YYYY-MM') is in [from, to): a month counter is in it when the
 * month overlaps it (a month's counter is rebuilt whole).
 */
export function inRollupRange(day: string, from: string | null, to: string | null): boolean {
  if (isMonthKey(day)) return (!from || day >= from.slice(0, 7)) && (!to || `${day}-01` < to);
  return (!from || day >= from) && (!to || day < to);
}

/**
 * Splits [from, to) into the whole months that ended before `today` (read from the month counters,
 * all of their days "past") and the days left over at either end (read from the day counters).
 */
export function splitByMonths(from: string, to: string, today: string): { months: [string, string] | null; days: [string, string][] } {
  const ms = from.endsWith('-01') ? from : nextMonth(from);
  const floorTo = firstOfMonth(to), floorToday = firstOfMonth(today);
  const me = floorTo < floorToday ? floorTo : floorToday;
  if (ms >= me) return { months: null, days: [[from, to]] };
  const days: [string, string][] = [];
  if (from < ms) days.push([from, ms]);
  if (me < to) days.push([me, to]);
  return { months: [ms.slice(0, 7), me.slice(0, 7)], days };
}

/**
 * The smallest grain that answers a query: one dimension grouped or filtered reads its projection
 * (categories by leaf or, grouped at the top level, by 一级分类; territories only grouped by district:
 * a city has thousands of grids); anything finer or crossing dimensions reads the full grain.
 */
export function grainFor(f: Omit<RollupFilter, 'from' | 'to' | 'measures'>, group: GroupColumn | null, topLevel = false): Grain {
  const dims = new Set<string>();
  if (f.unitIds || group === 'unit_id') dims.add('unit');
  if (f.categoryIds || group === 'category_id') dims.add(!f.categoryIds && topLevel ? 'category1' : 'category');
  if (f.territoryIds || group === 'territory_id') dims.add(!f.territoryIds && topLevel ? 'territory1' : 'full');
  if (f.channel || f.type || group === 'channel' || group === 'type') dims.add('ct');
  if (dims.size > 1) return 'full';
  return (([...dims][0] as Grain | undefined) ?? 'ct');
}
export type GroupColumn = 'unit_id' | 'category_id' | 'territory_id' | 'channel' | 'type' | 'day';

export interface RollupFilter {
  cityId: string;
  from: string; // day, inclusive
  to: string; // day, exclusive
  measures: readonly Measure[];
  unitIds?: string[];
  categoryIds?: string[];
  territoryIds?: string[];
  channel?: string;
  type?: string;
}

export interface RollupSum { measure: Measure; group: string; past: boolean; n: number }

export const rollupKeyOf = (c: { grain?: string; cityId: string; measure: string; day: string; unitId: string; categoryId: string; territoryId: string; channel: string; type: string }) =>
  [c.grain ?? 'full', c.cityId, c.measure, c.day, c.unitId, c.categoryId, c.territoryId, c.channel, c.type].join('\u0001');

const toRow = (c: Contribution & { grain?: RollupGrain }) => ({
  grain: c.grain ?? 'full', city_id: c.cityId, measure: c.measure, day: c.day, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId, channel: c.channel, type: c.type, n: c.n,
});

export const MONTH_ROLLUP_KEY = ['city_id', 'grain', 'month', 'measure', 'unit_id', 'category_id', 'territory_id', 'channel', 'type'] as const;
const toMonthRow = (c: Contribution & { grain: RollupGrain }) => ({
  grain: c.grain.slice(MONTH_GRAIN_PREFIX.length), city_id: c.cityId, measure: c.measure, month: c.day, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId, channel: c.channel, type: c.type, n: c.n,
});

export class ReportsRepository {
  constructor(private readonly db: Kysely<DB>, private readonly dialect: DialectName) {}

  /** The stored facts of these tickets, locked on MariaDB (two changes of one ticket apply in turn). */
  async factsOf(ticketIds: string[]): Promise<Contribution[]> {
    if (!ticketIds.length) return [];
    const rows = await newestCommitted(this.db.selectFrom('report_facts').selectAll().where('ticket_id', 'in', ticketIds), this.dialect).execute();
    return rows.map((r) => ({
      ticketId: r.ticket_id, cityId: r.city_id, measure: r.measure as Measure, day: r.day, unitId: r.unit_id, categoryId: r.category_id,
      territoryId: r.territory_id, categoryTop: r.category_top, territoryTop: r.territory_top, channel: r.channel, type: r.type, n: Number(r.n),
    }));
  }

  async replaceFacts(ticketIds: string[], facts: Contribution[]): Promise<void> {
    if (ticketIds.length) await this.db.deleteFrom('report_facts').where('ticket_id', 'in', ticketIds).execute();
    for (let i = 0; i < facts.length; i += 500) {
      await this.db.insertInto('report_facts').values(facts.slice(i, i + 500).map((c) => {
        const { grain: _grain, ...row } = toRow(c);
        return { ...row, ticket_id: c.ticketId, category_top: c.categoryTop, territory_top: c.territoryTop };
      })).execute();
    }
  }

  /**
   * Adds deltas to the counters. Rows go in key order so that two transactions touching the same
   * counters lock them in the same order (no deadlock on MariaDB).
   */
  async addToRollups(deltas: Contribution[]): Promise<void> {
    // Two facts can meet in one projection: sum them first (one statement may not touch a row twice).
    const merged = new Map<string, Contribution & { grain: RollupGrain }>();
    for (const d of deltas.flatMap(atEveryRollup)) {
      const k = rollupKeyOf(d);
      const m = merged.get(k);
      if (m) m.n += d.n;
      else merged.set(k, { ...d });
    }
    const sorted = [...merged].filter(([, d]) => d.n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d);
    // Day counters first, then month counters, each in key order: one lock order for every transaction.
    const dayRows = sorted.filter((d) => !isMonthKey(d.day)).map(toRow);
    const monthRows = sorted.filter((d) => isMonthKey(d.day)).map(toMonthRow);
    for (let i = 0; i < dayRows.length; i += 500) await upsertAdd(this.db, this.dialect, 'report_rollups', dayRows.slice(i, i + 500), [...ROLLUP_KEY], ['n']);
    for (let i = 0; i < monthRows.length; i += 500) await upsertAdd(this.db, this.dialect, 'report_rollups_month', monthRows.slice(i, i + 500), [...MONTH_ROLLUP_KEY], ['n']);
  }

  /**
   * Σ n by measure, group column and whether the day is before `today`: periods × groups rows, never
   * tickets. Whole months that ended before today come from the month counters (one row per key
   * instead of one per day); the days left over, and anything read at the full grain, from the day ones.
   */
  async sums(f: RollupFilter, group: GroupColumn | null, today: string, topLevel = false): Promise<RollupSum[]> {
    const grain = grainFor(f, group === 'day' ? null : group, topLevel);
    const split = grain === 'full' || group === 'day' ? { months: null, days: [[f.from, f.to]] as [string, string][] } : splitByMonths(f.from, f.to, today);
    const parts = await Promise.all([
      ...split.days.map(([from, to]) => this.daySums({ ...f, from, to }, grain, group, today)),
      ...(split.months ? [this.monthSums(f, grain, group as Exclude<GroupColumn, 'day'> | null, split.months)] : []),
    ]);
    if (parts.length === 1) return parts[0];
    const out = new Map<string, RollupSum>();
    for (const s of parts.flat()) {
      const k = `${s.measure}\u0001${s.group}\u0001${s.past}`;
      const e = out.get(k);
      if (e) e.n += s.n;
      else out.set(k, { ...s });
    }
    return [...out.values()];
  }

  private async daySums(f: RollupFilter, grain: Grain, group: GroupColumn | null, today: string): Promise<RollupSum[]> {
    let q = this.db
      .selectFrom('report_rollups')
      .select([
        'measure',
        (group ? sql<string>`${sql.ref(group)}` : sql<string>`''`).as('grp'),
        sql<number>`case when day < ${today} then 1 else 0 end`.as('past'),
        sql<number>`sum(n)`.as('n'),
      ])
      .where('city_id', '=', f.cityId)
      .where('grain', '=', grain)
      .where('measure', 'in', [...f.measures])
      .where('day', '>=', f.from)
      .where('day', '<', f.to);
    if (f.unitIds) q = q.where('unit_id', 'in', f.unitIds.length ? f.unitIds : ['\u0000']);
    if (f.categoryIds) q = q.where('category_id', 'in', f.categoryIds.length ? f.categoryIds : ['\u0000']);
    if (f.territoryIds) q = q.where('territory_id', 'in', f.territoryIds.length ? f.territoryIds : ['\u0000']);
    if (f.channel) q = q.where('channel', '=', f.channel);
    if (f.type) q = q.where('type', '=', f.type);
    const rows = await q.groupBy(group ? ['measure', group, sql`case when day < ${today} then 1 else 0 end`] as never : ['measure', sql`case when day < ${today} then 1 else 0 end`] as never).execute();
    return rows.map((r) => ({ measure: r.measure as Measure, group: String(r.grp), past: Number(r.past) === 1, n: Number(r.n) }));
  }

  /** Σ n of whole months [from, to) ('YYYY-MM', every day of them before today) from the month counters. */
  private async monthSums(f: RollupFilter, grain: Grain, group: Exclude<GroupColumn, 'day'> | null, [from, to]: [string, string]): Promise<RollupSum[]> {
    let q = this.db
      .selectFrom('report_rollups_month')
      .select(['measure', (group ? sql<string>`${sql.ref(group)}` : sql<string>`''`).as('grp'), sql<number>`sum(n)`.as('n')])
      .where('city_id', '=', f.cityId)
      .where('grain', '=', grain)
      .where('month', '>=', from)
      .where('month', '<', to)
      .where('measure', 'in', [...f.measures]);
    if (f.unitIds) q = q.where('unit_id', 'in', f.unitIds.length ? f.unitIds : ['\u0000']);
    if (f.categoryIds) q = q.where('category_id', 'in', f.categoryIds.length ? f.categoryIds : ['\u0000']);
    if (f.territoryIds) q = q.where('territory_id', 'in', f.territoryIds.length ? f.territoryIds : ['\u0000']);
    if (f.channel) q = q.where('channel', '=', f.channel);
    if (f.type) q = q.where('type', '=', f.type);
    const rows = await q.groupBy(group ? ['measure', group] as never : ['measure'] as never).execute();
    return rows.map((r) => ({ measure: r.measure as Measure, group: String(r.grp), past: true, n: Number(r.n) }));
  }

  /** The tickets behind a number: those with a fact of these measures in the filter (one page, by ticket id). */
  async drillTicketIds(f: RollupFilter, page: number, pageSize: number): Promise<{ ids: string[]; total: number }> {
    let q = this.db.selectFrom('report_facts').where('city_id', '=', f.cityId).where('measure', 'in', [...f.measures]).where('day', '>=', f.from).where('day', '<', f.to);
    if (f.unitIds) q = q.where('unit_id', 'in', f.unitIds.length ? f.unitIds : ['\u0000']);
    if (f.categoryIds) q = q.where('category_id', 'in', f.categoryIds.length ? f.categoryIds : ['\u0000']);
    if (f.territoryIds) q = q.where('territory_id', 'in', f.territoryIds.length ? f.territoryIds : ['\u0000']);
    if (f.channel) q = q.where('channel', '=', f.channel);
    if (f.type) q = q.where('type', '=', f.type);
    const total = Number((await q.select(sql<number>`count(distinct ticket_id)`.as('n')).executeTakeFirstOrThrow()).n);
    const ids = await q.select('ticket_id').distinct().orderBy('ticket_id', 'desc').limit(pageSize).offset((page - 1) * pageSize).execute();
    return { ids: ids.map((r) => r.ticket_id), total };
  }

  /**
   * The city's counters on days in [from, to) (non-zero), and its month counters of the months
   * overlapping it, keyed like `rollupKeyOf` (month ones with grain 'month:<grain>' and day 'YYYY-MM').
   */
  async rollupsIn(cityId: string, from: string | null, to: string | null): Promise<Map<string, number>> {
    let q = this.db.selectFrom('report_rollups').selectAll().where('city_id', '=', cityId).where('n', '<>', 0);
    if (from) q = q.where('day', '>=', from);
    if (to) q = q.where('day', '<', to);
    const out = new Map<string, number>();
    for (const r of await q.execute()) {
      out.set(rollupKeyOf({ grain: r.grain, cityId: r.city_id, measure: r.measure, day: r.day, unitId: r.unit_id, categoryId: r.category_id, territoryId: r.territory_id, channel: r.channel, type: r.type }), Number(r.n));
    }
    for (const r of await this.monthsOverlapping(this.db.selectFrom('report_rollups_month').selectAll().where('city_id', '=', cityId).where('n', '<>', 0), from, to).execute()) {
      out.set(rollupKeyOf({ grain: `${MONTH_GRAIN_PREFIX}${r.grain}`, cityId: r.city_id, measure: r.measure, day: r.month, unitId: r.unit_id, categoryId: r.category_id, territoryId: r.territory_id, channel: r.channel, type: r.type }), Number(r.n));
    }
    return out;
  }

  private monthsOverlapping<Q extends { where(...a: any[]): Q }>(q: Q, from: string | null, to: string | null): Q {
    if (from) q = q.where('month', '>=', from.slice(0, 7));
    if (to) q = q.where('month', '<', to.endsWith('-01') ? to.slice(0, 7) : nextMonth(to).slice(0, 7));
    return q;
  }

  async deleteRollupsIn(cityId: string, from: string | null, to: string | null): Promise<void> {
    let q = this.db.deleteFrom('report_rollups').where('city_id', '=', cityId);
    if (from) q = q.where('day', '>=', from);
    if (to) q = q.where('day', '<', to);
    await q.execute();
    await this.monthsOverlapping(this.db.deleteFrom('report_rollups_month').where('city_id', '=', cityId), from, to).execute();
  }

  async deleteCityFacts(cityId: string): Promise<void> {
    await this.db.deleteFrom('report_facts').where('city_id', '=', cityId).execute();
  }

  /** Counters already summed at their grain (a rebuild), day and month ones. */
  async insertRollups(rows: (Contribution & { grain: RollupGrain })[]): Promise<void> {
    const dayRows = rows.filter((r) => !isMonthKey(r.day)), monthRows = rows.filter((r) => isMonthKey(r.day));
    for (let i = 0; i < dayRows.length; i += 500) await this.db.insertInto('report_rollups').values(dayRows.slice(i, i + 500).map(toRow)).execute();
    for (let i = 0; i < monthRows.length; i += 500) await this.db.insertInto('report_rollups_month').values(monthRows.slice(i, i + 500).map(toMonthRow)).execute();
  }

  /** The first day with any counter in the city, or null. */
  async firstDay(cityId: string): Promise<string | null> {
    const r = await this.db.selectFrom('report_rollups').select(sql<string>`min(day)`.as('d')).where('city_id', '=', cityId).executeTakeFirst();
    return r?.d ?? null;
  }
}
