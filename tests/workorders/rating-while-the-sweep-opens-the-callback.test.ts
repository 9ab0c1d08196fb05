/**
 * Found by the load driver (npm run load, docs/reliability.md): an agent records the citizen's rating
 * (回访结果) of a ticket whose reply was just accepted, while the sweep on another node takes the
 * callback's first turn. Both move the ticket 审核通过 → 回访; the rating lost the race and answered
 * 409 VERSION_CONFLICT ("changed by someone else"), although the agent had sent no version. The
 * rating is now applied to the ticket as the sweep left it: every rating succeeds, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from './helpers';

let s: Scenario;
beforeAll(async () => {
  s = await startScenario();
}, 180_000);
afterAll(async () => s?.t.close());

async function reviewed(): Promise<{ ticketId: string; callbackId: string }> {
  const { ticket, lead } = await s.dispatched('dept-cgj');
  const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
  await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result: '已责令商铺拆除喇叭' });
  await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
  const [cb] = await s.ok('agent1', 'GET', `/tickets/${ticket.id}/callbacks`);
  return { ticketId: ticket.id, callbackId: cb.id };
}

describe('a rating recorded while the sweep opens the same callback', () => {
  it('succeeds every time, and the ticket is called back and closed once', async () => {
    const tickets = [];
    for (let i = 0; i < 16; i++) tickets.push(await reviewed());
    for (const t of tickets) expect((await s.ok('dispatcher1', 'GET', `/tickets/${t.ticketId}`)).status).toBe('reviewed');

    // The sweep walks the due callbacks one by one while every rating arrives at once.
    const [, ...ratings] = await Promise.all([
      s.t.ctx.workOrders.sweep(),
      ...tickets.map((t, i) => s.api('agent1', 'POST', `/callbacks/${t.callbackId}/result`, { satisfaction: 'satisfied' }, { 'idempotency-key': `race-${i}` })),
    ]);
    expect(ratings.map((r) => `${r.status} ${r.body?.code ?? r.body?.status}`)).toEqual(tickets.map(() => '200 answered'));

    for (const t of tickets) {
      expect(await s.ok('dispatcher1', 'GET', `/tickets/${t.ticketId}`)).toMatchObject({ status: 'closed', satisfaction: 'satisfied' });
      const actions = (await s.ok('dispatcher1', 'GET', `/tickets/${t.ticketId}/audit`)).map((a: any) => a.action);
      expect(actions.filter((a: string) => a === 'ticket.start_callback')).toHaveLength(1);
      expect(actions.filter((a: string) => a === 'ticket.record_satisfaction')).toHaveLength(1);
    }
    // A second rating of a finished callback is still refused.
    const again = await s.api('agent1', 'POST', `/callbacks/${tickets[0].callbackId}/result`, { satisfaction: 'unsatisfied' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CALLBACK_NOT_OPEN');
  }, 120_000);
});
