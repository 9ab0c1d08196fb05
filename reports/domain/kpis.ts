/**
 * The KPIs (考核指标) as data and code, in one place: what each ticket counts for (its measures,
 * 计数项), and how each KPI is computed from those counts. The same definitions drive the rollups,
 * the figures service, the drill-down and docs/kpis.md (`kpiDocTable`), so the documentation cannot
 * drift from the code.
 *
 * Every measure is an integer count on a calendar day in China (the period rule says which day);
 * a rate is a ratio of sums of measures over the days of a period. Time passing alone changes
 * nothing in the counters (no event): what depends on "now" (a deadline not yet reached) is
 * resolved when the figures are read (see `pendingNotYetDue`).
 */
import { chinaDate } from '../../core';

/** The counters each ticket contributes to (计数项). */
export const Measure = {
  accepted: 'accepted', // 受理量
  valid: 'valid', // 有效受理 (not merged, not cancelled)
  onSpot: 'on_spot', // 即办
  doneByAccept: 'done_by_accept', // accepted in the period and closed since
  repeat: 'repeat', // 重复来电 (merged into an earlier ticket)
  closed: 'closed', // 办结
  closedDispatched: 'closed_dispatched', // 办结 of a dispatched ticket
  closedOnTime: 'closed_on_time', // 按期办结
  closedFirstTime: 'closed_first_time', // 一次性完工
  revisited: 'revisited', // 已回访 (rated)
  satSatisfied: 'sat_satisfied', // 满意
  satBasic: 'sat_basic', // 基本满意
  satUnsatisfied: 'sat_unsatisfied', // 不满意
  woDispatched: 'wo_dispatched', // 派出工单
  woReturned: 'wo_returned', // 退回
  ackDue: 'ack_due', // 签收时限到期
  ackInTime: 'ack_in_time', // 及时签收
  ackPending: 'ack_pending', // 未签收 (not yet, still open)
  replyDue: 'reply_due', // 办理时限到期
  replyLate: 'reply_late', // 超期反馈
  replyPending: 'reply_pending', // 未反馈 (still open)
  gridMatter: 'grid_matter', // 网格自办事项 (简单事网格办: handled by grid staff, no ticket)
} as const;
export type Measure = (typeof Measure)[keyof typeof Measure];
export const MEASURES: readonly Measure[] = Object.values(Measure);

/** Which day a measure is counted on (期间口径). */
export const PeriodRule = { acceptance: 'acceptance', dispatch: 'dispatch', deadline: 'deadline', close: 'close', rating: 'rating', handled: 'handled' } as const;
export type PeriodRule = (typeof PeriodRule)[keyof typeof PeriodRule];
export const PERIOD_RULE_ZH: Record<PeriodRule, string> = { acceptance: '按受理日期', dispatch: '按派单日期', deadline: '按时限到期日期', close: '按办结日期', rating: '按评价日期', handled: '按网格处理日期' };

/** A work order as the reports see it (the lead 主办 or a co-handler 协办, any round). */
export interface WorkOrderFacts {
  unitId: string;
  role: string; // lead | co
  status: string;
  dispatchedAt: Date;
  acknowledgeDue: Date | null;
  acknowledgedAt: Date | null;
  returnedAt: Date | null;
  replyDue: Date | null;
  repliedAt: Date | null;
}

/** A ticket with its work orders: everything its measures are computed from. */
export interface TicketFacts {
  id: string;
  cityId: string;
  status: string;
  channel: string;
  type: string;
  categoryId: string | null;
  /** The category's path of ids ('/l1/l2/l3/l4/'), for the top-level counters. */
  categoryPath: string | null;
  territoryId: string | null;
  /** The territory's path of ids ('/district/street/community/grid/'). */
  territoryPath: string | null;
  handlingUnitId: string | null;
  createdAt: Date;
  closedAt: Date | null;
  answeredOnSpot: boolean;
  round: number;
  satisfaction: string | null;
  mergedIntoId: string | null;
  workOrders: WorkOrderFacts[];
  /** The citizen's ratings (回访评价), one per round answered: an unsatisfied one sent the ticket round again. */
  ratings: { satisfaction: string; at: Date }[];
}

/**
 * A matter grid staff handled inside the grid (网格自办事项, 简单事网格办): no ticket, no unit; it counts
 * once, on the day it was handled, in its grid and category.
 */
export interface GridMatterFacts {
  id: string;
  cityId: string;
  territoryId: string;
  /** The grid's path of ids ('/district/street/community/grid/'). */
  territoryPath: string;
  categoryId: string | null;
  categoryPath: string | null;
  handledAt: Date;
}

/**
 * One row of `report_facts`: a count of a measure on a day for a unit, in the ticket's dimensions.
 * A grid matter's row has the matter's id in `ticketId` (ids are unique across the product) and
 * counts only `grid_matter`.
 */
export interface Contribution {
  ticketId: string;
  cityId: string;
  measure: Measure;
  day: string;
  unitId: string;
  categoryId: string;
  territoryId: string;
  /** The top-level category (一级分类) and territory (区/县) above them ('' for none). */
  categoryTop: string;
  territoryTop: string;
  channel: string;
  type: string;
  n: number;
}

const topOf = (path: string | null, id: string | null) => (path ? path.split('/').filter(Boolean)[0] : null) ?? id ?? '';

/** What a grid matter counts for: `grid_matter` on its day, no unit, channel or type ('' = none). */
export function matterContributionsOf(m: GridMatterFacts): Contribution[] {
  return [{
    ticketId: m.id, cityId: m.cityId, measure: Measure.gridMatter, day: chinaDate(m.handledAt), unitId: '', categoryId: m.categoryId ?? '', territoryId: m.territoryId,
    categoryTop: topOf(m.categoryPath, m.categoryId), territoryTop: topOf(m.territoryPath, m.territoryId), channel: '', type: '', n: 1,
  }];
}

const OPEN_WORK_ORDER = new Set(['dispatched', 'acknowledged', 'extension_requested', 'returned']);
/** Work orders that never counted: withdrawn with the ticket (merged, cancelled). */
const VOID_WORK_ORDER = new Set(['cancelled']);

/**
 * What a ticket counts for, now. Ticket measures go to the handling unit (承办单位, '' before
 * dispatch); work-order measures to the work order's unit, so a return counts against the unit that
 * returned, not the one that finally handled it.
 */
export function contributionsOf(t: TicketFacts): Contribution[] {
  const out = new Map<string, Contribution>();
  const top = (path: string | null, id: string | null) => (path ? path.split('/').filter(Boolean)[0] : null) ?? id ?? '';
  const categoryTop = top(t.categoryPath, t.categoryId), territoryTop = top(t.territoryPath, t.territoryId);
  const add = (measure: Measure, at: Date | null, unitId: string | null) => {
    if (!at) return;
    const day = chinaDate(at);
    const unit = unitId ?? '';
    const key = `${measure}|${day}|${unit}`;
    const c = out.get(key);
    if (c) c.n += 1;
    else {
      out.set(key, {
        ticketId: t.id, cityId: t.cityId, measure, day, unitId: unit, categoryId: t.categoryId ?? '', territoryId: t.territoryId ?? '',
        categoryTop, territoryTop, channel: t.channel, type: t.type, n: 1,
      });
    }
  };
  const unit = t.handlingUnitId;
  const isVoid = t.status === 'merged' || t.status === 'cancelled';
  add(Measure.accepted, t.createdAt, unit);
  if (t.mergedIntoId || t.status === 'merged') add(Measure.repeat, t.createdAt, unit);
  if (!isVoid) {
    add(Measure.valid, t.createdAt, unit);
    if (t.answeredOnSpot) add(Measure.onSpot, t.createdAt, unit);
  }
  const closed = t.status === 'closed' && t.closedAt ? t.closedAt : null;
  if (closed) {
    add(Measure.doneByAccept, t.createdAt, unit);
    add(Measure.closed, closed, unit);
    if (t.satisfaction) add(Measure.revisited, closed, unit);
    const leads = t.workOrders.filter((w) => w.role === 'lead' && w.status === 'completed');
    if (leads.length) {
      add(Measure.closedDispatched, closed, unit);
      // 按期: every round's reply came by its deadline (as extended, 延期 granted).
      if (leads.every((w) => w.repliedAt && (!w.replyDue || w.repliedAt.getTime() <= w.replyDue.getTime()))) add(Measure.closedOnTime, closed, unit);
      // 一次性完工: no second handling (二次办理) after an unsatisfied rating.
      if (t.round <= 1) add(Measure.closedFirstTime, closed, unit);
    }
  }
  // Every rating counts on its day: 不满意 sends the ticket to second handling, so the final rating
  // alone would never be 不满意.
  for (const r of t.ratings) {
    if (r.satisfaction === 'satisfied') add(Measure.satSatisfied, r.at, unit);
    if (r.satisfaction === 'basically_satisfied') add(Measure.satBasic, r.at, unit);
    if (r.satisfaction === 'unsatisfied') add(Measure.satUnsatisfied, r.at, unit);
  }
  for (const w of t.workOrders) {
    if (VOID_WORK_ORDER.has(w.status)) continue;
    add(Measure.woDispatched, w.dispatchedAt, w.unitId);
    if (w.returnedAt) add(Measure.woReturned, w.dispatchedAt, w.unitId);
    if (w.acknowledgeDue) {
      add(Measure.ackDue, w.acknowledgeDue, w.unitId);
      // A return within the window is an answer in time too: the unit reacted (it says it is not its own).
      const reacted = [w.acknowledgedAt, w.returnedAt].filter((d): d is Date => !!d).sort((a, b) => a.getTime() - b.getTime())[0];
      if (reacted && reacted.getTime() <= w.acknowledgeDue.getTime()) add(Measure.ackInTime, w.acknowledgeDue, w.unitId);
      if (!reacted && OPEN_WORK_ORDER.has(w.status)) add(Measure.ackPending, w.acknowledgeDue, w.unitId);
    }
    if (w.role === 'lead' && w.replyDue && w.status !== 'reassigned') {
      add(Measure.replyDue, w.replyDue, w.unitId);
      if (w.repliedAt && w.repliedAt.getTime() > w.replyDue.getTime()) add(Measure.replyLate, w.replyDue, w.unitId);
      if (!w.repliedAt && OPEN_WORK_ORDER.has(w.status)) add(Measure.replyPending, w.replyDue, w.unitId);
    }
  }
  return [...out.values()];
}

/** Sums of measures over a period (and a group), plus what depends on today. */
export interface MeasureTotals {
  /** Σ n per measure over the whole period. */
  total: Partial<Record<Measure, number>>;
  /** Σ n per measure over the period's days before today (deadlines already passed). */
  beforeToday: Partial<Record<Measure, number>>;
}

/** Weights of the three ratings in 群众满意率 (a city setting; default 满意 = 基本满意 = 1, 不满意 = 0). */
export interface SatisfactionWeights {
  satisfied: number;
  basicallySatisfied: number;
  unsatisfied: number;
}
export const DEFAULT_SATISFACTION_WEIGHTS: SatisfactionWeights = { satisfied: 1, basicallySatisfied: 1, unsatisfied: 0 };

export interface KpiValue {
  value: number | null;
  numerator: number;
  denominator: number;
}

/** A KPI: its documented definition and its computation, side by side. */
export interface KpiDefinition {
  key: string;
  labelZh: string;
  unit: 'rate' | 'count';
  formulaZh: string;
  numeratorZh: string;
  denominatorZh: string;
  periodRule: PeriodRule;
  notesZh: string;
  /** The measures the drill-down lists for the numerator and the denominator (tickets with such a fact). */
  drill: { numerator: Measure[]; denominator: Measure[] };
  compute(m: MeasureTotals, w: SatisfactionWeights): KpiValue;
}

const sum = (m: Partial<Record<Measure, number>>, ...keys: Measure[]) => keys.reduce((s, k) => s + (m[k] ?? 0), 0);
const rate = (numerator: number, denominator: number): KpiValue => ({ value: denominator > 0 ? numerator / denominator : null, numerator, denominator });
const count = (n: number): KpiValue => ({ value: n, numerator: n, denominator: 0 });

export const KPIS: readonly KpiDefinition[] = [
  {
    key: 'accepted', labelZh: '受理总量', unit: 'count', periodRule: 'acceptance',
    formulaZh: '受理工单数', numeratorZh: '期间内受理的工单（含合并、撤销）', denominatorZh: '—',
    notesZh: '按渠道、类型分组即为各渠道、各类型受理量。', drill: { numerator: [Measure.accepted], denominator: [] },
    compute: (m) => count(sum(m.total, Measure.accepted)),
  },
  {
    key: 'ackOnTimeRate', labelZh: '及时签收率', unit: 'rate', periodRule: 'deadline',
    formulaZh: '及时签收工单数 ÷ 签收时限已到的工单数', numeratorZh: '签收时限到期日在期间内、在时限前签收或退回的工单（主办、协办）',
    denominatorZh: '签收时限到期日在期间内的工单，减去今天及以后到期且尚未签收的（未到时限，尚无结论）',
    notesZh: '在时限内退回也算及时响应；撤销的工单不计。按工单的承办单位计。', drill: { numerator: [Measure.ackInTime], denominator: [Measure.ackDue] },
    compute: (m) => rate(sum(m.total, Measure.ackInTime), sum(m.total, Measure.ackDue) - pendingNotYetDue(m, Measure.ackPending)),
  },
  {
    key: 'onTimeCompletionRate', labelZh: '按期办结率', unit: 'rate', periodRule: 'close',
    formulaZh: '按期办结数 ÷ 派单后办结数', numeratorZh: '期间内办结、每一轮主办工单都在办理时限（含批准的延期）内反馈的工单',
    denominatorZh: '期间内办结且派过单的工单', notesZh: '即办件不计；二次办理的每一轮都须按期。', drill: { numerator: [Measure.closedOnTime], denominator: [Measure.closedDispatched] },
    compute: (m) => rate(sum(m.total, Measure.closedOnTime), sum(m.total, Measure.closedDispatched)),
  },
  {
    key: 'firstTimeFixRate', labelZh: '一次性完工率', unit: 'rate', periodRule: 'close',
    formulaZh: '一次办结数 ÷ 派单后办结数', numeratorZh: '期间内办结、未经二次办理（重办）的派单工单', denominatorZh: '期间内办结且派过单的工单',
    notesZh: '不满意转二次办理即不计入分子。', drill: { numerator: [Measure.closedFirstTime], denominator: [Measure.closedDispatched] },
    compute: (m) => rate(sum(m.total, Measure.closedFirstTime), sum(m.total, Measure.closedDispatched)),
  },
  {
    key: 'satisfactionRate', labelZh: '群众满意率', unit: 'rate', periodRule: 'rating',
    formulaZh: '(满意×权重 + 基本满意×权重 + 不满意×权重) ÷ 评价数', numeratorZh: '期间内的回访评价，按城市设置的权重加权（默认 1、1、0）',
    denominatorZh: '期间内的回访评价数', notesZh: '权重为城市设置 reports.satisfactionWeights；每一轮评价都计（不满意转二次办理，最终评价不会是不满意）；计入工单的承办单位。',
    drill: { numerator: [Measure.satSatisfied, Measure.satBasic], denominator: [Measure.satSatisfied, Measure.satBasic, Measure.satUnsatisfied] },
    compute: (m, w) => {
      const s = sum(m.total, Measure.satSatisfied), b = sum(m.total, Measure.satBasic), u = sum(m.total, Measure.satUnsatisfied);
      return rate(s * w.satisfied + b * w.basicallySatisfied + u * w.unsatisfied, s + b + u);
    },
  },
  {
    key: 'onSpotRate', labelZh: '即办率', unit: 'rate', periodRule: 'acceptance',
    formulaZh: '即办件数 ÷ 有效受理数', numeratorZh: '期间内受理、当场答复办结（即办）的工单', denominatorZh: '期间内受理、未合并未撤销的工单',
    notesZh: '', drill: { numerator: [Measure.onSpot], denominator: [Measure.valid] },
    compute: (m) => rate(sum(m.total, Measure.onSpot), sum(m.total, Measure.valid)),
  },
  {
    key: 'completionRate', labelZh: '办结率', unit: 'rate', periodRule: 'acceptance',
    formulaZh: '已办结数 ÷ 有效受理数', numeratorZh: '期间内受理、现已办结的工单', denominatorZh: '期间内受理、未合并未撤销的工单',
    notesZh: '随办理进展上升：同一期间越晚查看越高。', drill: { numerator: [Measure.doneByAccept], denominator: [Measure.valid] },
    compute: (m) => rate(sum(m.total, Measure.doneByAccept), sum(m.total, Measure.valid)),
  },
  {
    key: 'revisitRate', labelZh: '回访率', unit: 'rate', periodRule: 'close',
    formulaZh: '有评价的办结数 ÷ 办结数', numeratorZh: '期间内办结且回访得到评价的工单', denominatorZh: '期间内办结的工单',
    notesZh: '回访未接通办结的不计入分子。', drill: { numerator: [Measure.revisited], denominator: [Measure.closed] },
    compute: (m) => rate(sum(m.total, Measure.revisited), sum(m.total, Measure.closed)),
  },
  {
    key: 'returnRate', labelZh: '退回率', unit: 'rate', periodRule: 'dispatch',
    formulaZh: '被退回的工单数 ÷ 派出工单数', numeratorZh: '期间内派出、后被承办单位退回的工单', denominatorZh: '期间内派出的工单（主办、协办，撤销的不计）',
    notesZh: '按退回的单位计，而不是最终承办的单位。', drill: { numerator: [Measure.woReturned], denominator: [Measure.woDispatched] },
    compute: (m) => rate(sum(m.total, Measure.woReturned), sum(m.total, Measure.woDispatched)),
  },
  {
    key: 'repeatCallRate', labelZh: '重复来电率', unit: 'rate', periodRule: 'acceptance',
    formulaZh: '重复件数 ÷ 受理总量', numeratorZh: '期间内受理、被合并到已有工单的工单（重复诉求）', denominatorZh: '期间内受理的工单',
    notesZh: '', drill: { numerator: [Measure.repeat], denominator: [Measure.accepted] },
    compute: (m) => rate(sum(m.total, Measure.repeat), sum(m.total, Measure.accepted)),
  },
  {
    key: 'overdueCount', labelZh: '超期件', unit: 'count', periodRule: 'deadline',
    formulaZh: '超期反馈数 + 超期未反馈数', numeratorZh: '办理时限到期日在期间内、晚于时限反馈的主办工单，加上到期日在今天以前仍未反馈的',
    denominatorZh: '—', notesZh: '今天到期、尚未反馈的明天起计入；当下的超期状态看工单队列。', drill: { numerator: [Measure.replyLate, Measure.replyPending], denominator: [] },
    compute: (m) => count(sum(m.total, Measure.replyLate) + sum(m.beforeToday, Measure.replyPending)),
  },
  {
    key: 'overdueOpenCount', labelZh: '超期未办结', unit: 'count', periodRule: 'deadline',
    formulaZh: '超期未反馈数', numeratorZh: '办理时限到期日在期间内且在今天以前、至今未反馈的主办工单', denominatorZh: '—',
    notesZh: '', drill: { numerator: [Measure.replyPending], denominator: [] },
    compute: (m) => count(sum(m.beforeToday, Measure.replyPending)),
  },
  {
    key: 'gridMatters', labelZh: '网格自办事项', unit: 'count', periodRule: 'handled',
    formulaZh: '网格自办事项数', numeratorZh: '期间内网格员、网格长登记的在网格内自行办结的事项（简单事网格办，不形成工单）', denominatorZh: '—',
    notesZh: '按事项的处理日期、所在网格（及其上级社区、镇街、区县）和分类计；不属于任何承办单位，故承办单位看不到，按单位、渠道、类型分组时不列；不计入受理总量等工单指标。',
    drill: { numerator: [Measure.gridMatter], denominator: [] },
    compute: (m) => count(sum(m.total, Measure.gridMatter)),
  },
];

export const KPI_BY_KEY: ReadonlyMap<string, KpiDefinition> = new Map(KPIS.map((k) => [k.key, k]));

/** The pending ones whose deadline is today or later: no verdict yet, out of the denominator. */
function pendingNotYetDue(m: MeasureTotals, pending: Measure): number {
  return sum(m.total, pending) - sum(m.beforeToday, pending);
}

/** Contact-center figures (话务指标) come from call records, not tickets (the telephony part's port). */
export const CALL_KPIS = [
  { key: 'answeredWithin15sRate', labelZh: '15秒接通率', unit: 'rate' as const, formulaZh: '15秒内接通的来电 ÷ 来电总数', periodRule: '按来电日期', notesZh: '来自话务记录（CallMetricsSource）；没有话务记录时为空，注明“无话务记录”。' },
  { key: 'abandonRate', labelZh: '呼损率', unit: 'rate' as const, formulaZh: '放弃的来电 ÷ 来电总数', periodRule: '按来电日期', notesZh: '同上。' },
  { key: 'averageSpeedOfAnswer', labelZh: '平均应答时长', unit: 'seconds' as const, formulaZh: '接通来电的等待秒数之和 ÷ 接通的来电数', periodRule: '按来电日期', notesZh: '同上。' },
];

/** docs/kpis.md's table, from the definitions above (`hotline reports kpis` prints it; a test checks the file holds it). */
export function kpiDocTable(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '| key | 中文名 | formula 公式 | numerator 分子 | denominator 分母 | period rule 期间口径 | notes 说明 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...KPIS.map((k) => `| \`${k.key}\` | ${k.labelZh} | ${esc(k.formulaZh)} | ${esc(k.numeratorZh)} | ${esc(k.denominatorZh)} | ${k.periodRule} (${PERIOD_RULE_ZH[k.periodRule]}) | ${esc(k.notesZh || '—')} |`),
    ...CALL_KPIS.map((k) => `| \`${k.key}\` | ${k.labelZh} | ${esc(k.formulaZh)} | — | — | ${k.periodRule} | ${esc(k.notesZh)} |`),
  ];
  return lines.join('\n') + '\n';
}
