/**
 * The figures service (统计分析): keeps the rollups inside the ticket and work-order transactions,
 * reads figures, rankings and drill-downs from them, builds the report documents, and rebuilds and
 * checks the rollups against a full scan.
 */
import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import {
  badRequest, forbidden, notFound, chinaDate, isCenter, systemClock, toChinaIso, UNIT_ROLES, GRID_ROLES,
  ChannelLabelZh, TicketTypeLabelZh, type Actor, type Clock,
} from '../core';
import { KPIS, KPI_BY_KEY, MEASURES, Measure, contributionsOf, matterContributionsOf, type Contribution, type GridMatterFacts, type KpiDefinition, type MeasureTotals, type SatisfactionWeights } from './domain/kpis';
import { resolvePeriod, addDays, type PeriodKind } from './domain/periods';
import { ReportSettings, compositeScore, shouguangScore, rank, bottomUnits, round2, ZHUCHENG_WEIGHTS, RANKING_SCHEME_ZH, type RankingScheme } from './domain/scoring';
import { ReportsRepository, rollupKeyOf, atEveryRollup, inRollupRange, type RollupGrain, type GroupColumn, type RollupFilter, type RollupSum } from './reports.repository';
import { REPORT_KIND_ZH, type ReportDocument, type ReportFigure, type ReportKind, type ReportPeriod, type ReportTable, type ReportChart } from './domain/report-document';
import type { CallMetricsSource, CategoryRef, GridMatterSource, ReportLookups, TerritoryRef, TicketFactsSource, TicketViews } from './ports';

export interface ReportsDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  lookups: ReportLookups;
  facts: TicketFactsSource;
  tickets: TicketViews;
  /** Call records (telephony); without it the contact-center figures are null, "no call records". */
  calls?: CallMetricsSource;
  /** Grid matters (网格自办事项, the grid-call part); without it none are scanned or shown. */
  matters?: GridMatterSource;
}

export const GroupBy = { unit: 'unit', category: 'category', territory: 'territory', channel: 'channel', type: 'type' } as const;
export type GroupBy = (typeof GroupBy)[keyof typeof GroupBy];
const GROUP_COLUMN: Record<GroupBy, GroupColumn> = { unit: 'unit_id', category: 'category_id', territory: 'territory_id', channel: 'channel', type: 'type' };
const TERRITORY_LEVELS = ['district', 'street', 'community', 'grid'];

export interface FiguresQuery {
  period: PeriodKind;
  from?: string;
  to?: string;
  groupBy?: GroupBy;
  /** Category level 1–4, or territory level district|street|community|grid, for `groupBy`. */
  level?: string;
  unitId?: string;
  categoryId?: string;
  territoryId?: string;
  channel?: string;
  type?: string;
}

export interface KpiFigure extends ReportFigure { numerator: number; denominator: number; previous: number | null; previousNumerator: number; previousDenominator: number }
export interface FigureGroup { key: string; name: string; figures: KpiFigure[] }
export interface CallFigures { available: boolean; noteZh: string | null; answeredWithin15sRate: number | null; abandonRate: number | null; averageSpeedOfAnswer: number | null; offered: number | null }
export interface FiguresResult {
  cityId: string;
  period: ReportPeriod;
  previousPeriod: ReportPeriod;
  groupBy: GroupBy | null;
  level: string | null;
  figures: KpiFigure[];
  groups: FigureGroup[];
  calls: CallFigures;
}

export interface RankingRow { unitId: string; unitName: string; score: number | null; rank: number | null; deduction?: number; capped?: boolean; flagged?: boolean; bottomMonths?: string[]; figures: Record<string, number | null> }
export interface RankingResult {
  cityId: string;
  period: ReportPeriod;
  scheme: RankingScheme;
  schemeZh: string;
  /** Ranked units; a unit user gets its own row only. */
  rows: RankingRow[];
  rankedUnits: number;
}

export interface RebuildReport {
  cityId: string;
  from: string | null;
  to: string | null;
  tickets: number;
  /** Grid matters scanned (网格自办事项). */
  matters: number;
  /** Counters compared: the stored ones against those a full scan of the tickets gives. */
  before: { keys: number; mismatches: number; samples: { key: string; stored: number; scanned: number }[] };
  after: { keys: number; mismatches: number; samples: { key: string; stored: number; scanned: number }[] } | null;
  repaired: boolean;
}

interface Scope { unitIds?: string[]; territoryPath?: string; unitOnly: string | null }

const KPI_FIGURE_UNIT: Record<KpiDefinition['unit'], ReportFigure['unit']> = { rate: 'rate', count: 'count' };

export function createReportsService(deps: ReportsDeps) {
  const clock = deps.clock ?? systemClock;
  const repo = (q: Kysely<DB> = deps.db) => new ReportsRepository(q, deps.dialect);
  const today = () => chinaDate(clock.now());

  async function settingsOf(cityId: string): Promise<ReportSettings> {
    const raw = await deps.lookups.reportSettings(cityId);
    const parsed = ReportSettings.safeParse(raw ?? {});
    if (!parsed.success) throw badRequest('REPORT_SETTINGS_INVALID', `settings.reports of city ${cityId} are invalid: ${parsed.error.message}`, `城市 ${cityId} 的报表参数（settings.reports）有误`);
    return parsed.data;
  }

  /** Who may see what (数据权限): the center all, a unit its own figures, grid staff their territory. */
  function scopeOf(actor: Actor, q: { unitId?: string; territoryId?: string }, territories: TerritoryRef[]): Scope {
    if (isCenter(actor)) return { unitOnly: null };
    if (UNIT_ROLES.has(actor.role)) {
      if (!actor.unitId) throw forbidden('REPORT_SCOPE_FORBIDDEN', 'a unit user without a unit sees no figures', '未关联单位的用户无权查看统计');
      if (q.unitId && q.unitId !== actor.unitId) throw forbidden('REPORT_SCOPE_FORBIDDEN', 'a unit sees its own figures only', '承办单位只能查看本单位的统计');
      return { unitIds: [actor.unitId], unitOnly: actor.unitId };
    }
    if (GRID_ROLES.has(actor.role) && actor.territoryPath) {
      if (q.territoryId) {
        const t = territories.find((x) => x.id === q.territoryId);
        if (t && !t.path.startsWith(actor.territoryPath)) throw forbidden('REPORT_SCOPE_FORBIDDEN', 'outside your territory', '超出本辖区范围');
      }
      return { territoryPath: actor.territoryPath, unitOnly: null };
    }
    throw forbidden('REPORT_SCOPE_FORBIDDEN', 'this role sees no figures', '该角色无权查看统计');
  }

  interface Context {
    cityId: string;
    period: ReportPeriod;
    previous: ReportPeriod;
    filter: Omit<RollupFilter, 'from' | 'to' | 'measures'>;
    units: Map<string, string>;
    categories: CategoryRef[];
    territories: TerritoryRef[];
    settings: ReportSettings;
    scope: Scope;
    /** The rollup reads of one context; a document asks the same question from several sections (asked once). */
    sums: ReportsRepository['sums'];
  }

  /** Checks the query (periods, units, categories, territories, levels) and builds the rollup filter. */
  async function contextOf(actor: Actor, q: FiguresQuery): Promise<Context> {
    const cityId = actor.cityId;
    const [units, categories, territories, settings] = await Promise.all([deps.lookups.units(cityId), deps.lookups.categories(cityId), deps.lookups.territories(cityId), settingsOf(cityId)]);
    const { period, previous } = resolvePeriod(q.period, q.from, q.to, today());
    const scope = scopeOf(actor, q, territories);
    const filter: Context['filter'] = { cityId, channel: q.channel, type: q.type };
    if (q.unitId) {
      if (!units.some((u) => u.id === q.unitId)) throw notFound('UNIT_NOT_FOUND', `no unit ${q.unitId} in this city`, `本市没有单位 ${q.unitId}`, { unitId: q.unitId });
      filter.unitIds = [q.unitId];
    }
    if (scope.unitIds) filter.unitIds = scope.unitIds;
    if (q.categoryId) {
      const c = categories.find((x) => x.id === q.categoryId);
      if (!c) throw notFound('CATEGORY_NOT_FOUND', `no category ${q.categoryId} in this city`, `本市没有分类 ${q.categoryId}`, { categoryId: q.categoryId });
      filter.categoryIds = categories.filter((x) => x.path.startsWith(c.path)).map((x) => x.id);
    }
    let territoryPath: string | null = scope.territoryPath ?? null;
    if (q.territoryId) {
      const t = territories.find((x) => x.id === q.territoryId);
      if (!t) throw notFound('TERRITORY_NOT_FOUND', `no territory ${q.territoryId} in this city`, `本市没有区域 ${q.territoryId}`, { territoryId: q.territoryId });
      territoryPath = t.path;
    }
    if (territoryPath) filter.territoryIds = territories.filter((x) => x.path.startsWith(territoryPath!)).map((x) => x.id);
    if (q.level != null && q.groupBy !== 'category' && q.groupBy !== 'territory') throw badRequest('LEVEL_INVALID', 'level goes with groupBy=category or territory', 'level 仅用于按分类或按区域分组');
    if (q.groupBy === 'category' && q.level != null && !/^[1-4]$/.test(q.level)) throw badRequest('LEVEL_INVALID', 'a category level is 1–4', '分类层级为 1–4');
    if (q.groupBy === 'territory' && q.level != null && !TERRITORY_LEVELS.includes(q.level)) throw badRequest('LEVEL_INVALID', `a territory level is one of ${TERRITORY_LEVELS.join(', ')}`, '区域层级为 district、street、community、grid 之一');
    const memo = new Map<string, Promise<RollupSum[]>>();
    const sums: ReportsRepository['sums'] = (f, group, t, topLevel) => {
      const key = JSON.stringify([f, group, t, topLevel]);
      if (!memo.has(key)) memo.set(key, repo().sums(f, group, t, topLevel));
      return memo.get(key)!;
    };
    return { cityId, period, previous, filter, units: new Map(units.map((u) => [u.id, u.name])), categories, territories, settings, scope, sums };
  }

  const totalsOf = (sums: RollupSum[], group: string | null): MeasureTotals => {
    const m: MeasureTotals = { total: {}, beforeToday: {} };
    for (const s of sums) {
      if (group != null && s.group !== group) continue;
      m.total[s.measure] = (m.total[s.measure] ?? 0) + s.n;
      if (s.past) m.beforeToday[s.measure] = (m.beforeToday[s.measure] ?? 0) + s.n;
    }
    return m;
  };

  function figuresOf(cur: MeasureTotals, prev: MeasureTotals, w: SatisfactionWeights, drillBase: string | null, kpis: readonly KpiDefinition[] = KPIS): KpiFigure[] {
    return kpis.map((k) => {
      const c = k.compute(cur, w), p = k.compute(prev, w);
      return {
        kpi: k.key, labelZh: k.labelZh, unit: KPI_FIGURE_UNIT[k.unit], value: c.value == null ? null : round4(c.value),
        numerator: round4(c.numerator), denominator: c.denominator, previous: p.value == null ? null : round4(p.value), previousNumerator: round4(p.numerator), previousDenominator: p.denominator,
        drill: drillBase == null ? undefined : `/api/v1/reports/drill?kpi=${k.key}&${drillBase}`,
      };
    });
  }

  /** The display name and grouping key of a leaf key at the requested level. */
  function grouper(ctx: Context, groupBy: GroupBy, level: string | undefined): (leaf: string) => { key: string; name: string } {
    switch (groupBy) {
      case 'unit': return (id) => ({ key: id, name: id ? ctx.units.get(id) ?? id : '未派单（中心）' });
      case 'channel': return (c) => ({ key: c, name: (ChannelLabelZh as Record<string, string>)[c] ?? c });
      case 'type': return (t) => ({ key: t, name: (TicketTypeLabelZh as Record<string, string>)[t] ?? t });
      case 'category': {
        const lv = Number(level ?? 1);
        const byId = new Map(ctx.categories.map((c) => [c.id, c]));
        return (id) => {
          const c = byId.get(id);
          if (!c) return { key: '', name: '未分类' };
          const ancestorId = c.path.split('/').filter(Boolean)[lv - 1] ?? c.id;
          const a = byId.get(ancestorId) ?? c;
          return { key: a.id, name: a.name };
        };
      }
      case 'territory': {
        const lv = level ?? 'district';
        const byId = new Map(ctx.territories.map((t) => [t.id, t]));
        return (id) => {
          const t = byId.get(id);
          if (!t) return { key: '', name: '未定位' };
          const a = t.path.split('/').filter(Boolean).map((x) => byId.get(x)).find((x) => x?.level === lv) ?? t;
          return { key: a.id, name: a.name };
        };
      }
    }
  }

  const drillQuery = (ctx: Context, period: ReportPeriod, extra: Record<string, string | undefined> = {}) => {
    const p = new URLSearchParams({ from: period.from, to: addDays(period.to, -1) });
    const f = ctx.filter;
    if (f.unitIds?.length === 1) p.set('unitId', f.unitIds[0]);
    if (f.channel) p.set('channel', f.channel);
    if (f.type) p.set('type', f.type);
    for (const [k, v] of Object.entries(extra)) if (v != null) p.set(k, v);
    return p.toString();
  };

  async function callFigures(cityId: string, period: ReportPeriod): Promise<CallFigures> {
    const none = (noteZh: string): CallFigures => ({ available: false, noteZh, answeredWithin15sRate: null, abandonRate: null, averageSpeedOfAnswer: null, offered: null });
    if (!deps.calls) return none('无话务记录');
    const c = await deps.calls.counts(cityId, new Date(`${period.from}T00:00:00+08:00`), new Date(`${period.to}T00:00:00+08:00`));
    if (!c || c.offered === 0) return none('无话务记录');
    return {
      available: true, noteZh: null, offered: c.offered,
      answeredWithin15sRate: round4(c.answeredWithin15s / c.offered), abandonRate: round4(c.abandoned / c.offered),
      averageSpeedOfAnswer: c.answered ? round2(c.waitSecondsAnswered / c.answered) : null,
    };
  }

  async function figuresIn(ctx: Context, groupBy: GroupBy | null, level: string | undefined): Promise<FiguresResult> {
    const r = ctx;
    const base = { ...ctx.filter, measures: MEASURES };
    const t = today();
    // Grouped by the top level of a tree (一级分类, 区/县): its own small projection serves.
    const topLevel = (groupBy === 'category' && (level ?? '1') === '1') || (groupBy === 'territory' && (level ?? 'district') === ctx.territories.find((x) => !x.parentId)?.level);
    const [cur, prev] = await Promise.all([
      r.sums({ ...base, from: ctx.period.from, to: ctx.period.to }, groupBy ? GROUP_COLUMN[groupBy] : null, t, topLevel),
      r.sums({ ...base, from: ctx.previous.from, to: ctx.previous.to }, groupBy ? GROUP_COLUMN[groupBy] : null, t, topLevel),
    ]);
    const w = ctx.settings.satisfactionWeights;
    const figures = figuresOf(totalsOf(cur, null), totalsOf(prev, null), w, drillQuery(ctx, ctx.period));
    const groups: FigureGroup[] = [];
    if (groupBy) {
      const g = grouper(ctx, groupBy, level);
      // A grid matter has no unit, channel or type: it is in no row of those groupings (only in the total).
      const noMatters = groupBy === 'unit' || groupBy === 'channel' || groupBy === 'type';
      const regroup = (sums: RollupSum[]) => sums.filter((s) => !noMatters || s.measure !== Measure.gridMatter).map((s) => ({ ...s, group: g(s.group).key }));
      const c2 = regroup(cur), p2 = regroup(prev);
      const names = new Map<string, string>();
      for (const s of cur) { if (noMatters && s.measure === Measure.gridMatter) continue; const x = g(s.group); names.set(x.key, x.name); }
      const drillKey: Record<GroupBy, string> = { unit: 'unitId', category: 'categoryId', territory: 'territoryId', channel: 'channel', type: 'type' };
      for (const [key, name] of names) {
        groups.push({ key, name, figures: figuresOf(totalsOf(c2, key), totalsOf(p2, key), w, key ? drillQuery(ctx, ctx.period, { [drillKey[groupBy]]: key }) : null) });
      }
      groups.sort((a, b) => (b.figures[0].value ?? 0) - (a.figures[0].value ?? 0) || a.name.localeCompare(b.name));
    }
    return { cityId: ctx.cityId, period: ctx.period, previousPeriod: ctx.previous, groupBy, level: groupBy === 'category' ? level ?? '1' : groupBy === 'territory' ? level ?? 'district' : null, figures, groups, calls: await callFigures(ctx.cityId, ctx.period) };
  }

  /** Per-unit totals of a period (for rankings). */
  async function unitTotals(ctx: Context, period: { from: string; to: string }): Promise<Map<string, MeasureTotals>> {
    // Scoped to the unit's own figures or not, a ranking ranks every unit (a unit sees its own row of it).
    const { unitIds: _own, ...filter } = ctx.filter;
    const sums = await ctx.sums({ ...filter, measures: MEASURES, from: period.from, to: period.to }, 'unit_id', today());
    const out = new Map<string, MeasureTotals>();
    for (const id of new Set(sums.map((s) => s.group))) if (id) out.set(id, totalsOf(sums, id));
    return out;
  }

  const kpiValues = (m: MeasureTotals, w: SatisfactionWeights) => Object.fromEntries(KPIS.map((k) => [k.key, k.compute(m, w).value])) as Record<string, number | null>;

  async function rankingIn(ctx: Context): Promise<RankingResult> {
    const s = ctx.settings.ranking;
    const w = ctx.settings.satisfactionWeights;
    const totals = await unitTotals(ctx, ctx.period);
    let rows: RankingRow[];
    if (s.scheme === 'shouguang') {
      rows = rank([...totals].map(([unitId, m]) => {
        const noResponse = m.beforeToday.ack_pending ?? 0;
        const slowResponse = (m.total.ack_due ?? 0) - (m.total.ack_in_time ?? 0) - (m.total.ack_pending ?? 0);
        const r = shouguangScore({ slowResponse, noResponse, outcomeGood: m.total.sat_satisfied ?? 0, outcomeFair: m.total.sat_basic ?? 0, outcomePoor: m.total.sat_unsatisfied ?? 0 }, s.shouguang);
        return { unitId, unitName: ctx.units.get(unitId) ?? unitId, score: r.score, deduction: r.deduction, capped: r.capped, figures: { ...kpiValues(m, w), slowResponse, noResponse } };
      }));
    } else {
      const weights = s.scheme === 'zhucheng' ? ZHUCHENG_WEIGHTS : s.weights;
      rows = rank([...totals].map(([unitId, m]) => {
        const values = kpiValues(m, w);
        return { unitId, unitName: ctx.units.get(unitId) ?? unitId, score: compositeScore(values, weights), figures: values };
      }));
      if (s.scheme === 'zhucheng') {
        // 诸城: the bottom 3 of this month and of each month before it, `months` months running.
        const months: { label: string; bottom: Set<string> }[] = [{ label: ctx.period.from.slice(0, 7), bottom: bottomUnits(rows, s.zhucheng.bottom) }];
        let monthStart = ctx.period.from.slice(0, 8) + '01';
        for (let i = 1; i < s.zhucheng.months; i++) {
          const prevStart = addMonths(monthStart, -1);
          const m = await unitTotals(ctx, { from: prevStart, to: monthStart });
          const ranked = rank([...m].map(([unitId, t]) => ({ unitId, score: compositeScore(kpiValues(t, w), ZHUCHENG_WEIGHTS) })));
          months.push({ label: prevStart.slice(0, 7), bottom: bottomUnits(ranked, s.zhucheng.bottom) });
          monthStart = prevStart;
        }
        rows = rows.map((r) => {
          const bottomMonths = months.filter((m) => m.bottom.has(r.unitId)).map((m) => m.label);
          return { ...r, bottomMonths, flagged: bottomMonths.length === months.length };
        });
      }
    }
    const rankedUnits = rows.filter((r) => r.rank != null).length;
    if (ctx.scope.unitOnly) rows = rows.filter((r) => r.unitId === ctx.scope.unitOnly);
    return { cityId: ctx.cityId, period: ctx.period, scheme: s.scheme, schemeZh: RANKING_SCHEME_ZH[s.scheme], rows, rankedUnits };
  }

  async function contributionsChanged(r: ReportsRepository, ticketIds: string[], now: Contribution[], created: boolean) {
    // A ticket being created has no facts yet, and nobody else can be counting it: no locking read
    // (on MariaDB a locking read of missing rows takes gap locks, and concurrent creations would
    // deadlock on them). Otherwise the read locks the ticket's facts and sees the newest committed.
    const old = created ? [] : await r.factsOf(ticketIds);
    const delta = new Map<string, Contribution>();
    const put = (c: Contribution, sign: number) => {
      const k = rollupKeyOf(c);
      const d = delta.get(k);
      if (d) d.n += sign * c.n;
      else delta.set(k, { ...c, n: sign * c.n });
    };
    for (const c of old) put(c, -1);
    for (const c of now) put(c, 1);
    const changed = [...delta.values()].filter((d) => d.n !== 0);
    if (!changed.length && old.length === now.length) return;
    // Nor a delete for a ticket being created: a delete of missing rows takes the same gap locks.
    await r.replaceFacts(created ? [] : ticketIds, now);
    await r.addToRollups(changed);
  }

  /** A full scan of the city's tickets: the counters they give, keyed like the rollups. */
  async function scanCity(cityId: string, writeFacts: boolean): Promise<{ expected: Map<string, Contribution & { grain: RollupGrain }>; tickets: number; matters: number }> {
    const expected = new Map<string, Contribution & { grain: RollupGrain }>();
    let tickets = 0, matters = 0;
    if (writeFacts) await repo().deleteCityFacts(cityId);
    const count = async (contributions: Contribution[]) => {
      if (writeFacts) await repo().replaceFacts([], contributions);
      for (const c of contributions.flatMap(atEveryRollup)) {
        const k = rollupKeyOf(c);
        const e = expected.get(k);
        if (e) e.n += c.n;
        else expected.set(k, { ...c, ticketId: '' });
      }
    };
    for await (const batch of deps.facts.scan(cityId)) {
      tickets += batch.length;
      await count(batch.flatMap(contributionsOf));
    }
    if (deps.matters) {
      for await (const batch of deps.matters.scan(cityId)) {
        matters += batch.length;
        await count(batch.flatMap(matterContributionsOf));
      }
    }
    return { expected, tickets, matters };
  }

  function compare(stored: Map<string, number>, expected: Map<string, Contribution>, from: string | null, to: string | null) {
    const inRange = (day: string) => inRollupRange(day, from, to);
    const keys = new Set([...stored.keys(), ...[...expected.values()].filter((c) => inRange(c.day) && c.n !== 0).map(rollupKeyOf)]);
    const samples: { key: string; stored: number; scanned: number }[] = [];
    let mismatches = 0;
    for (const k of keys) {
      const s = stored.get(k) ?? 0;
      const e = expected.get(k)?.n ?? 0;
      if (s !== e) {
        mismatches++;
        if (samples.length < 20) samples.push({ key: k.split('\u0001').join(' | '), stored: s, scanned: e });
      }
    }
    return { keys: keys.size, mismatches, samples };
  }

  return {
    /**
     * Brings the facts and counters of these tickets up to date, inside the transaction that
     * changed them (called from the ticket and work-order events' `emitWithin`); `created` for
     * tickets created in this transaction.
     */
    async refreshWithin(trx: Kysely<DB>, ticketIds: string[], opts: { created?: boolean } = {}): Promise<void> {
      const ids = [...new Set(ticketIds)].sort();
      const r = repo(trx);
      const facts = await deps.facts.factsWithin(trx, ids);
      await contributionsChanged(r, ids, facts.flatMap(contributionsOf), opts.created ?? false);
    },

    /**
     * Counts grid matters (网格自办事项) inside the transaction that recorded them (called from the
     * grid's `gridmatter.recorded` within it). A matter is never changed after: it is counted once.
     */
    async countMattersWithin(trx: Kysely<DB>, matters: GridMatterFacts[]): Promise<void> {
      if (!matters.length) return;
      await contributionsChanged(repo(trx), matters.map((m) => m.id), matters.flatMap(matterContributionsOf), true);
    },

    /** GET /reports/figures: every KPI with numerator, denominator and the previous period (环比), optionally by group. */
    async figures(actor: Actor, q: FiguresQuery): Promise<FiguresResult> {
      const ctx = await contextOf(actor, q);
      return figuresIn(ctx, q.groupBy ?? null, q.level);
    },

    /** Unit rankings under the city's scheme; a unit sees its own row and rank only. */
    async rankings(actor: Actor, q: FiguresQuery): Promise<RankingResult> {
      if (GRID_ROLES.has(actor.role)) throw forbidden('REPORT_SCOPE_FORBIDDEN', 'rankings are for the center and the units', '单位排名仅对热线中心和承办单位开放');
      const ctx = await contextOf(actor, { ...q, groupBy: undefined, level: undefined });
      return rankingIn(ctx);
    },

    /** The tickets behind a number (paged), as their viewer may see them (masking, 保密). */
    async drill(actor: Actor, q: FiguresQuery & { kpi: string; part?: 'numerator' | 'denominator'; page?: number; pageSize?: number }) {
      const k = KPI_BY_KEY.get(q.kpi);
      if (!k) throw badRequest('KPI_UNKNOWN', `unknown KPI ${q.kpi} (see docs/kpis.md)`, `未知指标 ${q.kpi}（见 docs/kpis.md）`, { kpi: q.kpi });
      const part = q.part ?? 'numerator';
      const measures = k.drill[part];
      if (!measures.length) throw badRequest('DRILL_PART_INVALID', `${q.kpi} has no ${part}`, `指标「${k.labelZh}」没有${part === 'numerator' ? '分子' : '分母'}`);
      const ctx = await contextOf(actor, { ...q, period: q.period ?? 'custom' });
      const page = q.page ?? 1, pageSize = q.pageSize ?? 20;
      const { ids, total } = await repo().drillTicketIds({ ...ctx.filter, from: ctx.period.from, to: ctx.period.to, measures }, page, pageSize);
      // 网格自办事项: the matters behind the number, as the viewer may see them; every other KPI lists tickets.
      const items = measures.includes(Measure.gridMatter)
        ? await (deps.matters?.views(actor, ids) ?? Promise.resolve([]))
        : (await Promise.all(ids.map((id) => deps.tickets.view(actor, id)))).filter((x): x is Record<string, unknown> => !!x);
      // A ticket the viewer may no longer read (改派 took it away from the unit) is counted, not shown.
      return { kpi: k.key, labelZh: k.labelZh, part, period: ctx.period, items, hidden: ids.length - items.length, total, page, pageSize };
    },

    /**
     * A report as data (ReportDocument): 日报告, 周梳理, 月通报 (with the month's topics), 年度报告.
     * `period` is any date inside the period (YYYY-MM-DD); the whole city unless filters narrow it.
     */
    async buildReportDocument(kind: ReportKind, period: string | { from: string; to: string }, cityId: string, filters: Omit<FiguresQuery, 'period' | 'from' | 'to' | 'groupBy' | 'level'> = {}, actor?: Actor): Promise<ReportDocument> {
      const cityName = await deps.lookups.cityName(cityId);
      if (!cityName) throw notFound('CITY_NOT_FOUND', `no city ${cityId}`, `没有城市 ${cityId}`);
      const who: Actor = actor ?? { kind: 'system', id: null, name: 'reports', role: 'system', cityId, unitId: null, territoryId: null, territoryPath: null };
      const periodKind: PeriodKind = kind === 'daily' ? 'day' : kind === 'weekly' ? 'week' : kind === 'monthly' ? 'month' : 'year';
      // A date: the kind's period containing it; { from, to } (to exclusive): those days, e.g. a daily
      // report that covers a holiday (reports exports: the first working day's report since the last).
      const when = typeof period === 'string' ? { period: periodKind, from: period } : { period: 'custom' as const, from: period.from, to: addDays(period.to, -1) };
      const ctx = await contextOf(who, { ...filters, ...when });
      return buildDocument(kind, cityName, ctx);
    },

    /**
     * Recomputes the city's facts and counters from the tickets (a full scan) and proves them
     * equal: `before` compares the stored counters with the scan, `after` compares the rewritten
     * ones with a second, independent scan. With `checkOnly` nothing is written. `from`/`to`
     * (days) limit the counters compared and rewritten.
     */
    async rebuild(cityId: string, opts: { from?: string | null; to?: string | null; checkOnly?: boolean } = {}): Promise<RebuildReport> {
      const from = opts.from ?? null, to = opts.to ?? null;
      if (from && to && to <= from) throw badRequest('PERIOD_ORDER', `--to (${to}) is not after --from (${from})`, `结束日期（${to}）须晚于开始日期（${from}）`);
      if (!(await deps.lookups.cityName(cityId))) throw notFound('CITY_NOT_FOUND', `no city ${cityId}`, `没有城市 ${cityId}`);
      const first = await scanCity(cityId, false);
      const before = compare(await repo().rollupsIn(cityId, from, to), first.expected, from, to);
      if (opts.checkOnly) return { cityId, from, to, tickets: first.tickets, matters: first.matters, before, after: null, repaired: false };
      await deps.db.transaction().execute(async (trx) => {
        const r = repo(trx);
        await r.deleteRollupsIn(cityId, from, to);
        await r.insertRollups([...first.expected.values()].filter((c) => c.n !== 0 && inRollupRange(c.day, from, to)));
      });
      const second = await scanCity(cityId, true);
      const after = compare(await repo().rollupsIn(cityId, from, to), second.expected, from, to);
      return { cityId, from, to, tickets: second.tickets, matters: second.matters, before, after, repaired: before.mismatches > 0 };
    },
  };

  function buildDocument(kind: ReportKind, cityName: string, ctx: Context): Promise<ReportDocument> {
    return (async () => {
      const [overall, byUnit, byCategory, byTerritory, byChannel, byType, ranking, mattersByStreet] = await Promise.all([
        figuresIn(ctx, null, undefined), figuresIn(ctx, 'unit', undefined), figuresIn(ctx, 'category', '1'), figuresIn(ctx, 'territory', 'district'),
        figuresIn(ctx, 'channel', undefined), figuresIn(ctx, 'type', undefined), rankingIn(ctx), figuresIn(ctx, 'territory', 'street'),
      ]);
      const headline = ['accepted', 'onSpotRate', 'ackOnTimeRate', 'onTimeCompletionRate', 'firstTimeFixRate', 'satisfactionRate', 'overdueCount', 'gridMatters'];
      const pick = (fs: KpiFigure[], keys: string[]) => keys.map((k) => fs.find((f) => f.kpi === k)!).filter(Boolean);
      const summary = pick(overall.figures, headline).map(({ previousNumerator: _pn, previousDenominator: _pd, ...f }) => f as ReportFigure);
      const pct = (v: number | null | undefined) => (v == null ? '—' : `${(v * 100).toFixed(2)}%`);
      const fig = (k: string) => overall.figures.find((f) => f.kpi === k)!;
      const acc = fig('accepted');
      const change = acc.previous ? ((acc.value! - acc.previous) / acc.previous) * 100 : null;
      const paragraphs = [
        `${ctx.period.label}共受理群众诉求${acc.value}件${change == null ? '' : `，环比${change >= 0 ? '上升' : '下降'}${Math.abs(change).toFixed(1)}%`}；即办率${pct(fig('onSpotRate').value)}，及时签收率${pct(fig('ackOnTimeRate').value)}，按期办结率${pct(fig('onTimeCompletionRate').value)}，一次性完工率${pct(fig('firstTimeFixRate').value)}，群众满意率${pct(fig('satisfactionRate').value)}。`,
        `超期件${fig('overdueCount').value}件，其中超期未办结${fig('overdueOpenCount').value}件。`,
        overall.calls.available ? `话务方面，15秒接通率${pct(overall.calls.answeredWithin15sRate)}，呼损率${pct(overall.calls.abandonRate)}，平均应答${overall.calls.averageSpeedOfAnswer}秒。` : '话务指标：无话务记录。',
      ];
      const tableKpis = ['accepted', 'ackOnTimeRate', 'onTimeCompletionRate', 'firstTimeFixRate', 'satisfactionRate', 'returnRate', 'overdueCount'];
      const groupTable = (id: string, titleZh: string, keyLabel: string, r: FiguresResult): ReportTable => ({
        id, titleZh,
        columns: [{ key: 'name', labelZh: keyLabel, unit: 'text' }, ...tableKpis.map((k) => ({ key: k, labelZh: KPI_BY_KEY.get(k)!.labelZh, unit: KPI_FIGURE_UNIT[KPI_BY_KEY.get(k)!.unit] }))],
        rows: r.groups.map((g) => ({ name: g.name, ...Object.fromEntries(pick(g.figures, tableKpis).map((f) => [f.kpi, f.value])) })),
        drill: r.groups.map((g) => ({ name: null, ...Object.fromEntries(pick(g.figures, tableKpis).map((f) => [f.kpi, f.drill ?? null])) })),
      });
      const bar = (id: string, titleZh: string, r: FiguresResult, limit = 15): ReportChart => {
        const gs = r.groups.slice(0, limit);
        return { id, titleZh, option: { title: { text: titleZh }, tooltip: {}, xAxis: { type: 'category', data: gs.map((g) => g.name), axisLabel: { rotate: 30 } }, yAxis: { type: 'value' }, series: [{ type: 'bar', name: '受理量', data: gs.map((g) => g.figures[0].value) }] } };
      };
      const pie = (id: string, titleZh: string, r: FiguresResult): ReportChart => ({
        id, titleZh, option: { title: { text: titleZh }, tooltip: {}, series: [{ type: 'pie', radius: '60%', data: r.groups.map((g) => ({ name: g.name, value: g.figures[0].value })) }] },
      });
      const sections: ReportDocument['sections'] = [
        { id: 'overall', titleZh: '总体情况', paragraphsZh: paragraphs, tables: [{
          id: 'overall-kpis', titleZh: '主要指标',
          columns: [{ key: 'name', labelZh: '指标', unit: 'text' }, { key: 'value', labelZh: '本期' }, { key: 'previous', labelZh: '上期' }, { key: 'numerator', labelZh: '分子', unit: 'count' }, { key: 'denominator', labelZh: '分母', unit: 'count' }],
          rows: overall.figures.map((f) => ({ name: f.labelZh, value: f.value, previous: f.previous, numerator: f.numerator, denominator: f.denominator })),
          drill: overall.figures.map((f) => ({ name: null, value: f.drill ?? null, previous: null, numerator: f.drill ?? null, denominator: f.drill ? `${f.drill}&part=denominator` : null })),
        }], charts: [] },
        { id: 'by-unit', titleZh: '分单位', paragraphsZh: [], tables: [groupTable('by-unit', '各承办单位办理情况', '承办单位', byUnit)], charts: [bar('by-unit-chart', '各单位受理量', byUnit)] },
        { id: 'by-category', titleZh: '分类别', paragraphsZh: [], tables: [groupTable('by-category', '各类别诉求情况（一级分类）', '分类', byCategory)], charts: [bar('by-category-chart', '各类别受理量', byCategory)] },
        { id: 'by-territory', titleZh: '分区域', paragraphsZh: [], tables: [groupTable('by-territory', '各区域诉求情况', '区域', byTerritory)], charts: [bar('by-territory-chart', '各区域受理量', byTerritory)] },
        { id: 'by-channel', titleZh: '分渠道', paragraphsZh: [], tables: [groupTable('by-channel', '各渠道受理情况', '渠道', byChannel), groupTable('by-type', '各类型受理情况', '类型', byType)], charts: [pie('by-channel-chart', '渠道构成', byChannel), pie('by-type-chart', '诉求类型构成', byType)] },
        { id: 'ranking', titleZh: '排名', paragraphsZh: [`考核办法：${ranking.schemeZh}；参与排名单位${ranking.rankedUnits}个。`], tables: [{
          id: 'ranking', titleZh: '承办单位排名',
          columns: [{ key: 'rank', labelZh: '名次', unit: 'count' }, { key: 'unitName', labelZh: '承办单位', unit: 'text' }, { key: 'score', labelZh: '得分', unit: 'score' }, ...(ranking.scheme === 'shouguang' ? [{ key: 'deduction', labelZh: '扣分', unit: 'score' as const }] : []), ...(ranking.scheme === 'zhucheng' ? [{ key: 'flag', labelZh: '连续后三位预警', unit: 'text' as const }] : [])],
          rows: ranking.rows.map((r) => ({ rank: r.rank, unitName: r.unitName, score: r.score, ...(ranking.scheme === 'shouguang' ? { deduction: r.deduction ?? null } : {}), ...(ranking.scheme === 'zhucheng' ? { flag: r.flagged ? '是（约谈）' : '' } : {}) })),
        }], charts: [] },
      ];
      sections.push(gridMattersSection(ctx, fig('gridMatters'), mattersByStreet));
      if (kind === 'monthly' || kind === 'yearly') sections.push(await topicsSection(ctx));
      return {
        kind, cityId: ctx.cityId, cityName, period: ctx.period, previousPeriod: ctx.previous, generatedAt: toChinaIso(clock.now()),
        titleZh: `${cityName}12345热线${ctx.period.label}${kind === 'daily' ? '日报告' : kind === 'weekly' ? '周梳理' : kind === 'monthly' ? '通报' : '年度报告'}`,
        summary, sections,
      };
    })();
  }

  /** 网格自办事项: the matters handled inside the grids (简单事网格办), in all and by town/street (镇街). */
  function gridMattersSection(ctx: Context, total: KpiFigure, byStreet: FiguresResult): ReportDocument['sections'][number] {
    const n = total.value ?? 0, before = total.previous ?? 0;
    const change = before ? ((n - before) / before) * 100 : null;
    const rows = byStreet.groups
      .map((g) => ({ name: g.name, f: g.figures.find((f) => f.kpi === 'gridMatters')! }))
      .filter((r) => (r.f.value ?? 0) > 0 || (r.f.previous ?? 0) > 0)
      .sort((a, b) => (b.f.value ?? 0) - (a.f.value ?? 0) || a.name.localeCompare(b.name));
    return {
      id: 'grid-matters', titleZh: '网格自办事项',
      paragraphsZh: [`${ctx.period.label}网格员在网格内自行办结事项（简单事网格办）${n}件${change == null ? '' : `，环比${change >= 0 ? '上升' : '下降'}${Math.abs(change).toFixed(1)}%`}；不形成工单，不计入受理总量。`],
      tables: [{
        id: 'grid-matters-by-street', titleZh: '各镇街网格自办事项',
        columns: [{ key: 'name', labelZh: '镇街', unit: 'text' }, { key: 'count', labelZh: '本期', unit: 'count' }, { key: 'previous', labelZh: '上期', unit: 'count' }],
        rows: [...rows.map((r) => ({ name: r.name, count: r.f.value, previous: r.f.previous })), { name: '合计', count: n, previous: before }],
        drill: [...rows.map((r) => ({ name: null, count: r.f.drill ?? null, previous: null })), { name: null, count: total.drill ?? null, previous: null }],
      }],
      charts: [],
    };
  }

  /** 本期热点: the most frequent leaf categories, and those rising most against the previous period. */
  async function topicsSection(ctx: Context): Promise<ReportDocument['sections'][number]> {
    const r = ctx;
    const f = { ...ctx.filter, measures: ['accepted'] as Measure[] };
    const [cur, prev] = await Promise.all([r.sums({ ...f, from: ctx.period.from, to: ctx.period.to }, 'category_id', today()), r.sums({ ...f, from: ctx.previous.from, to: ctx.previous.to }, 'category_id', today())]);
    const count = (sums: RollupSum[]) => { const m = new Map<string, number>(); for (const s of sums) if (s.group) m.set(s.group, (m.get(s.group) ?? 0) + s.n); return m; };
    const c = count(cur), p = count(prev);
    const names = new Map(ctx.categories.map((x) => [x.id, x.name]));
    const top = [...c].sort((a, b) => b[1] - a[1]).slice(0, 10);
    const rising = [...c].map(([id, n]) => ({ id, n, before: p.get(id) ?? 0, delta: n - (p.get(id) ?? 0) })).filter((x) => x.delta > 0).sort((a, b) => b.delta - a.delta).slice(0, 10);
    return {
      id: 'topics', titleZh: '本期热点', paragraphsZh: top.length ? [`本期诉求最集中的是「${top.slice(0, 3).map(([id]) => names.get(id) ?? id).join('」「')}」。`] : ['本期无诉求。'],
      tables: [
        { id: 'top-categories', titleZh: '热点分类（前十）', columns: [{ key: 'name', labelZh: '分类', unit: 'text' }, { key: 'count', labelZh: '受理量', unit: 'count' }, { key: 'previous', labelZh: '上期', unit: 'count' }], rows: top.map(([id, n]) => ({ name: names.get(id) ?? id, count: n, previous: p.get(id) ?? 0 })) },
        { id: 'rising-categories', titleZh: '上升最快的分类', columns: [{ key: 'name', labelZh: '分类', unit: 'text' }, { key: 'count', labelZh: '本期', unit: 'count' }, { key: 'previous', labelZh: '上期', unit: 'count' }, { key: 'delta', labelZh: '增加', unit: 'count' }], rows: rising.map((x) => ({ name: names.get(x.id) ?? x.id, count: x.n, previous: x.before, delta: x.delta })) },
      ],
      charts: [{ id: 'top-categories-chart', titleZh: '热点分类', option: { title: { text: '热点分类' }, tooltip: {}, yAxis: { type: 'category', data: top.map(([id]) => names.get(id) ?? id).reverse() }, xAxis: { type: 'value' }, series: [{ type: 'bar', data: top.map(([, n]) => n).reverse() }] } }],
    };
  }
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
function addMonths(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1)).toISOString().slice(0, 10);
}

export type ReportsService = ReturnType<typeof createReportsService>;
export { REPORT_KIND_ZH };
