/**
 * Live events are published from committed rows, exactly once per change:
 * - a node killed between a ticket's commit and the push of its event (kill -9 of a real child
 *   process) loses nothing: the event was staged in the ticket's transaction and the next node's
 *   sweep numbers and pushes it, once;
 * - a retried request with the same Idempotency-Key changes nothing and announces nothing: before,
 *   the replay published `ticket.created` a second time;
 * - a change that rolls back leaves no event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../app/context';
import { testConfig } from '../../app/config';
import { importCityFromDir } from '../../app/city-preset';
import { FixedClock, systemActor } from '../../core';
import { testDialect } from '../helpers/db';
import { runChildUntil, sharedDatabase } from '../helpers/child';
import { startTestApp, json, type TestApp } from '../helpers/app';

const eventsOf = async (ctx: AppContext, type: string) =>
  (await ctx.database.db.selectFrom('live_events').select(['seq', 'data']).where('type', '=', type).execute()).map((r) => ({ seq: Number(r.seq), data: JSON.parse(r.data) }));

describe(`a ticket's live event survives kill -9 after its commit (${testDialect})`, () => {
  let shared: Awaited<ReturnType<typeof sharedDatabase>>;
  let ctx: AppContext;
  const clock = new FixedClock(new Date());

  beforeAll(async () => {
    shared = await sharedDatabase();
    ctx = await createContext(testConfig({ databaseUrl: shared.url, sweepIntervalSeconds: 3600 }), { database: shared.database, clock });
    await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'test') });
  }, 120_000);
  afterAll(async () => {
    await ctx?.close();
    await shared?.cleanup();
  });

  it('is pushed once by another node when the node that committed it died before pushing', async () => {
    const { killed, output } = await runChildUntil('tests/live/fixtures/ticket-crash-child.ts', [shared.url], 'COMMITTED');
    expect(killed, output).toBe(true);
    const number = /COMMITTED (\d+)/.exec(output)![1];
    const ticket = await ctx.database.db.selectFrom('tickets').select(['id']).where('number', '=', number).executeTakeFirstOrThrow();

    // Committed with the ticket, not yet numbered: the dead node never moved it.
    expect(await ctx.database.db.selectFrom('live_outbox').select('id').execute()).toHaveLength(1);
    expect((await eventsOf(ctx, 'ticket.created')).filter((e) => e.data.ticket.id === ticket.id)).toHaveLength(0);

    // Too fresh for the sweep (its own node may still be moving it) …
    expect(await ctx.live.sweepStaged()).toBe(0);
    // … then any node's sweep moves it, once.
    clock.set(new Date(Date.now() + 5_000));
    await ctx.live.sweepStaged();
    await ctx.live.sweepStaged();
    const created = (await eventsOf(ctx, 'ticket.created')).filter((e) => e.data.ticket.id === ticket.id);
    expect(created).toHaveLength(1);
    expect(created[0].data.ticket.number).toBe(number);
    expect(await ctx.database.db.selectFrom('live_outbox').select('id').execute()).toHaveLength(0);
  }, 120_000);
});

describe(`one live event per change (${testDialect})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const body = { channel: 'phone', type: 'complaint', situation: '楼道灯坏了一个月', callerPhone: '13900139000' };

  it('a replayed Idempotency-Key announces nothing a second time', async () => {
    const cookie = await t.login('agent1');
    const send = () => t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie, 'idempotency-key': 'replay-once-1' }, payload: body });
    const first = await send();
    expect(first.statusCode).toBe(201);
    const second = await send();
    expect(second.statusCode).toBeLessThan(300);
    expect(json(second).id).toBe(json(first).id);
    await t.ctx.live.idle();
    await t.ctx.live.sweepStaged();
    const created = (await eventsOf(t.ctx, 'ticket.created')).filter((e) => e.data.ticket.id === json(first).id);
    expect(created).toHaveLength(1);
    expect(await t.ctx.database.db.selectFrom('live_outbox').select('id').execute()).toHaveLength(0);
  });

  it('a change that rolls back leaves no event', async () => {
    const cookie = await t.login('agent1');
    const created = json(await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie }, payload: body }));
    await t.ctx.live.idle();
    const before = (await eventsOf(t.ctx, 'ticket.updated')).length;
    // A stale version: the update is refused inside its transaction.
    const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/tickets/${created.id}`, headers: { cookie }, payload: { version: created.version + 5, situation: '改' } });
    expect(res.statusCode).toBe(409);
    await t.ctx.live.idle();
    expect((await eventsOf(t.ctx, 'ticket.updated')).length).toBe(before);
    expect(await t.ctx.database.db.selectFrom('live_outbox').select('id').execute()).toHaveLength(0);
  });
});
