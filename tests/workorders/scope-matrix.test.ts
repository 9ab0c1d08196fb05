/**
 * Who may do what with work orders, and see what (数据权限), SQLite or MariaDB per TEST_DATABASE:
 * every demo user × every work-order endpoint × a work order of the user's own unit ("own") and one of
 * another unit ("other"), as a table of expected outcomes turned into one `it` per cell. A unit sees
 * and acts on its own work orders only; another unit's work order does not exist for it (404, never
 * 403, so ids cannot be probed); the center sees all; grid and town roles have no work orders.
 * Cells that change state get a fresh work order in the right state; every refusal writes nothing.
 * Then what each viewer sees of the citizen through a work order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialect } from '../helpers/db';
import { startScenario, THURSDAY_10AM, type Scenario } from './helpers';
import { parseOutcome, outcomeText, type Outcome } from '../helpers/matrix';
import { countRows } from '../helpers/app';

// ---------------------------------------------------------------------------------------------
// The users, and what "own" and "other" mean for each

const USERS = [
  'agent1', 'dispatcher1', 'supervisor1', 'admin',
  'chengguan1', 'chengguan_mgr', 'water1',
  'grid1', 'gridlead1', 'secretary1', 'townlead1',
] as const;
type User = (typeof USERS)[number];

type Kind = 'center' | 'unit' | 'grid';
const KIND: Record<User, Kind> = {
  agent1: 'center', dispatcher1: 'center', supervisor1: 'center', admin: 'center',
  chengguan1: 'unit', chengguan_mgr: 'unit', water1: 'unit',
  grid1: 'grid', gridlead1: 'grid', secretary1: 'grid', townlead1: 'grid',
};

/**
 * Two placements of a ticket. C: the city-management bureau (dept-cgj), in a grid of 青山区 (outside
 * every demo grid user). W: the water company (util-water), in grid 990102001001001 (inside every
 * demo grid user's subtree: they may see the ticket, but never its work orders).
 */
const PLACES = {
  C: { unit: 'dept-cgj', handler: 'chengguan1', territory: '990103001001001', phone: '13912345678', masked: '139****5678', name: '王先生' },
  W: { unit: 'util-water', handler: 'water1', territory: '990102001001001', phone: '13800138000', masked: '138****8000', name: '张女士' },
} as const;
type Place = keyof typeof PLACES;
type Scope = 'own' | 'other';
/** The chengguan users' own unit is C, water1's is W; for the center and grid users "own" is W. */
const placeOf = (user: User, scope: Scope): Place => {
  const own: Place = user === 'chengguan1' || user === 'chengguan_mgr' ? 'C' : 'W';
  return scope === 'own' ? own : own === 'C' ? 'W' : 'C';
};
const SCOPE_LABEL: Record<Kind, Record<Scope, string>> = {
  center: { own: '(water work order)', other: '(chengguan work order)' },
  unit: { own: 'own unit', other: 'other unit' },
  grid: { own: '(in-territory ticket)', other: '(outside-territory ticket)' },
};

// ---------------------------------------------------------------------------------------------
// The expected outcomes

type Cell = Outcome | [own: Outcome, other: Outcome];

const NF = '404 WORK_ORDER_NOT_FOUND';
const SNF = '404 SUPERVISION_ORDER_NOT_FOUND';
const RF = '403 ROLE_FORBIDDEN';
const OK2: Cell = [200, 200];
const C201: Cell = [201, 201];
const OWN: Cell = [200, NF];
const NF2: Cell = [NF, NF];
const RF2: Cell = [RF, RF];
const L2: Cell = ['listed', 'listed'];
const LO: Cell = ['listed', 'unlisted'];

/** One row of the table, in the column order of USERS. */
function row(
  agent1: Cell, dispatcher1: Cell, supervisor1: Cell, admin: Cell,
  chengguan1: Cell, chengguan_mgr: Cell, water1: Cell,
  grid1: Cell, gridlead1: Cell, secretary1: Cell, townlead1: Cell,
): Record<User, Cell> {
  return { agent1, dispatcher1, supervisor1, admin, chengguan1, chengguan_mgr, water1, grid1, gridlead1, secretary1, townlead1 };
}

const EXPECTED: Record<string, Record<User, Cell>> = {
  //                                            agent1  dispatcher1  supervisor1  admin   chengguan1  chengguan_mgr  water1   grid1  gridlead1  secretary1  townlead1
  'GET /work-orders':                       row(L2,     L2,          L2,          L2,     LO,         LO,            LO,      RF2,   RF2,       RF2,        RF2),
  'GET /work-orders/:id':                   row(OK2,    OK2,         OK2,         OK2,    OWN,        OWN,           OWN,     NF2,   NF2,       NF2,        NF2),
  'GET /work-orders/:id/milestones':        row(OK2,    OK2,         OK2,         OK2,    OWN,        OWN,           OWN,     NF2,   NF2,       NF2,        NF2),
  'POST /work-orders/:id/acknowledge':      row(RF2,    RF2,         RF2,         RF2,    OWN,        OWN,           OWN,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/on-site':          row(RF2,    RF2,         RF2,         RF2,    OWN,        OWN,           OWN,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/notes':            row(OK2,    OK2,         OK2,         OK2,    OWN,        OWN,           OWN,     NF2,   NF2,       NF2,        NF2),
  'POST /work-orders/:id/reply':            row(RF2,    RF2,         RF2,         RF2,    OWN,        OWN,           OWN,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/extension-request': row(RF2,   RF2,         RF2,         RF2,    OWN,        OWN,           OWN,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/return':           row(RF2,    RF2,         RF2,         RF2,    OWN,        OWN,           OWN,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/return-ruling':    row(RF2,    OK2,         OK2,         OK2,    RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/extension-ruling': row(RF2,    OK2,         OK2,         OK2,    RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  'POST /work-orders/:id/supervision-orders': row(RF2,  C201,        C201,        C201,   RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  'GET /supervision-orders':                row(L2,     L2,          L2,          L2,     LO,         LO,            LO,      RF2,   RF2,       RF2,        RF2),
  'POST /supervision-orders/:id/answer':    row(RF2,    RF2,         RF2,         RF2,    [200, SNF], [200, SNF],    [200, SNF], RF2, RF2,     RF2,        RF2),
  'POST /tickets/:id/reply-review':         row(RF2,    OK2,         OK2,         OK2,    RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  'GET /claim-pool':                        row('listed', 'listed',  'listed',    'listed', 'listed', 'listed',      'listed', RF,   RF,        RF,         RF),
  'POST /tickets/:id/claim-pool':           row(RF,     201,         201,         201,    RF,         RF,            RF,      RF,    RF,        RF,         RF),
  'POST /claim-pool/:id/claim':             row(RF,     RF,          RF,          RF,     200,        200,           200,     RF,    RF,        RF,         RF),
  'GET /callbacks':                         row(L2,     L2,          L2,          L2,     RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  'POST /callbacks/:id/result':             row(OK2,    OK2,         OK2,         OK2,    RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  'POST /callbacks/:id/attempts':           row(OK2,    OK2,         OK2,         OK2,    RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
  // The citizen's rating: the center records it (or the SMS gateway); never the unit being rated, nor the grid.
  'POST /tickets/:id/rating':               row(OK2,    OK2,         OK2,         OK2,    RF2,        RF2,           RF2,     RF2,   RF2,       RF2,        RF2),
};


// ---------------------------------------------------------------------------------------------
// The app and fixtures

let s: Scenario;
const territory = {} as Record<Place, string>;

beforeAll(async () => {
  // No background sweep: the tests sweep when something falls due, so nothing fires between counts.
  s = await startScenario(THURSDAY_10AM, { sweepIntervalSeconds: 3600 });
  for (const p of ['C', 'W'] as const) territory[p] = (await s.t.ctx.directory.findTerritoryByCode('demo', PLACES[p].territory))!.id;
}, 60_000);
afterAll(async () => s?.t.close());

/** The states a cell may need its work order (or ticket) in. */
type FixtureKind = 'dispatched' | 'acknowledged' | 'returned' | 'extension_requested' | 'replied' | 'called_back' | 'supervised' | 'accepted' | 'offered';

interface Fixture {
  place: Place;
  ticketId: string;
  workOrderId: string | null;
  version: number;
  supervisionOrderId?: string;
  callbackId?: string;
}

const ticketExtra = (p: Place, extra: Record<string, unknown> = {}) => ({
  callerPhone: PLACES[p].phone, citizenName: PLACES[p].name, territoryId: territory[p], ...extra,
});

async function dispatchedAt(p: Place, extra: Record<string, unknown> = {}) {
  const { ticket, lead } = await s.dispatched(PLACES[p].unit, { extra: ticketExtra(p, extra) });
  return { ticket, wo: lead };
}

async function build(kind: FixtureKind, p: Place): Promise<Fixture> {
  const handler = PLACES[p].handler;
  const fx = (ticketId: string, wo: { id: string; version: number } | null, more: Partial<Fixture> = {}): Fixture => ({ place: p, ticketId, workOrderId: wo?.id ?? null, version: wo?.version ?? 0, ...more });
  if (kind === 'accepted' || kind === 'offered') {
    const t = await s.newTicket(ticketExtra(p));
    if (kind === 'offered') await s.ok('dispatcher1', 'POST', `/tickets/${t.id}/claim-pool`, { reason: '职责不清的疑难事项' });
    return fx(t.id, null);
  }
  const { ticket, wo } = await dispatchedAt(p);
  if (kind === 'dispatched') return fx(ticket.id, wo);
  if (kind === 'supervised') {
    const so = await s.ok('supervisor1', 'POST', `/work-orders/${wo.id}/supervision-orders`, { reason: '群众多次来电，请加快办理' });
    return fx(ticket.id, wo, { supervisionOrderId: so.id });
  }
  if (kind === 'returned') return fx(ticket.id, await s.ok(handler, 'POST', `/work-orders/${wo.id}/return`, { version: wo.version, reason: '不属于本单位职责' }));
  const acked = await s.ok(handler, 'POST', `/work-orders/${wo.id}/acknowledge`, { version: wo.version });
  if (kind === 'acknowledged') return fx(ticket.id, acked);
  if (kind === 'extension_requested') {
    return fx(ticket.id, await s.ok(handler, 'POST', `/work-orders/${wo.id}/extension-request`, { version: acked.version, reason: '需协调多部门', proposedDeadline: '2025-10-20T17:00:00+08:00' }));
  }
  const replied = await s.ok(handler, 'POST', `/work-orders/${wo.id}/reply`, { version: acked.version, result: '已处理完毕' });
  if (kind === 'replied') return fx(ticket.id, replied);
  await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
  await settle(); // the first callback attempt (the SMS survey) goes out now, not during a cell
  const cb = (await s.ok('agent1', 'GET', '/callbacks?status=all')).items.find((c: any) => c.ticketId === ticket.id);
  expect(cb).toMatchObject({ status: 'surveying', attempts: 1 });
  return fx(ticket.id, await s.ok('dispatcher1', 'GET', `/work-orders/${wo.id}`), { callbackId: cb.id });
}

/** One fixture per state and place, until a cell changes it: then the next cell gets a fresh one. */
const fixtures = new Map<string, Fixture>();
async function fixtureFor(kind: FixtureKind, p: Place) {
  const key = `${kind}:${p}`;
  if (!fixtures.has(key)) fixtures.set(key, await build(kind, p));
  return fixtures.get(key)!;
}
const consume = (kind: FixtureKind, p: Place) => fixtures.delete(`${kind}:${p}`);

const settle = () => s.t.ctx.workOrders.sweep();

// What "nothing changed" means: row counts, and the fixture's work order, ticket, callback, supervision order and pool entry.
const COUNTED = [
  'work_orders', 'work_order_milestones', 'notification_outbox', 'audit_events', 'callbacks',
  'supervision_orders', 'work_order_notes', 'work_order_attachments', 'claim_pool', 'idempotency_records', 'tickets', 'sms_messages',
] as const;

async function snapshot(fx: Fixture) {
  const db = s.t.ctx.database.db;
  const counts: Record<string, number> = {};
  for (const table of COUNTED) counts[table] = await countRows(s.t, table);
  const ticket = await db.selectFrom('tickets').select(['version', 'status', 'handling_unit_id']).where('id', '=', fx.ticketId).executeTakeFirstOrThrow();
  const workOrders = await db.selectFrom('work_orders').select(['id', 'version', 'status']).where('ticket_id', '=', fx.ticketId).orderBy('id').execute();
  const callbacks = await db.selectFrom('callbacks').select(['id', 'version', 'status', 'attempts']).where('ticket_id', '=', fx.ticketId).orderBy('id').execute();
  const supervision = await db.selectFrom('supervision_orders').select(['id', 'status']).where('ticket_id', '=', fx.ticketId).orderBy('id').execute();
  const pool = await db.selectFrom('claim_pool').selectAll().where('ticket_id', '=', fx.ticketId).execute();
  return { counts, ticket, workOrders, callbacks, supervision, pool };
}

// ---------------------------------------------------------------------------------------------
// The operations: the state each needs, how to ask, what a success must show

interface Req {
  method: 'GET' | 'POST';
  url: string;
  payload?: unknown;
}

interface Op {
  fixture: FixtureKind;
  /** A success changes the fixture: the next cell needs a fresh one. */
  mutates: boolean;
  request(fx: Fixture, user: User): Req;
  /** For lists: whether the answer shows the fixture. */
  lists?(body: any, fx: Fixture): boolean;
  /** Extra checks on a 2xx answer. */
  seen?(user: User, fx: Fixture, body: any): void | Promise<void>;
}

const woUrl = (fx: Fixture, action = '') => `/work-orders/${fx.workOrderId}${action}`;
const unitOf = (user: User) => (user === 'water1' ? 'util-water' : 'dept-cgj');

const OPS: Record<string, Op> = {
  'GET /work-orders': {
    fixture: 'dispatched', mutates: false,
    request: (fx) => ({ method: 'GET', url: `/work-orders?queue=all&ticketId=${fx.ticketId}` }),
    lists: (body, fx) => {
      expect(body.total).toBe(body.items.length);
      return body.items.some((w: any) => w.id === fx.workOrderId);
    },
  },
  'GET /work-orders/:id': {
    fixture: 'dispatched', mutates: false,
    request: (fx) => ({ method: 'GET', url: woUrl(fx) }),
    seen(user, fx, body) {
      const p = PLACES[fx.place];
      expect(body).toMatchObject({ id: fx.workOrderId, ticketId: fx.ticketId, unitId: expect.any(String), status: 'dispatched' });
      // The citizen: in full to the center, the phone masked to the unit.
      expect(body.ticket).toMatchObject({ id: fx.ticketId, confidential: false, citizenHidden: false, citizenName: p.name, callerPhone: KIND[user] === 'center' ? p.phone : p.masked });
    },
  },
  'GET /work-orders/:id/milestones': {
    fixture: 'dispatched', mutates: false,
    request: (fx) => ({ method: 'GET', url: woUrl(fx, '/milestones') }),
    seen: (_u, _fx, body) => expect(body.map((m: any) => m.status)).toContain('pending'),
  },
  'POST /work-orders/:id/acknowledge': {
    fixture: 'dispatched', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/acknowledge'), payload: { version: fx.version } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ id: fx.workOrderId, status: 'acknowledged', version: fx.version + 1 }),
  },
  'POST /work-orders/:id/on-site': {
    fixture: 'acknowledged', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/on-site'), payload: { version: fx.version, note: '已到现场' } }),
    seen: (_u, _fx, body) => expect(body.onSiteAt).toBe('2025-10-09T10:00:00+08:00'),
  },
  'POST /work-orders/:id/notes': {
    fixture: 'acknowledged', mutates: false,
    request: (fx, user) => ({ method: 'POST', url: woUrl(fx, '/notes'), payload: { text: `进展 by ${user}` } }),
    seen: (user, _fx, body) => expect(body.notes.map((n: any) => n.text)).toContain(`进展 by ${user}`),
  },
  'POST /work-orders/:id/reply': {
    fixture: 'acknowledged', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/reply'), payload: { version: fx.version, result: '已处理完毕' } }),
    seen: (_u, _fx, body) => expect(body).toMatchObject({ status: 'replied', result: '已处理完毕' }),
  },
  'POST /work-orders/:id/extension-request': {
    fixture: 'acknowledged', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/extension-request'), payload: { version: fx.version, reason: '需协调多部门', proposedDeadline: '2025-10-20T17:00:00+08:00' } }),
    seen: (_u, _fx, body) => expect(body).toMatchObject({ status: 'extension_requested', extension: { proposedDeadline: '2025-10-20T17:00:00+08:00' } }),
  },
  'POST /work-orders/:id/return': {
    fixture: 'dispatched', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/return'), payload: { version: fx.version, reason: '不属于本单位职责' } }),
    seen: (_u, _fx, body) => expect(body).toMatchObject({ status: 'returned', returnReason: '不属于本单位职责' }),
  },
  'POST /work-orders/:id/return-ruling': {
    fixture: 'returned', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/return-ruling'), payload: { version: fx.version, decision: 'confirm', reason: '经审定属于你单位职责' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ id: fx.workOrderId, status: 'dispatched' }),
  },
  'POST /work-orders/:id/extension-ruling': {
    fixture: 'extension_requested', mutates: true,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/extension-ruling'), payload: { version: fx.version, decision: 'grant', reason: '同意延期' } }),
    seen: (_u, _fx, body) => expect(body).toMatchObject({ status: 'acknowledged', extensionCount: 1, deadlines: { reply: '2025-10-20T17:00:00+08:00' } }),
  },
  'POST /work-orders/:id/supervision-orders': {
    fixture: 'dispatched', mutates: false,
    request: (fx) => ({ method: 'POST', url: woUrl(fx, '/supervision-orders'), payload: { reason: '群众多次来电，请加快办理' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ workOrderId: fx.workOrderId, origin: 'manual', status: 'open' }),
  },
  'GET /supervision-orders': {
    fixture: 'supervised', mutates: false,
    request: () => ({ method: 'GET', url: '/supervision-orders?status=open&pageSize=200' }),
    lists: (body, fx) => {
      expect(body.total).toBe(body.items.length);
      return body.items.some((so: any) => so.id === fx.supervisionOrderId);
    },
  },
  'POST /supervision-orders/:id/answer': {
    fixture: 'supervised', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/supervision-orders/${fx.supervisionOrderId}/answer`, payload: { answer: '已加派人手，明日办结' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ id: fx.supervisionOrderId, status: 'answered', answer: '已加派人手，明日办结' }),
  },
  'POST /tickets/:id/reply-review': {
    fixture: 'replied', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/tickets/${fx.ticketId}/reply-review`, payload: { decision: 'accept' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ id: fx.ticketId, status: 'reviewed' }),
  },
  'GET /claim-pool': {
    fixture: 'offered', mutates: false,
    request: () => ({ method: 'GET', url: '/claim-pool?pageSize=200' }),
    lists: (body, fx) => {
      expect(JSON.stringify(body)).not.toContain(PLACES[fx.place].phone); // no citizen in the pool
      expect(body.total).toBe(body.items.length);
      return body.items.some((p: any) => p.ticketId === fx.ticketId);
    },
  },
  'POST /tickets/:id/claim-pool': {
    fixture: 'accepted', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/tickets/${fx.ticketId}/claim-pool`, payload: { reason: '职责不清的疑难事项' } }),
    seen: (_u, fx, body) => expect(body.map((p: any) => p.ticketId)).toContain(fx.ticketId),
  },
  'POST /claim-pool/:id/claim': {
    fixture: 'offered', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/claim-pool/${fx.ticketId}/claim` }),
    async seen(user, fx, body) {
      expect(body).toMatchObject({ ticketId: fx.ticketId, role: 'lead', status: 'dispatched', unitId: await s.unitId(unitOf(user)) });
    },
  },
  'GET /callbacks': {
    fixture: 'called_back', mutates: false,
    request: () => ({ method: 'GET', url: '/callbacks?status=all&pageSize=200' }),
    lists: (body, fx) => {
      expect(body.total).toBe(body.items.length);
      const cb = body.items.find((c: any) => c.id === fx.callbackId);
      if (cb) expect(cb.ticket.callerPhone).toBe(PLACES[fx.place].phone); // the center calls the citizen back
      return !!cb;
    },
  },
  'POST /callbacks/:id/result': {
    fixture: 'called_back', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/callbacks/${fx.callbackId}/result`, payload: { satisfaction: 'satisfied' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ id: fx.callbackId, status: 'answered', satisfaction: 'satisfied' }),
  },
  'POST /callbacks/:id/attempts': {
    fixture: 'called_back', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/callbacks/${fx.callbackId}/attempts`, payload: { outcome: 'no_answer' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ id: fx.callbackId, status: 'surveying', attempts: 2 }),
  },
  'POST /tickets/:id/rating': {
    fixture: 'called_back', mutates: true,
    request: (fx) => ({ method: 'POST', url: `/tickets/${fx.ticketId}/rating`, payload: { satisfaction: 'basically_satisfied' } }),
    seen: (_u, fx, body) => expect(body).toMatchObject({ ticketId: fx.ticketId, status: 'answered', satisfaction: 'basically_satisfied' }),
  },
};

// ---------------------------------------------------------------------------------------------
// The matrix

async function warm(user: string) {
  const me = await s.api(user, 'GET', '/auth/me');
  if (me.status !== 200) throw new Error(`login ${user}: ${me.status}`);
}

describe(`work orders: user × endpoint × scope on ${testDialect}`, () => {
  it('the table covers every operation and every user', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(OPS).sort());
    for (const cells of Object.values(EXPECTED)) expect(Object.keys(cells).sort()).toEqual([...USERS].sort());
  });

  for (const [opName, op] of Object.entries(OPS)) {
    describe(opName, () => {
      for (const user of USERS) {
        const cell = EXPECTED[opName][user];
        const cases = Array.isArray(cell)
          ? [{ scope: 'own' as Scope, outcome: cell[0], scoped: true }, { scope: 'other' as Scope, outcome: cell[1], scoped: true }]
          : [{ scope: 'own' as Scope, outcome: cell, scoped: false }];
        for (const { scope, outcome, scoped } of cases) {
          const where = scoped ? ` ${SCOPE_LABEL[KIND[user]][scope]}` : '';
          it(`${user} ${opName}${where} → ${outcomeText(outcome)}`, async () => {
            const expected = parseOutcome(outcome);
            const place = placeOf(user, scope);
            const fx = await fixtureFor(op.fixture, place);
            const req = op.request(fx, user);
            await warm(user);
            await settle();
            const before = await snapshot(fx);
            const res = await s.api(user, req.method, req.url, req.payload);
            expect(res.status, JSON.stringify(res.body)).toBe(expected.status);
            if (expected.status >= 400) {
              expect(res.body).toMatchObject({ code: expected.code, request_id: expect.any(String) });
              expect(res.body.message_zh).toMatch(/\S/);
              // A refusal writes nothing, not even an audit row, and changes nothing.
              expect(await snapshot(fx), 'nothing changed').toEqual(before);
              return;
            }
            if (op.mutates) consume(op.fixture, place);
            if (expected.listed !== undefined) expect(op.lists!(res.body, fx), 'the fixture is listed').toBe(expected.listed);
            await op.seen?.(user, fx, res.body);
          });
        }
      }
    });
  }

  describe('without a session', () => {
    for (const [opName, op] of Object.entries(OPS)) {
      it(`anonymous ${opName} → 401 AUTH_REQUIRED, nothing changed`, async () => {
        const fx = await fixtureFor(op.fixture, 'C');
        const req = op.request(fx, 'admin');
        const before = await snapshot(fx);
        const res = await s.t.app.inject({ method: req.method, url: `/api/v1${req.url}`, payload: req.payload as never });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ code: 'AUTH_REQUIRED', message_zh: '请先登录' });
        expect(await snapshot(fx)).toEqual(before);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Another unit's work order is indistinguishable from one that does not exist

describe(`another unit cannot probe work-order ids on ${testDialect}`, () => {
  const ROUTES: { name: string; req: (id: string) => Req }[] = [
    { name: 'GET /work-orders/:id', req: (id) => ({ method: 'GET', url: `/work-orders/${id}` }) },
    { name: 'GET /work-orders/:id/milestones', req: (id) => ({ method: 'GET', url: `/work-orders/${id}/milestones` }) },
    { name: 'GET /work-orders/:id/attachments/:a', req: (id) => ({ method: 'GET', url: `/work-orders/${id}/attachments/01NOSUCHATTACHMENT` }) },
    { name: 'POST acknowledge', req: (id) => ({ method: 'POST', url: `/work-orders/${id}/acknowledge`, payload: { version: 1 } }) },
    { name: 'POST on-site', req: (id) => ({ method: 'POST', url: `/work-orders/${id}/on-site`, payload: { version: 1 } }) },
    { name: 'POST notes', req: (id) => ({ method: 'POST', url: `/work-orders/${id}/notes`, payload: { text: '试探' } }) },
    { name: 'POST reply', req: (id) => ({ method: 'POST', url: `/work-orders/${id}/reply`, payload: { version: 1, result: '试探' } }) },
    { name: 'POST extension-request', req: (id) => ({ method: 'POST', url: `/work-orders/${id}/extension-request`, payload: { version: 1, reason: '试探', proposedDeadline: '2025-10-20T17:00:00+08:00' } }) },
    { name: 'POST return', req: (id) => ({ method: 'POST', url: `/work-orders/${id}/return`, payload: { version: 1, reason: '试探' } }) },
  ];

  for (const route of ROUTES) {
    it(`water1 ${route.name} on a chengguan work order answers exactly as on an id that does not exist`, async () => {
      const fx = await fixtureFor('dispatched', 'C');
      await warm('water1');
      const before = await snapshot(fx);
      const real = await s.api('water1', route.req(fx.workOrderId!).method, route.req(fx.workOrderId!).url, route.req(fx.workOrderId!).payload);
      const missing = '01NOSUCHWORKORDER0000000000';
      const none = await s.api('water1', route.req(missing).method, route.req(missing).url, route.req(missing).payload);
      expect(real.status).toBe(404);
      const strip = (b: any, id: string) => ({ code: b.code, message: b.message.replace(id, '<id>'), message_zh: b.message_zh.replace(id, '<id>'), details: b.details });
      expect(strip(real.body, fx.workOrderId!)).toEqual(strip(none.body, missing));
      expect(real.body.code).toBe('WORK_ORDER_NOT_FOUND');
      expect(await snapshot(fx)).toEqual(before);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Lists never show another unit's work orders

describe(`work-order lists by unit on ${testDialect}`, () => {
  const QUEUES = ['to_acknowledge', 'returned', 'extension_requested', 'to_review', 'overdue', 'at_risk', 'open', 'all'];

  it('water1 never lists dept-cgj\'s work orders, whatever the queue or filter; its total is its own count', async () => {
    // Work orders of both units in several states.
    for (const kind of ['dispatched', 'acknowledged', 'returned', 'extension_requested', 'replied'] as const) {
      await build(kind, 'C');
      await build(kind, 'W');
    }
    const cgj = await s.unitId('dept-cgj');
    const water = await s.unitId('util-water');
    const cgjTicket = (await fixtureFor('dispatched', 'C')).ticketId;
    const db = s.t.ctx.database.db;
    const own = await db.selectFrom('work_orders').select('id').where('unit_id', '=', water).execute();
    expect(own.length).toBeGreaterThan(0);
    for (const queue of QUEUES) {
      for (const filter of ['', `&unitId=${cgj}`, `&ticketId=${cgjTicket}`]) {
        const list = await s.ok('water1', 'GET', `/work-orders?queue=${queue}&pageSize=200${filter}`);
        expect(list.items.filter((w: any) => w.unitId !== water), `${queue}${filter}`).toEqual([]);
        expect(list.total, `${queue}${filter}`).toBe(list.items.length);
        if (filter.startsWith('&ticketId')) expect(list.total).toBe(0);
      }
    }
    const all = await s.ok('water1', 'GET', '/work-orders?queue=all&pageSize=200');
    expect(all.items.map((w: any) => w.id).sort()).toEqual(own.map((w) => w.id).sort());
    // The center's view of the same filter shows the other unit's work orders: the filter works, the scope holds.
    const center = await s.ok('dispatcher1', 'GET', `/work-orders?queue=all&pageSize=200&unitId=${cgj}`);
    expect(center.total).toBeGreaterThan(0);
    expect(new Set(center.items.map((w: any) => w.unitId))).toEqual(new Set([cgj]));
    // Nor does a supervision order of dept-cgj appear to water1.
    const so = await fixtureFor('supervised', 'C');
    expect((await s.ok('water1', 'GET', '/supervision-orders')).items.map((x: any) => x.id)).not.toContain(so.supervisionOrderId);
  });
});

// ---------------------------------------------------------------------------------------------
// What a unit sees of the citizen through its work order

describe(`the citizen as seen through a work order on ${testDialect}`, () => {
  it('a confidential ticket: the unit sees neither phone nor name (detail, list, notices); the center sees both', async () => {
    const { ticket, wo } = await dispatchedAt('C', { confidential: true, callerPhone: '13911112222', citizenName: '匿名市民' });
    for (const user of ['chengguan1', 'chengguan_mgr']) {
      const detail = await s.ok(user, 'GET', `/work-orders/${wo.id}`);
      expect(detail.ticket).toMatchObject({ id: ticket.id, confidential: true, citizenHidden: true, callerPhone: null, citizenName: null, citizenId: null });
      expect(JSON.stringify(detail)).not.toContain('13911112222');
      expect(JSON.stringify(detail)).not.toContain('匿名市民');
      const list = await s.ok(user, 'GET', `/work-orders?queue=all&ticketId=${ticket.id}`);
      expect(list.total).toBe(1);
      expect(JSON.stringify(list)).not.toContain('13911112222');
      expect(JSON.stringify(list)).not.toContain('1391111');
    }
    const center = await s.ok('dispatcher1', 'GET', `/work-orders/${wo.id}`);
    expect(center.ticket).toMatchObject({ confidential: true, citizenHidden: false, callerPhone: '13911112222', citizenName: '匿名市民' });
    const notices = await s.notices({ workOrderId: wo.id });
    expect(notices.length).toBeGreaterThan(0);
    expect(JSON.stringify(notices)).not.toContain('13911112222');
    expect(JSON.stringify(notices)).not.toContain('匿名市民');
  });

  it('a ticket that is not confidential: the phone masked (139****5678) to the unit, in full to the center', async () => {
    const { wo } = await dispatchedAt('C');
    for (const user of ['chengguan1', 'chengguan_mgr']) {
      const detail = await s.ok(user, 'GET', `/work-orders/${wo.id}`);
      expect(detail.ticket).toMatchObject({ confidential: false, citizenHidden: false, callerPhone: '139****5678', citizenName: '王先生' });
      expect(JSON.stringify(detail)).not.toContain('13912345678');
    }
    for (const user of ['agent1', 'dispatcher1', 'supervisor1', 'admin']) {
      expect((await s.ok(user, 'GET', `/work-orders/${wo.id}`)).ticket.callerPhone, user).toBe('13912345678');
    }
  });
});
