/**
 * Notices survive a node killed mid-delivery (kill -9). A real child process leases a batch of 500
 * notices from the outbox, hands 120 of them to the live feed and the other sinks, and is killed
 * with SIGKILL inside a sink. Before the fix the claim had marked the whole batch delivered: the
 * 380 notices never sent were lost for good. Now the batch stays leased until the lease passes and
 * the next run delivers every notice, while the live feed keeps one event per notice (the 120 the
 * dead node already published are not shown twice).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../app/context';
import { testConfig } from '../../app/config';
import { FixedClock, newId, toDbTime } from '../../core';
import { freshDatabase, testDialect, type TestDatabase } from '../helpers/db';
import { migrateToLatest, openDatabase } from '../../db';

const NOTICES = 500;
const HANG_AFTER = 120;

/** A database two processes can share: a SQLite file, or a fresh MariaDB database. */
async function sharedDatabase(): Promise<{ url: string; database: TestDatabase; cleanup(): Promise<void> }> {
  if (testDialect === 'mysql') {
    const database = await freshDatabase();
    return { url: database.url, database, cleanup: () => database.dispose() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'hotline-outbox-crash-'));
  const url = `sqlite:${join(dir, 'hotline.sqlite')}`;
  const opened = await openDatabase(url);
  const database: TestDatabase = { ...opened, url, dispose: () => opened.close() };
  return { url, database, cleanup: async () => { await opened.close().catch(() => {}); rmSync(dir, { recursive: true, force: true }); } };
}

function runChildUntilHang(url: string): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/workorders/fixtures/outbox-crash-child.ts', url, String(HANG_AFTER)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child never hung: ${output}`)); }, 90_000);
    child.stdout.on('data', (b) => {
      output += String(b);
      if (output.includes('HANG')) child.kill('SIGKILL'); // kill -9 while the batch is in hand
    });
    child.stderr.on('data', (b) => (output += String(b)));
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', output });
    });
  });
}

describe(`outbox delivery survives kill -9 (${testDialect})`, () => {
  let shared: Awaited<ReturnType<typeof sharedDatabase>>;
  let ctx: AppContext;
  const clock = new FixedClock(new Date());

  beforeAll(async () => {
    shared = await sharedDatabase();
    await migrateToLatest(shared.database);
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
    const { killed, output } = await runChildUntilHang(shared.url);
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
