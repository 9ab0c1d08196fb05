/**
 * Texts into the hotline (上行短信): a unit's command from its registered phone, a citizen's survey
 * answer or 退订, or a citizen's request that waits for an agent (短信待登记). Each text is stored
 * once per provider id before anything is done with it, and handling it again (a redelivery, a crash)
 * does nothing twice: commands carry the text's id as their idempotency key, replies are keyed by it.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db';
import { recordAudit } from '../audit';
import {
  badRequest, conflict, notFound, isAppError, newId, toDbTime, dbTimeToIso, maskPhone, normalizePhone, Role, UNIT_ROLES,
  type Actor, type Clock, type CommandContext,
} from '../core';
import type { InboundSms, SmsCommandPort, SmsLiveEvent, SmsLookups } from './ports';
import { renderText, type TemplateContext } from './domain/templates';
import { readInboundText, SATISFACTION_ZH } from './domain/inbound-text';
import type { SmsRepository, SmsInboundRow } from './sms.repository';
import type { QueueInput } from './sms.service';

export interface SmsInboundView {
  id: string;
  gateway: string;
  from: string;
  to: string;
  text: string;
  outcome: string;
  outcomeZh: string;
  status: string;
  ticketId: string | null;
  workOrderId: string | null;
  unitId: string | null;
  detail: string | null;
  receivedAt: string;
  handledAt: string | null;
}

const OUTCOME_ZH: Record<string, string> = {
  received: '处理中', draft: '待登记', survey: '满意度评价', survey_unmatched: '无待评价工单', opt_out: '退订', command: '工单指令',
  command_failed: '指令未执行', command_unknown_code: '处理码无效', command_malformed: '指令格式错误', command_unregistered: '非登记号码', invalid_sender: '号码无效',
};

/** What inbound handling shares with the rest of the SMS service. */
export interface InboundContext {
  clock: Clock;
  lookups: SmsLookups;
  commands: SmsCommandPort;
  repo(q?: Kysely<DB>): SmsRepository;
  transaction<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
  queueWithin(trx: Kysely<DB>, m: QueueInput, now: Date): Promise<boolean>;
  publish(e: SmsLiveEvent): void;
  kick?: () => void;
  smsActor(cityId: string): Actor;
  requireCenterRole(actor: Actor, zh: string, roles?: readonly string[]): void;
  logger?: { error(o: object, m?: string): void };
}

const ms = (d: Date) => toDbTime(d);

export function createInbound(c: InboundContext) {
  const { clock, repo, transaction, queueWithin, smsActor, requireCenterRole } = c;
  const deps = { lookups: c.lookups, commands: c.commands, kick: c.kick };
  const publish = c.publish;
  const log = c.logger;

  async function reply(cityId: string, inbound: SmsInboundRow, kind: string, context: TemplateContext) {
    const city = await deps.lookups.citySms(cityId);
    const text = renderText(kind, context, city);
    if (!text) return;
    await transaction((trx) => queueWithin(trx, { cityId, kind, recipientKind: inbound.unit_id ? 'unit' : 'citizen', unitId: inbound.unit_id, phone: inbound.from_phone, text, sourceKey: `inbound:${inbound.id}:reply`, ticketId: inbound.ticket_id, workOrderId: inbound.work_order_id }, clock.now()));
    deps.kick?.();
  }

  async function settleInbound(inbound: SmsInboundRow, patch: Partial<DB['sms_inbound']>) {
    const now = clock.now();
    await transaction(async (trx) => {
      await repo(trx).updateInbound(inbound.id, { ...patch, handled_at: patch.status === 'awaiting_agent' ? null : ms(now) });
      await recordAudit(trx, { actor: smsActor(inbound.city_id) }, { entityType: 'sms_inbound', entityId: inbound.id, action: `sms.inbound.${patch.outcome ?? inbound.outcome}`, after: { from: maskPhone(inbound.from_phone), ...patch, detail: undefined }, cityId: inbound.city_id }, now);
    });
    return { ...inbound, ...patch, handled_at: patch.status === 'awaiting_agent' ? null : ms(now) };
  }

  /** Works out what a text says and acts on it; safe to run again for the same text (a redelivery, a crash). */
  async function handle(inbound: SmsInboundRow): Promise<SmsInboundRow> {
    const intent = readInboundText(inbound.body);
    const units = await deps.lookups.unitsByPhone(inbound.from_phone);
    if (intent.kind === 'command' || intent.kind === 'malformed_command') {
      if (!units.length) {
        const done = await settleInbound(inbound, { outcome: 'command_unregistered', status: 'handled' });
        await reply(inbound.city_id, done, 'reply.command_unregistered', {});
        return done;
      }
      if (intent.kind === 'malformed_command') {
        const done = await settleInbound(inbound, { outcome: 'command_malformed', status: 'handled', unit_id: units[0]!.unitId });
        await reply(inbound.city_id, done, 'reply.command_malformed', {});
        return done;
      }
      const code = await repo().findCode(units.map((u) => u.unitId), intent.code);
      const unit = code ? units.find((u) => u.unitId === code.unit_id)! : units[0]!;
      if (!code) {
        const done = await settleInbound(inbound, { outcome: 'command_unknown_code', status: 'handled', unit_id: unit.unitId });
        await reply(inbound.city_id, done, 'reply.command_unknown_code', { code: intent.code });
        return done;
      }
      const actor: Actor = {
        kind: unit.user ? 'user' : 'system', id: unit.user?.id ?? null, name: `${unit.user?.name ?? unit.unitName}（短信 ${maskPhone(inbound.from_phone)}）`,
        role: unit.user && UNIT_ROLES.has(unit.user.role as Role) ? (unit.user.role as Role) : Role.unitHandler,
        cityId: unit.cityId, unitId: unit.unitId, territoryId: null, territoryPath: null,
      };
      // The inbound text's id is the command's idempotency key: handled again, it is not applied twice.
      const ctx: CommandContext = { actor, idempotencyKey: `sms-inbound:${inbound.id}`, requestId: `sms-${inbound.id}` };
      const verb = { acknowledge: '签收', on_site: '登记到场', reply: '办结反馈', return: '退回' }[intent.action];
      let wo: Awaited<ReturnType<SmsCommandPort['workOrder']>> | null = null;
      try {
        wo = await deps.commands.workOrder(actor, code.work_order_id);
        if (intent.action === 'acknowledge') await deps.commands.acknowledge(ctx, wo.id, wo.version);
        else if (intent.action === 'on_site') await deps.commands.recordOnSite(ctx, wo.id, wo.version);
        else if (intent.action === 'reply') await deps.commands.reply(ctx, wo.id, wo.version, intent.text!);
        else await deps.commands.returnToCenter(ctx, wo.id, wo.version, intent.text!);
        const done = await settleInbound(inbound, { outcome: 'command', status: 'handled', unit_id: unit.unitId, work_order_id: wo.id, ticket_id: wo.ticketId, detail: intent.action });
        await reply(inbound.city_id, done, 'reply.command_done', { ticketNumber: wo.ticketNumber, detail: verb });
        return done;
      } catch (err) {
        if (!isAppError(err)) throw err;
        const done = await settleInbound(inbound, { outcome: 'command_failed', status: 'handled', unit_id: unit.unitId, work_order_id: code.work_order_id, ticket_id: wo?.ticketId ?? null, detail: `${err.code}: ${err.messageZh}` });
        await reply(inbound.city_id, done, 'reply.command_failed', { ticketNumber: wo?.ticketNumber ?? '', detail: verb, reason: err.messageZh });
        return done;
      }
    }
    if (intent.kind === 'opt_out') {
      await transaction(async (trx) => {
        await repo(trx).optOut({ city_id: inbound.city_id, phone: inbound.from_phone, created_at: ms(clock.now()), inbound_id: inbound.id });
      });
      const done = await settleInbound(inbound, { outcome: 'opt_out', status: 'handled' });
      await reply(inbound.city_id, done, 'reply.opted_out', {});
      return done;
    }
    if (intent.kind === 'survey') {
      // The newest survey sent to this phone whose ticket still waits for a rating.
      for (const s of await repo().recentSurveysTo(inbound.from_phone)) {
        const ctx: CommandContext = { actor: smsActor(s.city_id), idempotencyKey: `sms-inbound:${inbound.id}`, requestId: `sms-${inbound.id}` };
        try {
          await deps.commands.rateTicket(ctx, s.ticket_id!, intent.satisfaction);
        } catch (err) {
          if (isAppError(err) && ['CALLBACK_NOT_OPEN', 'TICKET_NOT_FOUND'].includes(err.code)) continue;
          throw err;
        }
        const t = await deps.lookups.ticket(s.city_id, s.ticket_id!);
        const done = await settleInbound(inbound, { outcome: 'survey', status: 'handled', ticket_id: s.ticket_id, detail: intent.satisfaction });
        await reply(inbound.city_id, done, 'reply.survey_thanks', { ticketNumber: t?.number ?? '', detail: SATISFACTION_ZH[intent.satisfaction] });
        return done;
      }
      const done = await settleInbound(inbound, { outcome: 'survey_unmatched', status: 'handled' });
      await reply(inbound.city_id, done, 'reply.survey_unknown', {});
      return done;
    }
    if (units.length) {
      // A unit's phone writing free text: no ticket from it, but a pointer to the commands.
      const done = await settleInbound(inbound, { outcome: 'command_malformed', status: 'handled', unit_id: units[0]!.unitId });
      await reply(inbound.city_id, done, 'reply.command_malformed', {});
      return done;
    }
    // A citizen's request: an agent registers it (短信受理).
    const done = await settleInbound(inbound, { outcome: 'draft', status: 'awaiting_agent' });
    void publish({ type: 'sms.received', cityId: inbound.city_id, audience: { center: true, roles: [Role.agent, Role.dispatcher, Role.supervisor, Role.admin] }, data: { inbound: toInboundView(done) }, key: `sms-inbound:${inbound.id}` });
    await reply(inbound.city_id, done, 'reply.draft_received', {});
    return done;
  }

  return {
    /**
     * A text into the hotline. Stored first (once per provider id: a redelivered text is the same
     * text), then acted on; the gateway acknowledges it only after this resolves, so a crash in
     * between makes the provider deliver it again and the handling resumes.
     */
    async receive(m: InboundSms): Promise<SmsInboundView> {
      const text = (m.text ?? '').replace(/\u0000/g, '').trim();
      const from = normalizePhone(m.from ?? '');
      if (!m.providerMessageId) throw badRequest('SMS_INBOUND_MALFORMED', 'an inbound text needs the provider\'s message id', '上行短信缺少消息编号', { field: 'providerMessageId' });
      const existing = await repo().findInboundByProvider(m.gateway, m.providerMessageId);
      if (existing && existing.status !== 'processing') return toInboundView(existing);
      let row = existing;
      if (!row) {
        const units = from ? await deps.lookups.unitsByPhone(from) : [];
        const surveyCity = from ? (await repo().recentSurveysTo(from, 1))[0]?.city_id : undefined;
        const cityId = units[0]?.cityId ?? surveyCity ?? (await deps.lookups.defaultCityId());
        if (!cityId) throw conflict('SMS_NO_CITY', 'no city is loaded to take this text', '尚未导入城市，无法受理短信');
        const fresh: DB['sms_inbound'] = {
          id: newId(), city_id: cityId, gateway: m.gateway.slice(0, 32), provider_message_id: m.providerMessageId.slice(0, 128), from_phone: (from ?? m.from ?? '').slice(0, 32),
          to_number: (m.to ?? '').slice(0, 32), body: [...text].slice(0, 2000).join(''), outcome: from ? 'received' : 'invalid_sender', status: from && text ? 'processing' : 'handled',
          ticket_id: null, work_order_id: null, unit_id: null, detail: from ? (text ? null : 'empty text / 空短信') : `invalid sender / 号码无效: ${maskPhone(m.from)}`,
          handled_by: null, handled_at: null, received_at: ms(m.receivedAt ?? clock.now()),
        };
        const inserted = await transaction(async (trx) => {
          const ok = await repo(trx).insertInboundOnce(fresh);
          if (ok) await recordAudit(trx, { actor: smsActor(cityId) }, { entityType: 'sms_inbound', entityId: fresh.id, action: 'sms.inbound.received', after: { gateway: fresh.gateway, from: maskPhone(fresh.from_phone), chars: [...text].length }, cityId }, clock.now());
          return ok;
        });
        row = inserted ? fresh : (await repo().findInboundByProvider(m.gateway, m.providerMessageId))!;
        if (!inserted && row.status !== 'processing') return toInboundView(row);
      }
      if (row.status !== 'processing') return toInboundView(row);
      if (!row.body) return toInboundView(await settleInbound(row, { outcome: 'command_malformed', status: 'handled' }));
      return toInboundView(await handle(row));
    },

    /** Texts whose handling a crash cut short (any node, from the sweep). */
    async resumeInbound() {
      const rows = await repo().stuckInbound(ms(new Date(clock.now().getTime() - 60_000)), 50);
      for (const r of rows) await handle(r).catch((err) => log?.error({ err, inbound: r.id }, 'sms: resuming an inbound text failed'));
      return rows.length;
    },

    /** Texts into the hotline: the agents' queue of requests to register (待登记), or all of a phone's. */
    async listInbound(actor: Actor, q: { status?: string[]; phone?: string; ticketId?: string; page?: number; pageSize?: number }) {
      requireCenterRole(actor, '查看上行短信');
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 50;
      const { items, total } = await repo().listInbound({ cityId: actor.cityId, statuses: q.status, fromPhone: q.phone ? normalizePhone(q.phone) ?? q.phone : undefined, ticketId: q.ticketId }, page, pageSize);
      return { items: items.map(toInboundView), total, page, pageSize };
    },

    /** An agent registers a ticket from a citizen's text: the SMS channel, the sender as caller, the text linked. */
    async acceptInbound(ctx: CommandContext, inboundId: string, ticket: Record<string, unknown>) {
      requireCenterRole(ctx.actor, '短信受理', [Role.agent, Role.dispatcher, Role.admin]);
      const row = await repo().findInbound(inboundId);
      if (!row || row.city_id !== ctx.actor.cityId) throw notFound('SMS_INBOUND_NOT_FOUND', 'text not found', '短信不存在');
      if (row.status !== 'awaiting_agent' && !(row.status === 'accepted' && row.ticket_id)) {
        throw conflict('SMS_INBOUND_HANDLED', 'this text was already handled', '该短信已处理', { status: row.status, ticketId: row.ticket_id });
      }
      // The text's id keys the registration: a retry (or a second agent) gets the same ticket, never a second one.
      const created = await deps.commands.createTicket({ ...ctx, idempotencyKey: `sms-inbound-ticket:${row.id}` }, {
        situation: row.body, ...ticket, channel: 'sms', callerPhone: row.from_phone,
      });
      const now = clock.now();
      await transaction(async (trx) => {
        if (await repo(trx).updateInbound(row.id, { status: 'accepted', ticket_id: created.id, handled_by: ctx.actor.id, handled_at: ms(now) }, ['awaiting_agent'])) {
          await recordAudit(trx, ctx, { entityType: 'sms_inbound', entityId: row.id, action: 'sms.inbound.accepted', after: { ticketId: created.id, ticketNumber: created.number }, cityId: row.city_id }, now);
        }
      });
      void publish({ type: 'sms.inbound_handled', cityId: row.city_id, audience: { center: true, roles: [Role.agent, Role.dispatcher, Role.supervisor, Role.admin] }, data: { inboundId: row.id, status: 'accepted', ticketId: created.id }, key: `sms-inbound:${row.id}:accepted` });
      return { inbound: toInboundView((await repo().findInbound(row.id))!), ticket: created };
    },

    /** Not a request (spam, a thank-you): set aside with a reason, kept. */
    async dismissInbound(ctx: CommandContext, inboundId: string, reason: string) {
      requireCenterRole(ctx.actor, '处理上行短信', [Role.agent, Role.dispatcher, Role.admin]);
      const row = await repo().findInbound(inboundId);
      if (!row || row.city_id !== ctx.actor.cityId) throw notFound('SMS_INBOUND_NOT_FOUND', 'text not found', '短信不存在');
      const text = reason.trim();
      if (!text) throw badRequest('FIELD_REQUIRED', 'a reason is required', '请填写不予受理的原因', { field: 'reason' });
      const now = clock.now();
      const changed = await transaction(async (trx) => {
        const ok = await repo(trx).updateInbound(row.id, { status: 'dismissed', detail: text.slice(0, 500), handled_by: ctx.actor.id, handled_at: ms(now) }, ['awaiting_agent']);
        if (ok) await recordAudit(trx, ctx, { entityType: 'sms_inbound', entityId: row.id, action: 'sms.inbound.dismissed', reason: text, cityId: row.city_id }, now);
        return ok;
      });
      if (!changed && row.status !== 'dismissed') throw conflict('SMS_INBOUND_HANDLED', 'this text was already handled', '该短信已处理', { status: row.status, ticketId: row.ticket_id });
      void publish({ type: 'sms.inbound_handled', cityId: row.city_id, audience: { center: true, roles: [Role.agent, Role.dispatcher, Role.supervisor, Role.admin] }, data: { inboundId: row.id, status: 'dismissed' }, key: `sms-inbound:${row.id}:dismissed` });
      return toInboundView((await repo().findInbound(row.id))!);
    },
  };
}

export function toInboundView(r: SmsInboundRow): SmsInboundView {
  return {
    id: r.id, gateway: r.gateway, from: r.from_phone, to: r.to_number, text: r.body, outcome: r.outcome, outcomeZh: OUTCOME_ZH[r.outcome] ?? r.outcome,
    status: r.status, ticketId: r.ticket_id, workOrderId: r.work_order_id, unitId: r.unit_id, detail: r.detail, receivedAt: dbTimeToIso(r.received_at)!, handledAt: dbTimeToIso(r.handled_at),
  };
}
