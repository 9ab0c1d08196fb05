import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { WebSocket } from 'ws';
import { isUniqueViolation, type DB } from '../db';
import { forbidden, isCenter, newId, Role, SEAT_ROLES, systemClock, toChinaIso, type Actor, type Clock } from '../core';
import { audienceProblems, normalizeAudience, type Audience } from './domain/audience';
import { Sequencer } from './domain/sequencer';
import { ConsoleHub, type AttachOptions, type DirectResult } from './live.hub';
import { LiveRepository } from './live.repository';
import type { ChosenStatus, LiveAccessEnded, LiveBroker, LiveDirect, LiveEvent, PresenceChange, PresenceStatus, PresenceStore, PresenceUser } from './ports';

/** What a part hands to {@link LiveService.publish}: an event without its number. */
export interface LiveEventInput {
  /** Dotted `part.pastTense`: `ticket.created`, `workorder.dispatched`, `call.offered`. */
  type: string;
  cityId: string;
  audience: Audience;
  /** The hotline center's payload (may hold a citizen's phone number). */
  data: unknown;
  /** Everyone else's payload (no citizen phone number); leave it out for a center-only event. */
  unitData?: unknown;
  /** When it happened; default now. */
  at?: Date;
  /**
   * What makes the change unique, for a change that may be published again (a notice delivered
   * again after a crash): a second publish with the same key is the first event, not a new one.
   */
  key?: string;
}

/** A seat on the supervisors' board (坐席状态). */
export interface PresenceView {
  userId: string;
  name: string;
  role: string;
  status: PresenceStatus;
  /** When the status last changed; null when never seen. */
  since: string | null;
}

/** The subset of pino's Logger the live feed uses. */
export interface LiveLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LiveDeps {
  db: Kysely<DB>;
  broker: LiveBroker;
  presence: PresenceStore;
  /** The city's seats (agents and dispatchers), for the seat board (offline ones included). */
  staffOf(cityId: string): Promise<PresenceUser[]>;
  clock?: Clock;
  logger?: LiveLogger;
  /** Heartbeat period: pings, liveness, credential re-checks. Default 25 s. */
  heartbeatMs?: number;
  /** Events older than this are pruned. Default 3 days. */
  retentionDays?: number;
  /** How long a node waits for a missing number before reading it from the database. Default 1 s. */
  gapWaitMs?: number;
  /**
   * How long a number may stay missing from the database before it is taken for a hole (an insert
   * that failed after taking its number) and skipped. Until then later events wait: order and
   * completeness over speed. Default 10 s.
   */
  holeWaitMs?: number;
  /** On Redis: how often a node checks the database for events pub/sub lost. Default 2 s. */
  pollMs?: number;
  /** Unsent bytes a socket may hold before it is closed as too slow. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** How often an open socket's session or API key is checked again. Default 5 min. */
  revalidateMs?: number;
  /** Unsent bytes over which a socket skips direct (ephemeral) messages, e.g. call audio. Default 256 KiB. */
  directMaxBufferedBytes?: number;
}

const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** Who watches the seat board: presence changes go to them (and to the user's own consoles). */
const PRESENCE_WATCHERS = [Role.supervisor, Role.admin];
const noopLogger: LiveLogger = { error() {}, warn() {} };
/**
 * A staged event younger than this is left to the node that committed it (it moves it right after
 * its commit); older ones are taken for orphans of a node that died and moved by any node's sweep.
 */
const STAGED_GRACE_MS = 3000;

/**
 * The live feed: stores each published event under its number, carries it to every node through the
 * broker, and lets each node's hub push it to the consoles allowed to see it. Also the seat board
 * (presence) and the retention sweep.
 */
export function createLiveService(deps: LiveDeps) {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? noopLogger;
  const heartbeatMs = deps.heartbeatMs ?? 25_000;
  const gapWaitMs = deps.gapWaitMs ?? 1000;
  const holeWaitMs = deps.holeWaitMs ?? 10_000;
  const pollMs = deps.pollMs ?? 2000;
  const retentionMs = (deps.retentionDays ?? 3) * 86_400_000;
  const nodeId = randomBytes(6).toString('hex');
  const repo = new LiveRepository(deps.db);

  let sequencer: Sequencer<LiveEvent> | null = null;
  /** Events that arrived while the start read the newest number. */
  let early: LiveEvent[] = [];
  let gapTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let touchTimer: NodeJS.Timeout | null = null;
  let stagedTimer: NodeJS.Timeout | null = null;
  let filling = false;
  /** The missing number the gap timer waits for, and since when. */
  let gapFor = 0;
  let gapSince = 0;
  /** The newest number the previous poll saw: a number is read only once it was there a poll ago. */
  let polledMax = 0;
  let closed = false;
  /** Publishes started and not yet handed to the broker: close and tests wait for them. */
  const inFlight = new Set<Promise<unknown>>();
  /** Open consoles per `${cityId}|${userId}` on this node: presence changes on the first and the last. */
  const localConsoles = new Map<string, number>();

  const onError = (err: unknown, what: string) => logger.error({ err, what }, `live: ${what} failed (实时推送出错)`);

  const hub = new ConsoleHub({
    heartbeatMs,
    maxBufferedBytes: deps.maxBufferedBytes ?? 4 * 1024 * 1024,
    directMaxBufferedBytes: deps.directMaxBufferedBytes,
    revalidateMs: deps.revalidateMs ?? 5 * 60_000,
    delivered: () => sequencer?.delivered ?? 0,
    storedRange: async () => ({ min: await repo.minSeq(), max: await repo.maxSeq() }),
    catchUpPage: (v, after, upTo, limit) => repo.catchUpPage(v, after, upTo, limit),
    presenceConnected: async (actor) => {
      const key = `${actor.cityId}|${actor.id}`;
      const n = (localConsoles.get(key) ?? 0) + 1;
      localConsoles.set(key, n);
      if (n === 1) await announce(actor.cityId, await deps.presence.connected(actor.cityId, presenceUser(actor), nodeId, toChinaIso(clock.now())));
    },
    presenceDisconnected: async (actor) => {
      const key = `${actor.cityId}|${actor.id}`;
      const n = (localConsoles.get(key) ?? 1) - 1;
      if (n > 0) return void localConsoles.set(key, n);
      localConsoles.delete(key);
      await announce(actor.cityId, await deps.presence.disconnected(actor.cityId, actor.id!, nodeId, toChinaIso(clock.now())));
    },
    presenceChosen: async (actor, status: ChosenStatus) => {
      await announce(actor.cityId, await deps.presence.setStatus(actor.cityId, presenceUser(actor), nodeId, status, toChinaIso(clock.now())));
    },
    onError,
  });

  function presenceUser(actor: Actor): PresenceUser {
    return { id: actor.id!, name: actor.name, role: actor.role };
  }

  async function announce(cityId: string, change: PresenceChange | null) {
    if (!change) return;
    const r = change.after;
    await service.publish({
      type: 'presence.changed',
      cityId,
      audience: { center: true, roles: PRESENCE_WATCHERS, userIds: [r.id] },
      data: { userId: r.id, name: r.name, role: r.role, status: r.status, before: change.before, since: r.since },
    });
  }

  function release(events: LiveEvent[]) {
    for (const e of events) {
      try {
        hub.dispatch(e);
      } catch (err) {
        onError(err, 'dispatch');
      }
    }
  }

  function onBrokerEvent(e: LiveEvent) {
    if (closed) return;
    if (!sequencer) {
      early.push(e);
      return;
    }
    release(sequencer.accept(e));
    armGapTimer();
  }

  /** While a number is missing: read the database after `gapWaitMs`, and skip it as a hole after `holeWaitMs`. */
  function armGapTimer() {
    if (!sequencer?.hasGap || gapTimer || closed) return;
    const missing = sequencer.delivered + 1;
    if (missing !== gapFor) {
      gapFor = missing;
      gapSince = Date.now();
    }
    gapTimer = setTimeout(() => {
      gapTimer = null;
      void fillFromDatabase(sequencer!.highestSeen, Date.now() - gapSince >= holeWaitMs);
    }, gapWaitMs);
    gapTimer.unref();
  }

  /** Delivers what the broker did not bring, up to `upTo`, from the database. */
  async function fillFromDatabase(upTo: number, skipHoles: boolean) {
    if (!sequencer || filling || closed || upTo <= sequencer.delivered) return;
    filling = true;
    try {
      const found = await repo.between(sequencer.delivered, upTo);
      if (closed) return;
      const holes = sequencer.holesSkipped;
      release(sequencer.fill(found, upTo, skipHoles));
      if (sequencer.holesSkipped > holes) {
        logger.warn({ skipped: sequencer.holesSkipped - holes, upTo }, 'live: numbers never stored were skipped (推送序号空缺)');
      }
    } catch (err) {
      onError(err, 'gap fill');
    } finally {
      filling = false;
      armGapTimer();
    }
  }

  async function poll() {
    if (!sequencer || closed) return;
    try {
      const max = await repo.maxSeq();
      if (polledMax > sequencer.highestSeen) await fillFromDatabase(polledMax, false);
      polledMax = max;
    } catch (err) {
      onError(err, 'poll');
    }
  }

  /**
   * Stores an event once per key. The look-up comes first so that a repeat takes no number (a
   * number taken and not stored is a hole the nodes wait for); the unique key settles a race.
   */
  async function insertOnce(partial: Omit<LiveEvent, 'seq'>, key: string | null): Promise<LiveEvent> {
    if (key) {
      const existing = await repo.findByKey(key);
      if (existing) return existing;
    }
    try {
      return { seq: await repo.insert(partial, key), ...partial };
    } catch (err) {
      const existing = key && isUniqueViolation(err) ? await repo.findByKey(key) : null;
      if (existing) return existing;
      throw err;
    }
  }

  /** Keeps a publish in `inFlight` until it settles (close and tests wait for them). */
  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    const done = () => void inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Checks an event and gives it its time and normalized audience (no number yet). */
  function prepare(input: LiveEventInput): Omit<LiveEvent, 'seq'> {
    if (!EVENT_TYPE.test(input.type)) {
      throw new Error(`live: event type "${input.type}" is not dotted lower-case (事件类型格式不正确)`);
    }
    if (!input.cityId) throw new Error('live: an event needs its city (推送事件缺少城市)');
    const problems = audienceProblems(input.audience);
    if (problems.length) throw new Error(`live: bad audience for ${input.type}: ${problems.join('; ')} (推送范围不正确)`);
    const partial: Omit<LiveEvent, 'seq'> = {
      type: input.type,
      cityId: input.cityId,
      at: toChinaIso(input.at ?? clock.now()),
      audience: normalizeAudience(input.audience),
      data: input.data ?? null,
    };
    if (input.unitData !== undefined) partial.unitData = input.unitData;
    return partial;
  }

  /** Hands a stored event to the broker; a failure is only logged (the nodes' database poll finds it). */
  async function handOff(event: LiveEvent) {
    try {
      await deps.broker.publish(event);
    } catch (err) {
      onError(err, 'broker publish');
    }
  }

  /** Checks and stores an event, then hands it to the broker. */
  async function store(input: LiveEventInput): Promise<LiveEvent> {
    const event = await insertOnce(prepare(input), input.key ?? null);
    await handOff(event);
    return event;
  }

  /** Numbers staged events (each in its own short transaction, so one failure holds up no other) and pushes them. */
  async function moveStaged(ids: string[]): Promise<number> {
    let moved = 0;
    for (const id of ids) {
      const event = await deps.db.transaction().execute((trx) => new LiveRepository(trx).moveStaged(id));
      if (!event) continue;
      moved++;
      await handOff(event);
    }
    return moved;
  }

  /** Moves what was staged and not moved after its commit (its node died in between). */
  async function sweepStaged(): Promise<number> {
    if (closed) return 0;
    let moved = 0;
    for (;;) {
      const ids = await repo.stagedBefore(new Date(clock.now().getTime() - STAGED_GRACE_MS), 200);
      moved += await moveStaged(ids);
      if (ids.length < 200 || closed) return moved;
    }
  }

  const service = {
    /** This node's id among the hub nodes (presence and logs). */
    nodeId,
    /** `in-process` or `redis`. */
    brokerKind: deps.broker.kind,

    /**
     * Publishes an event to every console allowed to see it, on every node. Stores it first (the
     * number comes from the database), then hands it to the broker. Call it after the transaction
     * that caused the event committed. Rejects when the event is malformed or cannot be stored.
     */
    publish(input: LiveEventInput): Promise<LiveEvent> {
      return track(store(input));
    },

    /**
     * Stages an event inside the transaction of the change it reports: it exists exactly when the
     * change commits (no change without its event, no event without its change). Call
     * {@link releaseStaged} with the returned id after the commit; if that never happens (the node
     * died), any node's sweep moves it within a few seconds. Rejects a malformed event.
     */
    async stageWithin(trx: Kysely<DB>, input: LiveEventInput): Promise<string> {
      const id = newId();
      await new LiveRepository(trx).stage(id, prepare(input), clock.now());
      return id;
    },

    /** Numbers and pushes staged events after their transaction committed; each is moved once, by whoever comes first. */
    releaseStaged(ids: string[]): Promise<number> {
      return track(moveStaged(ids).catch((err) => {
        onError(err, 'release staged');
        return 0;
      }));
    },

    /** Moves staged events whose node died between commit and move (run by every node's timer; safe concurrently). */
    sweepStaged,

    /** Resolves once every publish started so far is stored and handed to the broker. */
    async idle(): Promise<void> {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },

    /**
     * Sends an ephemeral message to one user's open consoles, on every node: never stored, no
     * number, no catch-up, dropped where the user has no console or a socket is behind (see
     * {@link LiveDirect}). Resolves with what happened on this node (the sockets here, their unsent
     * bytes: the sender's backpressure signal) once it is handed to the broker for the other nodes.
     */
    async sendToUser(cityId: string, userId: string, frame: string | Uint8Array): Promise<DirectResult> {
      if (closed) return { sent: 0, dropped: 0, bufferedBytes: 0 };
      const local = hub.sendDirect(cityId, userId, frame);
      if (deps.broker.kind !== 'in-process' && deps.broker.publishDirect) {
        try {
          await deps.broker.publishDirect({ origin: nodeId, cityId, userId, frame });
        } catch (err) {
          onError(err, 'broker direct');
        }
      }
      return local;
    },

    /** Subscribes to the broker and starts the heartbeat; call once at boot, after migrations. */
    async start() {
      await deps.broker.subscribe(onBrokerEvent, (m) => {
        if (!closed) hub.endAccess(m);
      });
      // Another node's direct messages reach this node's consoles; this node's own were delivered when sent.
      await deps.broker.subscribeDirect?.((m: LiveDirect) => {
        if (!closed && m.origin !== nodeId) hub.sendDirect(m.cityId, m.userId, m.frame);
      });
      const max = await repo.maxSeq();
      sequencer = new Sequencer<LiveEvent>(max);
      polledMax = max;
      const waiting = early.sort((a, b) => a.seq - b.seq);
      early = [];
      for (const e of waiting) onBrokerEvent(e);
      hub.start();
      await deps.presence.touch(nodeId, heartbeatMs * 3);
      touchTimer = setInterval(() => void deps.presence.touch(nodeId, heartbeatMs * 3).catch((err) => onError(err, 'presence liveness')), heartbeatMs);
      touchTimer.unref();
      if (deps.broker.kind !== 'in-process') {
        pollTimer = setInterval(() => void poll(), pollMs);
        pollTimer.unref();
      }
      stagedTimer = setInterval(() => void sweepStaged().catch((err) => onError(err, 'staged sweep')), pollMs);
      stagedTimer.unref();
    },

    /**
     * Takes over an authenticated WebSocket (the route checked who it is). See live.protocol.ts
     * for the messages; `after` resumes from a number the console saw.
     */
    attach(socket: WebSocket, actor: Actor, opts?: AttachOptions & { expiresAt?: Date | null }) {
      // The expiry is on the service's clock (tests control it); the timer runs in real time.
      const expiresInMs = opts?.expiresAt ? opts.expiresAt.getTime() - clock.now().getTime() : opts?.expiresInMs;
      hub.attach(socket, actor, { ...opts, expiresInMs });
    },

    /**
     * Someone's access ended: closes their sockets on this node at once, and tells every other node
     * over the broker (Redis pub/sub with several nodes). Resolves once this node closed them and the
     * message is handed to the broker; a broker failure is logged (the heartbeat re-check remains).
     */
    async endAccess(m: LiveAccessEnded): Promise<void> {
      hub.endAccess(m);
      if (deps.broker.kind === 'in-process') return; // this node is the only one
      try {
        await deps.broker.publishControl(m);
      } catch (err) {
        onError(err, 'broker control');
      }
    },

    /** The seat board: every center staff member with their status (center roles only). */
    async listPresence(actor: Actor): Promise<PresenceView[]> {
      if (!isCenter(actor)) throw forbidden('ROLE_FORBIDDEN', 'only the hotline center sees seat status', '仅热线中心可查看坐席状态');
      const [staff, records] = await Promise.all([deps.staffOf(actor.cityId), deps.presence.list(actor.cityId)]);
      const byId = new Map(records.map((r) => [r.id, r]));
      const out: PresenceView[] = staff.map((u) => {
        const r = byId.get(u.id);
        byId.delete(u.id);
        return { userId: u.id, name: u.name, role: u.role, status: r?.status ?? 'offline', since: r?.since ?? null };
      });
      // A seat the staff list does not know yet (created since); anyone else is no seat.
      for (const r of byId.values()) if (SEAT_ROLES.has(r.role)) out.push({ userId: r.id, name: r.name, role: r.role, status: r.status, since: r.since });
      return out.sort((a, b) => a.name.localeCompare(b.name, 'zh-CN') || a.userId.localeCompare(b.userId));
    },

    /** Deletes events past the retention (the `live.prune` job); returns how many. */
    async prune(): Promise<number> {
      return repo.pruneBefore(new Date(clock.now().getTime() - retentionMs));
    },

    /** For health and tests: open sockets on this node and the node's watermark. */
    stats() {
      return { connections: hub.connectionCount, delivered: sequencer?.delivered ?? 0, node: nodeId, broker: deps.broker.kind };
    },

    /** Closes the sockets (1001), says goodbye to presence and releases the broker. Idempotent. */
    async close() {
      if (closed) return;
      await hub.close(); // presence goes offline while the database is still open
      await service.idle();
      closed = true;
      if (gapTimer) clearTimeout(gapTimer);
      if (pollTimer) clearInterval(pollTimer);
      if (stagedTimer) clearInterval(stagedTimer);
      if (touchTimer) clearInterval(touchTimer);
      await deps.presence.touch(nodeId, 0).catch((err) => onError(err, 'presence goodbye'));
      await deps.broker.close();
      await deps.presence.close();
    },
  };
  return service;
}

export type LiveService = ReturnType<typeof createLiveService>;
