/**
 * The ticket page's endpoints, SQLite or MariaDB per TEST_DATABASE: a ticket by its number, its whole
 * story, its notices and callbacks, and each user's notices with their read state (the bell). Every
 * one is scoped by the viewer: a unit sees its own tickets only (another's is 404, like a missing
 * one), the phone masked, never callbacks nor notices to others or to the citizen; a confidential
 * ticket hides the citizen outside the center; the trail names people, not ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, expectError, type Scenario } from './helpers';

describe('ticket page API', () => {
  let s: Scenario;
  let ticket: any;
  let lead: any;

  beforeAll(async () => {
    s = await startScenario();
    ({ ticket, lead } = await s.dispatched('util-water'));
  }, 120_000);
  afterAll(async () => {
    await s?.t.close();
  });

  it('finds a ticket by its number in the viewer scope: 404 for another unit and for a number that does not exist', async () => {
    const agent = await s.ok('agent1', 'GET', `/tickets/by-number/${ticket.number}`);
    expect(agent).toMatchObject({ id: ticket.id, number: ticket.number, callerPhone: '13912345678' });
    const unit = await s.ok('water1', 'GET', `/tickets/by-number/${ticket.number}`);
    expect(unit.callerPhone).toBe('139****5678');
    expectError(await s.api('chengguan1', 'GET', `/tickets/by-number/${ticket.number}`), 404, 'TICKET_NOT_FOUND');
    expectError(await s.api('agent1', 'GET', '/tickets/by-number/NOPE-0000'), 404, 'TICKET_NOT_FOUND');
  });

  it('names the people of the audit trail, keeping their role', async () => {
    const me = await s.ok('agent1', 'GET', '/auth/me');
    const trail = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}/audit`);
    const created = trail.find((e: any) => e.action === 'ticket.created');
    expect(created).toMatchObject({ actorRole: 'agent', actorName: me.name });
    expect(me.name).not.toBe(created.actorId);
  });

  it('tells the whole story to the center: work orders with clocks, notices with delivery, callbacks, names', async () => {
    const story = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}/story`);
    expect(story.ticket.callerPhone).toBe('13912345678');
    expect(story.workOrders.map((w: any) => w.id)).toEqual([lead.id]);
    const wo = story.workOrders[0];
    expect(wo.deadlines.acknowledge).toBeTruthy();
    expect(wo.milestones.length).toBeGreaterThan(0);
    expect(wo).not.toHaveProperty('ticket');
    expect(Array.isArray(story.callbacks)).toBe(true);
    expect(story.centerMilestones).not.toBeNull();
    const dispatchedNotice = story.notices.find((n: any) => n.event === 'workorder.dispatched');
    expect(dispatchedNotice).toMatchObject({ recipient: { kind: 'unit' }, ticketId: ticket.id });
    expect(['pending', 'claimed', 'delivered']).toContain(dispatchedNotice.status);
    expect(story.audit.find((e: any) => e.action === 'ticket.created').actorName).toBeTruthy();
  });

  it('tells a unit its part only: phone masked, no callbacks, no center clock, only notices to it; another unit gets 404', async () => {
    const story = await s.ok('water1', 'GET', `/tickets/${ticket.id}/story`);
    expect(story.ticket.callerPhone).toBe('139****5678');
    expect(story.callbacks).toBeNull();
    expect(story.centerMilestones).toBeNull();
    expect(story.call).toBeNull();
    const waterId = await s.unitId('util-water');
    expect(story.notices.length).toBeGreaterThan(0);
    for (const n of story.notices) expect(n.recipient).toEqual({ kind: 'unit', id: waterId });
    expect(JSON.stringify(story)).not.toContain('13912345678');
    expectError(await s.api('chengguan1', 'GET', `/tickets/${ticket.id}/story`), 404, 'TICKET_NOT_FOUND');
    expectError(await s.api('water1', 'GET', `/tickets/${ticket.id}/callbacks`), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('chengguan1', 'GET', `/tickets/${ticket.id}/notices`), 404, 'TICKET_NOT_FOUND');
    expect(await s.ok('agent1', 'GET', `/tickets/${ticket.id}/callbacks`)).toEqual([]);
  });

  it('lets a co-handler (协办) unit read the ticket its work order is on: its own work order, the phone masked, its notices; not the callbacks, no command', async () => {
    const { ticket: shared, lead: waterLead, co } = await s.dispatched('util-water', { coUnitCodes: ['dept-cgj'] });
    const [mine] = co;
    const byNumber = await s.ok('chengguan1', 'GET', `/tickets/by-number/${shared.number}`);
    expect(byNumber).toMatchObject({ id: shared.id, callerPhone: '139****5678', handlingUnitId: await s.unitId('util-water'), availableActions: [] });
    const story = await s.ok('chengguan1', 'GET', `/tickets/${shared.id}/story`);
    // Its own work order only (the lead's is the water company's), with its clocks.
    expect(story.workOrders.map((w: any) => [w.id, w.role])).toEqual([[mine.id, 'co']]);
    expect(story.workOrders[0].milestones.length).toBeGreaterThan(0);
    expect(story.callbacks).toBeNull();
    expect(story.centerMilestones).toBeNull();
    const cgjId = await s.unitId('dept-cgj');
    expect(story.notices.length).toBeGreaterThan(0);
    for (const n of story.notices) expect(n.recipient).toEqual({ kind: 'unit', id: cgjId });
    expect(JSON.stringify(story)).not.toContain('13912345678');
    expect(JSON.stringify(story)).not.toContain(waterLead.id);
    expect((await s.ok('chengguan1', 'GET', `/tickets/${shared.id}/audit`)).length).toBeGreaterThan(0);
    // Its ticket list and the header's word search find it too.
    const listed = await s.ok('chengguan1', 'GET', `/tickets?number=${shared.number}`);
    expect(listed.items.map((x: any) => x.id)).toEqual([shared.id]);
    expect(listed.items[0].callerPhone).toBe('139****5678');
    // Reading, not acting on the ticket: its commands stay the handling unit's (the work order's are its own).
    expectError(await s.api('chengguan1', 'POST', `/tickets/${shared.id}/transitions`, { action: 'acknowledge', version: shared.version }), 404, 'TICKET_NOT_FOUND');
    expectError(await s.api('chengguan1', 'GET', `/tickets/${shared.id}/callbacks`), 403, 'ROLE_FORBIDDEN');
    // A unit with no work order on it still gets 404.
    expectError(await s.api('power1', 'GET', `/tickets/by-number/${shared.number}`), 404, 'TICKET_NOT_FOUND');
    expectError(await s.api('power1', 'GET', `/tickets/${shared.id}/story`), 404, 'TICKET_NOT_FOUND');
    expect((await s.ok('power1', 'GET', `/tickets?number=${shared.number}`)).total).toBe(0);
  });

  it('keeps the ticket readable for a co-handler once its round is done, not for a unit 改派 took it from; a confidential citizen stays hidden', async () => {
    const { ticket: done, lead, co } = await s.dispatched('util-water', { coUnitCodes: ['dept-cgj'] });
    for (const [user, w] of [['water1', lead], ['chengguan1', co[0]]] as const) {
      const acked = await s.ok(user, 'POST', `/work-orders/${w.id}/acknowledge`, { version: w.version });
      await s.ok(user, 'POST', `/work-orders/${w.id}/reply`, { version: acked.version, result: `${user} 已处理完毕` });
    }
    expect((await s.ok('dispatcher1', 'POST', `/tickets/${done.id}/reply-review`, { decision: 'accept' })).status).toBe('reviewed');
    const after = await s.ok('chengguan1', 'GET', `/tickets/${done.id}/story`);
    expect(after.workOrders.map((w: any) => [w.id, w.status])).toEqual([[co[0].id, 'completed']]);

    // 改派: the unit that returned it as not its business no longer reads it (nor lists it).
    const { ticket: moved, lead: wrong } = await s.dispatched('util-water');
    const returned = await s.ok('water1', 'POST', `/work-orders/${wrong.id}/return`, { version: wrong.version, reason: '不属于本单位职责' });
    await s.ok('dispatcher1', 'POST', `/work-orders/${wrong.id}/return-ruling`, { version: returned.version, decision: 'redispatch', handlingUnitId: await s.unitId('dept-cgj'), reason: '改派城管' });
    expectError(await s.api('water1', 'GET', `/tickets/${moved.id}/story`), 404, 'TICKET_NOT_FOUND');
    expectError(await s.api('water1', 'GET', `/tickets/by-number/${moved.number}`), 404, 'TICKET_NOT_FOUND');
    expect((await s.ok('water1', 'GET', `/tickets?number=${moved.number}`)).total).toBe(0);
    expect((await s.ok('chengguan1', 'GET', `/tickets/${moved.id}/story`)).ticket.callerPhone).toBe('139****5678');

    const { ticket: secret } = await s.dispatched('util-water', { coUnitCodes: ['dept-cgj'], extra: { confidential: true, callerPhone: '13700002222', citizenName: '王女士' } });
    const hidden = await s.ok('chengguan1', 'GET', `/tickets/${secret.id}/story`);
    expect(hidden.ticket).toMatchObject({ citizenHidden: true, callerPhone: null, citizenName: null });
    expect(JSON.stringify(hidden)).not.toMatch(/13700002222|王女士|1370/);
    expect(JSON.stringify(await s.ok('chengguan1', 'GET', `/tickets/${secret.id}/audit`))).not.toMatch(/13700002222|王女士/);
  });

  it('hides a confidential ticket\'s citizen from the unit in the story', async () => {
    const { ticket: secret } = await s.dispatched('util-water', { extra: { confidential: true, callerPhone: '13700001111', citizenName: '李女士' } });
    const story = await s.ok('water1', 'GET', `/tickets/${secret.id}/story`);
    expect(story.ticket).toMatchObject({ citizenHidden: true, callerPhone: null, citizenName: null });
    expect(JSON.stringify(story)).not.toMatch(/13700001111|李女士|1370/);
    const center = await s.ok('agent1', 'GET', `/tickets/${secret.id}/story`);
    expect(center.ticket).toMatchObject({ callerPhone: '13700001111', citizenName: '李女士' });
  });

  it('keeps each user\'s notices and what they read: the unit sees its new work order unread, marks it read; another unit sees nothing of it', async () => {
    const { ticket: fresh } = await s.dispatched('util-water');
    const before = await s.ok('water1', 'GET', '/notifications');
    const notice = before.items.find((n: any) => n.ticketId === fresh.id && n.event === 'workorder.dispatched');
    expect(notice).toMatchObject({ read: false, ticketNumber: fresh.number });
    expect(before.unread).toBeGreaterThanOrEqual(1);

    const other = await s.ok('chengguan1', 'GET', '/notifications');
    expect(other.items.find((n: any) => n.id === notice.id)).toBeUndefined();
    // Marking someone else's notice changes nothing for them and reveals nothing.
    await s.ok('chengguan1', 'POST', '/notifications/read', { ids: [notice.id] });
    expect((await s.ok('water1', 'GET', '/notifications')).items.find((n: any) => n.id === notice.id).read).toBe(false);

    const marked = await s.ok('water1', 'POST', '/notifications/read', { ids: [notice.id] });
    expect(marked.unread).toBe(before.unread - 1);
    // A repeat is harmless.
    expect((await s.ok('water1', 'POST', '/notifications/read', { ids: [notice.id] })).unread).toBe(before.unread - 1);
    const after = await s.ok('water1', 'GET', '/notifications');
    expect(after.items.find((n: any) => n.id === notice.id).read).toBe(true);

    expect((await s.ok('water1', 'POST', '/notifications/read-all', { days: 7 })).unread).toBe(0);
    expect((await s.ok('water1', 'GET', '/notifications?unread=true')).items).toEqual([]);
  });

  it('gives the center roles their own notices: a return reaches the dispatchers, not the agents', async () => {
    const { lead: w } = await s.dispatched('util-water');
    await s.ok('water1', 'POST', `/work-orders/${w.id}/return`, { version: w.version, reason: '不属于本单位职责' });
    const dispatcher = await s.ok('dispatcher1', 'GET', '/notifications');
    expect(dispatcher.items.find((n: any) => n.workOrderId === w.id && n.event === 'workorder.returned')).toMatchObject({ read: false, ticketNumber: w.ticketNumber });
    const agent = await s.ok('agent1', 'GET', '/notifications');
    expect(agent.items.find((n: any) => n.workOrderId === w.id)).toBeUndefined();
    expect((await s.api('admin', 'GET', '/notifications')).status).toBe(200);
  });

  it('gives grid and town roles no notices, no callbacks and nothing to mark', async () => {
    for (const user of ['grid1', 'townlead1']) {
      expect(await s.ok(user, 'GET', '/notifications')).toEqual({ items: [], unread: 0 });
      expect(await s.ok(user, 'POST', '/notifications/read-all', { days: 7 })).toEqual({ unread: 0 });
      const cb = await s.api(user, 'GET', `/tickets/${ticket.id}/callbacks`);
      expect(cb.status, JSON.stringify(cb.body)).toBe(403);
    }
  });
});
