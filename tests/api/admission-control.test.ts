/**
 * Admission control under overload (app/admission.ts): with the limits forced low, a node that has
 * too many requests in hand, or whose event loop runs late, answers new requests 503 with
 * Retry-After and a zh+en body at once — writing nothing — while health checks and the live
 * WebSocket go on; once the load is gone it admits again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AddressInfo } from 'node:net';
import { startTestApp, json, rowCounts, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

/** Holds requests to `path` until released, and says when they have arrived. */
function holdingRoute(path: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrivals = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  return {
    release,
    /** Resolves once `n` requests are inside the handler. */
    arrived: (n: number) => new Promise<void>((resolve) => (arrivals >= n ? resolve() : waiting.push({ n, resolve }))),
    register: (app: TestApp['app']) =>
      app.get(path, async () => {
        arrivals++;
        for (const w of waiting.filter((x) => arrivals >= x.n)) w.resolve();
        await released;
        return { ok: true };
      }),
  };
}

describe(`admission control on ${testDialect}`, () => {
  describe('too many requests in hand', () => {
    let t: TestApp;
    const hold = holdingRoute('/test/hold');
    const fill = holdingRoute('/test/fill');
    beforeAll(async () => {
      t = await startTestApp({
        config: { overload: { maxInFlight: 2, maxEventLoopDelayMs: 0, retryAfterSeconds: 7, sampleIntervalMs: 60_000 } },
        beforeReady: (app) => {
          hold.register(app);
          fill.register(app);
        },
      });
    }, 120_000);
    afterAll(async () => t?.close());

    it('the third request while two are in hand → 503 SERVER_OVERLOADED with Retry-After, nothing written; health goes on; then admitted again', async () => {
      const cookie = await t.login('agent1');
      const held = [t.app.inject({ method: 'GET', url: '/test/hold' }), t.app.inject({ method: 'GET', url: '/test/hold' })];
      await hold.arrived(2);
      expect(t.app.admission.state()).toMatchObject({ inFlight: 2, overloaded: 'in_flight' });

      const before = await rowCounts(t);
      const refused = await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie }, payload: { channel: 'phone', type: 'help', situation: '过载时提交' } });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('7');
      expect(json(refused)).toMatchObject({ code: 'SERVER_OVERLOADED', message: expect.stringContaining('retry in 7 s'), message_zh: '系统繁忙，请7秒后重试', details: { reason: 'in_flight' } });
      expect(json(refused).request_id).toBeTruthy();
      // Refused before authentication too: a login is not attempted.
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent1', password: 'whatever-at-all' } })).statusCode).toBe(503);
      expect(await rowCounts(t)).toEqual(before);
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);

      hold.release();
      for (const r of await Promise.all(held)) expect(r.statusCode).toBe(200);
      expect(t.app.admission.state()).toMatchObject({ inFlight: 0, overloaded: null });
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie }, payload: { channel: 'phone', type: 'help', situation: '恢复后提交' } })).statusCode).toBe(201);
    });

    it('the live WebSocket opens while the node is full, and its heartbeat goes on', async () => {
      const cookie = await t.login('dispatcher1');
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (t.app.server.address() as AddressInfo).port;
      const held = [t.app.inject({ method: 'GET', url: '/test/fill' }), t.app.inject({ method: 'GET', url: '/test/fill' })];
      await fill.arrived(2);
      expect(t.app.admission.state().overloaded).toBe('in_flight');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/live`, { headers: { cookie, origin: `http://127.0.0.1:${port}` } });
      const messages: { type: string }[] = [];
      const next = (type: string) => new Promise<void>((resolve, reject) => {
        const check = () => (messages.some((m) => m.type === type) ? resolve() : undefined);
        ws.on('message', (m) => {
          messages.push(JSON.parse(String(m)));
          check();
        });
        ws.once('error', reject);
        check();
      });
      await next('hello');
      // A keep-alive from the console is answered while the node refuses new requests.
      ws.send(JSON.stringify({ type: 'ping' }));
      await next('pong');
      expect(messages.filter((m) => m.type === 'error')).toEqual([]);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/tickets', headers: { cookie } })).statusCode).toBe(503);
      ws.close();
      fill.release();
      for (const r of await Promise.all(held)) expect(r.statusCode).toBe(200);
    });
  });

  describe('the event loop running late', () => {
    let t: TestApp;
    beforeAll(async () => {
      // A long window: the test reads the delay itself (sample()) instead of waiting for the timer.
      t = await startTestApp({ config: { overload: { maxInFlight: 0, maxEventLoopDelayMs: 50, retryAfterSeconds: 3, sampleIntervalMs: 60_000 } } });
    }, 120_000);
    afterAll(async () => t?.close());

    it('a blocked event loop → 503 until a quiet window; health goes on', async () => {
      t.app.admission.sample();
      // The histogram measures from its own last tick, and a reset forgets that tick: let it tick
      // again (a few periods of 10 ms) before blocking, or the block would go unmeasured.
      await new Promise((r) => setTimeout(r, 50));
      // A callback holds the loop well beyond the limit (what a CPU-bound request would do); then
      // the histogram's own timer records how late it ran.
      await new Promise<void>((resolve) => setTimeout(() => {
        const until = performance.now() + 600;
        while (performance.now() < until) { /* busy */ }
        resolve();
      }, 1));
      await new Promise((r) => setTimeout(r, 30));
      const s = t.app.admission.sample();
      expect(s.eventLoopDelayMs).toBeGreaterThan(50);
      expect(s.overloaded).toBe('event_loop_delay');
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/tickets' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('3');
      expect(json(res).details.reason).toBe('event_loop_delay');
      expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

      // A window without blocking reads under the limit again.
      await new Promise((r) => setTimeout(r, 100));
      expect(t.app.admission.sample().overloaded).toBeNull();
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/tickets' })).statusCode).toBe(401);
    });
  });
});
