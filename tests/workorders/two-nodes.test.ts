/**
 * Two app nodes on one MariaDB and one Redis (as docker-compose runs them): the supervision ladder's
 * steps fire exactly once each, whichever node sweeps, however often and however concurrently, and a
 * node started after the steps fell due still fires them (once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../app/context';
import { testConfig } from '../../app/config';
import { importCityFromDir } from '../../app/city-preset';
import { openDatabase } from '../../db';
import { FixedClock, systemActor } from '../../core';
import { listCategories } from '../../routing';
import { freshDatabase, testDialect, type TestDatabase } from '../helpers/db';
import { TEST_REDIS_URL, deleteKeysUnder, redisSkipReason, uniquePrefix } from '../jobs/redis';

const redisSkip = await redisSkipReason('workorders two-nodes');
const skip = testDialect !== 'mysql' ? 'two nodes need a server database (TEST_DATABASE=mysql); SQLite is the single-node embedded default' : redisSkip;
if (skip && testDialect !== 'mysql') console.warn(`workorders two-nodes: skipped on ${testDialect}: ${skip}`);

describe.skipIf(skip !== null)('two nodes on one MariaDB + Redis', () => {
  const prefix = uniquePrefix();
  const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
  let database: TestDatabase;
  let a: AppContext;
  let b: AppContext;
  const tickets: string[] = [];

  beforeAll(async () => {
    database = await freshDatabase();
    const config = testConfig({ redisUrl: TEST_REDIS_URL, redisPrefix: prefix, databaseUrl: database.url });
    a = await createContext(config, { database, clock });
    await importCityFromDir(a, 'cities/demo', { actor: systemActor('demo', 'test') });
    // The second node has its own connection pool, queue connections and node id.
    b = await createContext(config, { database: await openDatabase(database.url, { poolSize: 5 }), clock });
    const category = (await listCategories(database.db, 'demo')).find((c) => c.code === '04020302')!;
    const unit = (await a.directory.listUnits('demo', { q: 'dept-cgj' })).items.find((u) => u.code === 'dept-cgj')!;
    const dispatcher = { actor: { ...systemActor('demo'), kind: 'user' as const, id: 'd1', role: 'dispatcher' as const } };
    const agent = { actor: { ...systemActor('demo'), kind: 'user' as const, id: 'a1', role: 'agent' as const } };
    for (let i = 0; i < 20; i++) {
      const t = await (i % 2 ? a : b).intake.createTicket(agent, {
        channel: 'phone', type: 'complaint', callerPhone: `139000000${String(i).padStart(2, '0')}`, categoryId: category.id,
        occurredAt: '2025-10-09T09:00:00+08:00', addressText: '滨江路1号', parties: '居民', situation: `商铺喇叭噪音 ${i}`, demand: '停止使用喇叭',
      });
      await (i % 2 ? b : a).intake.transition(dispatcher, t.id, t.version, { action: 'dispatch', handlingUnitId: unit.id });
      tickets.push(t.id);
    }
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.dispose();
    await deleteKeysUnder(prefix);
  });

  const firedRows = () => database.db.selectFrom('work_order_milestones').select(['id', 'fired_by', 'step', 'clock']).where('status', '=', 'fired').execute();
  const noticesPerKey = async () => {
    const rows = await database.db.selectFrom('notification_outbox').select(['dedup_key']).where('event', 'in', ['workorder.reminder', 'workorder.overdue', 'workorder.escalated', 'supervision.raised']).execute();
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.dedup_key, (counts.get(r.dedup_key) ?? 0) + 1);
    return { total: rows.length, counts };
  };

  it('each reminder fires once while both nodes sweep at the same time, many times over', async () => {
    // Thu 11:30: every work order's acknowledgement reminder is due.
    clock.set(new Date('2025-10-09T03:30:00Z'));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).workOrders.sweep({ batch: 7 })));
    const fired = await firedRows();
    expect(fired.filter((m) => m.clock === 'acknowledge' && m.step === 'reminder')).toHaveLength(20);
    expect(results.reduce((n, r) => n + r.fired, 0)).toBe(20); // the sweeps together fired each step once
    const { total, counts } = await noticesPerKey();
    expect(total).toBe(20);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Both nodes took part (each claims with an atomic update; the loser moves on).
    expect(new Set(fired.map((m) => m.fired_by)).size).toBeGreaterThanOrEqual(1);
  });

  it('the queue\'s sweep jobs on both nodes (BullMQ) fire the next steps once, with the direct sweeps racing them', async () => {
    clock.set(new Date('2025-10-09T04:00:00Z')); // 12:00: the acknowledgement deadline passed: overdue notices
    await Promise.all([
      a.jobs.enqueue('workorders.sweep', {}, { jobId: 'sweep-a-1' }),
      b.jobs.enqueue('workorders.sweep', {}, { jobId: 'sweep-b-1' }),
      a.workOrders.sweep(),
      b.workOrders.sweep(),
    ]);
    await Promise.all([a.jobs.drain({ timeoutMs: 20_000 }), b.jobs.drain({ timeoutMs: 20_000 })]);
    const fired = await firedRows();
    expect(fired.filter((m) => m.clock === 'acknowledge' && m.step === 'overdue')).toHaveLength(20);
    const { counts } = await noticesPerKey();
    // Overdue goes to the unit and to the center: two notices per step, each once.
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect([...counts.keys()].filter((k) => k.endsWith(':center'))).toHaveLength(20);
  });

  it('steps that fell due while every node was down fire once when a node comes back', async () => {
    await b.close();
    clock.set(new Date('2025-10-14T09:00:00Z')); // days later: escalations and supervision orders are due
    b = await createContext(testConfig({ redisUrl: TEST_REDIS_URL, redisPrefix: prefix, databaseUrl: database.url }), { database: await openDatabase(database.url, { poolSize: 5 }), clock });
    await Promise.all([a.workOrders.sweep(), b.workOrders.sweep(), b.workOrders.sweep()]);
    const fired = await firedRows();
    const key = (m: { clock: string; step: string }) => `${m.clock}.${m.step}`;
    const perStep = new Map<string, number>();
    for (const m of fired) perStep.set(key(m), (perStep.get(key(m)) ?? 0) + 1);
    expect(Object.fromEntries(perStep)).toEqual({
      'acknowledge.reminder': 20, 'acknowledge.overdue': 20, 'acknowledge.escalation': 20, 'acknowledge.supervision': 20,
      'reply.reminder': 20, 'reply.overdue': 20, 'reply.escalation': 20,
    });
    const orders = await database.db.selectFrom('supervision_orders').select(['work_order_id']).execute();
    expect(orders).toHaveLength(20);
    expect(new Set(orders.map((o) => o.work_order_id)).size).toBe(20);
  });
});
