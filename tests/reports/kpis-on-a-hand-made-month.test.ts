/**
 * Every KPI on a hand-made October 2025, built through the real services on a controlled clock
 * (SQLite or MariaDB per TEST_DATABASE), with the answers worked out by hand below. Then the same
 * month's rankings under the three schemes, the drill-down behind a number, and the report document.
 *
 * The month (all tickets accepted Thu 9 Oct 10:00; 城管局 = dept-cgj, 自来水 = util-water):
 *   T1 城管局: signed in time, replied, accepted, 满意 → closed 9 Oct.
 *   T2 城管局: signed at 13:00 (due 12:00: late), replied, accepted, 基本满意 → closed 9 Oct.
 *   T3 城管局: signed in time, replied, 不满意 → second handling (round 2) signed in time, replied, 满意 → closed 9 Oct.
 *   T4 城管局 returned it in time → 改派 to 自来水, which never signs nor replies (both deadlines pass).
 *   T5 即办 answered on the spot, closed by the center (no work order, no rating).
 *   T6 merged into T1 (a repeat call).
 *   T7 城管局: signed in time, replied on 14 Oct after the 13 Oct deadline, accepted and closed without a rating.
 *   T8 accepted and left there.
 * Figures read on 20 Oct.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';

let s: Scenario;
const T: Record<string, any> = {};
let cgj: string, water: string;

async function transition(user: string, id: string, body: Record<string, unknown>) {
  const t = await s.ok('dispatcher1', 'GET', `/tickets/${id}`);
  return s.ok(user, 'POST', `/tickets/${id}/transitions`, { version: t.version, ...body });
}
async function signAndReply(user: string, wo: any) {
  const a = await s.ok(user, 'POST', `/work-orders/${wo.id}/acknowledge`, { version: wo.version });
  await s.ok(user, 'POST', `/work-orders/${wo.id}/reply`, { version: a.version, result: '已处理' });
}
async function rate(ticketId: string, satisfaction: string) {
  const cb = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items.find((c: any) => c.ticketId === ticketId);
  await s.ok('agent1', 'POST', `/callbacks/${cb.id}/result`, { satisfaction });
}
const accept = (ticketId: string) => s.ok('dispatcher1', 'POST', `/tickets/${ticketId}/reply-review`, { decision: 'accept' });

beforeAll(async () => {
  s = await startScenario();
  cgj = await s.unitId('dept-cgj');
  water = await s.unitId('util-water');
  // 9 Oct 10:00
  const t1 = await s.dispatched('dept-cgj');
  T.t1 = t1.ticket;
  const t6 = await s.newTicket();
  T.t6 = t6;
  await transition('dispatcher1', t6.id, { action: 'merge', intoTicketId: t1.ticket.id, reason: '同一诉求' });
  await signAndReply('chengguan1', t1.lead);
  await accept(t1.ticket.id);
  await rate(t1.ticket.id, 'satisfied');

  const t2 = await s.dispatched('dept-cgj');
  T.t2 = t2.ticket;
  const t3 = await s.dispatched('dept-cgj');
  T.t3 = t3.ticket;
  await signAndReply('chengguan1', t3.lead);
  await accept(t3.ticket.id);
  await rate(t3.ticket.id, 'unsatisfied');
  const second = (await s.workOrdersOf(t3.ticket.id)).find((w: any) => w.round === 2);
  await signAndReply('chengguan1', second);
  await accept(t3.ticket.id);
  await rate(t3.ticket.id, 'satisfied');

  const t4 = await s.dispatched('dept-cgj');
  T.t4 = t4.ticket;
  const r = await s.ok('chengguan1', 'POST', `/work-orders/${t4.lead.id}/return`, { version: t4.lead.version, reason: '供水管道属自来水公司' });
  await s.ok('dispatcher1', 'POST', `/work-orders/${t4.lead.id}/return-ruling`, { version: r.version, decision: 'redispatch', handlingUnitId: water, reason: '改派自来水公司' });

  const t5 = await s.newTicket({ type: 'consultation' });
  T.t5 = t5;
  await transition('agent1', t5.id, { action: 'answer_on_spot', answer: '可通过政务服务网办理' });
  await transition('dispatcher1', t5.id, { action: 'close' });

  const t7 = await s.dispatched('dept-cgj');
  T.t7 = t7.ticket;
  const a7 = await s.ok('chengguan1', 'POST', `/work-orders/${t7.lead.id}/acknowledge`, { version: t7.lead.version });
  T.t8 = await s.newTicket();

  // 9 Oct 13:00: T2 signed an hour late.
  s.clock.set(new Date('2025-10-09T05:00:00Z'));
  await signAndReply('chengguan1', (await s.workOrdersOf(t2.ticket.id))[0]);
  await accept(t2.ticket.id);
  await rate(t2.ticket.id, 'basically_satisfied');

  // 14 Oct 10:00: T7's reply, a day after its deadline; closed without a callback rating.
  s.clock.set(new Date('2025-10-14T02:00:00Z'));
  await s.ok('chengguan1', 'POST', `/work-orders/${t7.lead.id}/reply`, { version: a7.version, result: '已处理' });
  await accept(t7.ticket.id);
  await transition('dispatcher1', t7.ticket.id, { action: 'close' });

  s.clock.set(new Date('2025-10-20T02:00:00Z'));
}, 120_000);
afterAll(async () => s?.t.close());

const byKey = (figures: any[]) => Object.fromEntries(figures.map((f: any) => [f.kpi, { value: f.value, numerator: f.numerator, denominator: f.denominator }]));

describe('every KPI of the month', () => {
  it('matches the answers worked out by hand', async () => {
    const r = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-01');
    expect(r.period).toEqual({ from: '2025-10-01', to: '2025-11-01', label: '2025年10月' });
    expect(r.previousPeriod).toMatchObject({ from: '2025-09-01', to: '2025-10-01' });
    expect(byKey(r.figures)).toEqual({
      accepted: { value: 8, numerator: 8, denominator: 0 },
      // 7 work orders due to sign (T1, T2, T3 ×2, T4 城管局, T4 自来水, T7); in time: T1, T3 ×2, T4's return, T7.
      ackOnTimeRate: { value: 0.7143, numerator: 5, denominator: 7 },
      // Closed after dispatch: T1, T2, T3, T7; T7 replied late.
      onTimeCompletionRate: { value: 0.75, numerator: 3, denominator: 4 },
      // T3 needed a second handling.
      firstTimeFixRate: { value: 0.75, numerator: 3, denominator: 4 },
      // Ratings: 满意 T1 and T3's second round, 基本满意 T2, 不满意 T3's first round (default weights 1, 1, 0).
      satisfactionRate: { value: 0.75, numerator: 3, denominator: 4 },
      // 即办 T5 of 7 valid (T6 merged).
      onSpotRate: { value: 0.1429, numerator: 1, denominator: 7 },
      // Closed: T1, T2, T3, T5, T7 of 7 valid.
      completionRate: { value: 0.7143, numerator: 5, denominator: 7 },
      // Rated: T1, T2, T3 of 5 closed.
      revisitRate: { value: 0.6, numerator: 3, denominator: 5 },
      // 7 work orders sent, 1 returned (T4 by 城管局).
      returnRate: { value: 0.1429, numerator: 1, denominator: 7 },
      // T6 of 8 accepted.
      repeatCallRate: { value: 0.125, numerator: 1, denominator: 8 },
      // T7 replied late; 自来水's T4 never replied (due 10 Oct).
      overdueCount: { value: 2, numerator: 2, denominator: 0 },
      overdueOpenCount: { value: 1, numerator: 1, denominator: 0 },
      // No grid recorded a matter of its own (网格自办事项) this month.
      gridMatters: { value: 0, numerator: 0, denominator: 0 },
    });
    // September had nothing: no previous rate, a previous count of 0.
    expect(r.figures.find((f: any) => f.kpi === 'accepted').previous).toBe(0);
    expect(r.figures.find((f: any) => f.kpi === 'ackOnTimeRate').previous).toBeNull();
    expect(r.calls).toMatchObject({ available: false, noteZh: '无话务记录', abandonRate: null });
  });

  it('by unit: a return counts against the unit that returned, the ticket against the unit that handles it', async () => {
    const r = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-01&groupBy=unit');
    const g = Object.fromEntries(r.groups.map((x: any) => [x.key, byKey(x.figures)]));
    expect(g[cgj]).toMatchObject({
      accepted: { value: 4 }, // T1, T2, T3, T7 (T6 was merged before dispatch: no unit)
      ackOnTimeRate: { numerator: 5, denominator: 6 },
      returnRate: { numerator: 1, denominator: 6 },
      onTimeCompletionRate: { numerator: 3, denominator: 4 },
      overdueCount: { value: 1 },
    });
    expect(g[water]).toMatchObject({ accepted: { value: 1 }, ackOnTimeRate: { numerator: 0, denominator: 1 }, returnRate: { numerator: 0, denominator: 1 }, overdueOpenCount: { value: 1 } });
    // The tickets never dispatched (T5, T6, T8) are the center's.
    expect(g['']).toMatchObject({ accepted: { value: 3 }, onSpotRate: { numerator: 1, denominator: 2 } });
  });

  it('by channel and type: the totals of the month split', async () => {
    const byType = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-01&groupBy=type');
    expect(Object.fromEntries(byType.groups.map((x: any) => [x.key, x.figures[0].value]))).toEqual({ complaint: 7, consultation: 1 });
    const byChannel = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-01&groupBy=channel');
    expect(byChannel.groups.map((x: any) => [x.key, x.name, x.figures[0].value])).toEqual([['phone', expect.any(String), 8]]);
  });

  it('a day and a week read the same counters by their own days', async () => {
    const day = await s.ok('supervisor1', 'GET', '/reports/figures?period=day&from=2025-10-14');
    // 14 Oct: T7 closed (by close date); nothing accepted.
    expect(byKey(day.figures)).toMatchObject({ accepted: { value: 0 }, onTimeCompletionRate: { numerator: 0, denominator: 1 }, revisitRate: { numerator: 0, denominator: 1 } });
    const week = await s.ok('supervisor1', 'GET', '/reports/figures?period=week&from=2025-10-09');
    expect(week.period).toMatchObject({ from: '2025-10-06', to: '2025-10-13' });
    expect(byKey(week.figures).accepted.value).toBe(8);
  });
});

describe('the rankings of the month', () => {
  async function withScheme(ranking: Record<string, unknown>) {
    const db = s.t.ctx.database.db;
    const row = await db.selectFrom('cities').select('settings').where('id', '=', 'demo').executeTakeFirstOrThrow();
    await db.updateTable('cities').set({ settings: JSON.stringify({ ...JSON.parse(row.settings), reports: { ranking } }) }).where('id', '=', 'demo').execute();
    s.t.ctx.directory.forgetCached();
  }

  it('weighted (default): 城管局 (5/6, 3/4, 3/4, 3/4 → 77.08) above 自来水 (0/1 → 0)', async () => {
    await withScheme({ scheme: 'weighted' });
    const r = await s.ok('supervisor1', 'GET', '/reports/rankings?period=month&from=2025-10-01');
    expect(r.rows.map((x: any) => [x.unitId, x.score, x.rank])).toEqual([[cgj, 77.08, 1], [water, 0, 2]]);
  });

  it('寿光: 城管局 loses 2 for a slow response, 1 for a 一般 and 3 for a 差 outcome; 自来水 5 for not responding', async () => {
    await withScheme({ scheme: 'shouguang' });
    const r = await s.ok('supervisor1', 'GET', '/reports/rankings?period=month&from=2025-10-01');
    expect(r.rows.map((x: any) => [x.unitId, x.deduction, x.score, x.rank])).toEqual([[water, 5, 295, 1], [cgj, 6, 294, 2]]);
  });

  it('诸城: both units are in the bottom 3 this month, but not in September: nobody flagged', async () => {
    await withScheme({ scheme: 'zhucheng' });
    const r = await s.ok('supervisor1', 'GET', '/reports/rankings?period=month&from=2025-10-01');
    expect(r.rows.map((x: any) => [x.unitId, x.bottomMonths, x.flagged])).toEqual([[cgj, ['2025-10'], false], [water, ['2025-10'], false]]);
    await withScheme({ scheme: 'weighted' });
  });

  it('a unit sees its own row and rank, not the others\'', async () => {
    const r = await s.ok('water1', 'GET', '/reports/rankings?period=month&from=2025-10-01');
    expect(r.rows.map((x: any) => [x.unitId, x.rank])).toEqual([[water, 2]]);
    expect(r.rankedUnits).toBe(2);
  });
});

describe('drill-down', () => {
  it('lists the tickets behind a number, with the unit scope and masking of the ticket list', async () => {
    const late = await s.ok('supervisor1', 'GET', '/reports/drill?kpi=onTimeCompletionRate&part=denominator&from=2025-10-01&to=2025-10-31');
    expect(late.total).toBe(4);
    expect(late.items.map((t: any) => t.id).sort()).toEqual([T.t1.id, T.t2.id, T.t3.id, T.t7.id].sort());
    expect(late.items[0].callerPhone).toBe('13912345678');
    const repeat = await s.ok('supervisor1', 'GET', '/reports/drill?kpi=repeatCallRate&from=2025-10-01&to=2025-10-31');
    expect(repeat.items.map((t: any) => t.id)).toEqual([T.t6.id]);
    // 城管局 drills into its own figures; the phone is masked outside the center.
    const own = await s.ok('chengguan1', 'GET', '/reports/drill?kpi=onTimeCompletionRate&part=denominator&from=2025-10-01&to=2025-10-31');
    expect(own.items.map((t: any) => t.id).sort()).toEqual([T.t1.id, T.t2.id, T.t3.id, T.t7.id].sort());
    expect(own.items.map((t: any) => t.callerPhone)).toEqual(['139****5678', '139****5678', '139****5678', '139****5678']);
    // Its return of T4 counts against it, but the ticket went to 自来水 by 改派 and is no longer its to read:
    // counted, not shown (intake's scope decides).
    const returned = await s.ok('chengguan1', 'GET', '/reports/drill?kpi=returnRate&from=2025-10-01&to=2025-10-31');
    expect({ total: returned.total, items: returned.items.length, hidden: returned.hidden }).toEqual({ total: 1, items: 0, hidden: 1 });
  });

  it('every figure carries the query of its drill-down', async () => {
    const r = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-01');
    const f = r.figures.find((x: any) => x.kpi === 'overdueOpenCount');
    const d = await s.ok('supervisor1', 'GET', f.drill.replace('/api/v1', ''));
    expect(d.items.map((t: any) => t.id)).toEqual([T.t4.id]);
  });
});

describe('the monthly bulletin as a document', () => {
  it('has the sections, the headline figures, ranking and the month\'s topics', async () => {
    const doc = await s.t.ctx.reports.buildReportDocument('monthly', '2025-10-15', 'demo');
    expect(doc).toMatchObject({ kind: 'monthly', cityId: 'demo', period: { from: '2025-10-01', to: '2025-11-01' }, previousPeriod: { from: '2025-09-01' } });
    expect(doc.titleZh).toContain('2025年10月');
    expect(doc.sections.map((x) => x.titleZh)).toEqual(['总体情况', '分单位', '分类别', '分区域', '分渠道', '排名', '网格自办事项', '本期热点']);
    expect(doc.summary.find((f) => f.kpi === 'accepted')?.value).toBe(8);
    expect(doc.sections[0].paragraphsZh[0]).toContain('共受理群众诉求8件');
    const ranking = doc.sections.find((x) => x.id === 'ranking')!.tables[0];
    expect(ranking.rows.map((r) => r.rank)).toEqual([1, 2]);
    const top = doc.sections.find((x) => x.id === 'topics')!.tables[0];
    expect(top.rows[0]).toMatchObject({ count: 8, previous: 0 });
    expect(doc.sections.find((x) => x.id === 'by-unit')!.charts[0].option).toHaveProperty('series');
    const daily = await s.t.ctx.reports.buildReportDocument('daily', '2025-10-09', 'demo');
    expect(daily.titleZh).toContain('日报告');
    expect(daily.sections.map((x) => x.id)).not.toContain('topics');
  });
});
