/**
 * Hotspot warnings (热点预警) composed over intake, routing, the directory, identity and the live feed:
 * counts follow intake's ticket events inside their transactions, detection runs shortly after the
 * commit for the groups it touched (debounced per group, HOTSPOT_DEBOUNCE_MS) and by the
 * `hotspots.sweep` job.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB, DialectName } from '../db';
import { isAppError, Role, systemActor, TtlCache, TicketType, type Clock, type EventBus } from '../core';
import { getCategory } from '../routing';
import type { DirectoryService } from '../directory';
import type { IdentityService } from '../identity';
import type { IntakeEvents, IntakeService } from '../intake';
import type { LiveService } from '../live';
import type { WorkOrderService } from '../workorders';
import { createHotspotService, PROACTIVE_CHANNEL, type HotspotPorts } from '../reports';

/** Leaders told of a warning over their territory (信息互通); grid leaders also of one inside it. */
const TERRITORY_LEADERS: ReadonlySet<string> = new Set([Role.townLeader, Role.communitySecretary, Role.gridLeader]);
const CACHE_MS = 60_000;
/** How often the sweep evaluates today's busy groups (registration evaluates its own groups at once). */
export const HOTSPOT_SWEEP_MS = 5 * 60_000;
/**
 * How long registrations' groups wait to be evaluated together (each group once): evaluating after
 * every commit made registration 4.7–5.2× slower in the worst case.
 */
export const HOTSPOT_DEBOUNCE_MS = 1000;

export interface HotspotWiring {
  db: Kysely<DB>; dialect: DialectName; clock: Clock; logger?: Logger;
  directory: DirectoryService; identity: IdentityService; intake: IntakeService; live: LiveService;
  /** The bell: warnings become notices in the work-order outbox (optional). */
  workOrders?: Pick<WorkOrderService, 'notifyWithin'>;
}

/** The hotspot part's ports over the other parts (also what a test builds a second node's service from). */
export function createHotspotPorts(d: HotspotWiring): HotspotPorts & { forget(): void } {
  // A category's place in the tree changes only on a city import (forgetCity drops the cache).
  const categoryPaths = new TtlCache<string>(CACHE_MS, 100_000);
  return {
    forget: () => categoryPaths.clear(),
    async categoryPathWithin(trx, categoryId) {
      const hit = categoryPaths.get(categoryId);
      if (hit) return hit;
      const c = await getCategory(trx, categoryId);
      if (c) categoryPaths.set(categoryId, c.path);
      return c?.path ?? null;
    },
    async rawSettings(cityId) {
      return (await d.directory.getCity(cityId)).settings.hotspots;
    },
    async cityIds() {
      return (await d.directory.listCities()).map((c) => c.id);
    },
    async categoryName(_cityId, categoryId) {
      return (await getCategory(d.db, categoryId))?.name ?? null;
    },
    async territoryName(territoryId) {
      return (await d.directory.getTerritory(territoryId))?.name ?? null;
    },
    async recipientsOf(cityId, territoryPath) {
      const out: string[] = [];
      for (const u of await d.identity.listUsers(cityId)) {
        if (u.role === Role.supervisor) out.push(u.id);
        else if (TERRITORY_LEADERS.has(u.role) && u.territoryId) {
          const p = await d.directory.territoryPathOf(u.territoryId);
          if (!p) continue;
          if (territoryPath.startsWith(p) || (u.role === Role.gridLeader && p.startsWith(territoryPath))) out.push(u.id);
        }
      }
      return out;
    },
    notices: d.workOrders ? { notifyWithin: (trx, n) => d.workOrders!.notifyWithin(trx, n) } : undefined,
    feed: {
      stageWithin: (trx, e) => d.live.stageWithin(trx, e),
      releaseStaged: (ids) => d.live.releaseStaged(ids),
      publish: (e) => d.live.publish(e),
    },
    tickets: {
      async view(actor, id) {
        try {
          const t = await d.intake.getTicket(actor, id);
          return { id: t.id, number: t.number, status: t.status, statusZh: t.statusZh, title: t.title, callerPhone: t.callerPhone, confidential: t.confidential, addressText: t.addressText, createdAt: t.createdAt };
        } catch (err) {
          if (isAppError(err) && (err.status === 404 || err.status === 403)) return null;
          throw err;
        }
      },
      async createProactive(cityId, idempotencyKey, input) {
        const t = await d.intake.createTicket({ actor: systemActor(cityId, '热点预警'), idempotencyKey }, { channel: PROACTIVE_CHANNEL as 'proactive', type: TicketType.help, ...input });
        return { id: t.id, number: t.number };
      },
      async link(cityId, proactiveTicketId, ticketId) {
        await d.intake.linkTickets({ actor: systemActor(cityId, '热点预警') }, proactiveTicketId, ticketId, 'related');
      },
    },
  };
}

/** Builds the service and subscribes it to intake's ticket events. */
export function createHotspots(d: HotspotWiring & { intakeEvents: EventBus<IntakeEvents, Kysely<DB>> }) {
  const ports = createHotspotPorts(d);
  const hotspots = createHotspotService({ db: d.db, dialect: d.dialect, clock: d.clock, ports, logger: d.logger, debounceMs: HOTSPOT_DEBOUNCE_MS });

  // The groups a change touched, from inside its transaction to the evaluation after its commit.
  const touched = new WeakMap<object, { cityId: string; groups: Awaited<ReturnType<typeof hotspots.countCreatedWithin>> }>();
  const evaluateAfter = (e: object) => {
    const t = touched.get(e);
    if (t?.groups.length) return hotspots.evaluateSoon(t.cityId, t.groups)?.then(() => {});
  };
  d.intakeEvents.onWithin('ticket.created', async (trx, e) => {
    touched.set(e, { cityId: e.ticket.city_id, groups: await hotspots.countCreatedWithin(trx, e.ticket) });
  });
  d.intakeEvents.onWithin('ticket.updated', async (trx, e) => {
    if (e.changed.includes('categoryId') || e.changed.includes('territoryId')) touched.set(e, { cityId: e.ticket.city_id, groups: await hotspots.correctWithin(trx, e.ticket) });
  });
  d.intakeEvents.onWithin('ticket.transitioned', async (trx, e) => {
    if (e.to === 'merged' && e.ticket.merged_into_id) touched.set(e, { cityId: e.ticket.city_id, groups: await hotspots.mergeWithin(trx, e.ticket, e.ticket.merged_into_id) });
    else if (e.to === 'cancelled') await hotspots.removeWithin(trx, e.ticket.id);
  });
  for (const type of ['ticket.created', 'ticket.updated', 'ticket.transitioned'] as const) d.intakeEvents.on(type, evaluateAfter);

  return {
    hotspots,
    forget: () => {
      ports.forget();
      hotspots.forget();
    },
    stop: () => hotspots.stop(),
  };
}
