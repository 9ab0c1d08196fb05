/**
 * The SMS part's ports over the directory, intake and work-order parts' public interfaces, and the
 * citizen texts that ticket events queue (受理回执 on registration, 办理结果 when the center accepts a
 * unit's reply), each inside the transaction of the change that causes it.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { isAppError, fromDbTime, systemActor, type EventBus } from '../core';
import type { DirectoryService } from '../directory';
import type { IntakeEvents, IntakeService, NewTicket } from '../intake';
import { getCategory } from '../routing';
import type { WorkOrderService } from '../workorders';
import type { SmsCommandPort, SmsLookups, SmsService } from '../sms';

const MOBILE = /^1[3-9]\d{9}$/;

/** 【演示市12345】 from 演示市 (Demo City): the city's short name and the hotline's number. */
export function defaultSignature(cityName: string): string {
  const short = cityName.replace(/\s*[（(].*$/, '').trim().slice(0, 10) || '政务服务';
  return `【${short}12345】`;
}

export function createSmsPorts(d: { db: Kysely<DB>; directory: DirectoryService; intake: IntakeService; workOrders: WorkOrderService }): { lookups: SmsLookups; commands: SmsCommandPort } {
  const lookups: SmsLookups = {
    async citySms(cityId) {
      const city = await d.directory.getCity(cityId);
      return { signature: city.settings.sms?.signature ?? defaultSignature(city.name), templates: city.settings.sms?.templates ?? {} };
    },
    async defaultCityId() {
      return (await d.directory.listCities())[0]?.id ?? null;
    },
    async unit(id) {
      const u = await d.directory.getUnit(id);
      return u ? { id: u.id, cityId: u.cityId, name: u.name, smsPhone: u.smsPhone, dutyPhone: u.dutyPhone } : null;
    },
    async unitsByPhone(phone) {
      return (await d.directory.unitsWithPhone(phone)).map((u) => ({ unitId: u.id, cityId: u.cityId, unitName: u.name, user: null }));
    },
    async ticket(cityId, id) {
      try {
        const t = await d.intake.getTicketRow(systemActor(cityId, 'sms'), id);
        const category = t.category_id ? (await getCategory(d.db, t.category_id))?.name ?? null : null;
        return { id: t.id, cityId: t.city_id, number: t.number, title: t.title, place: t.address_text, category, confidential: t.confidential === 1 };
      } catch (err) {
        if (isAppError(err) && err.status === 404) return null;
        throw err;
      }
    },
    async canSeeTicket(actor, id) {
      try {
        await d.intake.getTicketRow(actor, id);
        return true;
      } catch (err) {
        if (isAppError(err) && (err.status === 404 || err.status === 403)) return false;
        throw err;
      }
    },
  };
  const commands: SmsCommandPort = {
    async workOrder(actor, id) {
      const w = await d.workOrders.get(actor, id);
      return { id: w.id, version: w.version, status: w.status, ticketId: w.ticketId, ticketNumber: w.ticketNumber, unitId: w.unitId };
    },
    acknowledge: (ctx, id, version) => d.workOrders.acknowledge(ctx, id, version),
    recordOnSite: (ctx, id, version) => d.workOrders.recordOnSite(ctx, id, version, '短信登记到场'),
    reply: (ctx, id, version, result) => d.workOrders.reply(ctx, id, version, result),
    returnToCenter: (ctx, id, version, reason) => d.workOrders.returnToCenter(ctx, id, version, reason),
    rateTicket: (ctx, ticketId, satisfaction) => d.workOrders.rateTicket(ctx, ticketId, { satisfaction }),
    async createTicket(ctx, input) {
      const t = await d.intake.createTicket(ctx, input as unknown as NewTicket);
      return { id: t.id, number: t.number };
    },
  };
  return { lookups, commands };
}

/**
 * 受理回执 to a citizen who gave a mobile number (a grid member's report is not a citizen's), and the
 * 办理结果 once the center accepted the unit's reply: queued inside the ticket's own transaction.
 */
export function queueCitizenTextsOnTicketEvents(events: EventBus<IntakeEvents, Kysely<DB>>, sms: SmsService) {
  events.onWithin('ticket.created', async (trx, e) => {
    const t = e.ticket;
    if (!t.caller_phone || !MOBILE.test(t.caller_phone) || t.channel === 'grid') return;
    await sms.queueWithin(trx, {
      cityId: t.city_id, kind: 'ticket.receipt', recipientKind: 'citizen', phone: t.caller_phone, sourceKey: `ticket:${t.id}:receipt`,
      ticketId: t.id, context: { ticketNumber: t.number, title: t.title }, confidential: t.confidential === 1,
    }, fromDbTime(t.created_at));
  });
  events.onWithin('ticket.transitioned', async (trx, e) => {
    const t = e.ticket;
    if (e.to !== 'reviewed' || !t.caller_phone || !MOBILE.test(t.caller_phone) || t.channel === 'grid' || !t.result) return;
    await sms.queueWithin(trx, {
      cityId: t.city_id, kind: 'ticket.result', recipientKind: 'citizen', phone: t.caller_phone, sourceKey: `ticket:${t.id}:result:${t.round}`,
      ticketId: t.id, context: { ticketNumber: t.number, result: t.result }, confidential: t.confidential === 1,
    }, fromDbTime(t.updated_at));
  });
  events.on('ticket.created', () => sms.kickSoon());
  events.on('ticket.transitioned', (e) => { if (e.to === 'reviewed') sms.kickSoon(); });
}
