/**
 * An open live socket ends with the access it was opened with (登录失效即断开), at once rather than at
 * the next five-minute re-check: logout closes that session's sockets (4401), disabling a user closes
 * theirs (4401) and ends their sessions, a changed role or unit closes with 4409 (reconnect for the
 * new scope), a revoked key's socket closes (4401), and a session's socket closes when it expires.
 * Real server, real WebSocket clients, one node (the two-node case is in two-nodes.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { toDbTime } from '../../core';
import { listen, LiveClient } from './live-client';

let t: TestApp;
let base: string;
let admin: string;
const clients: LiveClient[] = [];
/** How long each close took after the request that caused it (ms), for the record. */
const took: Record<string, number> = {};

let serial = 0;
async function newUser(role = 'agent', extra: Record<string, unknown> = {}) {
  const username = `ended-${++serial}`;
  const res = await t.app.inject({
    method: 'POST', url: '/api/v1/users', headers: { cookie: admin },
    payload: { username, displayName: `用户${serial}`, role, password: 'ended-access-2025', ...extra },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return { id: json(res).id as string, username };
}
async function loginAs(username: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: 'ended-access-2025' } });
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}
async function open(o: { cookie?: string; apiKey?: string }) {
  const c = await LiveClient.ready(base, o);
  clients.push(c);
  return c;
}
/** Runs `cause` and returns how long the socket took to close after it started, with the close code. */
async function closeAfter(c: LiveClient, cause: () => Promise<unknown>) {
  const t0 = performance.now();
  await cause();
  const { code, reason } = await Promise.race([c.closed, new Promise<never>((_, r) => setTimeout(() => r(new Error('still open after 5 s')), 5000))]);
  return { code, reason, ms: Math.round(performance.now() - t0) };
}
const patchUser = (id: string, payload: unknown) => t.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: { cookie: admin }, payload: payload as never });

beforeAll(async () => {
  // A long heartbeat: nothing here may rely on the periodic re-check.
  t = await startTestApp({ config: { live: { heartbeatMs: 60_000, retentionDays: 3 } } });
  base = await listen(t.app);
  admin = await t.login('admin');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
  console.info(`live sockets closed after (ms, ${testDialect}, one node): ${JSON.stringify(took)}`);
});

describe(`an ended access closes its live sockets at once, on ${testDialect}`, () => {
  it('logout closes the sockets of that session within a second (4401); another session of the user stays', async () => {
    const u = await newUser();
    const [cookie, other] = [await loginAs(u.username), await loginAs(u.username)];
    const [c, keep] = [await open({ cookie }), await open({ cookie: other })];
    const r = await closeAfter(c, () => t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } }));
    took.logout = r.ms;
    expect(r.code).toBe(4401);
    expect(r.ms).toBeLessThan(1000);
    expect(keep.closeCode).toBeNull();
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: other } })).statusCode).toBe(200);
    const audit = await t.ctx.database.db.selectFrom('audit_events').select('action').where('entity_id', '=', u.id).execute();
    expect(audit.map((a) => a.action)).toContain('user.logged_out');
  });

  it('disabling a user closes their sockets (4401), ends their sessions and refuses their login; audited', async () => {
    const u = await newUser();
    const cookie = await loginAs(u.username);
    const c = await open({ cookie });
    const r = await closeAfter(c, async () => {
      const res = await patchUser(u.id, { active: false });
      expect(res.statusCode, res.body).toBe(200);
    });
    took.disable = r.ms;
    expect(r.code).toBe(4401);
    expect(r.ms).toBeLessThan(1000);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
    const sessions = await t.ctx.database.db.selectFrom('sessions').select('id').where('user_id', '=', u.id).execute();
    expect(sessions).toEqual([]);
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: u.username, password: 'ended-access-2025' } });
    expect(json(login).code).toBe('LOGIN_FAILED');
    const audit = await t.ctx.database.db.selectFrom('audit_events').select(['action', 'before', 'after']).where('entity_id', '=', u.id).where('action', '=', 'user.disabled').execute();
    expect(audit).toHaveLength(1);
  });

  it('a role change closes the sockets with 4409 (scope changed); the session goes on with the new role', async () => {
    const u = await newUser();
    const cookie = await loginAs(u.username);
    const c = await open({ cookie });
    const r = await closeAfter(c, async () => {
      const res = await patchUser(u.id, { role: 'dispatcher' });
      expect(json(res)).toMatchObject({ role: 'dispatcher' });
    });
    took.roleChange = r.ms;
    expect(r.code).toBe(4409);
    expect(r.ms).toBeLessThan(1000);
    expect(json(await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } }))).toMatchObject({ role: 'dispatcher' });
    const again = await open({ cookie });
    expect(again.messages[0]).toMatchObject({ type: 'hello', user: { role: 'dispatcher' } });
  });

  it("a unit change closes a unit handler's sockets with 4409; renaming alone does not", async () => {
    const [water, power] = [(await t.ctx.directory.findUnitByCode('demo', 'util-water'))!.id, (await t.ctx.directory.findUnitByCode('demo', 'util-power'))!.id];
    const u = await newUser('unit_handler', { unitId: water });
    const cookie = await loginAs(u.username);
    const c = await open({ cookie });
    expect(json(await patchUser(u.id, { displayName: '新名字' }))).toMatchObject({ displayName: '新名字' });
    await new Promise((r) => setTimeout(r, 200));
    expect(c.closeCode, 'a new name leaves the socket open').toBeNull();
    const r = await closeAfter(c, () => patchUser(u.id, { unitId: power }));
    expect(r.code).toBe(4409);
    expect(r.ms).toBeLessThan(1000);
  });

  it('PATCH /users/:id checks like creation: a unit role needs a unit, the unit must exist, an admin may not demote or disable themself', async () => {
    const u = await newUser();
    expect(json(await patchUser(u.id, { role: 'unit_handler' }))).toMatchObject({ code: 'USER_INVALID', details: { field: 'unitId' } });
    expect(json(await patchUser(u.id, { role: 'unit_handler', unitId: 'nope' }))).toMatchObject({ code: 'UNIT_NOT_FOUND' });
    expect(json(await patchUser(u.id, { role: 'grid_member' }))).toMatchObject({ code: 'USER_INVALID', details: { field: 'territoryId' } });
    expect(json(await patchUser('nope', { active: false })).code).toBe('USER_NOT_FOUND');
    const me = json(await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: admin } }));
    expect(json(await patchUser(me.id, { active: false })).code).toBe('USER_SELF_CHANGE');
    expect(json(await patchUser(me.id, { role: 'agent' })).code).toBe('USER_SELF_CHANGE');
    const refused = await t.app.inject({ method: 'PATCH', url: `/api/v1/users/${u.id}`, headers: { cookie: await t.login('supervisor1') }, payload: { active: false } });
    expect(json(refused).code).toBe('ROLE_FORBIDDEN');
  });

  it("revoking an API key closes its socket (4401)", async () => {
    const created = json(await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload: { name: 'wallboard', role: 'supervisor', scopes: ['live:read'] } }));
    const c = await open({ apiKey: created.key });
    const r = await closeAfter(c, () => t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${created.id}`, headers: { cookie: admin } }));
    took.keyRevoked = r.ms;
    expect(r.code).toBe(4401);
    expect(r.ms).toBeLessThan(1000);
  });

  it('a socket whose session expires is closed at expiry (4401), not at the next re-check', async () => {
    const u = await newUser();
    const cookie = await loginAs(u.username);
    // The session ends 1.5 s from now (the test clock is fixed; the socket's timer runs in real time).
    const expires = new Date(t.ctx.clock.now().getTime() + 1500);
    await t.ctx.database.db.updateTable('sessions').set({ expires_at: toDbTime(expires) }).where('user_id', '=', u.id).execute();
    const t0 = performance.now();
    const c = await open({ cookie });
    const { code } = await c.closed;
    const ms = Math.round(performance.now() - t0);
    took.expiryAfterOpen = ms;
    expect(code).toBe(4401);
    expect(ms).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(2500);
  });
});
