/**
 * Two app nodes behind one load balancer: two contexts and servers on one database and one Redis.
 * An event published on either node reaches each allowed console on both nodes exactly once and in
 * order, is stored once, a console resumes on the other node without loss, and seat status is
 * shared. Skipped (with the reason printed) when no Redis answers.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { TEST_REDIS_URL, deleteKeysUnder, redisSkipReason, uniquePrefix } from '../jobs/redis';
import { createContext, type AppContext } from '../../app/context';
import { buildServer } from '../../app/server';
import { testConfig } from '../../app/config';
import { openDatabase, type Database } from '../../db';
import { createTicket, demoIds, listen, LiveClient, publishMarker, type DemoIds } from './live-client';

const skip = await redisSkipReason('live two-nodes');
const prefix = uniquePrefix();

describe.skipIf(skip !== null)('two hub nodes on one database and one Redis', () => {
  let a: TestApp;
  let b: { ctx: AppContext; app: FastifyInstance; database: Database };
  let baseA: string;
  let baseB: string;
  let ids: DemoIds;
  const clients: LiveClient[] = [];

  const connect = async (base: string, username: string, after?: number) => {
    const c = await LiveClient.ready(base, { cookie: await a.login(username), after });
    clients.push(c);
    return c;
  };
  const settle = async (...cs: LiveClient[]) => {
    await b.ctx.live.idle();
    const m = await publishMarker(a, Object.values(ids.user));
    await Promise.all(cs.map((c) => c.waitFor((x) => x.seq === m.seq, `marker ${m.seq}`)));
  };
  const numbered = (ctx: AppContext, n: number) =>
    ctx.live.publish({ type: 'test.numbered', cityId: 'demo', audience: { center: true, unitIds: [ids.unit['util-water']] }, data: { n }, unitData: { n } });

  beforeAll(async () => {
    const config = { redisUrl: TEST_REDIS_URL, redisPrefix: prefix };
    a = await startTestApp({ config });
    baseA = await listen(a.app);
    // Node B: a context and server of its own over the same database (its own pool on MariaDB).
    const database: Database = testDialect === 'mysql' ? await openDatabase(a.database.url, { poolSize: 5 }) : { ...a.database, close: async () => {} };
    const ctx = await createContext(testConfig(config), { database, clock: a.ctx.clock });
    const app = await buildServer(ctx);
    await app.ready();
    baseB = await listen(app);
    b = { ctx, app, database };
    ids = await demoIds(a, ['agent1', 'agent2', 'water1', 'supervisor1', 'dispatcher1']);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    if (b) {
      await b.app.close();
      await b.ctx.close();
    }
    if (a) {
      await a.ctx.live.close();
      await a.ctx.jobs.stop();
      await a.ctx.identity.close();
      await a.close();
    }
    await deleteKeysUnder(prefix);
  });

  it('runs both nodes on Redis', () => {
    expect(a.ctx.live.stats().broker).toBe('redis');
    expect(b.ctx.live.stats().broker).toBe('redis');
    expect(a.ctx.live.nodeId).not.toBe(b.ctx.live.nodeId);
  });

  it('delivers a ticket created on one node to consoles on both, once each, and stores it once', async () => {
    const [onA, onB, waterOnB] = [await connect(baseA, 'agent1'), await connect(baseB, 'agent2'), await connect(baseB, 'water1')];
    const ticket = await createTicket(a, { unitId: ids.unit['util-water'], territoryId: ids.territory['990102001001001'], phone: '13811112222' });
    await settle(onA, onB, waterOnB);
    for (const c of [onA, onB, waterOnB]) {
      expect(c.eventsOf('ticket.created').filter((e) => e.data.ticket.id === ticket.id)).toHaveLength(1);
    }
    expect(waterOnB.frames.join('\n')).not.toContain('13811112222');
    const stored = await a.ctx.database.db.selectFrom('live_events').select('seq').where('type', '=', 'ticket.created').execute();
    expect(stored).toHaveLength(1);
    await Promise.all([onA, onB, waterOnB].map((c) => c.close()));
  });

  it('keeps one order on both nodes while both publish at once', async () => {
    const [onA, onB, waterOnA] = [await connect(baseA, 'agent1'), await connect(baseB, 'agent2'), await connect(baseA, 'water1')];
    const published = await Promise.all(Array.from({ length: 60 }, (_, i) => numbered(i % 2 ? a.ctx : b.ctx, i)));
    await settle(onA, onB, waterOnA);
    const expected = published.map((e) => e.seq).sort((x, y) => x - y);
    for (const c of [onA, onB, waterOnA]) {
      expect(c.eventsOf('test.numbered').map((e) => e.seq)).toEqual(expected);
    }
    await Promise.all([onA, onB, waterOnA].map((c) => c.close()));
  });

  it('resumes on the other node without loss or duplicate', async () => {
    const first = await connect(baseA, 'water1');
    await numbered(a.ctx, 100);
    await settle(first);
    const position = first.position;
    await first.close();
    const away: Awaited<ReturnType<typeof numbered>>[] = [];
    for (let i = 0; i < 6; i++) away.push(await numbered(i % 2 ? a.ctx : b.ctx, 101 + i));
    const during = Promise.all(Array.from({ length: 6 }, (_, i) => numbered(i % 2 ? a.ctx : b.ctx, 201 + i)));
    const again = await connect(baseB, 'water1', position);
    const later = await during;
    await settle(again);
    const got = again.eventsOf('test.numbered').map((e) => e.seq);
    expect(got).toEqual([...away, ...later].map((e) => e.seq).sort((x, y) => x - y));
    await again.close();
  });

  it("delivers an event pub/sub lost, found by the nodes' database poll", async () => {
    const [onA, onB] = [await connect(baseA, 'agent1'), await connect(baseB, 'agent2')];
    // Stored but never published: what the nodes see when Redis dropped the message.
    const r = await a.ctx.database.db.insertInto('live_events').values({
      city_id: 'demo', type: 'test.lost', at: '2025-10-09 02:00:00.000', for_center: 1, unit_ids: null, territory_paths: null, user_ids: null,
      audience: '{"center":true}', data: '{"lost":true}', unit_data: null,
    }).executeTakeFirstOrThrow();
    const seq = Number(r.insertId);
    for (const c of [onA, onB]) {
      const got = await c.waitFor((m) => m.seq === seq, 'the lost event, read back by the poll', 20_000);
      expect(got).toMatchObject({ type: 'test.lost', data: { lost: true } });
    }
    await Promise.all([onA, onB].map((c) => c.close()));
  });

  it('a logout on node A closes the socket of that session on node B within a second (4401)', async () => {
    // A session of its own: the cached demo logins stay valid for the other tests.
    const login = await a.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent2', password: 'demo12345' } });
    const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const onB = await LiveClient.ready(baseB, { cookie });
    clients.push(onB);
    const t0 = performance.now();
    await a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } });
    const { code } = await Promise.race([onB.closed, new Promise<never>((_, r) => setTimeout(() => r(new Error('still open after 5 s')), 5000))]);
    const ms = Math.round(performance.now() - t0);
    console.info(`two nodes: after logout on A the socket on B closed in ${ms} ms`);
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(1000);
  });

  it("a role change on node B closes the user's socket on node A with 4409, and disabling closes it with 4401", async () => {
    const admin = await a.login('admin');
    const created = await b.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie: admin }, payload: { username: 'two-node-user', displayName: '双节点', role: 'agent', password: 'two-node-pass-1' } });
    const id = created.json().id;
    const login = await a.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'two-node-user', password: 'two-node-pass-1' } });
    const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const first = await LiveClient.ready(baseA, { cookie });
    clients.push(first);
    await b.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: { cookie: admin }, payload: { role: 'dispatcher' } });
    expect((await first.closed).code).toBe(4409);
    const second = await LiveClient.ready(baseA, { cookie });
    clients.push(second);
    const t0 = performance.now();
    await b.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: { cookie: admin }, payload: { active: false } });
    expect((await second.closed).code).toBe(4401);
    console.info(`two nodes: after disabling on B the socket on A closed in ${Math.round(performance.now() - t0)} ms`);
  });

  it('shares seat status between the nodes', async () => {
    const supervisorOnB = await connect(baseB, 'supervisor1');
    const tabOnA = await connect(baseA, 'dispatcher1');
    await supervisorOnB.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.dispatcher1 && m.data.status === 'online', 'online, seen on B');
    tabOnA.send({ type: 'presence', status: 'break' });
    await supervisorOnB.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.dispatcher1 && m.data.status === 'break', 'break, seen on B');
    const board = await b.app.inject({ method: 'GET', url: '/api/v1/live/presence', headers: { cookie: await a.login('supervisor1') } });
    expect((board.json() as any[]).find((s) => s.userId === ids.user.dispatcher1)).toMatchObject({ status: 'break' });

    // A second console on node B keeps the user on break when the one on node A closes.
    const tabOnB = await connect(baseB, 'dispatcher1');
    await tabOnA.close();
    await settle(supervisorOnB);
    expect(supervisorOnB.eventsOf('presence.changed').filter((m) => m.data.userId === ids.user.dispatcher1).map((m) => m.data.status)).toEqual(['online', 'break']);
    await tabOnB.close();
    await supervisorOnB.waitFor((m) => m.type === 'presence.changed' && m.data.userId === ids.user.dispatcher1 && m.data.status === 'offline', 'offline');
    const after = await a.app.inject({ method: 'GET', url: '/api/v1/live/presence', headers: { cookie: await a.login('supervisor1') } });
    expect((after.json() as any[]).find((s) => s.userId === ids.user.dispatcher1)).toMatchObject({ status: 'offline' });
  });
});
