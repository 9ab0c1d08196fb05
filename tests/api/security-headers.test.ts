/**
 * Security headers: API answers (which hold citizens' personal data) are never cached, nothing is
 * sniffed or framed, HTTPS is pinned when the request came over it (trusting X-Forwarded-Proto only
 * behind a trusted proxy), and the API documentation has a Content-Security-Policy under which
 * Swagger UI still works: every asset its page asks for is ours and served, and, where chromium is
 * installed, the page renders in a real browser without a single CSP violation.
 */
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { findChromium } from '../agent-console/browser';

let t: TestApp;
let proxied: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  proxied = await startTestApp({ config: { trustProxy: true } });
});
afterAll(async () => Promise.all([t?.close(), proxied?.close()]));

const get = async (app: TestApp, url: string, headers: Record<string, string> = {}) => app.app.inject({ method: 'GET', url, headers });
const authed = async (url: string) => get(t, url, { cookie: await t.login('agent1') });

function expectBaseline(res: LightMyRequestResponse) {
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
}

describe('every answer', () => {
  it('an API answer with personal data: no-store, nosniff, DENY, no-referrer, no HSTS over plain HTTP', async () => {
    const res = await authed('/api/v1/tickets');
    expect(res.statusCode).toBe(200);
    expectBaseline(res);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('API errors and unknown API routes: no-store and nosniff too', async () => {
    for (const res of [await get(t, '/api/v1/tickets'), await get(t, '/api/v1/no-such-thing'), await authed('/api/v1/tickets/nope')]) {
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expectBaseline(res);
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('an attachment download is not cached either', async () => {
    // Any /api/ answer without its own Cache-Control; the CSV export and downloads included.
    const res = await authed('/api/v1/work-orders/nope/attachments/nope');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('outside /api/: nosniff and DENY, and the route keeps its own caching', async () => {
    const health = await get(t, '/healthz');
    expectBaseline(health);
    const page = await get(t, '/');
    expectBaseline(page);
    expect(page.headers['cache-control']).toBe('no-cache');
  });
});

describe('Strict-Transport-Security', () => {
  it('behind a trusted proxy that says https: HSTS; the same proxy over http: none', async () => {
    const https = await get(proxied, '/api/v1/tickets', { 'x-forwarded-proto': 'https' });
    expect(https.headers['strict-transport-security']).toBe('max-age=31536000');
    const http = await get(proxied, '/api/v1/tickets', { 'x-forwarded-proto': 'http' });
    expect(http.headers['strict-transport-security']).toBeUndefined();
  });

  it('without TRUST_PROXY a client claiming https gets no HSTS', async () => {
    const res = await get(t, '/healthz', { 'x-forwarded-proto': 'https' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('the API documentation (/api/docs)', () => {
  let html: LightMyRequestResponse;
  beforeAll(async () => {
    html = await get(t, '/api/docs/');
  });

  it('has a strict CSP: own origin only, no inline code, no framing', () => {
    expect(html.statusCode).toBe(200);
    const csp = String(html.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self'(;| 'sha)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(html.headers['x-frame-options']).toBe('DENY');
    expect(html.headers['referrer-policy']).toBe('no-referrer');
  });

  it('every script, style and icon the page names is ours, relative, and served (the UI can load under the CSP)', async () => {
    const refs = [...html.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(ref, ref).not.toMatch(/^(https?:)?\/\//);
      const asset = await get(t, new URL(ref, 'http://localhost/api/docs/').pathname);
      expect(asset.statusCode, ref).toBe(200);
      expect(asset.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(html.body).not.toMatch(/<script>(?!\s*<\/script>)|<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=/);
    const spec = await get(t, '/api/docs/json');
    expect(spec.statusCode).toBe(200);
    expect(spec.json().info.title).toMatch(/12345/);
  });

  const chromiumPath = findChromium();
  it.skipIf(!chromiumPath)('renders in chromium with no CSP violation', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({ executablePath: chromiumPath!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      await page.goto(`${base}/api/docs/`);
      await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
      expect(await page.textContent('.swagger-ui .info .title')).toMatch(/12345 Hotline API/);
      await page.waitForSelector('.opblock-tag', { timeout: 15_000 });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
