/**
 * The rollups kept inside the ticket and work-order transactions equal a full scan of the tickets
 * after random sequences of the closed loop — returns and 改派, extensions granted and refused,
 * rework, unsatisfied ratings and second handling, merges, 即办, co-handlers, cancellations — on a
 * clock that moves on by random hours, with grid matters (网格自办事项) recorded among them. Then
 * `hotline reports rebuild` finds a damaged counter, repairs it, and proves the result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';
import { reportsRebuildCommand } from '../../app/reports';
import { seededRandom } from '../../core';
import { MEASURES, splitByMonths } from '../../reports';
import { ReportsRepository, type GroupColumn } from '../../reports/reports.repository';

let s: Scenario;
beforeAll(async () => {
  s = await startScenario();
}, 60_000);
afterAll(async () => s?.t.close());

const USER_OF: Record<string, string> = { 'dept-cgj': 'chengguan1', 'util-water': 'water1', 'util-power': 'power1' };

async function randomLife(rand: () => number, earlier: string[]) {
  const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const later = async (maxHours: number) => {
    s.clock.set(new Date(s.clock.now().getTime() + Math.floor(rand() * maxHours * 3_600_000)));
    await s.t.ctx.workOrders.sweep();
  };
  const ticketOf = (id: string) => s.ok('dispatcher1', 'GET', `/tickets/${id}`);
  const roll = rand();
  if (roll < 0.1) {
    const t = await s.newTicket({ type: 'consultation' });
    await s.ok('agent1', 'POST', `/tickets/${t.id}/transitions`, { version: t.version, action: 'answer_on_spot', answer: '已当场答复' });
    if (rand() < 0.7) await s.ok('dispatcher1', 'POST', `/tickets/${t.id}/transitions`, { version: (await ticketOf(t.id)).version, action: 'close' });
    return t.id;
  }
  if (roll < 0.2) {
    // A repeat of an open ticket (one registered now, or an earlier one if it is still open).
    const into = rand() < 0.5 && earlier.length ? pick(earlier) : (await s.newTicket()).id;
    const t = await s.newTicket();
    const r = await s.api('agent1', 'POST', `/tickets/${t.id}/transitions`, { version: t.version, action: 'merge', intoTicketId: into, reason: '重复' });
    if (r.status >= 300) await s.ok('dispatcher1', 'POST', `/tickets/${t.id}/transitions`, { version: t.version, action: 'cancel', reason: '重复诉求' });
    return t.id;
  }
  if (roll < 0.25) return (await s.newTicket()).id;
  const unit = pick(['dept-cgj', 'util-water']);
  const { ticket } = await s.dispatched(unit, { coUnitCodes: rand() < 0.2 ? ['util-power'] : [] });
  // Some units never answer (不响应).
  if (rand() < 0.15) return ticket.id;
  for (let step = 0; step < 14; step++) {
    await later(rand() < 0.25 ? 96 : 12);
    const tk = await ticketOf(ticket.id);
    const wos = await s.workOrdersOf(ticket.id);
    const open = wos.filter((w: any) => ['dispatched', 'acknowledged', 'extension_requested', 'returned', 'replied'].includes(w.status));
    const lead = open.find((w: any) => w.role === 'lead');
    const user = (w: any) => USER_OF[unitCodeOf.get(w.unitId) ?? ''];
    const r = rand();
    if (tk.status === 'closed' || tk.status === 'cancelled' || tk.status === 'merged') return ticket.id;
    if (tk.status === 'callback' || (tk.status === 'reviewed' && r < 0.5)) {
      const cb = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items.find((c: any) => c.ticketId === ticket.id);
      if (cb) await s.api('agent1', 'POST', `/callbacks/${cb.id}/result`, { satisfaction: pick(['satisfied', 'basically_satisfied', 'unsatisfied', 'unsatisfied']) });
      continue;
    }
    if (tk.status === 'reviewed') { await s.api('dispatcher1', 'POST', `/tickets/${ticket.id}/transitions`, { version: tk.version, action: 'close' }); continue; }
    for (const co of open.filter((w: any) => w.role === 'co')) {
      if (rand() < 0.5) continue;
      if (co.status === 'dispatched') await s.api(user(co), 'POST', `/work-orders/${co.id}/acknowledge`, { version: co.version });
      else if (co.status === 'acknowledged') await s.api(user(co), 'POST', `/work-orders/${co.id}/reply`, { version: co.version, result: '已配合' });
    }
    if (!lead) continue;
    const u = user(lead);
    switch (lead.status) {
      case 'dispatched':
        if (r < 0.6) await s.api(u, 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
        else if (r < 0.8) await s.api(u, 'POST', `/work-orders/${lead.id}/return`, { version: lead.version, reason: '不属于本单位' });
        break;
      case 'returned': {
        const other = unitCodeOf.get(lead.unitId) === 'dept-cgj' ? 'util-water' : 'dept-cgj';
        if (r < 0.5) await s.api('dispatcher1', 'POST', `/work-orders/${lead.id}/return-ruling`, { version: lead.version, decision: 'redispatch', handlingUnitId: await s.unitId(other), reason: '改派' });
        else if (r < 0.9) await s.api('dispatcher1', 'POST', `/work-orders/${lead.id}/return-ruling`, { version: lead.version, decision: 'confirm', reason: '属本单位职责' });
        else await s.api('dispatcher1', 'POST', `/tickets/${ticket.id}/transitions`, { version: tk.version, action: 'cancel', reason: '群众撤诉' });
        break;
      }
      case 'acknowledged':
        if (r < 0.2) {
          const proposed = new Date(s.clock.now().getTime() + 10 * 86_400_000).toISOString().replace('Z', '+00:00');
          await s.api(u, 'POST', `/work-orders/${lead.id}/extension-request`, { version: lead.version, reason: '需协调', proposedDeadline: proposed });
        } else if (r < 0.8) await s.api(u, 'POST', `/work-orders/${lead.id}/reply`, { version: lead.version, result: '已处理' });
        break;
      case 'extension_requested':
        await s.api('dispatcher1', 'POST', `/work-orders/${lead.id}/extension-ruling`, r < 0.6 ? { version: lead.version, decision: 'grant', reason: '同意' } : { version: lead.version, decision: 'refuse', reason: '理由不足' });
        break;
      case 'replied':
        await s.api('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, r < 0.75 ? { decision: 'accept' } : { decision: 'rework', reason: '未解决' });
        break;
    }
  }
  return ticket.id;
}

const unitCodeOf = new Map<string, string>();

describe('rollups against a full scan', () => {
  it('equal after random sequences of the closed loop (three seeds)', async () => {
    for (const code of Object.keys(USER_OF)) unitCodeOf.set(await s.unitId(code), code);
    for (const seed of [11, 12, 13]) {
      const rand = seededRandom(seed);
      s.clock.set(new Date('2025-10-09T02:00:00Z'));
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        ids.push(await randomLife(rand, ids));
        // A grid matter now and then (网格自办事项), on whatever day the clock has reached.
        if (i % 4 === 3) await s.ok('grid1', 'POST', '/grid-matters', { title: `巡查发现问题 ${seed}-${i}`, handling: '网格员当场处理' });
      }
      const check = await s.t.ctx.reports.rebuild('demo', { checkOnly: true });
      expect(check.tickets).toBeGreaterThan(0);
      expect(check.matters).toBe((seed - 10) * 3);
      expect(check.before.samples).toEqual([]);
      expect(check.before.mismatches).toBe(0);
    }
    // The sequences did what they were meant to: every kind of change happened at least once.
    const db = s.t.ctx.database.db;
    const count = async (measure: string) => Number((await db.selectFrom('report_rollups').select((eb) => eb.fn.sum<number>('n').as('n')).where('measure', '=', measure).executeTakeFirst())?.n ?? 0);
    for (const m of ['wo_returned', 'repeat', 'on_spot', 'closed', 'sat_unsatisfied', 'reply_late', 'ack_pending', 'grid_matter']) expect({ m, n: await count(m) > 0 }).toEqual({ m, n: true });
    const rounds = await db.selectFrom('tickets').select('id').where('round', '>', 1).execute();
    expect(rounds.length).toBeGreaterThan(0);
    const extended = await db.selectFrom('work_orders').select('id').where('extension_count', '>', 0).execute();
    expect(extended.length).toBeGreaterThan(0);
    // The month counters were kept too (the check above compared them): each equals its month's days.
    const monthSum = Number((await db.selectFrom('report_rollups_month').select((eb) => eb.fn.sum<number>('n').as('n')).where('grain', '=', 'unit').where('measure', '=', 'accepted').executeTakeFirst())?.n ?? 0);
    const daySum = Number((await db.selectFrom('report_rollups').select((eb) => eb.fn.sum<number>('n').as('n')).where('grain', '=', 'unit').where('measure', '=', 'accepted').executeTakeFirst())?.n ?? 0);
    expect(monthSum).toBeGreaterThan(0);
    expect(monthSum).toBe(daySum);
  }, 600_000);

  it('figures read from the month counters equal those read from the day counters, whatever the range', async () => {
    const { db, dialect } = s.t.ctx.database;
    const repo = new ReportsRepository(db, dialect);
    const days = (await db.selectFrom('report_rollups').select('day').distinct().where('city_id', '=', 'demo').execute()).map((r) => r.day).sort();
    expect(days.length).toBeGreaterThan(1);
    const today = '2026-01-15';
    const ranges: [string, string][] = [['2025-10-01', '2025-11-01'], ['2025-09-20', '2025-11-10'], ['2025-10-09', '2025-12-01'], ['2025-01-01', '2026-01-01'], [days[0], '2026-01-16']];
    // Two whole months and partial ends are split as documented; a range inside a month is all days.
    expect(splitByMonths('2025-09-20', '2025-12-10', '2026-01-15')).toEqual({ months: ['2025-10', '2025-12'], days: [['2025-09-20', '2025-10-01'], ['2025-12-01', '2025-12-10']] });
    expect(splitByMonths('2025-10-01', '2025-11-01', '2025-10-20')).toEqual({ months: null, days: [['2025-10-01', '2025-11-01']] });
    expect(splitByMonths('2025-10-01', '2025-12-01', '2025-11-20')).toEqual({ months: ['2025-10', '2025-11'], days: [['2025-11-01', '2025-12-01']] });
    let monthReads = 0;
    for (const [from, to] of ranges) {
      for (const group of [null, 'unit_id', 'category_id', 'channel', 'type'] as (GroupColumn | null)[]) {
        for (const topLevel of [false, true]) {
          const f = { cityId: 'demo', from, to, measures: MEASURES };
          if (splitByMonths(from, to, today).months) monthReads++;
          const viaMonths = await repo.sums(f, group, today, topLevel);
          // The same question asked with a 'day' group reads the day counters only; summed back over days.
          const viaDays = new Map<string, number>();
          let q = db.selectFrom('report_rollups').select(['measure', 'unit_id', 'category_id', 'channel', 'type', 'n']).where('city_id', '=', 'demo').where('day', '>=', from).where('day', '<', to)
            .where('grain', '=', group === 'unit_id' ? 'unit' : group === 'category_id' ? (topLevel ? 'category1' : 'category') : 'ct');
          for (const r of await q.execute()) {
            const k = `${r.measure}|${group ? String((r as Record<string, unknown>)[group]) : ''}`;
            viaDays.set(k, (viaDays.get(k) ?? 0) + Number(r.n));
          }
          const got = new Map<string, number>();
          for (const x of viaMonths) got.set(`${x.measure}|${x.group}`, (got.get(`${x.measure}|${x.group}`) ?? 0) + x.n);
          const nonZero = (m: Map<string, number>) => [...m].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1));
          expect({ from, to, group, topLevel, sums: nonZero(got) }).toEqual({ from, to, group, topLevel, sums: nonZero(viaDays) });
          void q;
        }
      }
    }
    expect(monthReads).toBeGreaterThan(0);
  });

  it('rebuild finds a damaged month counter and repairs it', async () => {
    const db = s.t.ctx.database.db;
    const row = await db.selectFrom('report_rollups_month').selectAll().where('measure', '=', 'accepted').where('n', '>', 0).limit(1).executeTakeFirstOrThrow();
    await db.updateTable('report_rollups_month').set({ n: row.n - 1 }).where('city_id', '=', row.city_id).where('grain', '=', row.grain).where('month', '=', row.month).where('measure', '=', row.measure)
      .where('unit_id', '=', row.unit_id).where('category_id', '=', row.category_id).where('territory_id', '=', row.territory_id).where('channel', '=', row.channel).where('type', '=', row.type).execute();
    const check = await s.t.ctx.reports.rebuild('demo', { checkOnly: true });
    expect(check.before.mismatches).toBe(1);
    expect(check.before.samples[0]).toMatchObject({ stored: row.n - 1, scanned: row.n });
    expect(check.before.samples[0].key).toContain(`month:${row.grain}`);
    // A rebuild limited to a day inside that month rebuilds the month counter whole.
    const r = await s.t.ctx.reports.rebuild('demo', { from: `${row.month}-10`, to: `${row.month}-11` });
    expect(r.before.mismatches).toBe(1);
    expect(r.after?.mismatches).toBe(0);
    expect((await s.t.ctx.reports.rebuild('demo', { checkOnly: true })).before.mismatches).toBe(0);
  });

  it('rebuild finds a damaged counter, repairs it and proves the result; --check exits 1 until then', async () => {
    const db = s.t.ctx.database.db;
    const row = await db.selectFrom('report_rollups').selectAll().where('measure', '=', 'accepted').where('n', '>', 0).limit(1).executeTakeFirstOrThrow();
    await db.updateTable('report_rollups').set({ n: row.n + 5 }).where('city_id', '=', row.city_id).where('measure', '=', row.measure).where('day', '=', row.day)
      .where('unit_id', '=', row.unit_id).where('category_id', '=', row.category_id).where('territory_id', '=', row.territory_id).where('channel', '=', row.channel).where('type', '=', row.type).execute();
    const lines: string[] = [];
    expect(await reportsRebuildCommand(s.t.ctx.reports, ['demo'], { check: true }, (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toMatch(/stored vs full scan: \d+ counters, 1 different/);
    expect(lines.join('\n')).toContain(`stored ${row.n + 5}, scan ${row.n}`);
    lines.length = 0;
    expect(await reportsRebuildCommand(s.t.ctx.reports, ['demo'], {}, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/rebuilt vs full scan: \d+ counters, 0 different/);
    lines.length = 0;
    expect(await reportsRebuildCommand(s.t.ctx.reports, ['demo'], { check: true }, (l) => lines.push(l))).toBe(0);
    // The rebuilt facts still drive the live counters: one more ticket keeps them equal.
    await s.newTicket();
    expect((await s.t.ctx.reports.rebuild('demo', { checkOnly: true })).before.mismatches).toBe(0);
  });

  it('concurrent changes count once each (tickets registered and signed for at the same time)', async () => {
    s.clock.set(new Date('2025-10-20T02:00:00Z'));
    const before = await s.ok('supervisor1', 'GET', '/reports/figures?period=day&from=2025-10-20');
    const made = await Promise.all(Array.from({ length: 12 }, () => s.newTicket()));
    const dispatched = await Promise.all(Array.from({ length: 6 }, () => s.dispatched('dept-cgj')));
    await Promise.all(dispatched.map(({ lead }) => s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version })));
    const after = await s.ok('supervisor1', 'GET', '/reports/figures?period=day&from=2025-10-20');
    const accepted = (r: any) => r.figures.find((f: any) => f.kpi === 'accepted').value;
    expect(accepted(after) - accepted(before)).toBe(made.length + dispatched.length);
    expect(after.figures.find((f: any) => f.kpi === 'ackOnTimeRate')).toMatchObject({ numerator: 6, denominator: 6 });
    expect((await s.t.ctx.reports.rebuild('demo', { checkOnly: true })).before.mismatches).toBe(0);
  });

  it('a rebuild limited to some days leaves the other days alone', async () => {
    const r = await s.t.ctx.reports.rebuild('demo', { from: '2025-10-10', to: '2025-10-12' });
    expect(r.after?.mismatches).toBe(0);
    expect((await s.t.ctx.reports.rebuild('demo', { checkOnly: true })).before.mismatches).toBe(0);
  });
});
