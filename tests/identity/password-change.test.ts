/**
 * A user's own password change (ASVS V2.1.5/V2.1.6, V3.3.3) and an admin's reset: the current
 * password is required and throttled like a login, both are audited (never a password), the other
 * sessions end; a reset makes the user choose a new password at the next login.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
}, 120_000);
afterAll(async () => t?.close());

const login = (username: string, password = DEMO_PASSWORD, remoteAddress = '127.0.0.1') =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { username, password } });
const cookieOf = (res: Awaited<ReturnType<typeof login>>) => {
  expect(res.statusCode, res.body).toBe(200);
  return `hotline_session=${res.cookies.find((c) => c.name === 'hotline_session')!.value}`;
};
const me = (cookie: string) => t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
const change = (cookie: string, currentPassword: string, newPassword: string, remoteAddress = '127.0.0.1') =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/password', remoteAddress, headers: { cookie }, payload: { currentPassword, newPassword } });
const auditOf = (entityId: string) =>
  t.ctx.database.db.selectFrom('audit_events').select(['action', 'after', 'reason', 'actor_id']).where('entity_id', '=', entityId).orderBy('id').execute();
const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

describe(`POST /auth/password on ${testDialect}`, () => {
  it('changes the password with the current one: the other sessions end, this one goes on, audited without either password', async () => {
    const phone = cookieOf(await login('agent1'));
    const desk = cookieOf(await login('agent1'));
    const res = await change(desk, DEMO_PASSWORD, '春风又绿江南岸-明月何时照我还');
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).sessionsEnded).toBeGreaterThanOrEqual(1);
    expect((await me(phone)).statusCode).toBe(401);
    expect((await me(desk)).statusCode).toBe(200);
    expect((await login('agent1')).statusCode).toBe(401);
    expect((await login('agent1', '春风又绿江南岸-明月何时照我还')).statusCode).toBe(200);
    // The same password again is no change.
    const same = await change(desk, '春风又绿江南岸-明月何时照我还', '春风又绿江南岸-明月何时照我还');
    expect(json(same)).toMatchObject({ code: 'PASSWORD_UNCHANGED', message_zh: '新密码不能与当前密码相同' });
    const id = json(await me(desk)).id;
    const trail = await auditOf(id);
    const changed = trail.filter((a) => a.action === 'user.password_changed');
    expect(changed).toHaveLength(1);
    expect(changed[0].actor_id).toBe(id);
    for (const a of trail) expect(text(a.after)).not.toMatch(/春风|demo12345|argon2/);
  });

  it('a wrong current password → 400 CURRENT_PASSWORD_WRONG, audited, nothing changed; the same refusals as a login', async () => {
    const cookie = cookieOf(await login('agent2'));
    const res = await change(cookie, 'not-my-password-1', 'a-fine-new-password-1');
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ code: 'CURRENT_PASSWORD_WRONG', message_zh: '当前密码不正确' });
    expect((await login('agent2')).statusCode).toBe(200);
    const id = json(await me(cookie)).id;
    const failed = (await auditOf(id)).filter((a) => a.action === 'user.password_change_failed');
    expect(failed).toHaveLength(1);
    expect(JSON.parse(text(failed[0].after))).toEqual({ username: 'a***t2', address: '127.0.0.1', reason: 'wrong_current_password' });
    // A policy refusal of the new one: the current password was right, nothing changed.
    const weak = await change(cookie, DEMO_PASSWORD, 'password1234');
    expect(json(weak).code).toBe('PASSWORD_TOO_COMMON');
    expect((await change(cookie, DEMO_PASSWORD, '')).statusCode).toBe(400);
    expect((await login('agent2')).statusCode).toBe(200);
  });

  it('guessing the current password from a stolen session is throttled like a login (shared counters): 429 after five, then even the right one waits', async () => {
    const address = '10.20.30.40';
    const cookie = cookieOf(await login('power1', DEMO_PASSWORD, address));
    for (let i = 0; i < 5; i++) expect((await change(cookie, `guess-number-${i}`, 'a-fine-new-password-2', address)).statusCode).toBe(400);
    const held = await change(cookie, DEMO_PASSWORD, 'a-fine-new-password-2', address);
    expect(held.statusCode).toBe(429);
    expect(json(held).code).toBe('LOGIN_THROTTLED');
    expect(held.headers['retry-after']).toBeDefined();
    expect((await login('power1', DEMO_PASSWORD, address)).statusCode).toBe(429);
    const id = json(await me(cookie)).id;
    const actions = (await auditOf(id)).map((a) => a.action);
    expect(actions.filter((a) => a === 'user.password_change_failed')).toHaveLength(5);
    expect(actions.filter((a) => a === 'user.login_locked')).toHaveLength(1);
  });

  it('an API key has no password to change', async () => {
    const admin = await t.login('admin');
    const key = json(await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload: { name: 'k', role: 'agent', scopes: ['tickets:read'] } })).key;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { 'x-api-key': key }, payload: { currentPassword: 'x', newPassword: 'a-fine-new-password-3' } });
    expect(res.statusCode).toBe(403);
  });
});

describe(`PUT /users/:id/password (an admin's reset) on ${testDialect}`, () => {
  it("sets a new password, ends every session of the user, and the user must change it before anything else", async () => {
    const admin = await t.login('admin');
    const users = json(await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: { cookie: admin } })) as { id: string; username: string }[];
    const target = users.find((u) => u.username === 'supervisor1')!;
    const old = cookieOf(await login('supervisor1'));
    const res = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${target.id}/password`, headers: { cookie: admin }, payload: { password: '管理员重置的临时密码-01' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).sessionsEnded).toBe(1);
    expect((await me(old)).statusCode).toBe(401);
    const reset = (await auditOf(target.id)).filter((a) => a.action === 'user.password_reset');
    expect(reset).toHaveLength(1);
    expect(text(reset[0].after)).not.toContain('临时密码');

    const fresh = await login('supervisor1', '管理员重置的临时密码-01');
    expect(json(fresh).user.passwordChangeRequired).toBe(true);
    const cookie = cookieOf(fresh);
    expect(json(await t.app.inject({ method: 'GET', url: '/api/v1/reports/exports', headers: { cookie } })).code).toBe('PASSWORD_CHANGE_REQUIRED');
    expect((await change(cookie, '管理员重置的临时密码-01', '自己选的新密码-不告诉别人')).statusCode).toBe(200);
    expect(json(await me(cookie)).passwordChangeRequired).toBe(false);
  });

  it('only admins reset; an admin resets not their own (that is the change); an unknown user is 404', async () => {
    const admin = await t.login('admin');
    const adminId = json(await me(admin)).id;
    expect((await t.app.inject({ method: 'PUT', url: `/api/v1/users/${adminId}/password`, headers: { cookie: admin }, payload: { password: 'a-fine-new-password-4' } })).statusCode).toBe(409);
    expect((await t.app.inject({ method: 'PUT', url: '/api/v1/users/nobody/password', headers: { cookie: admin }, payload: { password: 'a-fine-new-password-4' } })).statusCode).toBe(404);
    const dispatcher = cookieOf(await login('dispatcher1'));
    expect((await t.app.inject({ method: 'PUT', url: `/api/v1/users/${adminId}/password`, headers: { cookie: dispatcher }, payload: { password: 'a-fine-new-password-4' } })).statusCode).toBe(403);
  });
});
