/**
 * The console's live client without a browser: the one connection's resume-after-seq, backoff,
 * duplicate and stale filtering, heartbeats and close codes (fake timers, a fake WebSocket), and the
 * store's version guard. The console's modules are loaded by path: they are the browser's code,
 * outside the server's type check (agent-console has its own, vue-tsc).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const SRC = '../../agent-console/src';
const load = (path: string): Promise<any> => import(/* @vite-ignore */ `${SRC}/${path}`);

class FakeSocket {
  static all: FakeSocket[] = [];
  static OPEN = 1;
  readyState = 0;
  sent: any[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  // what the hub does
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  hear(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

describe('live connection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    (globalThis as any).window = new EventTarget();
    (globalThis as any).WebSocket = FakeSocket;
  });
  afterEach(() => {
    vi.useRealTimers();
    delete (globalThis as any).window;
    delete (globalThis as any).WebSocket;
  });

  async function connection(extra: Record<string, unknown> = {}) {
    const { LiveConnection } = await load('realtime/connection.ts');
    const got: any[] = [];
    const resyncs: number[] = [];
    const c = new LiveConnection({
      url: (after: number | null) => `ws://hub/api/v1/live${after !== null ? `?after=${after}` : ''}`,
      onMessage: (m: any) => got.push(m),
      onResync: () => resyncs.push(Date.now()),
      WebSocketImpl: FakeSocket as any,
      ...extra,
    });
    return { c, got, resyncs };
  }

  it('starts at the hub\'s present, applies events once and in order, and resumes after the last one seen', async () => {
    const { c, got, resyncs } = await connection();
    c.start();
    expect(c.state.value).toBe('connecting');
    const a = FakeSocket.all[0];
    expect(a.url).toBe('ws://hub/api/v1/live');
    a.open();
    a.hear({ type: 'hello', lastSeq: 40, after: null, gap: false, heartbeatMs: 25_000 });
    expect(c.state.value).toBe('connected');
    a.hear({ seq: 41, type: 'ticket.created', at: 'x', data: {} });
    a.hear({ seq: 41, type: 'ticket.created', at: 'x', data: {} }); // twice
    a.hear({ seq: 40, type: 'ticket.updated', at: 'x', data: {} }); // before our start
    a.hear({ type: 'synced', lastSeq: 45 }); // numbers this user may not see
    expect(got.map((m) => m.seq)).toEqual([41]);
    expect(c.lastSeq).toBe(45);

    a.drop();
    expect(c.state.value).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1300);
    const b = FakeSocket.all[1];
    expect(b.url).toBe('ws://hub/api/v1/live?after=45');
    b.open();
    b.hear({ type: 'hello', lastSeq: 47, after: 45, gap: false, heartbeatMs: 25_000 });
    b.hear({ seq: 46, type: 'workorder.dispatched', at: 'x', data: {} });
    b.hear({ seq: 47, type: 'ticket.transitioned', at: 'x', data: {} });
    expect(got.map((m) => m.seq)).toEqual([41, 46, 47]);
    expect(resyncs).toHaveLength(1); // views refetch after a reconnect
    c.stop();
  });

  it('backs off 1 s, 2 s, 4 s … and says 已断开 after a few failures, still retrying', async () => {
    const { c } = await connection();
    c.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = FakeSocket.all[i];
      s.drop();
      const before = Date.now();
      while (FakeSocket.all.length === i + 1) await vi.advanceTimersByTimeAsync(100);
      delays.push(Date.now() - before);
    }
    expect(delays[0]).toBeGreaterThanOrEqual(800);
    expect(delays[0]).toBeLessThanOrEqual(1300);
    expect(delays[1]).toBeGreaterThanOrEqual(1600);
    expect(delays[2]).toBeGreaterThanOrEqual(3200);
    expect(c.state.value).toBe('disconnected');
    c.stop();
  });

  it('answers pings, redials a silent link, sends what was queued once greeted, stops on a refused origin', async () => {
    const authLost: number[] = [];
    const { c } = await connection({ onAuthLost: () => authLost.push(1) });
    c.send({ type: 'presence', status: 'available' });
    c.start();
    const a = FakeSocket.all[0];
    a.open();
    expect(a.sent).toEqual([]);
    a.hear({ type: 'hello', lastSeq: 0, heartbeatMs: 1000 });
    expect(a.sent).toEqual([{ type: 'presence', status: 'available' }]);
    a.hear({ type: 'ping', at: 'x' });
    expect(a.sent.at(-1)).toEqual({ type: 'pong' });
    // Two heartbeats of silence: the link is dead.
    await vi.advanceTimersByTimeAsync(5000);
    expect(FakeSocket.all.length).toBeGreaterThan(1);
    const b = FakeSocket.all.at(-1)!;
    b.open();
    b.drop(4401);
    expect(authLost).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1500);
    const d = FakeSocket.all.at(-1)!;
    d.drop(4403);
    const n = FakeSocket.all.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all.length).toBe(n);
    expect(c.state.value).toBe('disconnected');
    c.stop();
  });
  it('says 重连中 as soon as the browser goes offline, and probes a silent link instead of waiting for two 25 s heartbeats', async () => {
    const { c } = await connection();
    c.start();
    const a = FakeSocket.all[0];
    a.open();
    a.hear({ type: 'hello', lastSeq: 0, heartbeatMs: 25_000 });
    expect(c.state.value).toBe('connected');
    // Offline: at once, without waiting for a close that a dead network never delivers.
    (globalThis as any).window.dispatchEvent(new Event('offline'));
    expect(c.state.value).toBe('reconnecting');
    // Back online: redialled at once, and connected on the hub's hello.
    (globalThis as any).window.dispatchEvent(new Event('online'));
    const b = FakeSocket.all.at(-1)!;
    expect(b).not.toBe(a);
    b.open();
    b.hear({ type: 'hello', lastSeq: 0, heartbeatMs: 25_000 });
    expect(c.state.value).toBe('connected');
    // Silence: a ping after ~5 s, and the link given up (and redialled) after ~11 s, not 52 s.
    await vi.advanceTimersByTimeAsync(6000);
    expect(b.sent).toContainEqual({ type: 'ping' });
    const before = FakeSocket.all.length;
    await vi.advanceTimersByTimeAsync(6000);
    expect(FakeSocket.all.length).toBeGreaterThan(before);
    expect(c.state.value).toBe('reconnecting');
    c.stop();
  });
});

describe('record store', () => {
  it('keeps the newest record: an older version is ignored, the same one fills in fields', async () => {
    const { createEntityStore } = await load('stores/entityStore.ts');
    const store = createEntityStore();
    expect(store.upsert({ id: 't1', version: 2, updatedAt: '2025-10-09T10:00:00+08:00', status: 'dispatched' })).toBe('new');
    expect(store.upsert({ id: 't1', version: 1, updatedAt: '2025-10-09T09:00:00+08:00', status: 'accepted' })).toBe('stale');
    expect(store.get('t1').status).toBe('dispatched');
    expect(store.upsert({ id: 't1', version: 2, updatedAt: '2025-10-09T10:00:00+08:00', status: 'dispatched', missingElements: [] })).toBe('same');
    expect(store.get('t1').missingElements).toEqual([]);
    expect(store.upsert({ id: 't1', version: 3, status: 'acknowledged' })).toBe('applied');
    expect(store.get('t1')).toMatchObject({ status: 'acknowledged', missingElements: [] });
  });
});
