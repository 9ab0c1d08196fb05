/**
 * The rollups kept inside the ticket and work-order transactions equal a full scan of the tickets
 * after random sequences of the closed loop — returns and 改派, extensions granted and refused,
 * rework, unsatisfied ratings and second handling, merges, 即办, co-handlers, cancellations — on a
 * clock that moves on by random hours. Then `hotline reports rebuild` finds a damaged counter,
 * repairs it, and proves the result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';
import { reportsRebuildCommand } from '../../app/reports';
import { seededRandom } from '../../core';

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
      for (let i = 0; i < 12; i++) ids.push(await randomLife(rand, ids));
      const check = await s.t.ctx.reports.rebuild('demo', { checkOnly: true });
      expect(check.tickets).toBeGreaterThan(0);
      expect(check.before.samples).toEqual([]);
      expect(check.before.mismatches).toBe(0);
    }
    // The sequences did what they were meant to: every kind of change happened at least once.
    const db = s.t.ctx.database.db;
    const count = async (measure: string) => Number((await db.selectFrom('report_rollups').select((eb) => eb.fn.sum<number>('n').as('n')).where('measure', '=', measure).executeTakeFirst())?.n ?? 0);
    for (const m of ['wo_returned', 'repeat', 'on_spot', 'closed', 'sat_unsatisfied', 'reply_late', 'ack_pending']) expect({ m, n: await count(m) > 0 }).toEqual({ m, n: true });
    const rounds = await db.selectFrom('tickets').select('id').where('round', '>', 1).execute();
    expect(rounds.length).toBeGreaterThan(0);
    const extended = await db.selectFrom('work_orders').select('id').where('extension_count', '>', 0).execute();
    expect(extended.length).toBeGreaterThan(0);
  }, 600_000);

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
