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

const toRow = (c: Contribution & { grain?: Grain }) => ({
  grain: c.grain ?? 'full', city_id: c.cityId, measure: c.measure, day: c.day, unit_id: c.unitId, category_id: c.categoryId, territory_id: c.territoryId, channel: c.channel, type: c.type, n: c.n,
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
    const merged = new Map<string, Contribution & { grain: Grain }>();
    for (const d of deltas.flatMap(atEveryGrain)) {
      const k = rollupKeyOf(d);
      const m = merged.get(k);
      if (m) m.n += d.n;
      else merged.set(k, { ...d });
    }
    const rows = [...merged].filter(([, d]) => d.n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => toRow(d));
    for (let i = 0; i < rows.length; i += 500) await upsertAdd(this.db, this.dialect, 'report_rollups', rows.slice(i, i + 500), [...ROLLUP_KEY], ['n']);
  }

  /** Σ n by measure, group column and whether the day is before `today`: periods × groups rows, never tickets. */
  async sums(f: RollupFilter, group: GroupColumn | null, today: string, topLevel = false): Promise<RollupSum[]> {
    let q = this.db
      .selectFrom('report_rollups')
      .select([
        'measure',
        (group ? sql<string>`${sql.ref(group)}` : sql<string>`''`).as('grp'),
        sql<number>`case when day < ${today} then 1 else 0 end`.as('past'),
        sql<number>`sum(n)`.as('n'),
      ])
      .where('city_id', '=', f.cityId)
      .where('grain', '=', grainFor(f, group === 'day' ? null : group, topLevel))
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

  /** The city's counters on days in [from, to) (non-zero), keyed like `rollupKeyOf`. */
  async rollupsIn(cityId: string, from: string | null, to: string | null): Promise<Map<string, number>> {
    let q = this.db.selectFrom('report_rollups').selectAll().where('city_id', '=', cityId).where('n', '<>', 0);
    if (from) q = q.where('day', '>=', from);
    if (to) q = q.where('day', '<', to);
    const out = new Map<string, number>();
    for (const r of await q.execute()) {
      out.set(rollupKeyOf({ grain: r.grain, cityId: r.city_id, measure: r.measure, day: r.day, unitId: r.unit_id, categoryId: r.category_id, territoryId: r.territory_id, channel: r.channel, type: r.type }), Number(r.n));
    }
    return out;
  }

  async deleteRollupsIn(cityId: string, from: string | null, to: string | null): Promise<void> {
    let q = this.db.deleteFrom('report_rollups').where('city_id', '=', cityId);
    if (from) q = q.where('day', '>=', from);
    if (to) q = q.where('day', '<', to);
    await q.execute();
  }

  async deleteCityFacts(cityId: string): Promise<void> {
    await this.db.deleteFrom('report_facts').where('city_id', '=', cityId).execute();
  }

  /** Counters already summed at their grain (a rebuild). */
  async insertRollups(rows: (Contribution & { grain: Grain })[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) await this.db.insertInto('report_rollups').values(rows.slice(i, i + 500).map(toRow)).execute();
  }

  /** The first day with any counter in the city, or null. */
  async firstDay(cityId: string): Promise<string | null> {
    const r = await this.db.selectFrom('report_rollups').select(sql<string>`min(day)`.as('d')).where('city_id', '=', cityId).executeTakeFirst();
    return r?.d ?? null;
  }
}
