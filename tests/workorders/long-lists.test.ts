/**
 * The lists beside the queues hide nothing either (SQLite, and MariaDB with TEST_DATABASE=mysql):
 * 回访 (GET /callbacks), 督办单 (GET /supervision-orders) and 认领池 (GET /claim-pool) answer one page
 * with the total of the whole list, like GET /work-orders. Before, the first two stopped at 500 rows
 * and the pool answered every entry at once; a busy week has more than 500 of each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../core';
import { startTestApp, type TestApp } from '../helpers/app';
import { seedBusyDay, seedLongLists, type BusyDay, type LongLists } from '../agent-console/busy-day';

const START = new Date('2025-10-09T02:00:00Z');

describe('callbacks, supervision orders and the claim pool, paged', () => {
  let t: TestApp;
  let day: BusyDay;
  let lists: LongLists;
  const get = async (user: string, url: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { cookie: await t.login(user) } });
    return { status: res.statusCode, body: res.json() as any };
  };
  const ok = async (user: string, url: string) => {
    const r = await get(user, url);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  /** Every page of a list, one after the other: the total, and every row once. */
  async function allPages(user: string, url: string, pageSize: number) {
    const sep = url.includes('?') ? '&' : '?';
    const first = await ok(user, `${url}${sep}page=1&pageSize=${pageSize}`);
    expect(first).toMatchObject({ page: 1, pageSize, total: expect.any(Number) });
    const items = [...first.items];
    for (let page = 2; (page - 1) * pageSize < first.total; page++) items.push(...(await ok(user, `${url}${sep}page=${page}&pageSize=${pageSize}`)).items);
    return { total: first.total as number, items };
  }

  beforeAll(async () => {
    t = await startTestApp({ clock: new FixedClock(START) });
    day = await seedBusyDay(t, { tickets: 1200, waiting: 130, water: 300, withCoHandler: 10 });
    lists = await seedLongLists(t, day);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('回访: every callback due is reachable, above the old cap of 500, each once and the next attempt first', async () => {
    expect(lists.callbacks).toBeGreaterThan(500);
    const { total, items } = await allPages('agent1', '/callbacks?status=due', 200);
    expect(total).toBe(lists.callbacks);
    expect(items).toHaveLength(lists.callbacks);
    expect(new Set(items.map((c: any) => c.id)).size).toBe(lists.callbacks);
    const due = items.map((c: any) => Date.parse(c.nextAttemptAt));
    expect(due).toEqual([...due].sort((a, b) => a - b));
    // The default page is the console's 50, with the ticket as the center sees it.
    const first = await ok('agent1', '/callbacks?status=due');
    expect(first).toMatchObject({ page: 1, pageSize: 50, total: lists.callbacks });
    expect(first.items).toHaveLength(50);
    expect(first.items[0].ticket.number).toMatch(/^\d{14}$/);
    const last = await ok('agent1', `/callbacks?status=due&page=${Math.ceil(lists.callbacks / 50)}`);
    expect(last.items).toHaveLength(lists.callbacks % 50 || 50);
  });

  it('督办单: the unit and the center reach every one, newest first, with the ticket number', async () => {
    expect(lists.supervisionOrders).toBeGreaterThan(500);
    const unit = await allPages('water1', '/supervision-orders?status=open', 200);
    expect(unit.total).toBe(lists.supervisionOrders);
    expect(new Set(unit.items.map((so: any) => so.id)).size).toBe(lists.supervisionOrders);
    expect(unit.items.every((so: any) => so.unitId === day.waterUnitId && /^\d{14}$/.test(so.ticketNumber))).toBe(true);
    const created = unit.items.map((so: any) => Date.parse(so.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const center = await ok('supervisor1', '/supervision-orders?pageSize=1');
    expect(center.total).toBe(lists.supervisionOrders);
    // Another unit sees none of them.
    expect((await ok('power1', '/supervision-orders')).total).toBe(0);
  });

  it('认领池: the whole pool across pages, the longest waiting first, without the citizen', async () => {
    const { total, items } = await allPages('water1', '/claim-pool', 50);
    expect(total).toBe(lists.pool);
    expect(new Set(items.map((p: any) => p.ticketId)).size).toBe(lists.pool);
    const offered = items.map((p: any) => Date.parse(p.offeredAt));
    expect(offered).toEqual([...offered].sort((a, b) => a - b));
    expect(JSON.stringify(items)).not.toContain('13911112222');
  });

  it('refuses a page size above 200', async () => {
    for (const url of ['/callbacks?pageSize=201', '/supervision-orders?pageSize=201', '/claim-pool?pageSize=201']) {
      const r = await get('supervisor1', url);
      expect(r.status, url).toBe(400);
    }
  });
});
