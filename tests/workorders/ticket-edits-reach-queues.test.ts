/**
 * A ticket edited after dispatch (its category, urgency, title) reads the same in the units' queues
 * at once: the work orders' copies of the ticket follow the edit in its own transaction, while the
 * time limits stay as dispatched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from './helpers';

let s: Scenario;
beforeAll(async () => {
  s = await startScenario();
});
afterAll(async () => s?.t.close());

describe('a ticket edited after dispatch', () => {
  it('moves in the unit queue filters (category, urgency) and shows its new title; deadlines unchanged', async () => {
    const { ticket, lead } = await s.dispatched('dept-cgj');
    const newCategory = await s.categoryId('01021603');
    expect(lead.categoryId ?? lead.category?.id ?? null).not.toBe(newCategory);

    const edited = await s.ok('dispatcher1', 'PATCH', `/tickets/${ticket.id}`, { version: ticket.version, categoryId: newCategory, urgency: 'urgent', title: '商铺喇叭噪音（已改类）' });
    expect(edited.categoryId ?? edited.category?.id).toBe(newCategory);

    const inQueue = await s.ok('dispatcher1', 'GET', `/work-orders?queue=all&ticketId=${ticket.id}&categoryId=${newCategory}&urgency=urgent`);
    expect(inQueue.items.map((w: any) => w.id)).toEqual([lead.id]);
    expect(inQueue.items[0].ticketTitle).toBe('商铺喇叭噪音（已改类）');
    expect(inQueue.items[0].deadlines).toEqual(lead.deadlines);

    const byOldCategory = await s.ok('dispatcher1', 'GET', `/work-orders?queue=all&ticketId=${ticket.id}&urgency=normal`);
    expect(byOldCategory.items).toEqual([]);
  });

  it('an edit refused (a stale version) leaves the work orders as they were', async () => {
    const { ticket, lead } = await s.dispatched('dept-cgj');
    const r = await s.api('dispatcher1', 'PATCH', `/tickets/${ticket.id}`, { version: ticket.version + 5, urgency: 'urgent' });
    expect(r.status).toBe(409);
    const [after] = await s.workOrdersOf(ticket.id);
    expect(after.urgency).toBe(lead.urgency);
  });
});
