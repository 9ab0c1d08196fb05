/**
 * Work orders on the live feed: a unit's console sees its work order appear when the ticket is
 * dispatched and change when it acts; the ladder's notices reach who must act; another unit sees
 * none of it, and nothing the unit receives carries the citizen's number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';
import { listen, LiveClient, publishMarker } from './live-client';

let s: Scenario;
let base: string;
const clients: LiveClient[] = [];
const connect = async (user: string) => {
  const res = await s.t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: user, password: 'demo12345' } });
  const c = await LiveClient.ready(base, { cookie: res.cookies.map((x) => `${x.name}=${x.value}`).join('; ') });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  s = await startScenario();
  base = await listen(s.t.app);
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await s?.t.close();
});

describe('work orders on the live feed', () => {
  it('the unit sees its work order appear, acknowledges it, and the dispatcher sees the change; the reminder reaches the unit only', async () => {
    const [unit, other, dispatcher] = await Promise.all([connect('chengguan1'), connect('water1'), connect('dispatcher1')]);
    const { lead } = await s.dispatched('dept-cgj', { extra: { callerPhone: '13966667777' } });
    const appeared = await unit.waitFor((m) => m.type === 'workorder.changed' && m.data.workOrder.id === lead.id, 'the new work order');
    expect(appeared.data.workOrder).toMatchObject({ status: 'dispatched', role: 'lead', deadlines: { acknowledge: '2025-10-09T12:00:00+08:00' } });
    await unit.waitFor((m) => m.type === 'notification.sent' && m.data.notification.event === 'workorder.dispatched' && m.data.notification.workOrderId === lead.id, 'the dispatch notice');

    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    await dispatcher.waitFor((m) => m.type === 'workorder.changed' && m.data.workOrder.id === lead.id && m.data.workOrder.status === 'acknowledged', 'the acknowledgement');

    await s.at('2025-10-11T03:45:00Z'); // the reply reminder (Sat, a make-up workday, 11:45)
    await unit.waitFor((m) => m.type === 'notification.sent' && m.data.notification.event === 'workorder.reminder' && m.data.notification.workOrderId === lead.id, 'the reminder');

    const ids = await Promise.all(['chengguan1', 'water1', 'dispatcher1'].map(async (u) => (await s.ok(u, 'GET', '/auth/me')).id ?? (await s.ok(u, 'GET', '/auth/me')).user?.id));
    const marker = await publishMarker(s.t, ids.filter(Boolean));
    await Promise.all([unit, other, dispatcher].map((c) => c.waitFor((m) => m.seq === marker.seq, 'marker')));
    expect(other.events.filter((m) => m.type === 'workorder.changed' || m.type === 'notification.sent')).toEqual([]);
    expect(dispatcher.events.some((m) => m.type === 'notification.sent' && m.data.notification.event === 'workorder.reminder')).toBe(false);
    expect(unit.frames.join('\n')).not.toContain('13966667777');
  });
});
