/**
 * The live console feed (实时推送): one authenticated WebSocket per console at `GET /api/v1/live`,
 * pushing ticket, work-order, call and seat-status events to exactly the people allowed to see them,
 * in order, with lossless resume after a reconnect, on one node or several (Redis).
 *
 * A change's event is staged inside the change's own transaction and pushed after its commit, so
 * that it exists exactly when the change does (a node killed in between loses nothing: any node's
 * sweep pushes it). A part does that through its event bus: `events.emitWithin(trx, …)` inside the
 * transaction, `events.emit(…)` with the same payload after it, and app/ subscribes the feed with
 * {@link stageOnFeed}. For an event with no transaction of its own (presence, a notice the outbox
 * delivers) `publish` stores and pushes at once; a `key` makes a repeat of it the same event:
 * ```ts
 * await live.publish({
 *   type: 'workorder.dispatched',
 *   cityId: wo.cityId,
 *   audience: { center: true, unitIds: [wo.unitId] },
 *   data: { workOrder: summary, callerPhone },   // hotline center: may hold the citizen's number
 *   unitData: { workOrder: summary },            // everyone else: never a citizen's number
 * });
 * ```
 * Leave `unitData` out and only center roles receive the event, whatever the audience says.
 */

export {
  /**
   * Builds the live service over the database and a broker + presence pair (from
   * {@link createLocalLiveAdapters} or {@link createRedisLiveAdapters}; `app/` chooses). Then
   * `start()` once at boot. Methods: `publish`, `attach` (a socket the route authenticated),
   * `listPresence`, `prune`, `stats`, `close`.
   */
  createLiveService,
  type LiveService,
  type LiveDeps,
  /** The event a part publishes: type, city, audience, center payload, optional outside payload. */
  type LiveEventInput,
  type PresenceView,
  type LiveLogger,
} from './live.service';

export {
  /** Who may receive an event: center, units, territories, named users, optionally narrowed by roles. */
  type Audience,
  /** The part of an actor that decides what it receives. */
  type Viewer,
  /** Whether a viewer receives an event of a city with an audience (the one rule, also used on catch-up). */
  mayReceive,
  /** `center` for center roles (they get `data`), `outside` for everyone else (they get `unitData`). */
  payloadKindOf,
} from './domain/audience';

export {
  /** A stored event as it travels between nodes: `seq` comes from the database. */
  type LiveEvent,
  /** Port: carries stored events to every node's hub. */
  type LiveBroker,
  /** A control message between hubs: whose sockets to close now (logout, disabled user, changed scope, revoked key). */
  type LiveAccessEnded,
  /** An ephemeral message to one user's consoles (call audio): not stored, dropped when they are not connected. */
  type LiveDirect,
  /** Port: seat status shared by the nodes. */
  type PresenceStore,
  type PresenceRecord,
  type PresenceUser,
  type PresenceChange,
  /** offline | online | available | busy | after_call | break. */
  PresenceStatus,
  /** The statuses a console may choose with a `presence` message. */
  CHOSEN_STATUSES,
  type ChosenStatus,
} from './ports';

export {
  /** Close codes and the client message schema of the WebSocket protocol (documented in live.protocol.ts). */
  LiveCloseCode,
  ClientMessage,
  type HelloMessage,
  type EventMessage,
  type ErrorMessage,
} from './live.protocol';

/** The fastify plugin: `GET /live` (WebSocket) and `GET /live/presence`; options `{ live, reauthenticate }`. */
export { liveRoutes, type LiveRoutesOptions } from './live.routes';

/** Intake's ticket events on the feed: `publishTicketEvents(intakeEvents, live)` wires them; the builders are exported for tests. */
export { publishTicketEvents, ticketLiveEvent, ticketAudience, ticketSummaries, stageOnFeed, type StagingFeed } from './ticket-feed';

/** The work-order part's events on the feed: `publishWorkOrderEvents(workOrderEvents, live)` wires them. */
export { publishWorkOrderEvents, workOrderLiveEvent, notificationLiveEvent, createLiveNotificationSink } from './workorder-feed';

/** In-process broker and presence (one node, the default). */
export { createLocalLiveAdapters, createLocalLiveBroker, createLocalPresenceStore } from './adapters/local';
/** Redis pub/sub broker and presence hash (several nodes); throws at boot when Redis does not answer. */
export { createRedisLiveAdapters, type RedisLiveOptions, encodeDirect, decodeDirect } from './adapters/redis';
/** What became of a direct message on this node (sockets sent to, dropped as too far behind, most unsent bytes). */
export type { DirectResult } from './live.hub';
