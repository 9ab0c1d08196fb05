/**
 * The live WebSocket's origin check (跨站连接防护) compares scheme, host and port with the server's
 * own origin, or with ALLOWED_ORIGINS when configured: a page of another port on the same host, or
 * the same host over another scheme, is another site and is refused (4403 ORIGIN_FORBIDDEN).
 * Real handshakes carrying each Origin header.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { loadConfig } from '../../app/config';
import { listen, LiveClient } from './live-client';

let t: TestApp;
let base: string;
let port: number;
const clients: LiveClient[] = [];

beforeAll(async () => {
  t = await startTestApp();
  base = await listen(t.app);
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

async function handshake(b: string, origin: string) {
  const c = await LiveClient.open(b, { cookie: await t.login('agent1'), origin });
  clients.push(c);
  const first = await c.waitFor((m) => m.type === 'hello' || m.type === 'error', 'hello or error').catch(() => c.messages[0]);
  return { c, first };
}

describe(`live origin check on ${testDialect}`, () => {
  it('refuses the same host on another port, or over https, with 4403 ORIGIN_FORBIDDEN', async () => {
    for (const origin of ['http://127.0.0.1:9999', 'https://127.0.0.1', `https://127.0.0.1:${port}`, 'http://127.0.0.1', 'null', 'https://evil.example']) {
      const { c, first } = await handshake(base, origin);
      expect((await c.closed).code, origin).toBe(4403);
      expect(first, origin).toMatchObject({ type: 'error', code: 'ORIGIN_FORBIDDEN' });
    }
  });

  it("accepts the server's own origin (scheme, host and port as the request names them), and no Origin at all (not a browser)", async () => {
    const { c, first } = await handshake(base, `http://127.0.0.1:${port}`);
    expect(first).toMatchObject({ type: 'hello' });
    expect(c.closeCode).toBeNull();
    const plain = await LiveClient.ready(base, { cookie: await t.login('agent1') });
    clients.push(plain);
    expect(plain.messages[0]).toMatchObject({ type: 'hello' });
  });
});

describe(`behind a reverse proxy (TRUST_PROXY) on ${testDialect}`, () => {
  let proxied: TestApp;
  let proxiedBase: string;
  beforeAll(async () => {
    proxied = await startTestApp({ config: { trustProxy: true } });
    proxiedBase = await listen(proxied.app);
  });
  afterAll(async () => proxied?.close());

  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': '12345.example.gov.cn' };

  it("takes the origin nginx names (X-Forwarded-Proto and -Host) as the server's own, and still refuses plain http", async () => {
    // Logged in through the proxy too: over https the session cookie is __Host-hotline_session.
    const res = await proxied.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: forwarded, payload: { username: 'agent1', password: DEMO_PASSWORD } });
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    expect(cookie).toMatch(/^__Host-hotline_session=/);
    for (const [origin, ok] of [['https://12345.example.gov.cn', true], ['http://12345.example.gov.cn', false], ['https://12345.example.gov.cn:8443', false]] as const) {
      const c = await LiveClient.open(proxiedBase, { cookie, origin, headers: forwarded });
      clients.push(c);
      const first = await c.waitFor((m) => m.type === 'hello' || m.type === 'error', origin);
      expect(first.type, origin).toBe(ok ? 'hello' : 'error');
    }
  });

  it('ignores the forwarded headers without TRUST_PROXY (a client could forge them)', async () => {
    const c = await LiveClient.open(base, { cookie: await t.login('agent1'), origin: 'https://12345.example.gov.cn', headers: forwarded });
    clients.push(c);
    expect((await c.closed).code).toBe(4403);
  });
});

describe(`ALLOWED_ORIGINS on ${testDialect}`, () => {
  let other: TestApp;
  let otherBase: string;
  beforeAll(async () => {
    other = await startTestApp({ config: { allowedOrigins: ['https://12345.example.gov.cn', 'http://10.0.0.5:8080'] } });
    otherBase = await listen(other.app);
  });
  afterAll(async () => other?.close());

  it('accepts exactly the configured origins, and then not even the server’s own', async () => {
    const cookie = await other.login('agent1');
    for (const [origin, ok] of [['https://12345.example.gov.cn', true], ['http://10.0.0.5:8080', true], ['https://12345.example.gov.cn:8443', false], ['http://12345.example.gov.cn', false], [otherBase.replace('ws:', 'http:'), false]] as const) {
      const c = await LiveClient.open(otherBase, { cookie, origin });
      clients.push(c);
      const first = await c.waitFor((m) => m.type === 'hello' || m.type === 'error', origin);
      expect(first.type, origin).toBe(ok ? 'hello' : 'error');
      if (!ok) expect((await c.closed).code, origin).toBe(4403);
    }
  });

  it('reads ALLOWED_ORIGINS from the environment and refuses a malformed one at start', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: 'https://a.example.cn, http://10.0.0.5:3000' } as NodeJS.ProcessEnv).allowedOrigins).toEqual(['https://a.example.cn', 'http://10.0.0.5:3000']);
    expect(loadConfig({} as NodeJS.ProcessEnv).allowedOrigins).toEqual([]);
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'a.example.cn' } as NodeJS.ProcessEnv)).toThrow(/ALLOWED_ORIGINS/);
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'https://a.example.cn/console' } as NodeJS.ProcessEnv)).toThrow(/ALLOWED_ORIGINS/);
  });
});
