/**
 * Slow and idle clients are cut off (slowloris): over a real socket, a client that sends its
 * headers slowly, its body slowly, opens a connection and says nothing, or lingers after a
 * keep-alive answer is disconnected (or answered 408) within the configured time; beyond the
 * connection limit a new socket is refused at once. The live feed's WebSocket is not a request in
 * progress: it outlives every one of these timeouts.
 */
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { LiveClient, sleep } from '../live/live-client';

const HEADERS_MS = 400;
const REQUEST_MS = 800;
const KEEP_ALIVE_MS = 300;
const IDLE_MS = 1200;
const MAX_CONNECTIONS = 6;
/** Node checks the headers/request timeouts on a timer; a margin for it and a loaded CI machine. */
const SLACK_MS = 1500;

let t: TestApp;
let port: number;

beforeAll(async () => {
  t = await startTestApp({
    config: {
      http: { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: KEEP_ALIVE_MS, idleTimeoutMs: IDLE_MS, maxConnections: MAX_CONNECTIONS },
      // No heartbeat frame during the test: the WebSocket stays silent longer than every HTTP timeout.
      live: { heartbeatMs: 60_000, retentionDays: 3 },
    },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => t?.close());

interface Outcome {
  /** ms from connecting until the server closed (or null if still open at the deadline). */
  closedAfterMs: number | null;
  received: string;
}

/** Opens a raw socket, runs `drive` on it, and waits up to `waitMs` for the server to close it. */
async function rawClient(drive: (s: Socket, stop: () => boolean) => Promise<void>, waitMs: number): Promise<Outcome> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  const started = Date.now();
  let closedAt: number | null = null;
  let received = '';
  s.on('data', (d) => (received += d.toString()));
  s.on('error', () => undefined); // a reset is one way of being cut off
  const closed = new Promise<void>((r) => s.once('close', () => ((closedAt = Date.now()), r())));
  const stop = () => closedAt !== null;
  void drive(s, stop).catch(() => undefined);
  await Promise.race([closed, sleep(waitMs)]);
  s.destroy();
  return { closedAfterMs: closedAt === null ? null : closedAt - started, received };
}

/** Writes `text` one byte every `everyMs` until the socket closes or the text is out. */
async function trickle(s: Socket, text: string, everyMs: number, stop: () => boolean) {
  for (const ch of text) {
    if (stop() || s.destroyed) return;
    s.write(ch);
    await sleep(everyMs);
  }
}

const cutOff = (o: Outcome, withinMs: number) => {
  expect(o.closedAfterMs, `still open after the wait; got ${JSON.stringify(o.received.slice(0, 80))}`).not.toBeNull();
  expect(o.closedAfterMs!).toBeLessThanOrEqual(withinMs);
  // Cut off means closed or refused, never served.
  if (o.received) expect(o.received).toMatch(/^HTTP\/1\.1 (408|400)/);
};

describe('slow and idle HTTP clients are disconnected', () => {
  it(`headers sent one byte every 100 ms: cut off within the headers timeout (${HEADERS_MS} ms)`, async () => {
    const headers = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n' + 'X-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
    cutOff(await rawClient((s, stop) => trickle(s, headers, 100, stop), 4000), HEADERS_MS + SLACK_MS);
  });

  it(`a connection that says nothing: cut off within the headers timeout (${HEADERS_MS} ms)`, async () => {
    cutOff(await rawClient(async () => undefined, 4000), HEADERS_MS + SLACK_MS);
  });

  it(`a body sent one byte every 100 ms: cut off within the request timeout (${REQUEST_MS} ms)`, async () => {
    const body = JSON.stringify({ username: 'agent1', password: 'x'.repeat(200) });
    const head = `POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    cutOff(await rawClient(async (s, stop) => (s.write(head), trickle(s, body, 100, stop)), 4000), REQUEST_MS + SLACK_MS);
  });

  it(`a keep-alive connection left idle after its answer: closed within the keep-alive timeout (${KEEP_ALIVE_MS} ms)`, async () => {
    // A route that touches no database (an API 404), so that a loaded machine does not blur the timing.
    let answeredAt = 0;
    const connectedAt = Date.now();
    const o = await rawClient(async (s) => {
      s.once('data', () => (answeredAt = Date.now()));
      s.write('GET /api/v1/no-such-route HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    }, 4000);
    expect(o.received).toMatch(/^HTTP\/1\.1 404/);
    expect(o.received).toMatch(/connection: keep-alive/i);
    expect(o.closedAfterMs).not.toBeNull();
    expect(answeredAt).toBeGreaterThan(0);
    // From the answer: the keep-alive timeout plus the fixed second Node adds to it (so that a
    // client told "timeout=N" never reuses a socket the server is about to close).
    expect(connectedAt + o.closedAfterMs! - answeredAt).toBeLessThanOrEqual(KEEP_ALIVE_MS + 1000 + SLACK_MS);
  });

  it(`beyond ${MAX_CONNECTIONS} open connections a new one is refused at once`, async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise<void>((r) => s.once('connect', () => r()));
        held.push(s);
      }
      await sleep(50);
      const extra = await rawClient(async (s) => void s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'), 300);
      expect(extra.closedAfterMs).not.toBeNull();
      expect(extra.received).toBe('');
    } finally {
      for (const s of held) s.destroy();
    }
    await sleep(100);
    // Once they are gone, a new client is served again.
    const again = await rawClient(async (s) => void s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), 2000);
    expect(again.received).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('the live feed is not cut by the HTTP timeouts', () => {
  it(`a silent WebSocket stays open past every timeout (${IDLE_MS + SLACK_MS} ms) and still carries messages`, async () => {
    const c = await LiveClient.ready(`ws://127.0.0.1:${port}`, { cookie: await t.login('agent1') });
    try {
      await sleep(Math.max(HEADERS_MS, REQUEST_MS, KEEP_ALIVE_MS, IDLE_MS) + SLACK_MS + 300);
      expect(c.closeCode).toBeNull();
      c.send({ type: 'ping' });
      await c.waitFor((m) => m.type === 'pong', 'pong', 2000);
    } finally {
      await c.close();
    }
  });
});
