/**
 * Open311 GeoReport v2 wired over identity (API keys), the directory (cities, units), routing (the
 * category tree) and intake (tickets): requests become tickets in intake's own transaction, where
 * the Open311 row is written beside them.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { isAppError, type Actor, type Clock, type EventBus } from '../core';
import type { DirectoryService } from '../directory';
import type { IdentityService } from '../identity';
import { TicketStatus, type IntakeEvents, type IntakeService, type TicketView } from '../intake';
import { listCategories } from '../routing';
import { createOpen311Service, open311Routes, type Open311Ports, type Open311Ticket } from '../open311';

export interface Open311Wiring {
  db: Kysely<DB>;
  clock: Clock;
  directory: DirectoryService;
  identity: IdentityService;
  intake: IntakeService;
  intakeEvents: EventBus<IntakeEvents, Kysely<DB>>;
}

/** When the Open311 interface last changed (discovery's changeset). */
const OPEN311_CHANGESET = '2026-12-03T00:00:00+08:00';

const toOpen311Ticket = (t: TicketView): Open311Ticket => ({
  id: t.id, number: t.number, status: t.status, statusZh: t.statusZh, categoryId: t.categoryId, confidential: t.confidential,
  situation: t.situation, addressText: t.addressText, lat: t.lat, lng: t.lng, handlingUnitId: t.handlingUnitId, createdAt: t.createdAt, updatedAt: t.updatedAt,
});

/** A ticket out of the actor's scope reads as missing. */
const orNull = async <T>(p: Promise<T>): Promise<T | null> => {
  try {
    return await p;
  } catch (err) {
    if (isAppError(err) && (err.status === 404 || err.status === 403)) return null;
    throw err;
  }
};

export function createOpen311(d: Open311Wiring) {
  const ports: Open311Ports = {
    cities: async () => (await d.directory.listCities()).map((c) => ({ id: c.id, name: c.name })),
    categories: (cityId) => listCategories(d.db, cityId),
    unitName: async (id) => (await d.directory.getUnit(id))?.name ?? null,
    async apiKey(key) {
      const c = await d.identity.apiKeyCredential(key);
      return 'refused' in c ? c : { actor: c.actor, apiKeyId: c.apiKeyId, scopes: c.scopes };
    },
    tickets: {
      create: async (ctx, input) => toOpen311Ticket(await d.intake.createTicket(ctx, { channel: 'open311', ...input })),
      byNumber: async (actor: Actor, number: string) => {
        const t = await orNull(d.intake.getTicketByNumber(actor, number));
        return t && toOpen311Ticket(t);
      },
      byId: async (actor: Actor, id: string) => {
        const t = await orNull(d.intake.getTicket(actor, id));
        return t && toOpen311Ticket(t);
      },
      list: async (actor, filter, limit) =>
        (await d.intake.listTickets(actor, { ...filter, confidential: false }, 1, limit)).items.map(toOpen311Ticket),
      statuses: Object.values(TicketStatus),
    },
  };
  const service = createOpen311Service({ db: d.db, clock: d.clock, ports });
  // The request's own row goes in the ticket's transaction (nothing for tickets of other channels).
  d.intakeEvents.onWithin('ticket.created', (trx, e) => service.ticketCreatedWithin(trx, e.ticket));
  return service;
}

export type Open311Part = ReturnType<typeof createOpen311>;

/** Mounts `/open311/v2` (outside /api: its own key check and the spec's error format). */
export async function registerOpen311(app: FastifyInstance, open311: Open311Part) {
  await app.register(open311Routes, { prefix: '/open311/v2', open311, changeset: OPEN311_CHANGESET, contact: '12345 政务服务便民热线 (12345 citizen service hotline)' });
}
