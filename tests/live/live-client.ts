/**
 * A console's realtime link as the tests drive it: a real `ws` client on a real listening server,
 * keeping every frame it got so a test can ask what arrived, in which order, and what never did.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import type { TestApp } from '../helpers/app';
import { SIX } from '../helpers/matrix';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Listens on a free port of 127.0.0.1; returns the ws:// base. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

export interface OpenOptions {
  cookie?: string;
  apiKey?: string;
  origin?: string;
  after?: number;
  /** The whole URL instead of `<base>/api/v1/live` (a bare hub server in the hub tests). */
  url?: string;
  /** More handshake headers (what a reverse proxy adds, e.g. X-Forwarded-Proto). */
  headers?: Record<string, string>;
}

export class LiveClient {
  readonly frames: string[] = [];
  readonly messages: any[] = [];
  /** Binary frames (direct messages such as call audio), in arrival order. */
  readonly binary: Uint8Array[] = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw, isBinary) => {
      if (isBinary) {
        this.binary.push(new Uint8Array(raw as Buffer));
        this.wake();
        return;
      }
      const text = raw.toString();
      this.frames.push(text);
      this.messages.push(JSON.parse(text));
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve({ code, reason: this.closeReason });
      });
    });
  }

  /** Opens a link; resolves once the handshake is done (not waiting for hello). Rejects on an HTTP refusal. */
  static open(base: string, o: OpenOptions = {}): Promise<LiveClient> {
    const url = o.url ?? `${base}/api/v1/live${o.after !== undefined ? `?after=${o.after}` : ''}`;
    const headers: Record<string, string> = { ...o.headers };
    if (o.cookie) headers.cookie = o.cookie;
    if (o.apiKey) headers['x-api-key'] = o.apiKey;
    const ws = new WebSocket(url, { headers, origin: o.origin });
    const client = new LiveClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Opens and waits for `synced` (hello and any catch-up received). */
  static async ready(base: string, o: OpenOptions = {}): Promise<LiveClient> {
    const c = await LiveClient.open(base, o);
    await c.waitFor((m) => m.type === 'synced', 'synced');
    return c;
  }

  /** Event messages (the ones with a seq), in arrival order. */
  get events(): any[] {
    return this.messages.filter((m) => typeof m.seq === 'number');
  }

  eventsOf(type: string): any[] {
    return this.events.filter((m) => m.type === type);
  }

  /** The newest number this console may resume after. */
  get position(): number {
    let p = 0;
    for (const m of this.messages) {
      if (typeof m.seq === 'number') p = Math.max(p, m.seq);
      if ((m.type === 'hello' || m.type === 'synced') && typeof m.lastSeq === 'number') p = Math.max(p, m.lastSeq);
    }
    return p;
  }

  /** Waits (real time) for a message matching `pred`; fails naming `what` after `timeoutMs`. */
  async waitFor(pred: (m: any) => boolean, what: string, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (this.closeCode !== null) throw new Error(`link closed (${this.closeCode} ${this.closeReason}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.map((m) => m.type))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Waits (real time) until `n` binary frames arrived. */
  async waitForBinary(n: number, timeoutMs = 10_000): Promise<Uint8Array[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.binary.length < n) {
      if (this.closeCode !== null) throw new Error(`link closed (${this.closeCode}) while waiting for ${n} binary frames`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} binary frames (got ${this.binary.length})`);
      await sleep(5);
    }
    return this.binary;
  }

  send(o: unknown) {
    this.ws.send(JSON.stringify(o));
  }

  async close() {
    if (this.closeCode !== null) return;
    this.ws.close();
    await this.closed;
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Ids of the demo city the live tests use. */
export interface DemoIds {
  unit: Record<string, string>;
  territory: Record<string, string>;
  territoryPath: Record<string, string>;
  user: Record<string, string>;
}

export async function demoIds(t: TestApp, users: string[]): Promise<DemoIds> {
  const ids: DemoIds = { unit: {}, territory: {}, territoryPath: {}, user: {} };
  for (const code of ['util-water', 'util-power', 'dept-cgj']) ids.unit[code] = (await t.ctx.directory.findUnitByCode('demo', code))!.id;
  for (const code of ['990102001001001', '990103001001001']) {
    const ter = (await t.ctx.directory.findTerritoryByCode('demo', code))!;
    ids.territory[code] = ter.id;
    ids.territoryPath[code] = ter.path;
  }
  const all = await t.ctx.identity.listUsers('demo');
  for (const u of users) ids.user[u] = all.find((x) => x.username === u)!.id;
  return ids;
}


/** Registers a ticket as agent1 over HTTP (intake emits ticket.created); returns its view. */
export async function createTicket(t: TestApp, p: { unitId: string; territoryId: string; phone?: string; title?: string; confidential?: boolean }) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/tickets',
    headers: { cookie: await t.login('agent1') },
    payload: {
      channel: 'phone', type: 'help', title: p.title ?? 'live test', ...SIX, callerPhone: p.phone ?? null,
      territoryId: p.territoryId, handlingUnitId: p.unitId, confidential: p.confidential ?? false,
    },
  });
  if (res.statusCode !== 201) throw new Error(`create ticket: ${res.statusCode} ${res.body}`);
  return res.json() as any;
}

/**
 * A marker event every named user receives. Events reach a console in sequence order, so once the
 * marker arrived, anything published before it (started before this call) has arrived.
 */
export async function publishMarker(t: Pick<TestApp, 'ctx'>, userIds: string[], label = 'marker') {
  await t.ctx.live.idle(); // events whose publish already started get their numbers first
  return t.ctx.live.publish({ type: 'test.marker', cityId: 'demo', audience: { center: false, userIds }, data: { label }, unitData: { label } });
}
