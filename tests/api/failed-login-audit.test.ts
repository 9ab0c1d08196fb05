/**
 * ASVS V7.2.1: every failed login and every lockout is in the audit trail with the username masked
 * (people type their password into the username field), the address and the reason — never the
 * password. Attempts refused while locked add no rows (a flood must not become a flood of writes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskUsername } from '../../identity';
import { startTestApp, json, DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
}, 120_000);
afterAll(async () => t?.close());

const login = (username: string, password: string, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { username, password } });
const failures = () =>
  t.ctx.database.db.selectFrom('audit_events').selectAll().where('action', 'in', ['user.login_failed', 'user.login_locked']).orderBy('id').execute();
const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
const userId = async (username: string) => (await t.ctx.database.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;

describe(`failed logins in the audit trail on ${testDialect}`, () => {
  it('masks usernames like phone numbers', () => {
    expect(maskUsername('agent1')).toBe('a***t1');
    expect(maskUsername('dispatcher1')).toBe('dis****her1');
    expect(maskUsername('li')).toBe('**');
  });

  it('a wrong password, an unknown username and a disabled account: one row each, with reason and address, no password', async () => {
    const admin = await t.login('admin');
    const gridId = await userId('grid2');
    expect((await t.app.inject({ method: 'PATCH', url: `/api/v1/users/${gridId}`, headers: { cookie: admin }, payload: { active: false } })).statusCode).toBe(200);

    expect((await login('agent1', 'wrong-password-xyz', '10.1.0.1')).statusCode).toBe(401);
    // Someone typed their password into the username field.
    expect((await login('Secret-Typed-Here-42', 'x', '10.1.0.2')).statusCode).toBe(401);
    expect((await login('grid2', DEMO_PASSWORD, '10.1.0.3')).statusCode).toBe(401);

    const rows = await failures();
    expect(rows.map((r) => [r.action, r.entity_type, r.entity_id, r.reason])).toEqual([
      ['user.login_failed', 'user', await userId('agent1'), 'wrong_password'],
      ['user.login_failed', 'user', 'unknown:sec*************e-42', 'unknown_user'],
      ['user.login_failed', 'user', gridId, 'disabled'],
    ]);
    expect(parse(rows[0].after)).toEqual({ username: 'a***t1', address: '10.1.0.1', reason: 'wrong_password' });
    expect(parse(rows[1].after).address).toBe('10.1.0.2');
    expect(rows[0].city_id).toBe('demo');
    expect(rows[0].request_id).toBeTruthy();
    const all = JSON.stringify(await t.ctx.database.db.selectFrom('audit_events').selectAll().execute());
    expect(all).not.toMatch(/wrong-password-xyz|secret-typed-here|Secret-Typed/i);
  });

  it('the failure that starts a lockout writes the lockout; attempts refused while locked write nothing', async () => {
    const before = (await failures()).length;
    for (let i = 0; i < 5; i++) expect((await login('water1', `guess-${i}-abcdefg`, '10.2.0.1')).statusCode).toBe(401);
    const rows = (await failures()).slice(before);
    expect(rows.map((r) => r.action)).toEqual([...Array(5).fill('user.login_failed'), 'user.login_locked']);
    expect(parse(rows[5].after)).toEqual({ username: 'w***r1', address: '10.2.0.1', reason: 'wrong_password', seconds: 30 });
    expect(rows[5].reason).toBe('too_many_failures');
    for (let i = 0; i < 3; i++) {
      const res = await login('water1', DEMO_PASSWORD, '10.2.0.1');
      expect(res.statusCode).toBe(429);
      expect(json(res).code).toBe('LOGIN_THROTTLED');
    }
    expect(await failures()).toHaveLength(before + 6);
    // Another address is not locked out of the account (a stranger cannot block a colleague's shift).
    expect((await login('water1', DEMO_PASSWORD, '10.2.0.2')).statusCode).toBe(200);
  });
});
