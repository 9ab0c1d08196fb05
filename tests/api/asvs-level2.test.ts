/**
 * The OWASP ASVS 4.0 level 2 items of issue #14 item 3 that the other suites do not already hold
 * (docs/security.md has the whole table): session fixation and expiry, CSRF on cookie writes
 * (Origin / Sec-Fetch-Site), password storage, and login errors that say nothing about which part
 * was wrong. Each test fails without the code it names.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, rowCounts, DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { FixedClock } from '../../core';

const START = new Date('2025-10-09T02:00:00Z');
let t: TestApp;
const clock = new FixedClock(START);

const login = (username: string, extra: Record<string, string> = {}, password = DEMO_PASSWORD) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: extra, payload: { username, password } });
const sessionOf = (res: Awaited<ReturnType<typeof login>>) => {
  const c = res.cookies.find((x) => x.name === 'hotline_session');
  expect(c, res.body).toBeDefined();
  return c!;
};
const me = (cookie: string) => t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });

beforeAll(async () => {
  t = await startTestApp({ clock, config: { sessionHours: 12, allowedOrigins: ['https://portal.example.gov.cn'] } });
}, 120_000);
afterAll(async () => t?.close());

describe(`ASVS V3 sessions on ${testDialect}`, () => {
  it('V3.2.1: a login issues a fresh token whatever cookie the browser brought; a planted value never becomes a session', async () => {
    const planted = 'hotline_session=attacker-chose-this-value-0123456789abcdef';
    const res = await login('agent1', { cookie: planted });
    expect(res.statusCode).toBe(200);
    const fresh = sessionOf(res);
    expect(fresh.value).not.toBe('attacker-chose-this-value-0123456789abcdef');
    expect((await me(planted)).statusCode).toBe(401);
    expect((await me(`hotline_session=${fresh.value}`)).statusCode).toBe(200);
  });

  it('V3.2.1/V3.3.1: logging in again ends the session the browser held before (no second live session left behind)', async () => {
    const first = `hotline_session=${sessionOf(await login('dispatcher1')).value}`;
    expect((await me(first)).statusCode).toBe(200);
    const second = `hotline_session=${sessionOf(await login('dispatcher1', { cookie: first })).value}`;
    expect((await me(second)).statusCode).toBe(200);
    expect((await me(first)).statusCode).toBe(401);
  });

  it('V3.3.4: a user sees their live sessions and ends every other one; the asking session goes on; audited; API keys may not', async () => {
    const phone = `hotline_session=${sessionOf(await login('grid1')).value}`;
    const desk = `hotline_session=${sessionOf(await login('grid1')).value}`;
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: { cookie: desk } });
    expect(list.statusCode, list.body).toBe(200);
    const sessions = json(list) as { id: string; current: boolean; createdAt: string; expiresAt: string }[];
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(sessions.filter((x) => x.current)).toHaveLength(1);
    expect(list.body).not.toContain(desk.split('=')[1]);
    const ended = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sessions/end-others', headers: { cookie: desk } });
    expect(ended.statusCode, ended.body).toBe(200);
    expect(json(ended).ended).toBe(sessions.length - 1);
    expect((await me(phone)).statusCode).toBe(401);
    expect((await me(desk)).statusCode).toBe(200);
    const userId = json(await me(desk)).id;
    const audit = await t.ctx.database.db.selectFrom('audit_events').select('action').where('entity_id', '=', userId).where('action', '=', 'user.other_sessions_ended').execute();
    expect(audit).toHaveLength(1);
    // Not t.login (cached): the expiry test below sweeps every session of this morning.
    const admin = `hotline_session=${sessionOf(await login('admin')).value}`;
    const key = json(await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload: { name: 'no sessions', role: 'agent', scopes: ['tickets:read'] } })).key;
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/sessions/end-others', headers: { 'x-api-key': key } })).statusCode).toBe(403);
  });

  it('V3.3.2: a session ends SESSION_HOURS after login however busy it is, and the cookie expires with it', async () => {
    clock.set(START);
    const res = await login('supervisor1');
    const c = sessionOf(res);
    expect(c.httpOnly).toBe(true);
    expect(c.sameSite).toBe('Strict');
    expect(c.path).toBe('/');
    expect(new Date(c.expires!).getTime()).toBe(START.getTime() + 12 * 3_600_000);
    const cookie = `hotline_session=${c.value}`;
    clock.advanceMinutes(12 * 60 - 1);
    expect((await me(cookie)).statusCode).toBe(200);
    clock.advanceMinutes(1);
    const after = await me(cookie);
    expect(after.statusCode).toBe(401);
    expect(json(after).code).toBe('AUTH_REQUIRED');
    // The hourly sweep deletes it (sessions are kept by the hash of their token).
    clock.advanceMinutes(1);
    await t.ctx.identity.sweepExpiredSessions();
    const left = await t.ctx.database.db.selectFrom('sessions').select('id').where('id', '=', createHash('sha256').update(c.value).digest('hex')).execute();
    expect(left).toHaveLength(0);
    clock.set(START);
  });
});

describe(`ASVS V4.2.2 / V13.2.3 CSRF on cookie-authenticated writes on ${testDialect}`, () => {
  const ticket = { channel: 'phone', type: 'help', situation: '跨站请求测试' };
  let cookie: string;
  beforeAll(async () => {
    cookie = `hotline_session=${sessionOf(await login('agent1')).value}`;
  });
  const post = (headers: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie, ...headers }, payload: ticket });

  it('a write from a page of another origin (another host of the same site too) → 403 ORIGIN_FORBIDDEN, nothing written', async () => {
    const before = await rowCounts(t);
    for (const origin of ['https://evil.example', 'http://other-app.example.gov.cn', 'null', 'http://localhost:1']) {
      const res = await post({ origin, host: 'hotline.example.gov.cn' });
      expect(res.statusCode, origin).toBe(403);
      expect(json(res)).toMatchObject({ code: 'ORIGIN_FORBIDDEN', message_zh: expect.stringContaining('其他站点') });
    }
    // No Origin (an old browser), but the fetch metadata says cross-site or same-site.
    for (const site of ['cross-site', 'same-site']) expect((await post({ 'sec-fetch-site': site })).statusCode, site).toBe(403);
    // A logout and a login from another origin are refused too (login CSRF).
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, origin: 'https://evil.example' } })).statusCode).toBe(403);
    expect((await login('agent1', { origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await me(cookie)).statusCode).toBe(200);
    expect(await rowCounts(t)).toEqual(before);
  });

  it('the console\'s own origin, an ALLOWED_ORIGINS entry and same-origin fetch metadata go through; reads are not checked', async () => {
    expect((await post({ origin: 'http://hotline.example.gov.cn', host: 'hotline.example.gov.cn' })).statusCode).toBe(201);
    expect((await post({ origin: 'https://portal.example.gov.cn', host: 'hotline.example.gov.cn' })).statusCode).toBe(201);
    expect((await post({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/tickets', headers: { cookie, origin: 'https://evil.example' } })).statusCode).toBe(200);
  });

  it('an API key carries no ambient credential: its writes are not origin-checked', async () => {
    const admin = await t.login('admin');
    const key = json(await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload: { name: 'intake app', role: 'agent', scopes: ['tickets:write'] } })).key;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { 'x-api-key': key, origin: 'https://app.example.org' }, payload: ticket });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('a form a cross-site page can post (text/plain, urlencoded) is not read as JSON → 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie, 'content-type': type }, payload: '{"channel":"phone","type":"help"}' });
      expect(res.statusCode, type).toBe(415);
    }
  });
});

describe(`ASVS V2.4 password storage and V7.4 / V2.2 login errors on ${testDialect}`, () => {
  it('V2.4.1/V2.4.4: passwords are argon2id with a salt of their own (two equal passwords, two hashes), never in an answer or the audit trail', async () => {
    const admin = await t.login('admin');
    const ids: string[] = [];
    for (const username of ['pw-one', 'pw-two']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie: admin }, payload: { username, displayName: '测试', role: 'agent', password: 'Same-pass-123' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.body).not.toContain('Same-pass-123');
      expect(res.body).not.toContain('argon2');
      ids.push(json(res).id);
    }
    const rows = await t.ctx.database.db.selectFrom('users').select(['password_hash']).where('id', 'in', ids).execute();
    for (const r of rows) expect(r.password_hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(rows[0].password_hash).not.toBe(rows[1].password_hash);
    const audit = await t.ctx.database.db.selectFrom('audit_events').select(['after']).where('entity_id', 'in', ids).execute();
    expect(audit.length).toBeGreaterThan(0);
    for (const a of audit) {
      const text = typeof a.after === 'string' ? a.after : JSON.stringify(a.after);
      expect(text).not.toContain('argon2');
      expect(text).not.toContain('Same-pass-123');
    }
  });

  it('V2.2.1/V7.4.1: an unknown user and a wrong password get the same answer, with no internals', async () => {
    const unknown = await login('nobody-here', { 'x-forwarded-for': '10.9.9.1' }, 'whatever123');
    const wrong = await login('agent1', { 'x-forwarded-for': '10.9.9.2' }, 'wrong-pass-1');
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(json(unknown))).toEqual(strip(json(wrong)));
    expect(unknown.body).not.toMatch(/argon|sql|stack|\.ts/i);
  });
});
