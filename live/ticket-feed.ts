/**
 * Tickets on the live feed: intake's events become `ticket.created`, `ticket.updated` and
 * `ticket.transitioned` for the consoles that may see the ticket, with a small summary so a list
 * can update its row without a refetch.
 */
import { maskPhone, Role, systemActor, type Actor, type EventBus } from '../core';
import { toTicketView, type IntakeEvents, type TicketRow } from '../intake';
import type { Audience } from './domain/audience';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import type { LiveEventInput } from './live.service';

/** Everyone who may see the ticket, as intake's `canSee` draws it: the center, the handling unit, the territory, the grid member who registered it. */
export function ticketAudience(t: TicketRow): Audience {
  const a: Audience = { center: true };
  if (t.handling_unit_id) a.unitIds = [t.handling_unit_id];
  if (t.territory_path) a.territoryPaths = [t.territory_path];
  if (t.created_by) a.userIds = [t.created_by];
  return a;
}

/**
 * The two summaries of a ticket, from intake's own view (its masking rules). The center's carries
 * the caller's number, masked on a confidential ticket (保密件): the feed reaches every center
 * screen, the full number stays one audited click away. The outside one carries no number at all.
 */
export function ticketSummaries(t: TicketRow) {
  const center = toTicketView(t, systemActor(t.city_id));
  const outsider: Actor = { ...systemActor(t.city_id), kind: 'user', role: Role.unitHandler, unitId: t.handling_unit_id };
  const outside = toTicketView(t, outsider);
  const pick = (v: typeof center) => ({
    id: v.id, number: v.number, status: v.status, statusZh: v.statusZh, title: v.title, type: v.type, urgency: v.urgency,
    handlingUnitId: v.handlingUnitId, territoryId: v.territoryId, confidential: v.confidential, version: v.version, updatedAt: v.updatedAt,
  });
  return {
    center: { ...pick(center), callerPhone: center.confidential ? maskPhone(center.callerPhone) : center.callerPhone },
    outside: pick(outside),
  };
}

const by = (a: Actor) => ({ name: a.name, role: a.role });

type TicketEventType = 'ticket.created' | 'ticket.updated' | 'ticket.transitioned';

/** The live event of one of intake's three ticket events. */
export function ticketLiveEvent<K extends TicketEventType>(type: K, e: IntakeEvents[K]): LiveEventInput {
  const { ticket: t, actor } = e as IntakeEvents[TicketEventType];
  const { center, outside } = ticketSummaries(t);
  let extra: Record<string, unknown> = { by: by(actor) };
  if (type === 'ticket.updated') extra = { ...extra, changed: (e as IntakeEvents['ticket.updated']).changed };
  if (type === 'ticket.transitioned') {
    const x = e as IntakeEvents['ticket.transitioned'];
    extra = { ...extra, action: x.action, from: x.from, to: x.to, reason: x.reason };
  }
  return {
    type,
    cityId: t.city_id,
    audience: ticketAudience(t),
    data: { ticket: center, ...extra },
    unitData: { ticket: outside, ...extra },
  };
}

/** What a part's events need of the live feed to stage an event in a transaction and release it after the commit. */
export interface StagingFeed {
  stageWithin(trx: Kysely<DB>, input: LiveEventInput): Promise<string>;
  releaseStaged(ids: string[]): Promise<unknown>;
}

/**
 * Puts one kind of a part's events on the feed durably: the live event is staged inside the
 * transaction of the change (`emitWithin`) and released after its commit (`emit`, same payload
 * object). A change that rolls back leaves no event; a node that dies after the commit leaves the
 * staged event to the sweep; a replayed command emits nothing. Returns the unsubscribe.
 */
export function stageOnFeed<E extends Record<string, unknown>, K extends keyof E & string>(
  events: EventBus<E, Kysely<DB>>, live: StagingFeed, type: K, toLive: (e: E[K]) => LiveEventInput,
): () => void {
  const staged = new WeakMap<object, string>();
  const offs = [
    events.onWithin(type, async (trx, e) => void staged.set(e as object, await live.stageWithin(trx, toLive(e)))),
    events.on(type, (e) => {
      const id = staged.get(e as object);
      if (id) return live.releaseStaged([id]).then(() => {});
    }),
  ];
  return () => offs.forEach((off) => off());
}

/** Subscribes the live feed to intake's events; returns the unsubscribe. */
export function publishTicketEvents(events: EventBus<IntakeEvents, Kysely<DB>>, live: StagingFeed): () => void {
  const offs = (['ticket.created', 'ticket.updated', 'ticket.transitioned'] as const).map((type) => stageOnFeed(events, live, type, (e) => ticketLiveEvent(type, e)));
  return () => offs.forEach((off) => off());
}
