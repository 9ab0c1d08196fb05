/**
 * GET /tickets/figures: the dashboard's figures are counted by the server, per China-time hour and
 * channel, over the whole day (before: the console downloaded every ticket of the day and stopped
 * counting at 5,000).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { insertTickets, type BulkTicket } from '../helpers/ticket-rows';

describe(`the center's figures of a day (${testDialect})`, () => {
  let t: TestApp;
  let unitId: string;
  beforeAll(async () => {
    t = await startTestApp(); // the clock stands at 2025-10-09 10:00 China time
    unitId = (await t.ctx.directory.findUnitByCode('demo', 'dept-scjgj'))!.id;
    const day: BulkTicket[] = [];
    // 5,200 tickets of 2025-10-09 (China): 08:xx by phone, 09:xx by sms; some answered, dispatched, rated.
    for (let i = 0; i < 5200; i++) {
      const hour = i % 2 === 0 ? 8 : 9;
      day.push({
        at: new Date(Date.UTC(2025, 9, 9, hour - 8, i % 60, 0)),
        channel: hour === 8 ? 'phone' : 'sms',
        status: i % 10 === 0 ? 'answered' : i % 10 === 1 ? 'dispatched' : i % 10 === 2 ? 'closed' : 'accepted',
        answer: i % 10 === 0 ? '已答复' : null,
        handlingUnitId: i % 10 === 1 || i % 10 === 2 ? unitId : null,
        satisfaction: i % 10 === 2 ? (i % 20 === 2 ? 'satisfied' : 'unsatisfied') : null,
      });
    }
    // The evening before (China) is another day: not counted.
    day.push({ at: new Date(Date.UTC(2025, 9, 8, 15, 59, 0)), channel: 'web' });
    await insertTickets(t.ctx.database.db, 'demo', day);
  }, 120_000);
  afterAll(() => t?.close());

  it('counts every ticket of today, by hour and channel, with 即办, dispatched and satisfaction', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/tickets/figures', headers: { cookie: await t.login('supervisor1') } });
    expect(res.statusCode, res.body).toBe(200);
    const f = json(res);
    expect(f).toMatchObject({ total: 5200, answered: 520, dispatched: 1040, rated: 520, satisfied: 260 });
    expect(f.byHour.phone[8]).toBe(2600);
    expect(f.byHour.sms[9]).toBe(2600);
    expect(f.byHour.web).toBeUndefined();
    expect(res.body.length).toBeLessThan(2000); // one small answer, whatever the volume
  });

  it('takes an explicit period, refuses a bad one, and is the center\'s only', async () => {
    const cookie = await t.login('supervisor1');
    const ask = (q: string, c = cookie) => t.app.inject({ method: 'GET', url: `/api/v1/tickets/figures${q}`, headers: { cookie: c } });
    const evening = json(await ask('?from=2025-10-08T00:00:00%2B08:00&to=2025-10-09T00:00:00%2B08:00'));
    expect(evening.total).toBe(1);
    expect(evening.byHour.web[23]).toBe(1);
    expect(json(await ask('?from=2025-10-09T00:00:00%2B08:00')).code).toBe('RANGE_INVALID');
    expect(json(await ask('?from=2025-10-09T00:00:00%2B08:00&to=2025-10-08T00:00:00%2B08:00')).code).toBe('RANGE_INVALID');
    expect(json(await ask('?from=2025-01-01T00:00:00%2B08:00&to=2025-10-08T00:00:00%2B08:00')).code).toBe('RANGE_INVALID');
    const unit = await ask('', await t.login('water1'));
    expect(unit.statusCode).toBe(403);
  });
});
