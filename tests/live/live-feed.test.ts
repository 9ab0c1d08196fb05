/**
 * The console feed end to end on one node: real server, real WebSocket clients. Who may connect,
 * who receives which ticket event (数据权限), that a citizen's number never reaches a unit, lossless
 * resume with `after=`, heartbeats, the seat board, and the retention sweep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import type { FixedClock } from '../../core';
import { createTicket, demoIds, listen, LiveClient, publishMarker, type DemoIds } from './live-client';

const USERS = ['agent1', 'agent2', 'supervisor1', 'water1', 'power1', 'chengguan1', 'grid1', 'dispatcher1'];
const PHONE_W = '13912345678';
const PHONE_C = '13787654321';
const PHONE_SECRET = '13655556666';

let t: TestApp;
let base: string;
let ids: DemoIds;
const clients: LiveClient[] = [];

async function connect(username: string, after?: number) {
  const c = await LiveClient.ready(base, { cookie: await t.login(username), after });
  clients.push(c);
  return c;
}

/** Waits until every client got a marker published now: all earlier events have arrived by then. */
async function settle(...cs: LiveClient[]) {
  const m = await publishMarker(t, Object.values(ids.user));
  await Promise.all(cs.map((c) => c.waitFor((x) => x.seq === m.seq, `marker ${m.seq}`)));
  return m.seq;
}

beforeAll(async () => {
  t = await startTestApp({ config: { live: { heartbeatMs: 300, retentionDays: 3 } } });
  base = await listen(t.app);
  ids = await demoIds(t, USERS);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

describe('who may connect', () => {
  it('closes a link without a session with 4401 and tells why', async () => {
    const c = await LiveClient.open(base);
    const { code } = await c.closed;
    expect(code).toBe(4401);
    expect(c.messages[0]).toMatchObject({ type: 'error', code: 'AUTH_REQUIRED', messageZh: '请先登录' });
  });

  it('closes a link whose session cookie is unknown with 4401', async () => {
    const c = await LiveClient.open(base, { cookie: 'hotline_session=forged' });
    expect((await c.closed).code).toBe(4401);
  });

  it('refuses the upgrade of an invalid API key with HTTP 401', async () => {
    await expect(LiveClient.open(base, { apiKey: 'hk_not-a-key' })).rejects.toThrow('HTTP 401');
  });

  it('closes a link opened by a page of another host with 4403', async () => {
    const c = await LiveClient.open(base, { cookie: await t.login('agent1'), origin: 'https://evil.example' });
    expect((await c.closed).code).toBe(4403);
    expect(c.messages[0]).toMatchObject({ code: 'ORIGIN_FORBIDDEN' });
  });

  it('greets a logged-in console with hello, then synced, then heartbeats', async () => {
    const c = await connect('agent1');
    expect(c.messages[0]).toMatchObject({ type: 'hello', after: null, gap: false, heartbeatMs: 300, user: { id: ids.user.agent1, role: 'agent' } });
    expect(c.messages[1]).toMatchObject({ type: 'synced' });
    await c.waitFor((m) => m.type === 'ping', 'a heartbeat');
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong', 'pong');
    c.send({ type: 'nonsense' });
    await c.waitFor((m) => m.type === 'error' && m.code === 'MESSAGE_INVALID', 'MESSAGE_INVALID');
    c.ws.send('not json');
    await c.waitFor((m) => m.type === 'error' && m.messageZh === '消息格式不正确' && c.messages.filter((x) => x.code === 'MESSAGE_INVALID').length === 2, 'a second MESSAGE_INVALID');
    await c.close();
  });

  it('accepts an API key of a machine client (a wallboard)', async () => {
    const admin = await t.login('admin');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload: { name: 'wallboard', role: 'supervisor', scopes: ['live:read'] } });
    const c = await LiveClient.ready(base, { apiKey: res.json().key });
    clients.push(c);
    expect(c.messages[0]).toMatchObject({ type: 'hello', user: { name: 'wallboard', role: 'supervisor' } });
  });
});

describe('who receives which ticket event', () => {
  let center: LiveClient, water: LiveClient, power: LiveClient, chengguan: LiveClient, grid: LiveClient;
  let w: any, c: any, secret: any;

  beforeAll(async () => {
    [center, water, power, chengguan, grid] = await Promise.all(['agent2', 'water1', 'power1', 'chengguan1', 'grid1'].map((u) => connect(u)));
    // W: the water company, in grid1's grid. C: the city-management bureau, in another district.
    w = await createTicket(t, { unitId: ids.unit['util-water'], territoryId: ids.territory['990102001001001'], phone: PHONE_W, title: '停水' });
    c = await createTicket(t, { unitId: ids.unit['dept-cgj'], territoryId: ids.territory['990103001001001'], phone: PHONE_C, title: '占道经营' });
    secret = await createTicket(t, { unitId: ids.unit['util-water'], territoryId: ids.territory['990102001001001'], phone: PHONE_SECRET, title: '保密件', confidential: true });
    const edit = await t.app.inject({
      method: 'PATCH', url: `/api/v1/tickets/${w.id}`, headers: { cookie: await t.login('agent1') }, payload: { version: w.version, urgency: 'urgent' },
    });
    expect(edit.statusCode).toBe(200);
    const dispatch = await t.app.inject({
      method: 'POST', url: `/api/v1/tickets/${c.id}/transitions`, headers: { cookie: await t.login('dispatcher1') }, payload: { action: 'dispatch', version: c.version },
    });
    expect(dispatch.statusCode).toBe(200);
    await settle(center, water, power, chengguan, grid);
  });

  afterAll(async () => {
    await Promise.all([center, water, power, chengguan, grid].map((cl) => cl.close()));
  });

  const ticketIds = (cl: LiveClient, type: string) => cl.eventsOf(type).map((e) => e.data.ticket.id);

  it('the center receives every ticket of the city, with the caller number', () => {
    expect(ticketIds(center, 'ticket.created')).toEqual([w.id, c.id, secret.id]);
    expect(ticketIds(center, 'ticket.updated')).toEqual([w.id]);
    expect(ticketIds(center, 'ticket.transitioned')).toEqual([c.id]);
    const created = center.eventsOf('ticket.created')[0];
    expect(created.data.ticket).toMatchObject({ id: w.id, number: w.number, status: 'accepted', title: '停水', handlingUnitId: ids.unit['util-water'], callerPhone: PHONE_W });
    expect(created.data.by).toEqual({ name: '话务员 李娜', role: 'agent' });
    expect(center.eventsOf('ticket.updated')[0].data).toMatchObject({ changed: ['urgency'], ticket: { urgency: 'urgent' } });
    expect(center.eventsOf('ticket.transitioned')[0].data).toMatchObject({ action: 'dispatch', from: 'accepted', to: 'dispatched', ticket: { status: 'dispatched' } });
  });

  it('a confidential ticket shows the center a masked number only', () => {
    const e = center.eventsOf('ticket.created').find((x) => x.data.ticket.id === secret.id);
    expect(e.data.ticket.callerPhone).toBe('136****6666');
    expect(center.frames.join('\n')).not.toContain(PHONE_SECRET);
  });

  it('a unit receives the events of its own tickets and never another unit\'s', () => {
    expect(ticketIds(water, 'ticket.created')).toEqual([w.id, secret.id]);
    expect(ticketIds(water, 'ticket.updated')).toEqual([w.id]);
    expect(water.eventsOf('ticket.transitioned')).toEqual([]);
    expect(ticketIds(chengguan, 'ticket.created')).toEqual([c.id]);
    expect(ticketIds(chengguan, 'ticket.transitioned')).toEqual([c.id]);
    expect(power.events.filter((e) => e.type.startsWith('ticket.'))).toEqual([]);
  });

  it('a grid member receives the tickets inside its territory only', () => {
    expect(ticketIds(grid, 'ticket.created')).toEqual([w.id, secret.id]);
    expect(grid.eventsOf('ticket.transitioned')).toEqual([]);
  });

  it('no frame to a unit or grid user carries a caller number, not even masked', () => {
    for (const cl of [water, chengguan, grid]) {
      const all = cl.frames.join('\n');
      for (const phone of [PHONE_W, PHONE_C, PHONE_SECRET]) {
        expect(all).not.toContain(phone);
        expect(all).not.toContain(phone.slice(-4));
      }
      for (const e of cl.events.filter((x) => x.type.startsWith('ticket.'))) expect(e.data.ticket).not.toHaveProperty('callerPhone');
    }
  });

  it('an event without an outside payload reaches center roles only, even when it names a unit', async () => {
    const e = await t.ctx.live.publish({ type: 'test.center_only', cityId: 'demo', audience: { center: true, unitIds: [ids.unit['util-water']] }, data: { secret: PHONE_W } });
    await settle(center, water);
    expect(center.eventsOf('test.center_only').map((x) => x.seq)).toEqual([e.seq]);
    expect(water.eventsOf('test.center_only')).toEqual([]);
  });

  it('refuses to publish an event nobody could receive or of a malformed type', async () => {
    await expect(t.ctx.live.publish({ type: 'test.nobody', cityId: 'demo', audience: { center: false }, data: {} })).rejects.toThrow(/names nobody/);
    await expect(t.ctx.live.publish({ type: 'NotDotted', cityId: 'demo', audience: { center: true }, data: {} })).rejects.toThrow(/dotted/);
  });
});

describe('resume after a reconnect', () => {
  it('sends every event missed while away and during the catch-up, in order, each once', async () => {
    const first = await connect('water1');
    const water = ids.unit['util-water'];
    const place = ids.territory['990102001001001'];
    await createTicket(t, { unitId: water, territoryId: place, title: 'before' });
    await settle(first);
    const position = first.position;
    await first.close();

    // Away: the unit's own tickets and another unit's.
    const away: string[] = [];
    for (let i = 0; i < 5; i++) {
      away.push((await createTicket(t, { unitId: water, territoryId: place, title: `away ${i}` })).id);
      await createTicket(t, { unitId: ids.unit['util-power'], territoryId: place, title: `other unit ${i}` });
    }
    // While the console reconnects and reads its catch-up: more tickets, not awaited.
    const during = Array.from({ length: 8 }, (_, i) => createTicket(t, { unitId: water, territoryId: place, title: `during ${i}` }));
    const again = await LiveClient.open(base, { cookie: await t.login('water1'), after: position });
    clients.push(again);
    const duringIds = (await Promise.all(during)).map((x) => x.id);
    await settle(again);

    expect(again.messages[0]).toMatchObject({ type: 'hello', after: position, gap: false });
    const seqs = again.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.every((s) => s > position)).toBe(true);
    const got = again.eventsOf('ticket.created').map((e) => e.data.ticket.id);
    expect(got.slice(0, 5)).toEqual(away);
    expect(new Set(got)).toEqual(new Set([...away, ...duringIds]));
    expect(got).toHaveLength(13);
    expect(again.messages.filter((m) => m.type === 'synced')).toHaveLength(1);
  });

  it('a resume message replays like after= and never repeats what the link already sent', async () => {
    const c = await connect('chengguan1');
    const start = c.position;
    const made = await createTicket(t, { unitId: ids.unit['dept-cgj'], territoryId: ids.territory['990103001001001'], title: 'resume' });
    await settle(c);
    c.send({ type: 'resume', after: Math.max(0, start - 50) });
    await c.waitFor((m) => m.type === 'synced' && c.messages.indexOf(m) > 1, 'a second synced');
    expect(c.eventsOf('ticket.created').filter((e) => e.data.ticket.id === made.id)).toHaveLength(1);
  });

  it('tells a console whose position was pruned or is unknown to refetch (gap)', async () => {
    const c = await connect('agent1', 10_000_000);
    expect(c.messages[0]).toMatchObject({ type: 'hello', gap: true });
    await c.close();
  });
});

describe('the seat board (坐席状态)', () => {
  it('announces a console opening, a chosen status and the last console closing to supervisors', async () => {
    const sup = await connect('supervisor1');
    const water = await connect('water1');
    const agent = await connect('agent2');
    const online = await sup.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.agent2 && m.data.status === 'online', 'agent2 online');
    expect(online.data).toMatchObject({ name: '话务员 张敏', role: 'agent', before: 'offline' });

    agent.send({ type: 'presence', status: 'available' });
    await sup.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.agent2 && m.data.status === 'available', 'agent2 available');
    // The agent's own consoles hear it too (tabs stay in step); other agents and units do not.
    await agent.waitFor((m) => m.type === 'presence.changed' && m.data.status === 'available', 'own presence');

    const board = await t.app.inject({ method: 'GET', url: '/api/v1/live/presence', headers: { cookie: await t.login('supervisor1') } });
    expect(board.statusCode).toBe(200);
    const seats = board.json() as any[];
    expect(seats.find((s) => s.userId === ids.user.agent2)).toMatchObject({ status: 'available', name: '话务员 张敏' });
    expect(seats.find((s) => s.userId === ids.user.agent1)).toBeDefined();

    water.send({ type: 'presence', status: 'available' });
    await water.waitFor((m) => m.type === 'error' && m.code === 'PRESENCE_FORBIDDEN', 'PRESENCE_FORBIDDEN');
    const denied = await t.app.inject({ method: 'GET', url: '/api/v1/live/presence', headers: { cookie: await t.login('water1') } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('ROLE_FORBIDDEN');

    await agent.close();
    await sup.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.agent2 && m.data.status === 'offline', 'agent2 offline');
    await settle(water);
    expect(water.eventsOf('presence.changed')).toEqual([]);
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/live/presence', headers: { cookie: await t.login('supervisor1') } });
    expect((after.json() as any[]).find((s) => s.userId === ids.user.agent2).status).toBe('offline');
  });

  it('keeps a user online while another console of theirs stays open', async () => {
    const sup = await connect('supervisor1');
    const tab1 = await connect('dispatcher1');
    const tab2 = await connect('dispatcher1');
    await tab1.close();
    await settle(sup, tab2);
    const changes = sup.eventsOf('presence.changed').filter((m) => m.data.userId === ids.user.dispatcher1);
    expect(changes.map((m) => m.data.status)).toEqual(['online']);
    await tab2.close();
    await sup.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.dispatcher1 && m.data.status === 'offline', 'dispatcher1 offline');
  });
});

describe('retention (the live.prune job)', () => {
  it('keeps three days of events; a console resuming from before that is told to refetch', async () => {
    const clock = t.ctx.clock as FixedClock;
    const now = clock.now();
    expect(await t.ctx.live.prune()).toBe(0);
    const old = await publishMarker(t, [ids.user.agent1], 'old');
    clock.set(new Date(now.getTime() + 4 * 86_400_000));
    try {
      expect(await t.ctx.live.prune()).toBeGreaterThan(0);
      const oldest = await t.ctx.database.db.selectFrom('live_events').select((eb) => eb.fn.min('seq').as('m')).executeTakeFirstOrThrow();
      expect(oldest.m).toBeNull();
    } finally {
      clock.set(now);
    }
    const fresh = await publishMarker(t, [ids.user.agent1], 'fresh');
    const c = await connect('agent1', old.seq - 1);
    expect(c.messages[0]).toMatchObject({ type: 'hello', gap: true });
    expect(c.eventsOf('test.marker').map((m) => m.seq)).toEqual([fresh.seq]);
    await c.close();
  });
});
