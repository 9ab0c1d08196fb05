/**
 * The SMS service: texts out (from the notification outbox and from ticket events), their delivery
 * with retries, receipts, and texts in (unit commands, survey answers, opt-outs, citizens' requests).
 *
 * Delivery is at least once and never silent: a message row exists before anything is sent (queued
 * inside the transaction that causes it, or keyed by the notice that asked for it); a run leases the
 * due rows, submits, and records the provider's ids. A node killed between submit and commit leaves
 * the row leased: once the lease runs out the next run submits it again with the same message id —
 * a gateway that de-duplicates by it (a provider's `outId`) sends nothing new; SMPP and Kannel cannot,
 * so the citizen may get that one text twice, and the audit says so (`sms.resubmitted`).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB, DialectName } from '../db';
import { recordAudit } from '../audit';
import {
  AppError, badRequest, conflict, forbidden, notFound, isAppError, isCenter, newId, toDbTime, fromDbTime, dbTimeToIso, maskPhone, normalizePhone,
  systemClock, Role, UNIT_ROLES, type Actor, type Clock, type CommandContext, systemActor,
} from '../core';
import { GatewayError, type DeliveryReceipt, type InboundSms, type SmsGateway } from './ports';
import { planSegments } from './domain/segments';
import { renderText, type TemplateContext } from './domain/templates';
import { readInboundText, SATISFACTION_ZH, type Satisfaction } from './domain/inbound-text';
import { DEFERRABLE_KINDS, notBeforeQuietEnd, type QuietHours } from './domain/quiet-hours';
import { SmsRepository, FINAL_MESSAGE_STATES, type SmsMessageRow, type SmsInboundRow, type MessageState } from './sms.repository';

// --- ports ---------------------------------------------------------------------------------------

/** A city's SMS settings (city.json `settings.sms`), with the signature filled in. */
export interface CitySms {
  signature: string;
  templates: Record<string, string>;
}

/** What the SMS part needs to know of tickets, units and cities (app/ wires the other parts). */
export interface SmsLookups {
  citySms(cityId: string): Promise<CitySms>;
  /** The city a text belongs to when nothing in it says (an installation of one city). */
  defaultCityId(): Promise<string | null>;
  unit(unitId: string): Promise<{ id: string; cityId: string; name: string; smsPhone: string | null; dutyPhone: string | null } | null>;
  /** Units whose registered SMS or duty phone this is, and the user of a unit with this phone (who acts). */
  unitsByPhone(phone: string): Promise<{ unitId: string; cityId: string; unitName: string; user: { id: string; name: string; role: string } | null }[]>;
  ticket(cityId: string, ticketId: string): Promise<{ id: string; cityId: string; number: string; title: string | null; place: string | null; category: string | null; confidential: boolean } | null>;
  /** Whether this viewer may see the ticket (intake's scope). */
  canSeeTicket(actor: Actor, ticketId: string): Promise<boolean>;
}

/** The commands a text may carry, through the work-order and intake parts' services. */
export interface SmsCommandPort {
  workOrder(actor: Actor, id: string): Promise<{ id: string; version: number; status: string; ticketId: string; ticketNumber: string; unitId: string }>;
  acknowledge(ctx: CommandContext, id: string, version: number): Promise<unknown>;
  recordOnSite(ctx: CommandContext, id: string, version: number): Promise<unknown>;
  reply(ctx: CommandContext, id: string, version: number, result: string): Promise<unknown>;
  returnToCenter(ctx: CommandContext, id: string, version: number, reason: string): Promise<unknown>;
  rateTicket(ctx: CommandContext, ticketId: string, satisfaction: Satisfaction): Promise<unknown>;
  /** Registers a ticket an agent made of a text (SMS channel); idempotent by the context's key. */
  createTicket(ctx: CommandContext, input: Record<string, unknown>): Promise<{ id: string; number: string }>;
}

/** The console feed (live part), as a narrow port. */
export interface SmsLiveEvent {
  type: string;
  cityId: string;
  audience: { center: boolean; unitIds?: string[]; roles?: (typeof Role)[keyof typeof Role][] };
  data: unknown;
  unitData?: unknown;
  key?: string;
}

export interface SmsDeps {
  db: Kysely<DB>;
  dialect: DialectName;
  clock?: Clock;
  /** The configured gateways behind one (failover and rate limits already applied). */
  gateway: SmsGateway;
  lookups: SmsLookups;
  commands: SmsCommandPort;
  publish?: (e: SmsLiveEvent) => Promise<void>;
  /** Asks for a delivery run soon (a job), or at a given time (a retry). */
  kick?: (at?: Date) => void;
  sender: string;
  quietHours: QuietHours | null;
  maxAttempts: number;
  expireHours: number;
  /** How long a run holds its messages before another may send them again. Default 60 s. */
  leaseMs?: number;
  /** Messages submitted at once by one run (fills an SMPP window). Default 16. */
  concurrency?: number;
  logger?: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

/** A text to queue (the service renders it from `kind` + `context`, or takes `text` as written). */
export interface QueueInput {
  cityId: string;
  kind: string;
  recipientKind: 'unit' | 'citizen';
  unitId?: string | null;
  phone: string | null;
  sourceKey: string;
  context?: TemplateContext;
  text?: string | null;
  ticketId?: string | null;
  workOrderId?: string | null;
  confidential?: boolean;
}

export interface SmsMessageView {
  id: string;
  kind: string;
  recipientKind: string;
  unitId: string | null;
  phone: string;
  text: string | null;
  parts: number;
  state: string;
  stateZh: string;
  gateway: string | null;
  providerMessageId: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  ticketId: string | null;
  workOrderId: string | null;
  createdAt: string;
  submittedAt: string | null;
  deliveredAt: string | null;
}

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

export const MESSAGE_STATE_ZH: Record<MessageState, string> = {
  queued: '待发送', submitting: '发送中', submitted: '已提交', delivered: '已送达', failed: '发送失败', expired: '已过期', suppressed: '未发送',
};

const OUTCOME_ZH: Record<string, string> = {
  received: '处理中', draft: '待登记', survey: '满意度评价', survey_unmatched: '无待评价工单', opt_out: '退订', command: '工单指令',
  command_failed: '指令未执行', command_unknown_code: '处理码无效', command_malformed: '指令格式错误', command_unregistered: '非登记号码', invalid_sender: '号码无效',
  unit_text: '单位来信',
};

/** Notices of the work-order outbox that become a text, and to whom: the unit's SMS phone or its duty phone. */
const UNIT_NOTICE_KINDS: ReadonlySet<string> = new Set([
  'workorder.dispatched', 'workorder.second_handling', 'workorder.rework', 'workorder.reminder', 'workorder.overdue',
  'supervision.raised', 'workorder.extension_granted', 'workorder.extension_refused', 'workorder.return_refused',
]);
const URGENCY_ZH: Record<string, string> = { emergency: '特急', urgent: '紧急' };

const ms = (d: Date) => toDbTime(d);
const RETRY_DELAYS_S = [30, 60, 120, 300, 600, 1800, 3600];
export const retryDelayMs = (attempt: number) => RETRY_DELAYS_S[Math.min(Math.max(attempt - 1, 0), RETRY_DELAYS_S.length - 1)]! * 1000;

export function createSmsService(deps: SmsDeps) {
  const clock = deps.clock ?? systemClock;
  const repo = (q: Kysely<DB> = deps.db) => new SmsRepository(q, deps.dialect);
  const leaseMs = deps.leaseMs ?? 60_000;
  const concurrency = deps.concurrency ?? 16;
  const log = deps.logger;
  const publish = (e: SmsLiveEvent) => deps.publish?.(e).catch((err) => log?.error({ err, type: e.type }, 'sms: live event failed'));
  const smsActor = (cityId: string) => systemActor(cityId, 'sms');

  deps.gateway.onReceipt((r) => service.applyReceipt(r).then(() => undefined));
  deps.gateway.onInbound((m) => service.receive(m).then(() => undefined));

  /** Queues a text in the caller's transaction (a ticket event's), or on its own. Returns false when its source already has one. */
  async function queueWithin(trx: Kysely<DB>, m: QueueInput, now: Date): Promise<boolean> {
    const phone = m.phone ? normalizePhone(m.phone) : null;
    const notBefore = DEFERRABLE_KINDS.has(m.kind) ? notBeforeQuietEnd(now, deps.quietHours) : now;
    const plan = m.text ? planSegments(m.text) : null;
    // A text that cannot go (no or bad number) is kept as failed, visible in the failed queue, never dropped.
    const state: MessageState = phone ? 'queued' : 'failed';
    const id = newId();
    const inserted = await repo(trx).insertMessageOnce({
      id, city_id: m.cityId, kind: m.kind, recipient_kind: m.recipientKind, unit_id: m.unitId ?? null, phone: phone ?? (m.phone ?? '').slice(0, 32),
      body: m.text ?? null, context: m.context ? JSON.stringify(m.context) : null, parts: plan?.parts ?? 0, state, source_key: m.sourceKey.slice(0, 191),
      ticket_id: m.ticketId ?? null, work_order_id: m.workOrderId ?? null, confidential: m.confidential ? 1 : 0, gateway: null, provider_message_id: null,
      attempts: 0, next_attempt_at: ms(notBefore), lease_until: null, claim_token: null,
      last_error: phone ? null : `invalid or missing number / 号码无效或缺失: ${maskPhone(m.phone) ?? '—'}`,
      expires_at: ms(new Date(notBefore.getTime() + deps.expireHours * 3_600_000)), created_at: ms(now), updated_at: ms(now), submitted_at: null, delivered_at: null,
    });
    if (inserted) {
      await recordAudit(trx, { actor: smsActor(m.cityId) }, { entityType: 'sms', entityId: id, action: phone ? 'sms.queued' : 'sms.failed', after: { kind: m.kind, to: maskPhone(phone), state, sourceKey: m.sourceKey, notBefore: notBefore > now ? dbTimeToIso(ms(notBefore)) : undefined }, cityId: m.cityId }, now);
    }
    return inserted;
  }

  /** The 6-digit code a unit replies with for this work order (made once, kept). */
  async function codeFor(trx: Kysely<DB>, cityId: string, workOrderId: string, unitId: string, now: Date): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const existing = await repo(trx).codeOfWorkOrder(workOrderId);
      if (existing) return existing.code;
      const code = String(randomInt(100000, 1000000));
      const ok = await repo(trx).insertCodeOnce({ work_order_id: workOrderId, city_id: cityId, code, unit_id: unitId, created_at: ms(now) });
      if (ok) return code;
    }
    throw new AppError('SMS_CODE_EXHAUSTED', 500, 'no free action code for this unit', '无法为该单位生成短信处理码');
  }

  async function transaction<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    return deps.db.transaction().execute((trx) => work(trx));
  }

  async function audit(trx: Kysely<DB>, m: Pick<SmsMessageRow, 'id' | 'city_id'>, action: string, after: Record<string, unknown>, now: Date, actor?: Actor) {
    await recordAudit(trx, { actor: actor ?? smsActor(m.city_id) }, { entityType: 'sms', entityId: m.id, action, after, cityId: m.city_id }, now);
  }

  function announceFailure(m: SmsMessageRow, error: string) {
    void publish({
      type: 'sms.failed', cityId: m.city_id, audience: { center: true, roles: [Role.dispatcher, Role.supervisor, Role.admin] },
      data: { messageId: m.id, kind: m.kind, phone: m.phone, ticketId: m.ticket_id, workOrderId: m.work_order_id, error }, key: `sms:${m.id}:failed:${m.attempts}`,
    });
  }

  /**
   * A text kept failed as it was queued (no or bad number) tells the failed queue live, once its
   * transaction has committed (a console that refetches then sees it).
   */
  async function announceIfFailedAtQueue(sourceKey: string) {
    const row = await repo().findBySource(sourceKey.slice(0, 191));
    if (row && row.state === 'failed' && Number(row.attempts) === 0) announceFailure(row, row.last_error ?? 'invalid or missing number');
  }

  /** Settles one leased message: sends it, or puts it back with a backoff, or gives it up. */
  async function send(m: SmsMessageRow, token: string, now: Date) {
    const hold = (patch: Partial<DB['sms_messages']>) => repo().updateHeld(m.id, token, { ...patch, updated_at: ms(clock.now()) });
    const giveUp = async (state: 'failed' | 'expired' | 'suppressed', error: string) => {
      await transaction(async (trx) => {
        if (await repo(trx).updateHeld(m.id, token, { state, last_error: error, lease_until: null, claim_token: null, updated_at: ms(clock.now()) })) {
          await audit(trx, m, `sms.${state}`, { error, attempts: Number(m.attempts) }, clock.now());
        }
      });
      if (state !== 'suppressed') announceFailure(m, error);
    };
    if (fromDbTime(m.expires_at).getTime() <= now.getTime()) return giveUp('expired', `not sent within ${deps.expireHours} h / 超过有效期未能发出`);
    let text = m.body;
    if (text === null) {
      const city = await deps.lookups.citySms(m.city_id);
      try {
        text = renderText(m.kind, m.context ? (JSON.parse(m.context) as TemplateContext) : {}, city);
      } catch (err) {
        return giveUp('failed', `SMS_TEMPLATE_INVALID: the city's template ${m.kind} does not render / 短信模板有误: ${(err as Error).message}`);
      }
      if (!text) return giveUp('suppressed', 'the city turned this text off / 本市未启用此类短信');
      await hold({ body: text, parts: planSegments(text).parts });
    }
    if (DEFERRABLE_KINDS.has(m.kind)) {
      const at = notBeforeQuietEnd(now, deps.quietHours);
      if (at > now) {
        await hold({ state: 'queued', next_attempt_at: ms(at), attempts: Math.max(0, Number(m.attempts) - 1), lease_until: null, claim_token: null });
        deps.kick?.(at);
        return;
      }
    }
    if (m.kind === 'callback.survey' && (await repo().hasOptedOut(m.city_id, m.phone))) return giveUp('suppressed', 'the citizen opted out (退订)');
    const resubmit = Number(m.attempts) > 1 && !!m.lease_until && m.last_error === null;
    try {
      const r = await deps.gateway.submit({ id: m.id, to: m.phone, from: deps.sender, text, wantReceipt: true });
      const gateway = r.gateway ?? deps.gateway.name;
      const at = clock.now();
      const pending = await transaction(async (trx) => {
        const held = await repo(trx).updateHeld(m.id, token, {
          state: 'submitted', gateway, provider_message_id: r.providerMessageIds[0] ?? null, parts: r.parts, submitted_at: ms(at),
          lease_until: null, claim_token: null, last_error: null, updated_at: ms(at),
        });
        // A run that lost its lease still records the ids: a receipt must find its message.
        await repo(trx).insertProviderIds(gateway, m.id, r.providerMessageIds);
        if (held) await audit(trx, m, resubmit ? 'sms.resubmitted' : 'sms.submitted', { gateway, providerMessageIds: r.providerMessageIds, parts: r.parts, attempt: Number(m.attempts), idempotentGateway: deps.gateway.idempotent }, at);
        return repo(trx).unmatchedReceiptsFor(gateway, r.providerMessageIds);
      });
      for (const rc of pending) await applyReceiptRow(rc.id, m.id, rc.state as DeliveryReceipt['state'], rc.detail);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const retryable = err instanceof GatewayError ? err.retryable : true;
      const code = err instanceof GatewayError ? err.code : 'SMS_GATEWAY_ERROR';
      log?.warn({ sms: { id: m.id, to: maskPhone(m.phone), attempt: Number(m.attempts) }, code, retryable, err: error }, 'sms: submit failed');
      if (!retryable) return giveUp('failed', `${code}: ${error}`);
      if (Number(m.attempts) >= deps.maxAttempts) return giveUp('failed', `${code}: ${error} (after ${m.attempts} attempts / 已重试 ${m.attempts} 次)`);
      const next = new Date(clock.now().getTime() + retryDelayMs(Number(m.attempts)));
      await transaction(async (trx) => {
        if (await repo(trx).updateHeld(m.id, token, { state: 'queued', next_attempt_at: ms(next), last_error: `${code}: ${error}`, lease_until: null, claim_token: null, updated_at: ms(clock.now()) })) {
          await audit(trx, m, 'sms.retry_scheduled', { error: `${code}: ${error}`, attempt: Number(m.attempts), nextAttemptAt: dbTimeToIso(ms(next)) }, clock.now());
        }
      });
      deps.kick?.(next);
    }
  }

  async function applyReceiptRow(receiptId: string, messageId: string, state: DeliveryReceipt['state'], detail: string | null) {
    const now = clock.now();
    await transaction(async (trx) => {
      await repo(trx).matchReceipt(receiptId, messageId);
      const m = await repo(trx).findMessage(messageId);
      if (!m) return;
      // Delivered only from submitted; a failed part makes the whole text failed (the citizen did not get all of it).
      const to: MessageState = state === 'delivered' ? 'delivered' : state === 'expired' ? 'expired' : 'failed';
      const from = to === 'delivered' ? ['submitted'] : ['submitted', 'delivered'];
      const changed = await repo(trx).updateMessage(messageId, { state: to, delivered_at: to === 'delivered' ? ms(now) : m.delivered_at, last_error: to === 'delivered' ? null : detail ?? 'receipt: not delivered', updated_at: ms(now) }, from);
      if (changed) {
        await audit(trx, m, `sms.${to}`, { receipt: detail ?? null }, now);
        if (to !== 'delivered') announceFailure({ ...m, attempts: Number(m.attempts) }, detail ?? state);
      }
    });
  }

  // --- inbound -------------------------------------------------------------------------------------

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

  const requireCenterRole = (actor: Actor, zh: string, roles: readonly string[] = [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]) => {
    if (!roles.includes(actor.role)) throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not ${zh}`, `角色 ${actor.role} 无权${zh}`);
  };

  const service = {
    /** The gateways' link state (for /healthz and the console's banner). */
    health() {
      return { gateway: deps.gateway.name, ...deps.gateway.health() };
    },

    queueWithin,

    /** Asks for a delivery run soon (after a commit that queued texts inside another part's transaction). */
    kickSoon() {
      deps.kick?.();
    },

    /**
     * The notification outbox's SMS sink: a notice to a unit becomes a text to its phone, a survey
     * notice a text to the citizen. Delivered at least once: the notice id is the source key.
     */
    async deliverNotice(n: { id: string; cityId: string; event: string; recipient: { kind: string; id: string }; ticketId: string | null; workOrderId: string | null; actBy: string | null; payload: Record<string, unknown> }) {
      const now = clock.now();
      if (n.event === 'callback.survey' && n.recipient.kind === 'citizen') {
        const phone = typeof n.payload.callerPhone === 'string' ? n.payload.callerPhone : null;
        await transaction((trx) => queueWithin(trx, {
          cityId: n.cityId, kind: 'callback.survey', recipientKind: 'citizen', phone, sourceKey: `notice:${n.id}`, ticketId: n.ticketId,
          context: { ticketNumber: String(n.payload.ticketNumber ?? ''), result: typeof n.payload.result === 'string' ? n.payload.result : null }, confidential: n.payload.confidential === true,
        }, now));
        if (!phone || !normalizePhone(phone)) await announceIfFailedAtQueue(`notice:${n.id}`);
        deps.kick?.();
        return;
      }
      if (!UNIT_NOTICE_KINDS.has(n.event) || (n.recipient.kind !== 'unit' && n.recipient.kind !== 'unit_manager')) return;
      const unit = await deps.lookups.unit(n.recipient.id);
      if (!unit) return;
      const phone = n.recipient.kind === 'unit_manager' ? unit.dutyPhone ?? unit.smsPhone : unit.smsPhone ?? unit.dutyPhone;
      const t = n.ticketId ? await deps.lookups.ticket(n.cityId, n.ticketId) : null;
      await transaction(async (trx) => {
        const code = n.workOrderId ? await codeFor(trx, n.cityId, n.workOrderId, unit.id, now) : null;
        await queueWithin(trx, {
          cityId: n.cityId, kind: n.event, recipientKind: 'unit', unitId: unit.id, phone, sourceKey: `notice:${n.id}`, ticketId: n.ticketId, workOrderId: n.workOrderId,
          context: {
            ticketNumber: String(n.payload.ticketNumber ?? t?.number ?? ''), title: (n.payload.title as string | null) ?? t?.title ?? null, place: t?.place ?? null,
            category: t?.category ?? null, unitName: unit.name, actBy: n.actBy, code, reason: typeof n.payload.reason === 'string' ? n.payload.reason : null,
            urgencyZh: URGENCY_ZH[String(n.payload.urgency ?? '')] ?? null,
          },
        }, now);
      });
      if (!phone || !normalizePhone(phone)) await announceIfFailedAtQueue(`notice:${n.id}`);
      deps.kick?.();
    },

    /**
     * One delivery run: leases the due messages and submits them, `concurrency` at a time. Returns how
     * many it settled. Run by a job on every node (each message goes to one run at a time).
     */
    async deliverDue(opts: { limit?: number } = {}) {
      const now = clock.now();
      const token = randomBytes(8).toString('hex');
      const ids = await repo().dueIds(ms(now), opts.limit ?? 500);
      const rows = await repo().claim(ids, ms(now), token, ms(new Date(now.getTime() + leaseMs)));
      let next = 0;
      const worker = async () => {
        while (next < rows.length) {
          const m = rows[next++]!;
          try {
            await send(m, token, now);
          } catch (err) {
            // A database error: the lease runs out and a later run takes the message again.
            log?.error({ err, sms: { id: m.id } }, 'sms: delivery run failed for a message');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
      return rows.length;
    },

    /** A delivery receipt from any gateway; kept even when its message is not (yet) known. */
    async applyReceipt(r: DeliveryReceipt) {
      const found = await repo().messageOfProviderId(r.gateway, r.providerMessageId);
      const id = newId();
      const inserted = await repo().insertReceiptOnce({ id, gateway: r.gateway, provider_message_id: r.providerMessageId.slice(0, 128), state: r.state, detail: r.detail?.slice(0, 500) ?? null, message_id: null, received_at: ms(r.at) });
      if (!inserted) return { matched: !!found, duplicate: true };
      // Looked up again after the receipt is stored: a submit recorded in between checked for receipts
      // before this one existed. What still slips between the two is matched by the sweep (reconcileReceipts).
      const owner = found ?? (await repo().messageOfProviderId(r.gateway, r.providerMessageId));
      if (!owner) {
        log?.warn({ gateway: r.gateway, providerMessageId: r.providerMessageId, state: r.state }, 'sms: receipt for a message not known (yet); kept');
        return { matched: false, duplicate: false };
      }
      await applyReceiptRow(id, owner.message_id, r.state, r.detail ?? null);
      return { matched: true, duplicate: false };
    },

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

    /** Receipts kept unmatched whose message is known by now (a receipt that overtook its submit's commit). */
    async reconcileReceipts() {
      const rows = await repo().unmatchedWithOwner(200);
      for (const r of rows) await applyReceiptRow(r.id, r.message_id, r.state as DeliveryReceipt['state'], r.detail);
      return rows.length;
    },

    /** Texts whose handling a crash cut short (any node, from the sweep). */
    async resumeInbound() {
      const rows = await repo().stuckInbound(ms(new Date(clock.now().getTime() - 60_000)), 50);
      for (const r of rows) await handle(r).catch((err) => log?.error({ err, inbound: r.id }, 'sms: resuming an inbound text failed'));
      return rows.length;
    },

    // --- console -------------------------------------------------------------------------------

    /** Messages of a ticket or work order, or the failed queue; a unit sees texts to its own phone only, never a citizen's. */
    async listMessages(actor: Actor, q: { ticketId?: string; workOrderId?: string; states?: string[]; recipientKind?: 'unit' | 'citizen'; page?: number; pageSize?: number }) {
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 50;
      const center = isCenter(actor);
      if (!center && !UNIT_ROLES.has(actor.role)) throw forbidden('ROLE_FORBIDDEN', 'only the center and units see SMS logs', '仅热线中心和承办单位可查看短信记录');
      if (!q.ticketId && !q.workOrderId) requireCenterRole(actor, '查看短信队列');
      if (q.ticketId && !(await deps.lookups.canSeeTicket(actor, q.ticketId))) throw notFound('TICKET_NOT_FOUND', 'ticket not found', '工单不存在');
      if (q.workOrderId && !center) await deps.commands.workOrder(actor, q.workOrderId); // 404 outside the unit's scope
      const { items, total } = await repo().listMessages({
        cityId: actor.cityId, ticketId: q.ticketId, workOrderId: q.workOrderId, states: q.states,
        recipientKind: center ? q.recipientKind : 'unit', unitId: center ? undefined : actor.unitId ?? '-',
      }, page, pageSize);
      return { items: items.map((m) => toMessageView(m, center)), total, page, pageSize };
    },

    /** Sends a failed or expired text again (optionally to a corrected number) as a new message. */
    async resend(ctx: CommandContext, messageId: string, opts: { phone?: string | null } = {}) {
      requireCenterRole(ctx.actor, '重发短信', [Role.dispatcher, Role.supervisor, Role.admin]);
      const m = await repo().findMessage(messageId);
      if (!m || m.city_id !== ctx.actor.cityId) throw notFound('SMS_NOT_FOUND', 'message not found', '短信不存在');
      if (!['failed', 'expired'].includes(m.state)) {
        throw conflict('SMS_NOT_FAILED', `only a failed or expired text is sent again (this one is ${m.state})`, `仅发送失败或过期的短信可以重发（当前：${MESSAGE_STATE_ZH[m.state as MessageState] ?? m.state}）`, { state: m.state });
      }
      const phone = opts.phone ? normalizePhone(opts.phone) : m.phone;
      if (!phone || !normalizePhone(phone)) throw badRequest('PHONE_INVALID', 'not a valid phone number', '手机号码格式不正确', { field: 'phone' });
      const now = clock.now();
      const sourceKey = `resend:${m.id}:${ctx.idempotencyKey ?? newId()}`;
      await transaction(async (trx) => {
        const ok = await queueWithin(trx, {
          cityId: m.city_id, kind: m.kind, recipientKind: m.recipient_kind as 'unit' | 'citizen', unitId: m.unit_id, phone, sourceKey,
          text: m.body, context: m.context ? JSON.parse(m.context) : undefined, ticketId: m.ticket_id, workOrderId: m.work_order_id, confidential: m.confidential === 1,
        }, now);
        if (ok) await audit(trx, m, 'sms.resend_requested', { to: maskPhone(phone), sourceKey }, now, ctx.actor);
      });
      deps.kick?.();
      return toMessageView((await repo().findBySource(sourceKey.slice(0, 191)))!, true);
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

    /** Counts for /healthz and the console: queued, failed in the last day, receipts with no message. */
    async stats() {
      const { n } = await repo().countUnmatchedReceipts();
      return { unmatchedReceipts: Number(n) };
    },
  };
  return service;
}

export type SmsService = ReturnType<typeof createSmsService>;

export function toMessageView(m: SmsMessageRow, center: boolean): SmsMessageView {
  const state = m.state as MessageState;
  return {
    id: m.id, kind: m.kind, recipientKind: m.recipient_kind, unitId: m.unit_id,
    // A citizen's number only for the center; a unit's number is a work number.
    phone: m.recipient_kind === 'citizen' && !center ? maskPhone(m.phone)! : m.phone,
    text: m.body, parts: Number(m.parts), state, stateZh: MESSAGE_STATE_ZH[state] ?? state, gateway: m.gateway, providerMessageId: m.provider_message_id,
    attempts: Number(m.attempts), nextAttemptAt: state === 'queued' ? dbTimeToIso(m.next_attempt_at) : null, lastError: m.last_error,
    ticketId: m.ticket_id, workOrderId: m.work_order_id, createdAt: dbTimeToIso(m.created_at)!, submittedAt: dbTimeToIso(m.submitted_at), deliveredAt: dbTimeToIso(m.delivered_at),
  };
}

export function toInboundView(r: SmsInboundRow): SmsInboundView {
  return {
    id: r.id, gateway: r.gateway, from: r.from_phone, to: r.to_number, text: r.body, outcome: r.outcome, outcomeZh: OUTCOME_ZH[r.outcome] ?? r.outcome,
    status: r.status, ticketId: r.ticket_id, workOrderId: r.work_order_id, unitId: r.unit_id, detail: r.detail, receivedAt: dbTimeToIso(r.received_at)!, handledAt: dbTimeToIso(r.handled_at),
  };
}

