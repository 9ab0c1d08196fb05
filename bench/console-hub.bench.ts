import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { createContext } from '../app/context';
import { buildServer } from '../app/server';
import { testConfig } from '../app/config';
import { importCityFromDir } from '../app/city-preset';
import { FixedClock, systemActor, Role } from '../core';
import { benchDatabase, fmt, percentile, type BenchResult } from './harness';

/**
 * The console hub under 2,000 open consoles (real sockets on localhost, one process): how long an
 * event takes from `publish` to the console, and how many deliveries per second a burst gets,
 * for broadcast events (every console) and scoped ones (the center and one of 40 units). The
 * baseline is a bare `ws` server sending the same frames to the same sockets: the ratios are the
 * price of storing, numbering, scoping and the app's WebSocket stack.
 *
 * Both servers and all clients share one event loop, so the numbers are a lower bound of what a
 * node does when its consoles are elsewhere; the ratios are what to compare between runs.
 */

const UNITS = 40;
/** One console in ten is the center's (they receive everything), the others belong to a unit. */
const CENTER_SHARE = 0.1;
const CENTER_USERS = ['agent1', 'agent2', 'dispatcher1', 'supervisor1'];
const PASSWORD = 'demo12345';

interface Client {
  ws: WebSocket;
  unit: number | null; // null: center
}

/** Counts deliveries per event key and keeps each delivery's latency. */
class Receipts {
  latencies: number[] = [];
  private counts = new Map<number, number>();
  private waiting = new Map<number, { expected: number; resolve: () => void }>();
  private total = 0;
  private totalWaiter: { expected: number; resolve: () => void } | null = null;

  onFrame(raw: WebSocket.RawData) {
    const now = performance.now();
    const m = JSON.parse(raw.toString());
    const d = m.data;
    if (!d || typeof d.k !== 'number') return; // hello, synced, pings, presence
    this.latencies.push(now - d.t0);
    const n = (this.counts.get(d.k) ?? 0) + 1;
    this.counts.set(d.k, n);
    const w = this.waiting.get(d.k);
    if (w && n >= w.expected) {
      this.waiting.delete(d.k);
      w.resolve();
    }
    this.total++;
    if (this.totalWaiter && this.total >= this.totalWaiter.expected) {
      const t = this.totalWaiter;
      this.totalWaiter = null;
      t.resolve();
    }
  }

  /** Resolves once event `k` reached `expected` consoles. */
  delivered(k: number, expected: number): Promise<void> {
    if ((this.counts.get(k) ?? 0) >= expected) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(k, { expected, resolve }));
  }

  /** Resolves once `expected` deliveries arrived since the last reset. */
  deliveredTotal(expected: number): Promise<void> {
    if (this.total >= expected) return Promise.resolve();
    return new Promise((resolve) => (this.totalWaiter = { expected, resolve }));
  }

  reset() {
    this.latencies = [];
    this.counts.clear();
    this.total = 0;
  }
}

/** The soft limit on open files: each console is two sockets here (client and server side). */
function openFileLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity;
  } catch {
    return Infinity;
  }
}

async function openClients(url: (i: number) => { url: string; headers?: Record<string, string> }, n: number, unitOf: (i: number) => number | null, receipts: Receipts) {
  const clients: Client[] = [];
  // In batches: 2,000 handshakes at once overflow the listen backlog on a small machine.
  for (let start = 0; start < n; start += 200) {
    const batch: Promise<Client>[] = [];
    for (let i = start; i < Math.min(n, start + 200); i++) {
      const target = url(i);
      batch.push(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(target.url, { headers: target.headers, perMessageDeflate: false });
          ws.on('message', (raw) => receipts.onFrame(raw));
          ws.once('open', () => resolve({ ws, unit: unitOf(i) }));
          ws.once('error', reject);
        }),
      );
    }
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

interface Phase {
  p50Ms: number;
  p99Ms: number;
  deliveriesPerSec: number;
}

/**
 * One measurement over a server: closed-loop latency (one event at a time, each to all its
 * receivers) and a burst (all events back to back) for throughput.
 */
async function measure(
  receipts: Receipts, events: number, receiversOf: (k: number) => number, send: (k: number, t0: number) => Promise<void>,
): Promise<Phase> {
  receipts.reset();
  let k = 0;
  for (let i = 0; i < events; i++, k++) {
    const done = receipts.delivered(k, receiversOf(k));
    await send(k, performance.now());
    await done;
  }
  const sorted = Float64Array.from(receipts.latencies).sort();
  const lat = Array.from(sorted);
  receipts.reset();
  let expected = 0;
  for (let i = 0; i < events; i++) expected += receiversOf(k + i);
  const all = receipts.deliveredTotal(expected);
  const t0 = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < events; i++) sends.push(send(k + i, performance.now()));
  await Promise.all(sends);
  await all;
  const ms = performance.now() - t0;
  return { p50Ms: fmt(percentile(lat, 50), 3), p99Ms: fmt(percentile(lat, 99), 3), deliveriesPerSec: fmt((expected / ms) * 1000, 0) };
}

export async function benchConsoleHub(opts: { connections: number; events: number }): Promise<BenchResult> {
  let connections = opts.connections;
  const limit = openFileLimit();
  let note: string | undefined;
  // Client and server side of each socket, plus the database, the listeners and some slack.
  if (limit < connections * 2 + 256) {
    connections = Math.max(10, Math.floor((limit - 256) / 2));
    note = `open-file limit ${limit}: ${connections} consoles instead of ${opts.connections} (raise it with ulimit -n)`;
    process.stdout.write(`# console hub: ${note}\n`);
  }
  const centerCount = Math.max(1, Math.round(connections * CENTER_SHARE));
  const unitOf = (i: number) => (i < centerCount ? null : (i - centerCount) % UNITS);
  const receiversBroadcast = connections;
  const unitConsoles = (u: number) => {
    let n = 0;
    for (let i = centerCount; i < connections; i++) if (unitOf(i) === u) n++;
    return n;
  };
  const perUnit = Array.from({ length: UNITS }, (_, u) => unitConsoles(u));
  const scopedUnit = (k: number) => k % UNITS;
  const receiversScoped = (k: number) => centerCount + perUnit[scopedUnit(k)];

  // ---- The hub: the real app (auth on the upgrade, scoping, the database numbering every event).
  const database = await benchDatabase('sqlite');
  const ctx = await createContext(testConfig(), { database, clock: new FixedClock(new Date('2025-10-09T02:00:00Z')) });
  const receipts = new Receipts();
  let hub: { broadcast: Phase; scoped: Phase; connected: number } | null = null;
  let raw: { broadcast: Phase; scoped: Phase } | null = null;
  try {
    await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'bench') });
    const units = (await ctx.directory.listUnits('demo')).items.filter((u) => u.kind !== 'center').slice(0, UNITS);
    if (units.length < UNITS) throw new Error(`bench: the demo city has ${units.length} units, ${UNITS} needed`);
    const cookies: { center: string[]; unit: string[] } = { center: [], unit: [] };
    for (const [i, u] of units.entries()) {
      const username = `bench-unit-${i}`;
      await ctx.identity.createUser({ actor: systemActor('demo', 'bench') }, { cityId: 'demo', username, displayName: `经办人 ${i}`, role: Role.unitHandler, password: PASSWORD, unitId: u.id });
      cookies.unit.push(`hotline_session=${(await ctx.identity.login(username, PASSWORD)).token}`);
    }
    for (const username of CENTER_USERS) cookies.center.push(`hotline_session=${(await ctx.identity.login(username, PASSWORD)).token}`);
    const app = await buildServer(ctx);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    try {
      const clients = await openClients(
        (i) => {
          const u = unitOf(i);
          return { url: `ws://127.0.0.1:${port}/api/v1/live`, headers: { cookie: u === null ? cookies.center[i % CENTER_USERS.length] : cookies.unit[u] } };
        },
        connections, unitOf, receipts,
      );
      const unitIds = units.map((u) => u.id);
      const publish = (k: number, t0: number, audience: { center: boolean; unitIds?: string[] }) =>
        ctx.live.publish({ type: 'bench.event', cityId: 'demo', audience, data: { k, t0 }, unitData: { k, t0 } }).then(() => {});
      // Warm-up: JIT, statement cache, socket buffers.
      await measure(receipts, 10, () => receiversBroadcast, (k, t0) => publish(k, t0, { center: true, unitIds }));
      const broadcast = await measure(receipts, opts.events, () => receiversBroadcast, (k, t0) => publish(k, t0, { center: true, unitIds }));
      const scoped = await measure(receipts, opts.events, receiversScoped, (k, t0) => publish(k, t0, { center: true, unitIds: [unitIds[scopedUnit(k)]] }));
      hub = { broadcast, scoped, connected: ctx.live.stats().connections };
      for (const c of clients) c.ws.terminate();
    } finally {
      await app.close();
    }
  } finally {
    await ctx.close();
  }

  // ---- The baseline: a bare ws server sending the same frames to the same number of sockets.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const sockets: { ws: WebSocket; unit: number | null }[] = [];
  let seq = 0;
  wss.on('connection', (ws, req) => {
    const unit = new URL(req.url ?? '/', 'http://x').searchParams.get('unit');
    sockets.push({ ws, unit: unit === 'center' ? null : Number(unit) });
  });
  try {
    const port = (wss.address() as AddressInfo).port;
    const clients = await openClients((i) => ({ url: `ws://127.0.0.1:${port}/?unit=${unitOf(i) ?? 'center'}` }), connections, unitOf, receipts);
    const frame = (k: number, t0: number) => JSON.stringify({ seq: ++seq, type: 'bench.event', at: new Date().toISOString(), data: { k, t0 } });
    const sendAll = async (k: number, t0: number) => {
      const f = frame(k, t0);
      for (const s of sockets) s.ws.send(f);
    };
    const sendScoped = async (k: number, t0: number) => {
      const f = frame(k, t0);
      const unit = scopedUnit(k);
      for (const s of sockets) if (s.unit === null || s.unit === unit) s.ws.send(f);
    };
    // Broadcast: every socket; scoped: the center's and one unit's. Delivered on a later turn, as the hub does.
    const later = (fn: (k: number, t0: number) => Promise<void>) => (k: number, t0: number) => new Promise<void>((r) => setImmediate(() => void fn(k, t0).then(r)));
    await measure(receipts, 10, () => receiversBroadcast, later(sendAll));
    const broadcast = await measure(receipts, opts.events, () => receiversBroadcast, later(sendAll));
    const scoped = await measure(receipts, opts.events, receiversScoped, later(sendScoped));
    raw = { broadcast, scoped };
    for (const c of clients) c.ws.terminate();
  } finally {
    await new Promise((r) => wss.close(r));
  }

  if (!hub || !raw) throw new Error('bench: console hub phases did not run');
  const { broadcast: hb, scoped: hs } = hub;
  const { broadcast: rb, scoped: rs } = raw;
  return {
    name: 'console hub: publish → console over WebSocket vs a bare ws server sending the same frames',
    consoles: connections,
    centerConsoles: centerCount,
    units: UNITS,
    eventsPerPhase: opts.events,
    connectedToHub: hub.connected,
    hubBroadcast: hb,
    rawBroadcast: rb,
    hubScoped: hs,
    rawScoped: rs,
    // Over 1: the hub is slower (latency) or delivers fewer per second (throughput) than the bare server.
    ratioBroadcastP50: fmt(hb.p50Ms / rb.p50Ms),
    ratioBroadcastP99: fmt(hb.p99Ms / rb.p99Ms),
    ratioBroadcastThroughput: fmt(rb.deliveriesPerSec / hb.deliveriesPerSec),
    ratioScopedP50: fmt(hs.p50Ms / rs.p50Ms),
    ratioScopedP99: fmt(hs.p99Ms / rs.p99Ms),
    ratioScopedThroughput: fmt(rs.deliveriesPerSec / hs.deliveriesPerSec),
    ...(note ? { note } : {}),
  };
}
