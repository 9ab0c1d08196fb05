import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONSOLE_DIST } from '../../app/landing';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe(`the HTTP API on ${testDialect}`, () => {
  it('GET /healthz says ok and names the database kind', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ status: 'ok', database: testDialect });
  });

  it('serves the agent console at / (or, before `npm run build`, a page in Chinese that says where the API is)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('接诉即办');
    if (existsSync(join(CONSOLE_DIST, 'index.html'))) {
      expect(res.body).toContain('<div id="app">');
      expect(res.body).toContain('name="hotline-demo"'); // the demo city: the login page lists the demo accounts
      expect(res.headers['cache-control']).toBe('no-cache');
      const deep = await t.app.inject({ method: 'GET', url: '/unit' });
      expect(deep.body).toBe(res.body);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/nope' })).json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    } else {
      expect(res.body).toContain('/api/docs');
      expect(res.body).toContain('npm run build');
    }
  });

  it('serves the OpenAPI document and the docs UI', async () => {
    const doc = json(await t.app.inject({ method: 'GET', url: '/api/openapi.json' }));
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/tickets', '/api/v1/tickets/{id}/transitions', '/api/v1/auth/login', '/api/v1/citizens/lookup', '/api/v1/calendar/deadline', '/api/v1/units', '/api/v1/territories']));
    expect((await t.app.inject({ method: 'GET', url: '/api/docs/' })).statusCode).toBe(200);
  });

  it('logs in, answers /me, logs out and then refuses the old cookie', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'dispatcher1', password: 'demo12345' } });
    expect(login.statusCode).toBe(200);
    const c = login.cookies.find((x) => x.name === 'hotline_session')!;
    expect(c.httpOnly).toBe(true);
    expect(c.sameSite).toBe('Strict');
    const cookie = `hotline_session=${c.value}`;
    expect(json(await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } }))).toMatchObject({ role: 'dispatcher' });
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } })).statusCode).toBe(204);
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
    expect(after.statusCode).toBe(401);
    expect(json(after)).toMatchObject({ code: 'AUTH_REQUIRED', message_zh: '请先登录' });
  });

  it('refuses a wrong password without saying which part was wrong', async () => {
    const a = json(await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent1', password: 'nope12345' } }));
    const b = json(await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nobody', password: 'nope12345' } }));
    expect(a.code).toBe('LOGIN_FAILED');
    expect(b.code).toBe('LOGIN_FAILED');
    expect(a.message).toBe(b.message);
  });

  it('throttles a username from an address after five failed logins from it, even with the right password then', async () => {
    const attempt = (password: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent2', password } });
    for (let i = 0; i < 5; i++) expect(json(await attempt('wrong-pass1')).code).toBe('LOGIN_FAILED');
    const res = await attempt('demo12345');
    expect(res.statusCode).toBe(429);
    expect(json(res)).toMatchObject({ code: 'LOGIN_THROTTLED', message_zh: expect.stringContaining('30秒') });
    expect(res.headers['retry-after']).toBe('30');
  });

  it('computes a deadline preview on the working-time clock', async () => {
    const cookie = await t.login('agent1');
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/calendar/deadline?from=2025-09-30T16:00:00%2B08:00&workingDays=3', headers: { cookie } });
    expect(json(res).deadline).toBe('2025-10-11T16:00:00+08:00');
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/calendar/deadline?from=2026-12-30T16:00:00%2B08:00&workingDays=3', headers: { cookie } });
    expect(missing.statusCode).toBe(422);
    expect(json(missing).code).toBe('CALENDAR_YEAR_MISSING');
  });

  it('an API key authenticates a machine client with its role', async () => {
    const admin = await t.login('admin');
    const created = json(await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload: { name: 'grid app', role: 'agent', scopes: ['tickets:read'] } }));
    expect(created.key).toMatch(/^hk_/);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { 'x-api-key': created.key } });
    expect(json(me)).toMatchObject({ role: 'agent', kind: 'api_key' });
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { 'x-api-key': 'hk_forged' } });
    expect(json(bad).code).toBe('API_KEY_INVALID');
  });
});
