/**
 * The console hub (实时推送中心) of one node: the open WebSockets, indexed by scope, and how an
 * event reaches exactly the consoles allowed to see it, once, in order.
 */
import type { WebSocket } from 'ws';
import { isSeat, type Actor } from '../core';
import { mayReceive, payloadKindOf, scopeOf, type Viewer } from './domain/audience';
import { ClientMessage, LiveCloseCode, type ErrorMessage, type HelloMessage } from './live.protocol';
import type { ChosenStatus, LiveAccessEnded, LiveEvent } from './ports';

/** What the hub needs from the rest of the service. */
export interface HubDeps {
  heartbeatMs: number;
  /** A socket holding more unsent bytes than this is closed (4429): it resumes from the database. */
  maxBufferedBytes: number;
  /** A socket holding more unsent bytes than this gets no direct (ephemeral) message: it is dropped. Default 256 KiB. */
  directMaxBufferedBytes?: number;
  /** How often a connection's credentials are checked again (logout, disabled user, revoked key). */
  revalidateMs: number;
  /** The node's watermark: every event up to it has been dispatched. */
  delivered(): number;
  /** Newest and oldest numbers stored, to tell a client its `after` is unusable. */
  storedRange(): Promise<{ min: number; max: number }>;
  /** A page of a viewer's catch-up in (after, upTo], prefiltered by the store. */
  catchUpPage(v: Viewer, after: number, upTo: number, limit: number): Promise<LiveEvent[]>;
  presenceConnected(actor: Actor): Promise<void>;
  presenceDisconnected(actor: Actor): Promise<void>;
  presenceChosen(actor: Actor, status: ChosenStatus): Promise<void>;
  onError(err: unknown, what: string): void;
}

export interface AttachOptions {
  /** Resume after this number (the `after` query parameter). */
  after?: number | null;
  /** Resolves the connection's credentials again: null when the session ended. */
  reauthenticate?: () => Promise<Actor | null>;
  /** The console session the socket was opened with (its stored id), so a logout closes exactly it. */
  sessionId?: string | null;
  /** The API key it was opened with, when not a session. */
  apiKeyId?: string | null;
  /** Milliseconds until the session or key expires: the socket is closed then (4401), not at the next re-check. */
  expiresInMs?: number | null;
}

/** What became of a direct message on this node: sockets it went to, sockets too far behind to take it, the most unsent bytes seen. */
export interface DirectResult {
  sent: number;
  dropped: number;
  bufferedBytes: number;
}

/** setTimeout's largest delay; a later expiry re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const CATCH_UP_PAGE = 500;
/** Live events one console may have waiting behind its catch-up; more means it cannot keep up. */
const MAX_HELD = 10_000;

class Connection {
  alive = true;
  /** hello has gone out: nothing else (not even a heartbeat) may reach the console before it. */
  greeted = false;
  lastSentSeq = 0;
  /** Live events held while a catch-up is read from the database, sent after it. */
  held: { seq: number; frame: string }[] | null = null;
  authCheckedAt = Date.now();
  closed = false;
  expiryTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: WebSocket,
    public actor: Actor,
    readonly reauthenticate: (() => Promise<Actor | null>) | undefined,
    readonly sessionId: string | null = null,
    readonly apiKeyId: string | null = null,
  ) {}

  get viewer(): Viewer {
    return this.actor;
  }

  sendJson(o: unknown) {
    this.sendFrame(JSON.stringify(o));
  }

  sendFrame(frame: string) {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(frame);
  }

  close(code: number, reason: string) {
    if (this.closed) return;
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
  }
}

/** The connections of one city, indexed the way audiences name receivers. */
class CityIndex {
  readonly center = new Set<Connection>();
  readonly byUnit = new Map<string, Set<Connection>>();
  readonly territory = new Set<Connection>();
  readonly byId = new Map<string, Set<Connection>>();
  size = 0;

  add(c: Connection) {
    const s = scopeOf(c.viewer);
    if (s.kind === 'center') this.center.add(c);
    else if (s.kind === 'unit') addTo(this.byUnit, s.unitId, c);
    else if (s.kind === 'territory') this.territory.add(c);
    if (c.viewer.id) addTo(this.byId, c.viewer.id, c);
    this.size++;
  }

  remove(c: Connection) {
    const s = scopeOf(c.viewer);
    if (s.kind === 'center') this.center.delete(c);
    else if (s.kind === 'unit') removeFrom(this.byUnit, s.unitId, c);
    else if (s.kind === 'territory') this.territory.delete(c);
    if (c.viewer.id) removeFrom(this.byId, c.viewer.id, c);
    this.size--;
  }

  /** Every connection the audience might reach; the audience rule still decides. */
  candidates(e: LiveEvent): Iterable<Connection> {
    const a = e.audience;
    const out = new Set<Connection>();
    if (a.center) for (const c of this.center) out.add(c);
    for (const u of a.unitIds ?? []) for (const c of this.byUnit.get(u) ?? []) out.add(c);
    if (a.territoryPaths?.length) for (const c of this.territory) out.add(c);
    for (const id of a.userIds ?? []) for (const c of this.byId.get(id) ?? []) out.add(c);
    return out;
  }
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V) {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V) {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

const sameScope = (a: Actor, b: Actor) =>
  a.id === b.id && a.role === b.role && a.cityId === b.cityId && a.unitId === b.unitId && a.territoryPath === b.territoryPath;

/** The frame of an event as one viewer kind gets it; null when that kind gets nothing. */
function frameOf(e: LiveEvent, kind: 'center' | 'outside'): string | null {
  if (kind === 'outside' && e.unitData === undefined) return null;
  return JSON.stringify({ seq: e.seq, type: e.type, at: e.at, data: kind === 'center' ? e.data : e.unitData });
}

export class ConsoleHub {
  private readonly cities = new Map<string, CityIndex>();
  private readonly connections = new Set<Connection>();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(private readonly deps: HubDeps) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  start() {
    this.timer = setInterval(() => this.tick(), this.deps.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Takes over an authenticated socket: hello, the catch-up after `after`, then live events. The
   * connection joins the index before the catch-up is read, so nothing published meanwhile is
   * missed: it is held and sent after the catch-up, without what the catch-up already sent.
   */
  attach(socket: WebSocket, actor: Actor, opts: AttachOptions = {}) {
    const c = new Connection(socket, actor, opts.reauthenticate, opts.sessionId ?? null, opts.apiKeyId ?? null);
    if (this.closing) {
      c.close(LiveCloseCode.goingAway, 'server shutting down');
      return;
    }
    if (opts.expiresInMs != null) {
      if (opts.expiresInMs <= 0) return c.close(LiveCloseCode.authRequired, 'session expired');
      this.armExpiry(c, Date.now() + opts.expiresInMs);
    }
    this.connections.add(c);
    this.cityOf(actor.cityId).add(c);
    socket.on('pong', () => (c.alive = true));
    socket.on('message', (raw, isBinary) => {
      c.alive = true;
      void this.onMessage(c, isBinary ? null : raw.toString()).catch((err) => this.deps.onError(err, 'live message'));
    });
    socket.on('close', () => this.detach(c));
    socket.on('error', () => this.detach(c));
    // Only seats are on the seat board: a supervisor or a unit watching its queue is not a seat.
    if (isSeat(actor)) {
      void this.deps.presenceConnected(actor).catch((err) => this.deps.onError(err, 'presence connect'));
    }
    void this.catchUp(c, opts.after ?? null, true).catch((err) => {
      this.deps.onError(err, 'live catch-up');
      c.close(1011, 'catch-up failed');
    });
  }

  /** Sends an event (in sequence order; the service guarantees it) to every connection allowed to see it. */
  dispatch(e: LiveEvent) {
    const city = this.cities.get(e.cityId);
    if (!city) return;
    let center: string | null | undefined;
    let outside: string | null | undefined;
    for (const c of city.candidates(e)) {
      if (!mayReceive(c.viewer, e.cityId, e.audience)) continue;
      const kind = payloadKindOf(c.viewer);
      const frame = kind === 'center' ? (center ??= frameOf(e, 'center')) : (outside ??= frameOf(e, 'outside'));
      if (frame !== null) this.deliver(c, e.seq, frame);
    }
  }

  /**
   * Sends an ephemeral message (not stored, no number) to this node's open consoles of one user,
   * once hello has gone out. A socket whose unsent bytes are over the direct limit skips it: audio
   * that cannot be sent now is worth nothing later, and the node's memory is not the console's buffer.
   */
  sendDirect(cityId: string, userId: string, frame: string | Uint8Array): DirectResult {
    const out: DirectResult = { sent: 0, dropped: 0, bufferedBytes: 0 };
    const limit = this.deps.directMaxBufferedBytes ?? 256 * 1024;
    for (const c of this.cities.get(cityId)?.byId.get(userId) ?? []) {
      if (c.closed || !c.greeted || c.socket.readyState !== c.socket.OPEN) continue;
      const buffered = c.socket.bufferedAmount;
      out.bufferedBytes = Math.max(out.bufferedBytes, buffered);
      if (buffered > limit) {
        out.dropped++;
        continue;
      }
      c.socket.send(frame, { binary: typeof frame !== 'string' });
      out.sent++;
    }
    return out;
  }

  /**
   * Someone's access ended (told by this node or another over the broker): the sockets opened with
   * it close now, 4401 when the credential is gone, 4409 when the user's scope changed. Idempotent.
   */
  endAccess(m: LiveAccessEnded): number {
    let n = 0;
    for (const c of this.connections) {
      const hit =
        m.kind === 'session' ? c.sessionId === m.sessionId
          : m.kind === 'api_key' ? c.actor.kind === 'api_key' && c.actor.id === m.apiKeyId
            : c.actor.kind === 'user' && c.actor.id === m.userId;
      if (!hit || c.closed) continue;
      n++;
      if (m.code === 'scope') c.close(LiveCloseCode.scopeChanged, 'scope changed: reconnect');
      else c.close(LiveCloseCode.authRequired, m.kind === 'session' ? 'logged out' : 'access ended');
    }
    return n;
  }

  /** Closes every socket (1001) and stops the heartbeat. */
  async close() {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all = [...this.connections];
    for (const c of all) c.close(LiveCloseCode.goingAway, 'server shutting down');
    await Promise.allSettled(all.map((c) => this.detach(c)));
  }

  private cityOf(cityId: string) {
    let i = this.cities.get(cityId);
    if (!i) this.cities.set(cityId, (i = new CityIndex()));
    return i;
  }

  private deliver(c: Connection, seq: number, frame: string) {
    if (c.held) {
      if (c.held.length >= MAX_HELD) return c.close(LiveCloseCode.slowConsumer, 'too slow: reconnect with after');
      c.held.push({ seq, frame });
      return;
    }
    if (seq <= c.lastSentSeq) return;
    if (c.socket.bufferedAmount > this.deps.maxBufferedBytes) {
      // A console that cannot keep up would hold the node's memory: it reconnects and catches up.
      c.close(LiveCloseCode.slowConsumer, 'too slow: reconnect with after');
      return;
    }
    c.lastSentSeq = seq;
    c.sendFrame(frame);
  }

  /** Closes the socket when its session or key expires (per connection, to the second). */
  private armExpiry(c: Connection, deadline: number) {
    const left = deadline - Date.now();
    c.expiryTimer = setTimeout(() => {
      c.expiryTimer = null;
      if (Date.now() < deadline) return this.armExpiry(c, deadline);
      c.close(LiveCloseCode.authRequired, 'session expired');
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
    c.expiryTimer.unref();
  }

  private async detach(c: Connection) {
    if (!this.connections.delete(c)) return;
    c.closed = true;
    if (c.expiryTimer) clearTimeout(c.expiryTimer);
    c.expiryTimer = null;
    const city = this.cities.get(c.actor.cityId);
    city?.remove(c);
    if (city && city.size === 0) this.cities.delete(c.actor.cityId);
    if (isSeat(c.actor)) {
      await this.deps.presenceDisconnected(c.actor).catch((err) => this.deps.onError(err, 'presence disconnect'));
    }
  }

  /**
   * hello → the events in (after, watermark] read from the database → the held live ones → synced.
   * `first`: the connection's opening catch-up (sends hello); a later `resume` only replays.
   */
  private async catchUp(c: Connection, after: number | null, first: boolean) {
    c.held = [];
    const upTo = this.deps.delivered();
    let gap = false;
    let from = after;
    if (after !== null && after < upTo) {
      // Pruned already: what is kept is still sent, and the client learns its lists are incomplete.
      const { min } = await this.deps.storedRange();
      gap = min === 0 || after < min - 1;
    } else if (after !== null && after > upTo) {
      // Ahead of this node: fine if another node already delivered it, a reset database otherwise.
      const { max } = await this.deps.storedRange();
      if (after > max) {
        gap = true;
        from = null;
      }
    }
    if (first) {
      const hello: HelloMessage = {
        type: 'hello', lastSeq: upTo, after, gap, heartbeatMs: this.deps.heartbeatMs,
        user: { id: c.actor.id, name: c.actor.name, role: c.actor.role },
      };
      c.sendJson(hello);
      c.greeted = true;
    }
    if (from === null) c.lastSentSeq = Math.max(c.lastSentSeq, upTo);
    else {
      c.lastSentSeq = Math.max(c.lastSentSeq, Math.min(from, upTo));
      let cursor = from;
      while (cursor < upTo && !c.closed) {
        const page = await this.deps.catchUpPage(c.viewer, cursor, upTo, CATCH_UP_PAGE);
        for (const e of page) {
          if (!mayReceive(c.viewer, e.cityId, e.audience) || e.seq <= c.lastSentSeq) continue;
          const frame = frameOf(e, payloadKindOf(c.viewer));
          if (frame === null) continue;
          c.lastSentSeq = e.seq;
          c.sendFrame(frame);
          // The catch-up goes at the console's pace: a long absence must not look like a slow reader.
          if (c.socket.bufferedAmount > this.deps.maxBufferedBytes / 2) await this.drained(c);
        }
        if (page.length < CATCH_UP_PAGE) break;
        cursor = page[page.length - 1].seq;
      }
      c.lastSentSeq = Math.max(c.lastSentSeq, upTo, from);
    }
    const held = c.held;
    c.held = null;
    for (const h of held) this.deliver(c, h.seq, h.frame);
    c.sendJson({ type: 'synced', lastSeq: c.lastSentSeq, gap });
  }

  private async drained(c: Connection) {
    while (!c.closed && c.socket.bufferedAmount > this.deps.maxBufferedBytes / 4) await new Promise((r) => setTimeout(r, 5));
  }

  private async onMessage(c: Connection, text: string | null) {
    let parsed: unknown;
    try {
      parsed = text === null ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const m = ClientMessage.safeParse(parsed);
    if (!m.success) {
      return this.sendError(c, 'MESSAGE_INVALID', 'unknown or malformed message', '消息格式不正确');
    }
    const msg = m.data;
    switch (msg.type) {
      case 'ping':
        return c.sendJson({ type: 'pong', at: new Date().toISOString() });
      case 'pong':
        return;
      case 'resume':
        if (c.held) return this.sendError(c, 'RESUME_IN_PROGRESS', 'a catch-up is already running', '正在补发消息，请稍候');
        return this.catchUp(c, msg.after, false);
      case 'presence':
        if (!isSeat(c.actor)) {
          return this.sendError(c, 'PRESENCE_FORBIDDEN', 'only the hotline center\'s seats (agents, dispatchers) have a seat status', '仅热线中心坐席（话务员、派单员）可设置状态');
        }
        return this.deps.presenceChosen(c.actor, msg.status);
    }
  }

  private sendError(c: Connection, code: string, message: string, messageZh: string) {
    const e: ErrorMessage = { type: 'error', code, message, messageZh };
    c.sendJson(e);
  }

  /** The heartbeat: ping every socket, drop the ones that did not answer the last ping, re-check credentials. */
  private tick() {
    const frame = JSON.stringify({ type: 'ping', at: new Date().toISOString() });
    const now = Date.now();
    for (const c of this.connections) {
      if (!c.alive) {
        c.socket.terminate();
        void this.detach(c);
        continue;
      }
      c.alive = false;
      try {
        c.socket.ping();
      } catch {
        // closing already: 'close' detaches it
      }
      // A console still waiting for its hello (a slow catch-up read) gets the socket-level ping only.
      if (c.greeted) c.sendFrame(frame);
      if (c.reauthenticate && now - c.authCheckedAt >= this.deps.revalidateMs) {
        c.authCheckedAt = now;
        void this.revalidate(c).catch((err) => this.deps.onError(err, 'live revalidate'));
      }
    }
  }

  private async revalidate(c: Connection) {
    const actor = await c.reauthenticate!();
    if (!actor) return c.close(LiveCloseCode.authRequired, 'session ended');
    if (!sameScope(actor, c.actor)) return c.close(LiveCloseCode.scopeChanged, 'scope changed: reconnect');
  }
}
