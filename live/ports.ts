/**
 * The live feed's side effects, each behind a port with two adapters chosen in `app/`: in-process
 * (one node, the default) and Redis (several nodes behind a load balancer).
 */
import type { Role } from '../core';
import type { Audience } from './domain/audience';

/** A published event, as stored and as passed between nodes. */
export interface LiveEvent {
  /** Assigned by the database: strictly increasing across the whole installation. */
  seq: number;
  /** Dotted `part.pastTense`, e.g. `ticket.created`, `workorder.dispatched`, `call.offered`. */
  type: string;
  cityId: string;
  /** ISO 8601, China time. */
  at: string;
  audience: Audience;
  /** What hotline-center receivers get; may hold a citizen's phone number. */
  data: unknown;
  /**
   * What every receiver outside the center gets (units, grid and town roles, personal events to
   * them). Must hold no citizen phone number. Absent: the event reaches center receivers only.
   */
  unitData?: unknown;
}

/**
 * A control message between the nodes' hubs: someone's access ended, so every node closes the
 * sockets opened with it at once (a logout, a disabled user, a changed role or unit, a revoked key).
 * `code`: `auth` closes with 4401 (log in again), `scope` with 4409 (reconnect: the new scope applies).
 */
export type LiveAccessEnded =
  | { kind: 'session'; sessionId: string; code: 'auth' }
  | { kind: 'user'; userId: string; code: 'auth' | 'scope' }
  | { kind: 'api_key'; apiKeyId: string; code: 'auth' };

/**
 * Carries stored events to every node's hub. The publishing node stores the event first (the
 * database gives the number), then hands it to the broker; each node, the publisher included,
 * receives it once through `onEvent`. A broker may lose an event (Redis reconnecting): nodes
 * notice the gap and read it from the database, so the broker is a trigger, not the record.
 */
export interface LiveBroker {
  readonly kind: 'in-process' | 'redis';
  publish(event: LiveEvent): Promise<void>;
  /** Carries a control message to every node's `onControl` (not stored: a node that misses it still re-checks on its heartbeat). */
  publishControl(message: LiveAccessEnded): Promise<void>;
  /** Starts delivering to `onEvent` and `onControl`; one subscriber per node. */
  subscribe(onEvent: (event: LiveEvent) => void, onControl?: (message: LiveAccessEnded) => void): Promise<void>;
  /**
   * Carries an ephemeral message for one user to every node (see {@link LiveDirect}): not stored,
   * not numbered, lost when Redis is reconnecting. Absent on a broker: only this node's consoles get it.
   */
  publishDirect?(message: LiveDirect): Promise<void>;
  /** Starts delivering direct messages to `onDirect` (one subscriber per node). */
  subscribeDirect?(onDirect: (message: LiveDirect) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * An ephemeral message to the consoles of one user (直达消息), e.g. a call's audio for the agent's
 * in-browser recognizer. Unlike an event it is never stored (live_events is durable; audio must not
 * go there), carries no sequence number, is not caught up after a reconnect, and is dropped when
 * the user has no console open or a console's socket is behind (its bufferedAmount over the limit).
 * `frame` goes out as is: a string as a text frame, bytes as a binary frame.
 */
export interface LiveDirect {
  /** The node that sent it (it delivers to its own consoles itself, and skips its own message from the broker). */
  origin: string;
  cityId: string;
  userId: string;
  frame: string | Uint8Array;
}

/** Seat status (坐席状态). `online`: connected, no status chosen yet; `offline`: no console open. */
export const PresenceStatus = {
  offline: 'offline',
  online: 'online',
  available: 'available', // 就绪/空闲
  busy: 'busy', // 示忙: chosen
  onCall: 'on_call', // 通话中: the seat's console says so when its call is answered
  afterCall: 'after_call', // 话后处理
  break: 'break', // 小休
} as const;
export type PresenceStatus = (typeof PresenceStatus)[keyof typeof PresenceStatus];

/** The statuses a console may choose; the others follow from connecting and disconnecting. */
export const CHOSEN_STATUSES = [PresenceStatus.available, PresenceStatus.busy, PresenceStatus.onCall, PresenceStatus.afterCall, PresenceStatus.break] as const;
export type ChosenStatus = (typeof CHOSEN_STATUSES)[number];

export interface PresenceUser {
  id: string;
  name: string;
  role: Role;
}

export interface PresenceRecord extends PresenceUser {
  status: PresenceStatus;
  /** When the status last changed (ISO 8601, China time). */
  since: string;
}

/** A status change the hub announces (`presence.changed`). */
export interface PresenceChange {
  before: PresenceStatus;
  after: PresenceRecord;
}

/**
 * Seat presence per user, shared by the nodes. A user may have consoles open on several nodes:
 * the user is offline only when none is left. Each node says which of its users are connected;
 * a node that dies without saying goodbye stops counting once its liveness expires.
 */
export interface PresenceStore {
  /** A node opened its first console of the user: offline becomes online, any other status stays. */
  connected(cityId: string, user: PresenceUser, nodeId: string, at: string): Promise<PresenceChange | null>;
  /** A node closed its last console of the user: offline when no other node holds one. */
  disconnected(cityId: string, userId: string, nodeId: string, at: string): Promise<PresenceChange | null>;
  /** The user chose a status; null when it is the status already held. */
  setStatus(cityId: string, user: PresenceUser, nodeId: string, status: ChosenStatus, at: string): Promise<PresenceChange | null>;
  /** Every known user of the city with their status (dead nodes' users count as offline). */
  list(cityId: string): Promise<PresenceRecord[]>;
  /** Keeps this node counted as alive for `ttlMs` (called on every heartbeat); 0 says goodbye. */
  touch(nodeId: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}
