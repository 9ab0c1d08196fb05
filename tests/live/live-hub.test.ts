/**
 * The hub's guarantees, made deterministic: the audience rule against intake's own ticket scope,
 * the sequencer, a catch-up held open while events are published (no loss, no duplicate), an event
 * pub/sub lost (read back from the database), a number never stored (skipped after the wait), and
 * credentials re-checked on an open socket. Real WebSockets, a real database, no HTTP app.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { canSee, type TicketRow } from '../../intake';
import { Role, type Actor } from '../../core';
import {
  createLiveService, createLocalLiveAdapters, mayReceive, ticketAudience, ticketLiveEvent, payloadKindOf, type LiveBroker, type LiveDeps, type LiveEvent, type LiveService,
} from '../../live';
import { Sequencer } from '../../live/domain/sequencer';
import { LiveRepository } from '../../live/live.repository';
import { LiveClient, sleep } from './live-client';

const actor = (o: Partial<Actor> & Pick<Actor, 'role'>): Actor => ({
  kind: 'user', id: `u-${o.role}`, name: o.role, cityId: 'demo', unitId: null, territoryId: null, territoryPath: null, ...o,
});
const AGENT = actor({ role: Role.agent, id: 'u-agent' });
const WATER = actor({ role: Role.unitHandler, id: 'u-water', unitId: 'unit-water' });

describe('the audience rule', () => {
  const row = (o: Partial<TicketRow>): TicketRow =>
    ({ id: 't', city_id: 'demo', handling_unit_id: null, territory_path: null, created_by: null, confidential: 0, ...o }) as TicketRow;
  const viewers: Actor[] = [
    AGENT, actor({ role: Role.supervisor }), actor({ role: Role.admin }), actor({ role: Role.dispatcher }),
    WATER, actor({ role: Role.unitManager, id: 'u-power', unitId: 'unit-power' }), actor({ role: Role.unitHandler, id: 'u-nounit' }),
    actor({ role: Role.gridMember, id: 'u-grid', territoryPath: '/d1/s1/c1/g1/' }), actor({ role: Role.townLeader, id: 'u-town', territoryPath: '/d1/s1/' }),
    actor({ role: Role.communitySecretary, id: 'u-sec', territoryPath: '/d2/s9/c9/', unitId: 'unit-water' }),
    actor({ role: Role.gridLeader, id: 'u-creator', territoryPath: '/d2/s2/c2/g2/' }), actor({ role: Role.agent, cityId: 'other' }),
  ];
  const tickets: TicketRow[] = [
    row({ handling_unit_id: 'unit-water', territory_path: '/d1/s1/c1/g1/' }),
    row({ handling_unit_id: 'unit-power', territory_path: '/d1/s1/c2/g7/' }),
    row({ handling_unit_id: null, territory_path: null, created_by: 'u-creator' }),
    row({ handling_unit_id: 'unit-water', territory_path: '/d3/', created_by: 'u-agent' }),
    row({ city_id: 'other', handling_unit_id: 'unit-water' }),
  ];

  it("reaches exactly the viewers intake's canSee lets see the ticket", () => {
    for (const t of tickets) {
      for (const v of viewers) {
        expect(mayReceive(v, t.city_id, ticketAudience(t)), `${v.role} ${v.id} / ${JSON.stringify(t)}`).toBe(canSee(v, t));
      }
    }
  });

  it('gives the center payload to center roles only', () => {
    expect(viewers.filter((v) => payloadKindOf(v) === 'center').map((v) => v.role).sort()).toEqual(['admin', 'agent', 'agent', 'dispatcher', 'supervisor']);
  });

  it('roles narrow the broadcast lines but never a named user', () => {
    const a = { center: true, roles: [Role.supervisor], userIds: ['u-agent'] };
    expect(mayReceive(actor({ role: Role.supervisor }), 'demo', a)).toBe(true);
    expect(mayReceive(actor({ role: Role.dispatcher }), 'demo', a)).toBe(false);
    expect(mayReceive(AGENT, 'demo', a)).toBe(true);
  });

  it('the ticket event sent outside the center has no caller number', () => {
    const e = ticketLiveEvent('ticket.created', {
      ticket: { ...row({ handling_unit_id: 'unit-water' }), number: '1', status: 'accepted', version: 1, caller_phone: '13812345678', round: 1, created_at: '2025-10-09 02:00:00.000', updated_at: '2025-10-09 02:00:00.000' } as TicketRow,
      actor: AGENT,
    });
    expect(JSON.stringify(e.data)).toContain('13812345678');
    expect(JSON.stringify(e.unitData)).not.toContain('5678');
  });
});

describe('the sequencer', () => {
  const ev = (seq: number) => ({ seq });
  it('delivers in order, holds after a gap and drops what it already delivered', () => {
    const s = new Sequencer<{ seq: number }>(10);
    expect(s.accept(ev(12))).toEqual([]);
    expect(s.hasGap).toBe(true);
    expect(s.accept(ev(11))).toEqual([ev(11), ev(12)]);
    expect(s.accept(ev(12))).toEqual([]);
    expect(s.accept(ev(9))).toEqual([]);
    expect(s.delivered).toBe(12);
  });

  it('waits on a missing number until told to skip it as a hole', () => {
    const s = new Sequencer<{ seq: number }>(0);
    s.accept(ev(3));
    expect(s.fill([ev(2)], 3, false)).toEqual([]);
    expect(s.delivered).toBe(0);
    expect(s.fill([], 3, true)).toEqual([ev(2), ev(3)]);
    expect(s.holesSkipped).toBe(1);
    expect(s.hasGap).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// A live service on a real database, its sockets on a bare ws server

/**
 * Holds each catch-up page, once read, until `gate` opens. After the read: on SQLite's single
 * connection, holding the query itself would hold every insert too.
 */
const catchUpGate = { gate: null as Promise<void> | null, held: 0 };
const readCatchUpPage = LiveRepository.prototype.catchUpPage;
vi.spyOn(LiveRepository.prototype, 'catchUpPage').mockImplementation(async function (this: LiveRepository, ...args) {
  const page = await readCatchUpPage.apply(this, args);
  if (catchUpGate.gate) {
    catchUpGate.held++;
    await catchUpGate.gate;
  }
  return page;
});

let database: TestDatabase;
let services: LiveService[] = [];
let servers: WebSocketServer[] = [];
const clients: LiveClient[] = [];

beforeAll(async () => {
  database = await freshDatabase();
});
afterEach(async () => {
  // A test that failed while holding the catch-up must not hold the next one's.
  catchUpGate.gate = null;
  catchUpGate.held = 0;
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(services.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(async () => {
  await database?.dispose();
});

async function startService(o: Partial<LiveDeps> & { reauthenticate?: () => Promise<Actor | null> } = {}) {
  const adapters = createLocalLiveAdapters();
  const live = createLiveService({ db: database.db, ...adapters, staffOf: async () => [], gapWaitMs: 30, holeWaitMs: 150, ...o });
  await live.start();
  services.push(live);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const who = url.searchParams.get('as') === 'water' ? WATER : AGENT;
    const after = url.searchParams.get('after');
    live.attach(ws, who, { after: after === null ? null : Number(after), reauthenticate: o.reauthenticate });
  });
  await new Promise((r) => wss.once('listening', r));
  const base = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const open = async (as: 'agent' | 'water', after?: number) => {
    const c = await LiveClient.open(base, { url: `${base}/?as=${as}${after !== undefined ? `&after=${after}` : ''}` });
    clients.push(c);
    return c;
  };
  return { live, open };
}

const centerEvent = (live: LiveService, n: number) => live.publish({ type: 'test.numbered', cityId: 'demo', audience: { center: true }, data: { n } });

async function until(pred: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('catch-up while events keep coming', () => {
  it('sends the stored ones, then the ones published during the read, each once and in order', async () => {
    const { live, open } = await startService();
    const before: LiveEvent[] = [];
    for (let n = 1; n <= 5; n++) before.push(await centerEvent(live, n));
    await until(() => live.stats().delivered === before[4].seq, 'the first five dispatched');

    let release!: () => void;
    catchUpGate.gate = new Promise<void>((r) => (release = r));
    const c = await open('agent', before[1].seq);
    await until(() => catchUpGate.held === 1, 'the catch-up read to be held');
    // The agent's seat went online as it connected (presence.changed): let that event take its number
    // first, so the three below are the last ones (under load it could land after them).
    await live.idle();
    const during: LiveEvent[] = [];
    for (let n = 6; n <= 8; n++) during.push(await centerEvent(live, n));
    await until(() => live.stats().delivered === during[2].seq, 'the three published during the read dispatched');
    expect(c.eventsOf('test.numbered')).toEqual([]); // held back behind the catch-up
    catchUpGate.gate = null;
    release();
    await c.waitFor((m) => m.type === 'synced', 'synced');

    expect(c.messages[0]).toMatchObject({ type: 'hello', lastSeq: before[4].seq, after: before[1].seq, gap: false });
    expect(c.eventsOf('test.numbered').map((e) => e.data.n)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(c.messages.at(-1)).toEqual({ type: 'synced', lastSeq: during[2].seq, gap: false });
    const ninth = await centerEvent(live, 9);
    await c.waitFor((m) => m.seq === ninth.seq, 'the ninth, live');
    expect(c.eventsOf('test.numbered').map((e) => e.data.n)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    const seqs = c.events.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
  });

  it('a unit console catches up on its own unit only', async () => {
    const { live, open } = await startService();
    const start = (await centerEvent(live, 0)).seq;
    await live.publish({ type: 'test.unit', cityId: 'demo', audience: { center: true, unitIds: ['unit-power'] }, data: { n: 1 }, unitData: { n: 1 } });
    await live.publish({ type: 'test.unit', cityId: 'demo', audience: { center: true, unitIds: ['unit-water'] }, data: { n: 2, phone: '13800000000' }, unitData: { n: 2 } });
    await live.publish({ type: 'test.unit', cityId: 'other', audience: { center: true, unitIds: ['unit-water'] }, data: { n: 3 }, unitData: { n: 3 } });
    await live.idle();
    const c = await open('water', start);
    await c.waitFor((m) => m.type === 'synced', 'synced');
    expect(c.events.map((e) => e.data)).toEqual([{ n: 2 }]);
  });
});

describe('events the broker does not bring', () => {
  it('reads an event pub/sub lost back from the database, in its place', async () => {
    const local = createLocalLiveAdapters();
    let dropNext = false;
    const lossy: LiveBroker = {
      ...local.broker,
      publish: async (e) => {
        if (dropNext) {
          dropNext = false;
          return;
        }
        await local.broker.publish(e);
      },
    };
    const { live, open } = await startService({ broker: lossy, presence: local.presence });
    const c = await open('agent');
    await c.waitFor((m) => m.type === 'synced', 'synced');
    dropNext = true;
    const lost = await centerEvent(live, 1);
    const next = await centerEvent(live, 2);
    await c.waitFor((m) => m.seq === next.seq, 'the event after the lost one');
    expect(c.eventsOf('test.numbered').map((e) => e.seq)).toEqual([lost.seq, next.seq]);
  });

  it('skips a number that was never stored, after waiting for it', async () => {
    const { live, open } = await startService();
    const c = await open('agent');
    await c.waitFor((m) => m.type === 'synced', 'synced');
    const first = await centerEvent(live, 1);
    // A number taken by an insert that then failed: stored and gone, never published.
    const ghost = await database.db.insertInto('live_events').values({
      city_id: 'demo', type: 'test.ghost', at: '2025-10-09 02:00:00.000', for_center: 1, unit_ids: null, territory_paths: null, user_ids: null, audience: '{"center":true}', data: '{}', unit_data: null,
    }).executeTakeFirstOrThrow();
    await database.db.deleteFrom('live_events').where('seq', '=', Number(ghost.insertId)).execute();
    const third = await centerEvent(live, 3);
    await c.waitFor((m) => m.seq === third.seq, 'the event after the hole');
    expect(c.eventsOf('test.numbered').map((e) => e.seq)).toEqual([first.seq, third.seq]);
    // The hole lies between them (other events, e.g. the seat status, may take numbers too).
    expect(Number(ghost.insertId)).toBeGreaterThan(first.seq);
    expect(third.seq).toBeGreaterThan(Number(ghost.insertId));
  });
});

describe('an open socket whose credentials change', () => {
  it('is closed with 4401 once its session has ended', async () => {
    let valid = true;
    const { open } = await startService({ heartbeatMs: 100, revalidateMs: 0, reauthenticate: async () => (valid ? AGENT : null) });
    const c = await open('agent');
    await c.waitFor((m) => m.type === 'ping', 'a heartbeat');
    expect(c.closeCode).toBeNull();
    valid = false;
    expect((await c.closed).code).toBe(4401);
  });

  it('is closed with 4409 when the user was moved to another unit', async () => {
    const { open } = await startService({ heartbeatMs: 100, revalidateMs: 0, reauthenticate: async () => ({ ...WATER, unitId: 'unit-power' }) });
    const c = await open('water');
    expect((await c.closed).code).toBe(4409);
  });
});

describe('a console too slow to read', () => {
  it('is closed with 4429 before it holds the node\'s memory, and resumes from the database', async () => {
    const { live, open } = await startService({ maxBufferedBytes: 256 * 1024 });
    const c = await open('agent');
    await c.waitFor((m) => m.type === 'synced', 'synced');
    c.ws.pause(); // reads nothing: the kernel buffers fill, then the hub's send buffer
    const big = 'x'.repeat(64 * 1024);
    let last = 0;
    for (let n = 0; n < 300 && c.closeCode === null; n++) last = (await live.publish({ type: 'test.big', cityId: 'demo', audience: { center: true }, data: { n, big } })).seq;
    c.ws.resume();
    expect((await c.closed).code).toBe(4429);
    const got = c.eventsOf('test.big').map((e) => e.seq);
    const again = await open('agent', got.at(-1) ?? 0);
    await again.waitFor((m) => m.type === 'synced', 'synced after resume');
    const resumed = again.eventsOf('test.big').map((e) => e.seq);
    expect([...got, ...resumed].at(-1)).toBe(last);
    expect(new Set([...got, ...resumed]).size).toBe(got.length + resumed.length);
  });
});

