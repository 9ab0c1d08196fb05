/**
 * Notices survive a node killed mid-delivery (kill -9). A real child process leases a batch of 500
 * notices from the outbox, hands 120 of them to the live feed and the other sinks, and is killed
 * with SIGKILL inside a sink. Before the fix the claim had marked the whole batch delivered: the
 * 380 notices never sent were lost for good. Now the batch stays leased until the lease passes and
 * the next run delivers every notice, while the live feed keeps one event per notice (the 120 the
 * dead node already published are not shown twice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../app/context';
import { testConfig } from '../../app/config';
import { FixedClock, newId, toDbTime } from '../../core';
import { testDialect } from '../helpers/db';
import { runChildUntil, sharedDatabase } from '../helpers/child';

const NOTICES = 500;
const HANG_AFTER = 120;

describe(`outbox delivery survives kill -9 (${testDialect})`, () => {
  let shared: Awaited<ReturnType<typeof sharedDatabase>>;
  let ctx: AppContext;
  const clock = new FixedClock(new Date());

  beforeAll(async () => {
    shared = await sharedDatabase();
    const now = toDbTime(new Date(Date.now() - 60_000));
    const rows = Array.from({ length: NOTICES }, (_, i) => ({
      id: newId(), city_id: 'demo', event: 'workorder.reminder', recipient_kind: 'unit', recipient_id: `unit-${i % 7}`,
      ticket_id: null, work_order_id: `wo-${i}`, act_by: null, payload: JSON.stringify({ n: i }), dedup_key: `crash-test:${i}`,
      status: 'pending', claim_token: null, created_at: now, delivered_at: null, lease_until: null, attempts: 0, last_error: null,
    }));
    for (let i = 0; i < rows.length; i += 250) await shared.database.db.insertInto('notification_outbox').values(rows.slice(i, i + 250)).execute();
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await shared?.cleanup();
  });

  const liveNotices = async () =>
    (await shared.database.db.selectFrom('live_events').select(['event_key']).where('type', '=', 'notification.sent').execute()).map((r) => r.event_key);

  it('loses no notice and shows none twice when a node dies holding a batch', async () => {
    const { killed, output } = await runChildUntil('tests/workorders/fixtures/outbox-crash-child.ts', [shared.url, String(HANG_AFTER)], 'HANG');
    expect(killed, output).toBe(true);

    // The dead node had published its first notices to the live feed, and marked nothing delivered.
    const before = await liveNotices();
    expect(before.length).toBeGreaterThanOrEqual(HANG_AFTER);
    const statuses = await shared.database.db.selectFrom('notification_outbox').select(['status']).execute();
    expect(statuses.filter((s) => s.status === 'delivered')).toHaveLength(0);

    // Another node starts (its first sweep runs at once): while the lease runs it takes nothing …
    clock.set(new Date(Date.now() + 10_000));
    ctx = await createContext(testConfig({ databaseUrl: shared.url, sweepIntervalSeconds: 3600 }), { database: shared.database, clock });
    const got: string[] = [];
    ctx.workOrders.addSink({ deliver: (n) => void got.push(n.id) });
    expect(await ctx.workOrders.deliverOutbox()).toBe(0);
    expect(got).toHaveLength(0);

    // … once it has passed, the next run delivers every notice.
    clock.set(new Date(Date.now() + 61_000));
    await ctx.workOrders.deliverOutbox();
    expect(new Set(got).size).toBe(NOTICES);
    const after = await ctx.database.db.selectFrom('notification_outbox').select(['status', 'attempts']).execute();
    expect(after.every((r) => r.status === 'delivered' && Number(r.attempts) === 2)).toBe(true);

    // One live event per notice: the ones the dead node published are not published again.
    const keys = await liveNotices();
    expect(keys).toHaveLength(NOTICES);
    expect(new Set(keys).size).toBe(NOTICES);

    // Delivered is final: a later run sends nothing again.
    clock.set(new Date(Date.now() + 600_000));
    expect(await ctx.workOrders.deliverOutbox()).toBe(0);
  }, 120_000);
});
