/**
 * Who may do what, and see what (数据权限): every demo role × every endpoint family × a ticket in
 * the role's scope ("own") and one outside it ("other"), as a table of expected outcomes turned into
 * one `it` per cell. Then what each role sees of a ticket (masked phone, hidden citizen, audit trail)
 * and proof that list totals never count out-of-scope tickets.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, startTestApp, rowCounts, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { SIX, parseOutcome, outcomeText, type Outcome } from '../helpers/matrix';

// ---------------------------------------------------------------------------------------------
// Roles, their demo users, and what "own" and "other" mean for each

const ROLES = [
  'agent', 'dispatcher', 'unit_handler', 'unit_manager', 'grid_member', 'grid_leader', 'community_secretary', 'town_leader', 'supervisor', 'admin',
] as const;
type RoleName = (typeof ROLES)[number];

const USER: Record<RoleName, string> = {
  agent: 'agent1',
  dispatcher: 'dispatcher1',
  unit_handler: 'water1', // util-water
  unit_manager: 'chengguan_mgr', // dept-cgj
  grid_member: 'grid1', // grid 990102001001001
  grid_leader: 'gridlead1', // grid 990102001001001
  community_secretary: 'secretary1', // community 990102001001
  town_leader: 'townlead1', // street 990102001
  supervisor: 'supervisor1',
  admin: 'admin',
};

type Kind = 'center' | 'unit' | 'grid';
const KIND: Record<RoleName, Kind> = {
  agent: 'center', dispatcher: 'center', supervisor: 'center', admin: 'center',
  unit_handler: 'unit', unit_manager: 'unit',
  grid_member: 'grid', grid_leader: 'grid', community_secretary: 'grid', town_leader: 'grid',
};
const isCenter = (role: RoleName) => KIND[role] === 'center';

type Scope = 'own' | 'other';
const SCOPE_LABEL: Record<Kind, Record<Scope, string>> = {
  center: { own: 'city (water ticket)', other: 'city (chengguan ticket)' },
  unit: { own: 'own-unit', other: 'other-unit' },
  grid: { own: 'in-territory', other: 'outside-territory' },
};

/**
 * Two placements of a ticket. W: the water company, in grid 990102001001001 (inside every demo grid
 * user's subtree). C: the city-management bureau, in a grid of 青山区 (outside all of them).
 */
const PLACES = {
  W: { unit: 'util-water', territory: '990102001001001', phone: '13800138000', masked: '138****8000', name: '张三' },
  C: { unit: 'dept-cgj', territory: '990103001001001', phone: '13900139000', masked: '139****9000', name: '李四' },
} as const;
type Place = keyof typeof PLACES;
/** The chengguan manager's own unit is C; for everyone else W is "own". */
const placeOf = (role: RoleName, scope: Scope): Place => ((role === 'unit_manager') === (scope === 'own') ? 'C' : 'W');

// ---------------------------------------------------------------------------------------------
// The expected outcomes

type Cell = Outcome | [own: Outcome, other: Outcome];

const NF = '404 TICKET_NOT_FOUND';
const RF = '403 ROLE_FORBIDDEN';

/** One row of the table, in the column order of ROLES. */
function row(
  agent: Cell, dispatcher: Cell, unit_handler: Cell, unit_manager: Cell, grid_member: Cell,
  grid_leader: Cell, community_secretary: Cell, town_leader: Cell, supervisor: Cell, admin: Cell,
): Record<RoleName, Cell> {
  return { agent, dispatcher, unit_handler, unit_manager, grid_member, grid_leader, community_secretary, town_leader, supervisor, admin };
}
const same = (c: Cell) => row(c, c, c, c, c, c, c, c, c, c);

const OK200: [Outcome, Outcome] = [200, 200];
const SEEN_OWN: [Outcome, Outcome] = [200, NF];
const FORBIDDEN2: [Outcome, Outcome] = [RF, RF];
const LISTED: [Outcome, Outcome] = ['listed', 'listed'];
const LISTED_OWN: [Outcome, Outcome] = ['listed', 'unlisted'];
const RF_NF: [Outcome, Outcome] = [RF, NF];

const EXPECTED: Record<string, Record<RoleName, Cell>> = {
  //                                         agent          dispatcher     unit_handler          unit_manager          grid_member           grid_leader           community_secretary   town_leader           supervisor     admin
  'POST /tickets':                      row([201, 201],    [201, 201],    FORBIDDEN2,           FORBIDDEN2,           [201, 201],           [201, 201],           [201, 201],           [201, 201],           [201, 201],    [201, 201]),
  'GET /tickets?number=':               row(LISTED,        LISTED,        LISTED_OWN,           LISTED_OWN,           LISTED_OWN,           LISTED_OWN,           LISTED_OWN,           LISTED_OWN,           LISTED,        LISTED),
  'GET /tickets/:id':                   row(OK200,         OK200,         SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             OK200,         OK200),
  'PATCH /tickets/:id':                 row(OK200,         OK200,         FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,    OK200),
  'POST /tickets/:id/transitions acknowledge':
                                        row(FORBIDDEN2,    FORBIDDEN2,    SEEN_OWN,             SEEN_OWN,             RF_NF,                RF_NF,                RF_NF,                RF_NF,                FORBIDDEN2,    FORBIDDEN2),
  'POST /tickets/:id/transitions dispatch':
                                        row(OK200,         OK200,         RF_NF,                RF_NF,                RF_NF,                RF_NF,                RF_NF,                RF_NF,                OK200,         OK200),
  'GET /tickets/:id/audit':             row(OK200,         OK200,         SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             OK200,         OK200),
  'GET /tickets/:id/links':             row(OK200,         OK200,         SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             SEEN_OWN,             OK200,         OK200),
  'POST /tickets/:id/links':            row(OK200,         OK200,         FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           OK200,         OK200),
  'GET /citizens/lookup':               row(OK200,         OK200,         FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           OK200,         OK200),
  'PUT /citizens/:id/confidential':     row([204, 204],    [204, 204],    FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           FORBIDDEN2,           [204, 204],    [204, 204]),
  'GET /cities/current':                same(200),
  'GET /territories':                   same(200),
  'GET /territories/:id':               same(OK200),
  'GET /units':                         same(200),
  'GET /units/:id':                     same(OK200),
  'GET /hotline-lines':                 same(200),
  'GET /calendar/deadline':             same(200),
  'GET /calendar/years':                same(200),
  'POST /calendar/years':               row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   RF,            200),
  'GET /users':                         row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   200,           200),
  'POST /users':                        row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   RF,            201),
  'POST /api-keys':                     row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   RF,            201),
  'PATCH /users/:id':                   row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   RF,            200),
  'GET /api-keys':                      row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   RF,            200),
  'DELETE /api-keys/:id':               row(RF,            RF,            RF,                   RF,                   RF,                   RF,                   RF,                   RF,                   RF,            200),
};


// ---------------------------------------------------------------------------------------------
// The app, fixtures and request helpers

interface Req {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  payload?: unknown;
}

let t: TestApp;
const ids = { unit: {} as Record<string, string>, territory: {} as Record<string, string>, user: {} as Record<string, string> };
/** The two scope fixtures of the matrix, by placement: ticket id, number, citizen id. */
const fixture = {} as Record<Place, { id: string; number: string; citizenId: string }>;
let neutralTicketId: string;

/**
 * Set when a request never answered. On SQLite a read made outside an open transaction waits for
 * the single connection that transaction holds, for ever (logins of grid users and dispatches once
 * did this), and every later request waits behind it: the rest of the file then fails fast.
 */
let hungBy: string | null = null;
const ANSWER_WITHIN_MS = 5000;

function assertNotHung() {
  if (hungBy) throw new Error(`not run: the database is still locked by an earlier request that never answered (${hungBy})`);
}

/** Sends as a demo user (or anonymously); a request that hangs fails its test instead of the whole file. */
async function send(username: string | null, req: Req): Promise<LightMyRequestResponse> {
  assertNotHung();
  const answer = (async () => {
    const headers: Record<string, string> = username ? { cookie: await t.login(username) } : {};
    return t.app.inject({ method: req.method, url: `/api/v1${req.url}`, headers, payload: req.payload as never });
  })();
  const timeout = new Promise<'hangs'>((resolve) => setTimeout(() => resolve('hangs'), ANSWER_WITHIN_MS).unref());
  const res = await Promise.race([answer, timeout]);
  if (res === 'hangs') {
    hungBy = `${req.method} ${req.url} as ${username}`;
    throw new Error(`${hungBy} did not answer within ${ANSWER_WITHIN_MS} ms`);
  }
  return res;
}

async function ok(username: string, req: Req, status = 200) {
  const res = await send(username, req);
  if (res.statusCode !== status) throw new Error(`setup ${req.method} ${req.url} as ${username}: ${res.statusCode} ${res.body}`);
  return res.json() as any;
}

/**
 * A new ticket at a placement, registered by agent1 with all six elements. `dispatched` moves it to
 * 已派单 by writing the row directly, as a dispatch would (status, version + 1): the dispatch
 * transition itself is one of the cells under test.
 */
async function newTicket(place: Place, opts: { dispatched?: boolean; title?: string; phone?: string | null } = {}) {
  const p = PLACES[place];
  const ticket = await ok('agent1', {
    method: 'POST',
    url: '/tickets',
    payload: {
      channel: 'phone', type: 'help', title: opts.title ?? `matrix ${place}`, ...SIX,
      callerPhone: opts.phone === undefined ? p.phone : opts.phone, citizenName: p.name,
      territoryId: ids.territory[p.territory], handlingUnitId: ids.unit[p.unit],
    },
  }, 201);
  if (!opts.dispatched) return ticket;
  await t.ctx.database.db.updateTable('tickets').set({ status: 'dispatched', version: ticket.version + 1 }).where('id', '=', ticket.id).execute();
  return { ...ticket, status: 'dispatched', version: ticket.version + 1 };
}

async function currentVersion(id: string): Promise<number> {
  return (await ok('admin', { method: 'GET', url: `/tickets/${id}` })).version;
}

let serial = 0;
const unique = (prefix: string) => `${prefix}${++serial}`;

beforeAll(async () => {
  t = await startTestApp();
  for (const code of ['util-water', 'dept-cgj', 'util-power', 'st-990102001']) ids.unit[code] = (await t.ctx.directory.findUnitByCode('demo', code))!.id;
  for (const code of ['990102001001001', '990102001001002', '990102001002', '990102002', '990103001001001']) {
    ids.territory[code] = (await t.ctx.directory.findTerritoryByCode('demo', code))!.id;
  }
  for (const role of ROLES) ids.user[role] = (await ok(USER[role], { method: 'GET', url: '/auth/me' })).id;
  for (const place of ['W', 'C'] as const) {
    const tk = await newTicket(place);
    fixture[place] = { id: tk.id, number: tk.number, citizenId: tk.citizenId };
  }
  neutralTicketId = (await newTicket('W', { title: 'neutral link target', phone: null })).id;
});
afterAll(async () => {
  // A hung SQLite transaction can keep close() waiting too; don't let that fail the file.
  await Promise.race([t?.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
});

// ---------------------------------------------------------------------------------------------
// What a successful answer must show the role

function expectCitizenView(role: RoleName, place: Place, view: any) {
  const p = PLACES[place];
  expect(view.citizenHidden).toBe(false);
  expect(view.citizenName).toBe(p.name);
  if (isCenter(role)) {
    expect(view.callerPhone).toBe(p.phone);
    expect(view.citizenId).toBeTruthy();
  } else {
    expect(view.callerPhone).toBe(p.masked);
  }
}

/** The citizen's details (name, phone, id) that an audit trail shows, as `action side.field=value`. */
function citizenDetailsIn(trail: { action: string; before: unknown; after: unknown }[]): string[] {
  const out: string[] = [];
  for (const e of trail) {
    for (const side of ['before', 'after'] as const) {
      const o = e[side] as Record<string, unknown> | null;
      for (const field of ['citizen_name', 'caller_phone', 'citizen_id']) {
        if (o && o[field] != null) out.push(`${e.action} ${side}.${field}=${String(o[field])}`);
      }
    }
  }
  return out;
}

function expectAuditView(role: RoleName, place: Place, trail: any[]) {
  const p = PLACES[place];
  const text = JSON.stringify(trail);
  expect(trail.length).toBeGreaterThan(0);
  expect(trail[0].action).toBe('ticket.created');
  if (isCenter(role)) {
    expect(text).toContain(p.phone);
  } else {
    expect(text).not.toContain(p.phone);
    expect(text).toContain(p.masked);
  }
}

// ---------------------------------------------------------------------------------------------
// The operations: how to ask, and what a success must look like

interface Op {
  /** Builds the request; may set up a fresh ticket first. */
  request(role: RoleName, scope: Scope): Promise<Req>;
  /** Extra checks on a 2xx answer. */
  seen?(role: RoleName, scope: Scope, body: any): void | Promise<void>;
}

const fx = (role: RoleName, scope: Scope) => fixture[placeOf(role, scope)];

const OPS: Record<string, Op> = {
  'POST /tickets': {
    async request(role, scope) {
      const p = PLACES[placeOf(role, scope)];
      return {
        method: 'POST',
        url: '/tickets',
        payload: {
          channel: KIND[role] === 'grid' ? 'grid' : 'phone', type: 'report', title: unique('matrix create '),
          callerPhone: p.phone, territoryId: ids.territory[p.territory], handlingUnitId: ids.unit[p.unit],
        },
      };
    },
    seen(role, scope, body) {
      expect(body.status).toBe('accepted');
      expect(body.createdBy).toBe(ids.user[role]);
      expect(body.callerPhone).toBe(isCenter(role) ? PLACES[placeOf(role, scope)].phone : PLACES[placeOf(role, scope)].masked);
    },
  },
  'GET /tickets?number=': {
    async request(role, scope) {
      return { method: 'GET', url: `/tickets?number=${fx(role, scope).number}` };
    },
    seen(role, scope, body) {
      if (body.total === 1) expectCitizenView(role, placeOf(role, scope), body.items[0]);
    },
  },
  'GET /tickets/:id': {
    async request(role, scope) {
      return { method: 'GET', url: `/tickets/${fx(role, scope).id}` };
    },
    seen(role, scope, body) {
      expect(body.id).toBe(fx(role, scope).id);
      expectCitizenView(role, placeOf(role, scope), body);
    },
  },
  'PATCH /tickets/:id': {
    async request(role, scope) {
      const id = fx(role, scope).id;
      return { method: 'PATCH', url: `/tickets/${id}`, payload: { version: await currentVersion(id), title: unique(`edited by ${role} `) } };
    },
    seen(role, _scope, body) {
      expect(body.title).toMatch(new RegExp(`^edited by ${role} `));
    },
  },
  'POST /tickets/:id/transitions acknowledge': {
    async request(role, scope) {
      const tk = await newTicket(placeOf(role, scope), { dispatched: true });
      return { method: 'POST', url: `/tickets/${tk.id}/transitions`, payload: { action: 'acknowledge', version: tk.version } };
    },
    seen(_role, _scope, body) {
      expect(body.status).toBe('acknowledged');
    },
  },
  'POST /tickets/:id/transitions dispatch': {
    async request(role, scope) {
      const tk = await newTicket(placeOf(role, scope));
      return { method: 'POST', url: `/tickets/${tk.id}/transitions`, payload: { action: 'dispatch', version: tk.version } };
    },
    seen(_role, _scope, body) {
      expect(body.status).toBe('dispatched');
    },
  },
  'GET /tickets/:id/audit': {
    async request(role, scope) {
      return { method: 'GET', url: `/tickets/${fx(role, scope).id}/audit` };
    },
    seen(role, scope, body) {
      expectAuditView(role, placeOf(role, scope), body);
    },
  },
  'GET /tickets/:id/links': {
    async request(role, scope) {
      return { method: 'GET', url: `/tickets/${fx(role, scope).id}/links` };
    },
    seen(_role, _scope, body) {
      expect(Array.isArray(body)).toBe(true);
    },
  },
  'POST /tickets/:id/links': {
    async request(role, scope) {
      return { method: 'POST', url: `/tickets/${fx(role, scope).id}/links`, payload: { ticketId: neutralTicketId, kind: 'related' } };
    },
    seen(_role, _scope, body) {
      expect(body).toEqual(expect.arrayContaining([expect.objectContaining({ ticketId: neutralTicketId, kind: 'related' })]));
    },
  },
  'GET /citizens/lookup': {
    async request(role, scope) {
      return { method: 'GET', url: `/citizens/lookup?phone=${PLACES[placeOf(role, scope)].phone}` };
    },
    seen(role, scope, body) {
      const p = PLACES[placeOf(role, scope)];
      expect(body.citizen).toMatchObject({ id: fx(role, scope).citizenId, name: p.name });
      expect(body.tickets.length).toBeGreaterThan(0);
      for (const tk of body.tickets) expect(tk.callerPhone).toBe(p.phone);
    },
  },
  'PUT /citizens/:id/confidential': {
    async request(role, scope) {
      return { method: 'PUT', url: `/citizens/${fx(role, scope).citizenId}/confidential`, payload: { confidential: false } };
    },
  },
  'GET /cities/current': {
    async request() {
      return { method: 'GET', url: '/cities/current' };
    },
    seen(_role, _scope, body) {
      expect(body.id).toBe('demo');
    },
  },
  'GET /territories': {
    async request() {
      return { method: 'GET', url: '/territories' };
    },
    seen(_role, _scope, body) {
      expect(body.items).toHaveLength(3);
    },
  },
  'GET /territories/:id': {
    async request(role, scope) {
      return { method: 'GET', url: `/territories/${ids.territory[PLACES[placeOf(role, scope)].territory]}` };
    },
    seen(role, scope, body) {
      expect(body.code).toBe(PLACES[placeOf(role, scope)].territory);
      expect(body.ancestors).toHaveLength(3);
    },
  },
  'GET /units': {
    async request() {
      return { method: 'GET', url: '/units?pageSize=5' };
    },
    seen(_role, _scope, body) {
      expect(body.items).toHaveLength(5);
      expect(body.total).toBeGreaterThan(5);
    },
  },
  'GET /units/:id': {
    async request(role, scope) {
      return { method: 'GET', url: `/units/${ids.unit[PLACES[placeOf(role, scope)].unit]}` };
    },
    seen(role, scope, body) {
      expect(body.code).toBe(PLACES[placeOf(role, scope)].unit);
    },
  },
  'GET /hotline-lines': {
    async request() {
      return { method: 'GET', url: '/hotline-lines' };
    },
    seen(_role, _scope, body) {
      expect(body.items.length).toBeGreaterThan(0);
    },
  },
  'GET /calendar/deadline': {
    async request() {
      return { method: 'GET', url: '/calendar/deadline?from=2025-09-30T16:00:00%2B08:00&workingDays=3' };
    },
    seen(_role, _scope, body) {
      expect(body.deadline).toBe('2025-10-11T16:00:00+08:00');
    },
  },
  'GET /calendar/years': {
    async request() {
      return { method: 'GET', url: '/calendar/years' };
    },
    seen(_role, _scope, body) {
      expect(body.map((y: { year: number }) => y.year)).toEqual(expect.arrayContaining([2025, 2026]));
    },
  },
  'POST /calendar/years': {
    async request() {
      return {
        method: 'POST',
        url: '/calendar/years',
        payload: { year: 2027, source: '测试通知', holidays: [{ name: '元旦', days: ['2027-01-01'] }], makeupWorkdays: [] },
      };
    },
    seen(_role, _scope, body) {
      expect(body).toMatchObject({ year: 2027, holidayDays: 1 });
    },
  },
  'GET /users': {
    async request() {
      return { method: 'GET', url: '/users' };
    },
    seen(_role, _scope, body) {
      expect(body.map((u: { username: string }) => u.username)).toEqual(expect.arrayContaining(Object.values(USER)));
    },
  },
  'POST /users': {
    async request(role) {
      return { method: 'POST', url: '/users', payload: { username: unique(`m-${role.replace('_', '-')}-`), displayName: '矩阵用户', role: 'agent', password: 'matrix-role-check-1' } };
    },
    seen(_role, _scope, body) {
      expect(body).toMatchObject({ role: 'agent', cityId: 'demo' });
    },
  },
  'POST /api-keys': {
    async request(role) {
      return { method: 'POST', url: '/api-keys', payload: { name: `key of ${role}`, role: 'agent', scopes: ['tickets:read'] } };
    },
    seen(_role, _scope, body) {
      expect(body.key).toMatch(/^hk_/);
    },
  },
  'PATCH /users/:id': {
    async request(role) {
      // A throwaway user: renaming a demo user would not change what the matrix proves.
      const u = await ok('admin', { method: 'POST', url: '/users', payload: { username: unique('m-patch-'), displayName: '待改名', role: 'agent', password: 'matrix-role-check-1' } }, 201);
      return { method: 'PATCH', url: `/users/${u.id}`, payload: { displayName: `改名 ${role}` } };
    },
    seen(role, _scope, body) {
      expect(body).toMatchObject({ displayName: `改名 ${role}`, role: 'agent' });
    },
  },
  'GET /api-keys': {
    async request() {
      return { method: 'GET', url: '/api-keys' };
    },
    seen(_role, _scope, body) {
      expect(Array.isArray(body)).toBe(true);
      for (const k of body) expect(k).not.toHaveProperty('key');
    },
  },
  'DELETE /api-keys/:id': {
    async request(role) {
      const k = await ok('admin', { method: 'POST', url: '/api-keys', payload: { name: `to revoke ${role}`, role: 'agent', scopes: ['tickets:read'] } }, 201);
      return { method: 'DELETE', url: `/api-keys/${k.id}` };
    },
    seen(_role, _scope, body) {
      expect(body.revokedAt).toEqual(expect.any(String));
    },
  },
};

// ---------------------------------------------------------------------------------------------
// The matrix cases

/**
 * Dispatch checks the handling unit through the directory. Done inside the transaction, on SQLite
 * that check waited for ever and locked the database (see `hungBy`): these cells run at the very end
 * of the file, so that such a regression fails them and not everything after them.
 */
const RUN_LAST = new Set(['POST /tickets/:id/transitions dispatch']);

/**
 * One `it` per role × scope cell of the named operations. With `refusalsFirst` the refusals of an
 * operation run before its successes (a success that hangs then only takes the successes with it).
 */
function defineMatrixCases(opNames: string[], opts: { refusalsFirst?: boolean } = {}) {
  for (const opName of opNames) {
    const op = OPS[opName];
    describe(opName, () => {
      let cases = ROLES.flatMap((role) => {
        const cell = EXPECTED[opName][role];
        return Array.isArray(cell)
          ? [{ role, scope: 'own' as Scope, outcome: cell[0], scoped: true }, { role, scope: 'other' as Scope, outcome: cell[1], scoped: true }]
          : [{ role, scope: 'own' as Scope, outcome: cell, scoped: false }];
      });
      if (opts.refusalsFirst) cases = [...cases.filter((c) => parseOutcome(c.outcome).status >= 400), ...cases.filter((c) => parseOutcome(c.outcome).status < 400)];
      for (const { role, scope, outcome, scoped } of cases) {
        const where = scoped ? ` ${SCOPE_LABEL[KIND[role]][scope]}` : '';
        it(`${role} ${opName}${where} → ${outcomeText(outcome)}`, async () => {
          assertNotHung();
          const expected = parseOutcome(outcome);
          const req = await op.request(role, scope);
          const before = await rowCounts(t);
          const res = await send(USER[role], req);
          const body = res.body ? res.json() : null;
          expect(res.statusCode, res.body).toBe(expected.status);
          if (expected.status >= 400) {
            expect(body).toMatchObject({ code: expected.code, request_id: expect.any(String) });
            expect(body.message_zh).toBeTruthy();
            // A refusal writes nothing, not even an audit row.
            expect(await rowCounts(t)).toEqual(before);
            return;
          }
          if (expected.listed !== undefined) {
            expect(body.total).toBe(expected.listed ? 1 : 0);
            expect(body.items).toHaveLength(expected.listed ? 1 : 0);
          }
          await op.seen?.(role, scope, body);
        });
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Logging in (every role must be able to, on a server that has just started)

describe(`login of every demo role on a fresh server (${testDialect})`, () => {
  // A hang detector, not a speed test: a login that once hung did so for ever (a SQLite transaction
  // waiting on its own connection), so the bound is generous enough for a loaded machine.
  it('every role logs in (none hangs), grid and town roles included', async () => {
    const fresh = await startTestApp();
    const results: Partial<Record<RoleName, number | 'hangs'>> = {};
    for (const role of ROLES) {
      const login = fresh.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: USER[role], password: DEMO_PASSWORD } });
      const r = await Promise.race([login.then((res) => res.statusCode), new Promise<'hangs'>((resolve) => setTimeout(() => resolve('hangs'), 30_000))]);
      results[role] = r;
      if (r === 'hangs') break; // the database connection stays locked: nothing after this can answer
    }
    // Close only a healthy app: a hung SQLite transaction would make close() wait for ever too.
    if (!Object.values(results).includes('hangs')) await fresh.close();
    expect(results).toEqual(Object.fromEntries(ROLES.map((r) => [r, 200])));
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// The matrix

describe(`role × endpoint × scope on ${testDialect}`, () => {
  it('the table covers every operation and every role', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(OPS).sort());
    for (const cells of Object.values(EXPECTED)) expect(Object.keys(cells).sort()).toEqual([...ROLES].sort());
  });

  defineMatrixCases(Object.keys(OPS).filter((name) => !RUN_LAST.has(name)));

  describe('without a session or API key', () => {
    for (const [opName, op] of Object.entries(OPS)) {
      it(`anonymous ${opName} → 401 AUTH_REQUIRED`, async () => {
        const req = await op.request('admin', 'own');
        const before = await rowCounts(t);
        const res = await send(null, req);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ code: 'AUTH_REQUIRED', message_zh: '请先登录' });
        expect(await rowCounts(t)).toEqual(before);
      });
    }
    it('a forged session cookie is no session → 401 AUTH_REQUIRED', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/tickets', headers: { cookie: 'hotline_session=forged' } });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('AUTH_REQUIRED');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// What each role sees of a confidential ticket (保密)

type Sight = 'full' | 'hidden' | 'not found';
const CONFIDENTIAL_SIGHT: Record<RoleName, Sight> = {
  agent: 'full', dispatcher: 'full', supervisor: 'full', admin: 'full',
  unit_handler: 'hidden', // the ticket is the water company's
  unit_manager: 'not found', // chengguan: not its ticket
  grid_member: 'hidden', grid_leader: 'hidden', community_secretary: 'hidden', town_leader: 'hidden',
};

describe(`what each role sees of a confidential ticket on ${testDialect}`, () => {
  const phone = '13700137000';
  const name = '王五';
  let ticket: { id: string; number: string };
  beforeAll(async () => {
    ticket = await ok('agent1', {
      method: 'POST',
      url: '/tickets',
      payload: {
        channel: 'phone', type: 'report', title: '保密举报', confidential: true, callerPhone: phone, citizenName: name, ...SIX,
        territoryId: ids.territory['990102001001001'], handlingUnitId: ids.unit['util-water'],
      },
    }, 201);
  });

  for (const role of ROLES) {
    const sight = CONFIDENTIAL_SIGHT[role];
    it(`${role} GET /tickets/:id, list and audit of a confidential ticket → ${sight}`, async () => {
      const one = await send(USER[role], { method: 'GET', url: `/tickets/${ticket.id}` });
      const list = (await send(USER[role], { method: 'GET', url: `/tickets?number=${ticket.number}` })).json();
      const audit = await send(USER[role], { method: 'GET', url: `/tickets/${ticket.id}/audit` });
      if (sight === 'not found') {
        expect(one.statusCode).toBe(404);
        expect(list.total).toBe(0);
        expect(audit.statusCode).toBe(404);
        return;
      }
      expect(one.statusCode).toBe(200);
      expect(list.total).toBe(1);
      for (const view of [one.json(), list.items[0]]) {
        expect(view.confidential).toBe(true);
        if (sight === 'full') {
          expect(view).toMatchObject({ citizenHidden: false, callerPhone: phone, citizenName: name, citizenId: expect.any(String) });
        } else {
          expect(view).toMatchObject({ citizenHidden: true, callerPhone: null, citizenName: null, citizenId: null });
        }
      }
      if (sight === 'full') {
        expect(citizenDetailsIn(audit.json())).toContain(`ticket.created after.caller_phone=${phone}`);
      } else {
        expect(citizenDetailsIn(audit.json())).toEqual([]);
        expect(JSON.stringify(audit.json())).not.toContain(name);
      }
    });
  }

  it('a citizen marked confidential has every later ticket hidden from the unit', async () => {
    const first = await newTicket('W', { phone: '13600136000' });
    const put = await send('agent1', { method: 'PUT', url: `/citizens/${first.citizenId}/confidential`, payload: { confidential: true } });
    expect(put.statusCode).toBe(204);
    const later = await newTicket('W', { phone: '13600136000' });
    expect(later.confidential).toBe(true);
    const seen = (await send('water1', { method: 'GET', url: `/tickets/${later.id}` })).json();
    expect(seen).toMatchObject({ citizenHidden: true, callerPhone: null, citizenName: null });
  });

  it('a ticket made confidential after registration hides the citizen from the unit, in the audit trail too', async () => {
    const tk = await newTicket('W', { phone: '13500135000' });
    await ok('agent1', { method: 'PATCH', url: `/tickets/${tk.id}`, payload: { version: tk.version, confidential: true } });
    const view = (await send('water1', { method: 'GET', url: `/tickets/${tk.id}` })).json();
    expect(view).toMatchObject({ confidential: true, citizenHidden: true, callerPhone: null, citizenName: null, citizenId: null });
    const trail = (await send('water1', { method: 'GET', url: `/tickets/${tk.id}/audit` })).json();
    expect(citizenDetailsIn(trail), 'citizen details the unit can read in the audit trail').toEqual([]);
  });

  it('renaming the citizen of a confidential ticket does not show the name to the unit in the audit trail', async () => {
    const tk = await ok('agent1', {
      method: 'POST',
      url: '/tickets',
      payload: { channel: 'phone', type: 'help', confidential: true, callerPhone: '13400134000', ...SIX, handlingUnitId: ids.unit['util-water'] },
    }, 201);
    await ok('agent1', { method: 'PATCH', url: `/tickets/${tk.id}`, payload: { version: tk.version, citizenName: '赵六' } });
    const trail = (await send('water1', { method: 'GET', url: `/tickets/${tk.id}/audit` })).json();
    expect(citizenDetailsIn(trail), 'citizen details the unit can read in the audit trail').toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Lists never count what the role may not see

describe(`list totals by scope on ${testDialect}`, () => {
  const MARK = 'SCOPEFIX';
  /** Seven tickets with the marker in their titles; F5 has no place at all and is grid1's own report. */
  const FIXTURES: Record<string, { unit?: string; territory?: string; by?: string; confidential?: boolean }> = {
    F1: { unit: 'util-water', territory: '990102001001001' }, // grid1's grid
    F2: { unit: 'dept-cgj', territory: '990103001001001' }, // 青山区
    F3: { unit: 'util-power', territory: '990102001001002' }, // grid2's grid, same community
    F4: { unit: 'util-water', territory: '990102001002' }, // another community, same street
    F5: { by: 'grid1' }, // reported by grid1, no territory
    F6: { unit: 'dept-cgj', territory: '990102002' }, // another street
    F7: { unit: 'util-water', territory: '990102001001001', confidential: true },
  };
  const VISIBLE: Record<RoleName, string[]> = {
    agent: ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7'],
    dispatcher: ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7'],
    supervisor: ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7'],
    admin: ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7'],
    unit_handler: ['F1', 'F4', 'F7'],
    unit_manager: ['F2', 'F6'],
    grid_member: ['F1', 'F5', 'F7'],
    grid_leader: ['F1', 'F7'],
    community_secretary: ['F1', 'F3', 'F7'],
    town_leader: ['F1', 'F3', 'F4', 'F7'],
  };

  beforeAll(async () => {
    for (const [key, f] of Object.entries(FIXTURES)) {
      await ok(f.by ?? 'agent1', {
        method: 'POST',
        url: '/tickets',
        payload: {
          channel: f.by ? 'grid' : 'phone', type: 'report', title: `${MARK} ${key}`, callerPhone: '13300133000', confidential: f.confidential ?? false,
          territoryId: f.territory ? ids.territory[f.territory] : null, handlingUnitId: f.unit ? ids.unit[f.unit] : null,
        },
      }, 201);
    }
  });

  for (const role of ROLES) {
    it(`${role} GET /tickets?q=${MARK} → exactly ${VISIBLE[role].join(', ')} (total ${VISIBLE[role].length}, also when paged)`, async () => {
      const all = (await send(USER[role], { method: 'GET', url: `/tickets?q=${MARK}&pageSize=200` })).json();
      expect(all.total).toBe(VISIBLE[role].length);
      expect(all.items.map((i: { title: string }) => i.title.split(' ')[1]).sort()).toEqual(VISIBLE[role]);
      for (const item of all.items) expect(item.callerPhone).toBe(isCenter(role) ? '13300133000' : item.confidential ? null : '133****3000');
      const page = (await send(USER[role], { method: 'GET', url: `/tickets?q=${MARK}&pageSize=2&page=2` })).json();
      expect(page.total).toBe(VISIBLE[role].length);
      expect(page.items).toHaveLength(Math.max(0, Math.min(2, VISIBLE[role].length - 2)));
    });
  }

  it('filters cannot widen a scope: water1 asking for chengguan tickets, grid1 for 青山区 get nothing', async () => {
    const water = (await send('water1', { method: 'GET', url: `/tickets?q=${MARK}&handlingUnitId=${ids.unit['dept-cgj']}` })).json();
    expect(water.total).toBe(0);
    const grid = (await send('grid1', { method: 'GET', url: `/tickets?q=${MARK}&territoryId=${ids.territory['990103001001001']}` })).json();
    expect(grid.total).toBe(0);
  });

  it('outside the center nobody may search by caller phone → 403 SCOPE_FORBIDDEN', async () => {
    for (const role of ROLES.filter((r) => !isCenter(r))) {
      const res = await send(USER[role], { method: 'GET', url: '/tickets?callerPhone=13300133000' });
      expect(res.statusCode, role).toBe(403);
      expect(res.json().code).toBe('SCOPE_FORBIDDEN');
    }
    const center = (await send('agent1', { method: 'GET', url: '/tickets?callerPhone=13300133000' })).json();
    expect(center.total).toBe(7);
  });

  it('every role: the unfiltered list is exactly the in-scope tickets of the whole database, computed from the rows', async () => {
    const rows = await t.ctx.database.db.selectFrom('tickets').select(['id', 'handling_unit_id', 'territory_path', 'created_by']).where('city_id', '=', 'demo').execute();
    expect(rows.length).toBeLessThan(200);
    for (const role of ROLES) {
      const me = (await send(USER[role], { method: 'GET', url: '/auth/me' })).json();
      const path = me.territoryId ? await t.ctx.directory.territoryPathOf(me.territoryId) : null;
      const inScope = rows.filter((r) => {
        if (isCenter(role)) return true;
        if (KIND[role] === 'unit') return r.handling_unit_id === me.unitId;
        return (!!r.territory_path && r.territory_path.startsWith(path!)) || r.created_by === me.id;
      });
      const list = (await send(USER[role], { method: 'GET', url: '/tickets?pageSize=200' })).json();
      expect(list.total, role).toBe(inScope.length);
      expect(list.items.map((i: { id: string }) => i.id).sort(), role).toEqual(inScope.map((r) => r.id).sort());
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Last: the cells that once locked a SQLite database (see RUN_LAST)

describe(`role × endpoint × scope, transitions that set the handling unit, on ${testDialect}`, () => {
  defineMatrixCases([...RUN_LAST], { refusalsFirst: true });
});
