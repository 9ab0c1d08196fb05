/**
 * The outbox delivers at least once: a notice counts as delivered only when every sink has it; a
 * failing sink postpones it with a growing backoff, and the next due run gives it to every sink
 * again; the live feed shows it once however often it is delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock, newId, toDbTime } from '../../core';
import { startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

describe(`outbox delivery with a failing sink (${testDialect})`, () => {
  let t: TestApp;
  const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));

  beforeAll(async () => {
    t = await startTestApp({ clock, config: { sweepIntervalSeconds: 3600 } });
  });
  afterAll(() => t?.close());

  async function queue(n: number) {
    const ids = Array.from({ length: n }, () => newId());
    await t.ctx.database.db.insertInto('notification_outbox').values(ids.map((id) => ({
      id, city_id: 'demo', event: 'workorder.overdue', recipient_kind: 'role', recipient_id: 'dispatcher', ticket_id: null, work_order_id: null,
      act_by: null, payload: '{}', dedup_key: `sink-test:${id}`, status: 'pending', claim_token: null, created_at: toDbTime(clock.now()),
      delivered_at: null, lease_until: null, attempts: 0, last_error: null,
    }))).execute();
    return ids;
  }
  const row = (id: string) => t.ctx.database.db.selectFrom('notification_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const liveCount = async (id: string) => (await t.ctx.database.db.selectFrom('live_events').select('seq').where('event_key', '=', `notification:${id}`).execute()).length;

  it('retries a notice a sink refused, with backoff, until every sink took it; the console sees it once', async () => {
    await t.ctx.workOrders.deliverOutbox(); // whatever the demo import queued
    const [flaky, fine] = await queue(2);
    let failuresLeft = 2;
    const seen: string[] = [];
    t.ctx.workOrders.addSink({
      deliver(n) {
        seen.push(n.id);
        if (n.id === flaky && failuresLeft-- > 0) throw new Error('gateway timeout');
      },
    });

    expect(await t.ctx.workOrders.deliverOutbox()).toBe(1);
    expect((await row(fine)).status).toBe('delivered');
    const first = await row(flaky);
    expect(first.status).toBe('claimed');
    expect(first.last_error).toBe('gateway timeout');
    expect(await liveCount(flaky)).toBe(1); // the live sink ran before the failing one

    // Not before its backoff (30 s after the first failure) …
    clock.set(new Date(clock.now().getTime() + 20_000));
    expect(await t.ctx.workOrders.deliverOutbox()).toBe(0);
    clock.set(new Date(clock.now().getTime() + 15_000));
    expect(await t.ctx.workOrders.deliverOutbox()).toBe(0); // failed again: now 60 s
    expect(Number((await row(flaky)).attempts)).toBe(2);
    clock.set(new Date(clock.now().getTime() + 45_000));
    expect(await t.ctx.workOrders.deliverOutbox()).toBe(0);
    clock.set(new Date(clock.now().getTime() + 20_000));
    expect(await t.ctx.workOrders.deliverOutbox()).toBe(1);

    const last = await row(flaky);
    expect(last.status).toBe('delivered');
    expect(Number(last.attempts)).toBe(3);
    expect(last.last_error).toBeNull();
    expect(seen.filter((id) => id === flaky)).toHaveLength(3);
    expect(await liveCount(flaky)).toBe(1);
  });
});
