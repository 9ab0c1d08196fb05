/**
 * Wiring of the citizen pages (群众端): the citizen part's ports over intake (tickets and duplicates),
 * routing (buildings and their territories), work orders (the rating, attachment storage) and SMS
 * (the one-time codes), and its HTTP routes: public pages at the root, staff routes in /api/v1.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import { isAppError, type Clock } from '../core';
import { createCitizenService, citizenPublicRoutes, citizenStaffRoutes, type CitizenPorts, type CitizenTicket } from '../citizen';
import type { IntakeService, TicketView } from '../intake';
import { listBuildings, type TerritoryResolverService } from '../routing';
import type { DirectoryService } from '../directory';
import type { AttachmentStorage, WorkOrderService } from '../workorders';
import type { SmsService } from '../sms';
import { createChromiumPrinter, findChromiumBinary } from '../reports';
import { defaultSignature } from './sms-ports';
import type { AppConfig } from './config';
import type { AppContext } from './context';

const toCitizenTicket = (t: TicketView): CitizenTicket => ({
  id: t.id, number: t.number, status: t.status, type: t.type, callerPhone: t.callerPhone, addressText: t.addressText, situation: t.situation,
  answer: t.answer, result: t.result, satisfaction: t.satisfaction, createdAt: t.createdAt, closedAt: t.closedAt,
});

export function createCitizen(d: {
  config: AppConfig; db: Kysely<DB>; dialect: DialectName; clock: Clock; intake: IntakeService; territoryResolver: TerritoryResolverService;
  directory: DirectoryService; workOrders: WorkOrderService; sms: SmsService; storage: AttachmentStorage;
}) {
  const placeOf = async (cityId: string, territoryId: string) => {
    const resolver = await d.territoryResolver.resolverFor(cityId);
    const t = resolver.territory(territoryId);
    if (!t) return null;
    const ids = t.path.split('/').filter(Boolean);
    const community = ids.map((id) => resolver.territory(id)).find((x) => x?.level === 'community') ?? null;
    return { t, community };
  };
  const ports: CitizenPorts = {
    tickets: {
      create: async (ctx, input) => toCitizenTicket(await d.intake.createTicket(ctx, input)),
      get: async (actor, id) => toCitizenTicket(await d.intake.getTicket(actor, id)),
      async byNumber(actor, number) {
        try {
          return toCitizenTicket(await d.intake.getTicketByNumber(actor, number));
        } catch (err) {
          if (isAppError(err) && err.code === 'TICKET_NOT_FOUND') return null;
          throw err;
        }
      },
      async findDuplicates(actor, q) {
        const r = await d.intake.findDuplicates(actor, q);
        return r.sameProblem.map((c) => ({ ticketId: c.ticket.id, number: c.ticket.number, score: c.score }));
      },
      async linkDuplicate(ctx, id, otherId) {
        await d.intake.linkTickets(ctx, id, otherId, 'duplicate');
      },
      async requireReadable(actor, id) {
        await d.intake.getTicketRow(actor, id);
      },
    },
    places: {
      async building(cityId, code) {
        const r = await d.territoryResolver.resolveBuilding(cityId, code);
        if (r.status !== 'resolved' || !r.territory) return null;
        return { territoryId: r.territory.id, territoryName: r.territory.fullName, label: `${r.territory.fullName} ${code}` };
      },
      async buildings(cityId) {
        const out = [];
        for (const b of await listBuildings(d.db, cityId)) {
          const p = await placeOf(cityId, b.territoryId);
          if (!p) continue;
          out.push({ code: b.code, territoryId: b.territoryId, territoryPath: p.t.path, label: `${p.t.fullName} ${b.code}`, communityId: p.community?.id ?? null, communityName: p.community?.fullName ?? null });
        }
        return out;
      },
      async territory(id) {
        const t = await d.directory.getTerritory(id);
        return t ? { id: t.id, cityId: t.cityId, path: t.path, name: t.name, level: t.level } : null;
      },
    },
    rate: (ctx, ticketId, r) => d.workOrders.rateTicket(ctx, ticketId, r),
    sms: {
      async signature(cityId) {
        const city = await d.directory.getCity(cityId);
        return city.settings.sms?.signature ?? defaultSignature(city.name);
      },
      async queueCodeWithin(trx, m, now) {
        await d.sms.queueWithin(trx, { cityId: m.cityId, kind: 'citizen.verification_code', recipientKind: 'citizen', phone: m.phone, sourceKey: m.sourceKey, text: m.text, ticketId: m.ticketId }, now);
      },
      kick: () => setImmediate(() => void d.sms.deliverDue().catch(() => undefined)),
    },
    storage: d.storage,
  };
  return createCitizenService({ db: d.db, dialect: d.dialect, clock: d.clock, ports, secret: d.config.citizen.linkSecret });
}

/** The public pages and API (outside the login scope). */
export async function registerCitizenPages(app: FastifyInstance, ctx: AppContext) {
  await app.register(citizenPublicRoutes, {
    citizen: ctx.citizen,
    defaultCityId: async () => (await ctx.directory.listCities())[0]?.id ?? null,
    cookieSecure: ctx.config.cookieSecure,
  });
}

/** The staff routes, registered inside /api/v1 (login required). */
export async function registerCitizenStaffRoutes(api: FastifyInstance, ctx: AppContext) {
  const chromium = findChromiumBinary(ctx.config.reports.chromiumPath);
  const printer = chromium ? createChromiumPrinter({ executablePath: chromium, concurrency: 1 }) : null;
  await api.register(citizenStaffRoutes, { citizen: ctx.citizen, baseUrl: ctx.config.citizen.baseUrl, pdf: printer ? (html) => printer.pdf(html) : null });
}
