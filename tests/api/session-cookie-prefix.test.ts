/**
 * ASVS V3.4.4: behind HTTPS the session cookie is `__Host-hotline_session` (Secure, Path=/, no
 * Domain: no other host of the city's domain can plant or overwrite it); on plain HTTP (local
 * development) it is `hotline_session`. HTTPS is what COOKIE_SECURE says, or what the request came
 * over — through a proxy only when TRUST_PROXY is set, so a client cannot claim it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

const login = (t: TestApp, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers, payload: { username: 'agent1', password: DEMO_PASSWORD } });
const me = (t: TestApp, cookie: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie, ...headers } });
const HTTPS = { 'x-forwarded-proto': 'https' };

describe(`the session cookie's name on ${testDialect}`, () => {
  let proxied: TestApp;
  let secure: TestApp;
  let direct: TestApp;
  beforeAll(async () => {
    proxied = await startTestApp({ config: { trustProxy: true, cookieSecure: false } });
    secure = await startTestApp({ config: { cookieSecure: true } });
    direct = await startTestApp({ config: { trustProxy: false, cookieSecure: false } });
  }, 180_000);
  afterAll(async () => {
    await proxied?.close();
    await secure?.close();
    await direct?.close();
  });

  it('plain HTTP (local development): hotline_session, not Secure', async () => {
    const res = await login(proxied);
    expect(res.statusCode).toBe(200);
    expect(res.cookies.map((c) => c.name)).toEqual(['hotline_session']);
    expect(res.cookies[0].secure).toBeFalsy();
    expect((await me(proxied, `hotline_session=${res.cookies[0].value}`)).statusCode).toBe(200);
  });

  it('behind a trusted TLS proxy: __Host-hotline_session, Secure, Path=/, no Domain; only that name is read over HTTPS', async () => {
    const res = await login(proxied, HTTPS);
    expect(res.statusCode).toBe(200);
    expect(res.cookies).toHaveLength(1);
    const c = res.cookies[0];
    expect(c).toMatchObject({ name: '__Host-hotline_session', secure: true, path: '/', httpOnly: true, sameSite: 'Strict' });
    expect(c.domain).toBeUndefined();
    expect(res.headers['set-cookie']).not.toMatch(/domain=/i);
    expect((await me(proxied, `__Host-hotline_session=${c.value}`, HTTPS)).statusCode).toBe(200);
    // The unprefixed name (which a sibling host could set) is not a session over HTTPS.
    const plain = await me(proxied, `hotline_session=${c.value}`, HTTPS);
    expect(plain.statusCode).toBe(401);
    expect(json(plain).code).toBe('AUTH_REQUIRED');
    // Logging out clears the prefixed cookie, with the attributes the prefix needs.
    const out = await proxied.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: `__Host-hotline_session=${c.value}`, ...HTTPS } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^__Host-hotline_session=;.*Path=\/.*Secure/);
    expect((await me(proxied, `__Host-hotline_session=${c.value}`, HTTPS)).statusCode).toBe(401);
  });

  it('without TRUST_PROXY a client cannot claim HTTPS with a header', async () => {
    const res = await login(direct, HTTPS);
    expect(res.cookies[0].name).toBe('hotline_session');
    expect(res.cookies[0].secure).toBeFalsy();
  });

  it('COOKIE_SECURE (production) names it __Host- whatever the request says', async () => {
    const res = await login(secure);
    expect(res.statusCode).toBe(200);
    expect(res.cookies[0]).toMatchObject({ name: '__Host-hotline_session', secure: true, path: '/' });
    expect((await me(secure, `__Host-hotline_session=${res.cookies[0].value}`)).statusCode).toBe(200);
    expect((await me(secure, `hotline_session=${res.cookies[0].value}`)).statusCode).toBe(401);
  });
});
