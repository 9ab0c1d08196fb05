/**
 * Queues that hide no work, on a seeded busy day (SQLite, and MariaDB with TEST_DATABASE=mysql):
 * GET /work-orders and GET /tickets page with a total that counts the whole queue, filter by urgency,
 * area and deadline, sort by deadline, age and urgency; the at-risk queue is decided in SQL, so its
 * total is the city's and its pages hold every at-risk work order exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../core';
import { startTestApp, type TestApp } from '../helpers/app';
import { seedBusyDay, type BusyDay } from '../agent-console/busy-day';

const START = new Date('2025-10-09T02:00:00Z');

describe('work-order and ticket queues on a busy day', () => {
  let t: TestApp;
  let clock: FixedClock;
  let day: BusyDay;
  const get = async (user: string, url: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { cookie: await t.login(user) } });
    return { status: res.statusCode, body: res.json() as any };
  };
  const ok = async (user: string, url: string) => {
    const r = await get(user, url);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  /** Every page of a list, one after the other. */
  async function allPages(user: string, url: string, pageSize: number) {
    const first = await ok(user, `${url}&page=1&pageSize=${pageSize}`);
    const items = [...first.items];
    for (let page = 2; (page - 1) * pageSize < first.total; page++) items.push(...(await ok(user, `${url}&page=${page}&pageSize=${pageSize}`)).items);
    return { total: first.total as number, items };
  }

  beforeAll(async () => {
    clock = new FixedClock(START);
    // Sessions long enough to outlive the clock's jump in the at-risk case.
    t = await startTestApp({ clock, config: { sessionHours: 72 } });
    day = await seedBusyDay(t, { tickets: 800, waiting: 70, water: 130, withCoHandler: 10 });
    console.log(`[queues] busy day: ${day.tickets} tickets seeded in ${day.ms} ms`);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("a unit's queue pages through all of its work orders, each once, with the total", async () => {
    const { total, items } = await allPages('water1', '/work-orders?queue=open', 50);
    expect(total).toBe(day.waterWorkOrders);
    expect(items).toHaveLength(total);
    expect(new Set(items.map((w: any) => w.id)).size).toBe(total);
    expect(items.every((w: any) => w.unitId === day.waterUnitId)).toBe(true);
    // Sorted by the reply deadline by default.
    const dues = items.map((w: any) => Date.parse(w.deadlines.reply));
    expect(dues).toEqual([...dues].sort((a, b) => a - b));
  });

  it('filters by urgency (one or several) in SQL, and sorts 特急 first', async () => {
    const emergency = await ok('water1', '/work-orders?queue=open&urgency=emergency&pageSize=200');
    expect(emergency.total).toBe(day.waterByUrgency.emergency);
    expect(emergency.items.every((w: any) => w.urgency === 'emergency')).toBe(true);
    const both = await ok('water1', '/work-orders?queue=open&urgency=emergency,urgent&pageSize=10');
    expect(both.total).toBe(day.waterByUrgency.emergency + day.waterByUrgency.urgent);
    expect(both.items).toHaveLength(10);
    const sorted = await ok('water1', `/work-orders?queue=open&sort=urgency&pageSize=${day.waterByUrgency.emergency + 1}`);
    expect(sorted.items.slice(0, -1).every((w: any) => w.urgency === 'emergency')).toBe(true);
    expect(sorted.items.at(-1).urgency).toBe('urgent');
    expect((await get('water1', '/work-orders?urgency=terrible')).status).toBe(400);
  });

  it('filters by reply deadline range and by area, sorts by creation time both ways', async () => {
    // A window inside the seeded deadlines (they are spread over two days from the template's).
    const sample = (await ok('water1', '/work-orders?queue=open&pageSize=200')).items.map((w: any) => w.deadlines.reply as string);
    const from = sample[20];
    const to = sample[100];
    const r = await allPages('water1', `/work-orders?queue=open&deadlineFrom=${encodeURIComponent(from)}&deadlineTo=${encodeURIComponent(to)}`, 200);
    expect(r.total).toBeGreaterThan(0);
    expect(r.total).toBeLessThan(day.waterWorkOrders);
    expect(r.items.every((w: any) => Date.parse(w.deadlines.reply) >= Date.parse(from) && Date.parse(w.deadlines.reply) < Date.parse(to))).toBe(true);

    const newest = await ok('water1', '/work-orders?queue=open&sort=created&order=desc&pageSize=5');
    const oldest = await ok('water1', '/work-orders?queue=open&sort=created&order=asc&pageSize=5');
    expect(newest.items[0].id).not.toBe(oldest.items[0].id);

    const template = await ok('dispatcher1', `/work-orders?queue=all&unitId=${day.waterUnitId}&pageSize=1`);
    const ticket = await ok('dispatcher1', `/tickets/${template.items[0].ticketId}`);
    if (ticket.territoryId) {
      const inArea = await ok('dispatcher1', `/work-orders?queue=all&unitId=${day.waterUnitId}&territoryId=${ticket.territoryId}&pageSize=1`);
      expect(inArea.total).toBe(day.waterWorkOrders);
    }
    expect((await get('dispatcher1', '/work-orders?territoryId=nowhere')).body.code).toBe('TERRITORY_NOT_FOUND');
  });

  it("the dispatcher's queue keeps a ticket's lead and co-handler side by side", async () => {
    const { items } = await allPages('dispatcher1', '/work-orders?queue=to_acknowledge', 200);
    const byTicket = new Map<string, number[]>();
    items.forEach((w: any, i: number) => byTicket.set(w.ticketId, [...(byTicket.get(w.ticketId) ?? []), i]));
    const pairs = [...byTicket.values()].filter((ix) => ix.length > 1);
    expect(pairs.length).toBeGreaterThanOrEqual(10);
    for (const ix of pairs) expect(ix[1] - ix[0]).toBe(1);
  });

  it('the at-risk queue is decided in SQL: its total counts the city, its pages hold each at-risk work order once', async () => {
    // A day and a half later: some deadlines passed, some in their last quarter, the rest fine.
    clock.set(new Date(START.getTime() + 30 * 3_600_000));
    const open = await allPages('dispatcher1', '/work-orders?queue=open', 200);
    const running = open.items.filter((w: any) => ['dispatched', 'acknowledged', 'extension_requested'].includes(w.status));
    const expected = new Set(running.filter((w: any) => w.risk !== 'ok').map((w: any) => w.id));
    expect(expected.size).toBeGreaterThan(20);
    expect(expected.size).toBeLessThan(running.length);

    const atRisk = await allPages('dispatcher1', '/work-orders?queue=at_risk', 20);
    expect(atRisk.total).toBe(expected.size);
    expect(new Set(atRisk.items.map((w: any) => w.id))).toEqual(expected);
    expect(atRisk.items.every((w: any) => w.risk !== 'ok')).toBe(true);
    clock.set(START);
  });

  it("the dispatcher's 待派单 pages to the last saved ticket, 特急 and 紧急 first when asked", async () => {
    const { total, items } = await allPages('dispatcher1', '/tickets?status=accepted&sort=created&order=asc', 50);
    expect(total).toBe(day.waiting);
    expect(new Set(items.map((x: any) => x.id)).size).toBe(total);
    const created = items.map((x: any) => Date.parse(x.createdAt));
    expect(created).toEqual([...created].sort((a, b) => a - b));

    const urgentFirst = await ok('dispatcher1', `/tickets?status=accepted&sort=urgency&pageSize=${day.waitingByUrgency.emergency}`);
    expect(urgentFirst.items.every((x: any) => x.urgency === 'emergency')).toBe(true);
    const onlyUrgent = await ok('dispatcher1', '/tickets?status=accepted&urgency=urgent&pageSize=1');
    expect(onlyUrgent.total).toBe(day.waitingByUrgency.urgent);
    const both = await ok('dispatcher1', '/tickets?status=accepted&urgency=emergency,urgent&pageSize=1');
    expect(both.total).toBe(day.waitingByUrgency.urgent + day.waitingByUrgency.emergency);
    expect((await get('dispatcher1', '/tickets?sort=sideways')).status).toBe(400);
  });
});
