/**
 * The SMS service: texts out (from the notification outbox and from ticket events), their delivery
 * with retries, receipts, and the console's log; texts in are handled by ./inbound.ts.
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
import { transactionWithRetry, type DB, type DialectName } from '../db';
import { recordAudit, recordAuditMany } from '../audit';
import {
  AppError, badRequest, conflict, forbidden, notFound, isCenter, newId, toDbTime, fromDbTime, dbTimeToIso, maskPhone, normalizePhone,
  systemClock, Role, UNIT_ROLES, type Actor, type Clock, type CommandContext, systemActor,
} from '../core';
import { GatewayError, type DeliveryReceipt, type SmsGateway, type SmsLookups, type SmsCommandPort, type SmsLiveEvent, type CitySms } from './ports';
import { createInbound } from './inbound';
import { planSegments } from './domain/segments';
import { renderText, type TemplateContext } from './domain/templates';
import { DEFERRABLE_KINDS, notBeforeQuietEnd, type QuietHours } from './domain/quiet-hours';
import { SmsRepository, type SmsMessageRow, type MessageState } from './sms.repository';

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

/** A notice of the work-order outbox, as its sinks get it. */
interface NotificationSinkLike {
  deliver(n: { id: string; cityId: string; event: string; recipient: { kind: string; id: string }; ticketId: string | null; workOrderId: string | null; actBy: string | null; payload: Record<string, unknown> }): Promise<void>;
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

export const MESSAGE_STATE_ZH: Record<MessageState, string> = {
  queued: '待发送', submitting: '发送中', submitted: '已提交', delivered: '已送达', failed: '发送失败', expired: '已过期', suppressed: '未发送',
};

/** Notices of the work-order outbox that become a text, and to whom: the unit's SMS phone or its duty phone. */
const UNIT_NOTICE_KINDS: ReadonlySet<string> = new Set([
  'workorder.dispatched', 'workorder.second_handling', 'workorder.rework', 'workorder.reminder', 'workorder.overdue',
  'supervision.raised', 'workorder.extension_granted', 'workorder.extension_refused', 'workorder.return_refused',
]);
const URGENCY_ZH: Record<string, string> = { emergency: '特急', urgent: '紧急' };

const ms = (d: Date) => toDbTime(d);
/** Submits recorded per commit in a delivery run. */
const RECORD_BATCH = 32;

/** A text a gateway took, waiting to be recorded. */
interface Submitted {
  m: SmsMessageRow;
  gateway: string;
  providerMessageIds: string[];
  parts: number;
  at: Date;
  resubmit: boolean;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) m.set(key(t), [...(m.get(key(t)) ?? []), t]);
  return m;
}
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
    return (await queueManyWithin(trx, [m], now)) === 1;
  }

  /**
   * Queues texts in the caller's transaction, each once per source key (a source that already has
   * its text is skipped); one insert and one audit insert for the lot. Returns how many were queued.
   */
  async function queueManyWithin(trx: Kysely<DB>, inputs: QueueInput[], now: Date): Promise<number> {
    if (!inputs.length) return 0;
    const rows = inputs.map((m): DB['sms_messages'] => {
      const phone = m.phone ? normalizePhone(m.phone) : null;
      const notBefore = DEFERRABLE_KINDS.has(m.kind) ? notBeforeQuietEnd(now, deps.quietHours) : now;
      // A text that cannot go (no or bad number) is kept as failed, visible in the failed queue, never dropped.
      return {
        id: newId(), city_id: m.cityId, kind: m.kind, recipient_kind: m.recipientKind, unit_id: m.unitId ?? null, phone: phone ?? (m.phone ?? '').slice(0, 32),
        body: m.text ?? null, context: m.context ? JSON.stringify(m.context) : null, parts: m.text ? planSegments(m.text).parts : 0, state: phone ? 'queued' : 'failed',
        source_key: m.sourceKey.slice(0, 191), ticket_id: m.ticketId ?? null, work_order_id: m.workOrderId ?? null, confidential: m.confidential ? 1 : 0,
        gateway: null, provider_message_id: null, attempts: 0, next_attempt_at: ms(notBefore), lease_until: null, claim_token: null,
        last_error: phone ? null : `invalid or missing number / 号码无效或缺失: ${maskPhone(m.phone) ?? '—'}`,
        expires_at: ms(new Date(notBefore.getTime() + deps.expireHours * 3_600_000)), created_at: ms(now), updated_at: ms(now), submitted_at: null, delivered_at: null,
      };
    });
    const inserted = await repo(trx).insertMessagesOnce(rows);
    if (!inserted.length) return 0;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const entries = inserted.map((id) => {
      const r = byId.get(id)!;
      return {
        entityType: 'sms', entityId: id, action: r.state === 'queued' ? 'sms.queued' : 'sms.failed', cityId: r.city_id,
        after: { kind: r.kind, to: maskPhone(r.phone), state: r.state, sourceKey: r.source_key, notBefore: r.next_attempt_at > ms(now) ? dbTimeToIso(r.next_attempt_at) : undefined },
      };
    });
    await recordAuditMany(trx, { actor: smsActor(rows[0]!.city_id) }, entries, now);
    return inserted.length;
  }

  /** The 6-digit codes units reply with for these work orders (made once each, kept; unique within the unit). */
  async function codesFor(trx: Kysely<DB>, cityId: string, wanted: { workOrderId: string; unitId: string }[], now: Date): Promise<Map<string, string>> {
    const codes = new Map((await repo(trx).codesOfWorkOrders(wanted.map((w) => w.workOrderId))).map((c) => [c.work_order_id, c.code]));
    for (const w of wanted) {
      for (let i = 0; !codes.has(w.workOrderId); i++) {
        if (i >= 20) throw new AppError('SMS_CODE_EXHAUSTED', 500, 'no free action code for this unit', '无法为该单位生成短信处理码');
        const code = String(randomInt(100000, 1000000));
        if (await repo(trx).insertCodeOnce({ work_order_id: w.workOrderId, city_id: cityId, code, unit_id: w.unitId, created_at: ms(now) })) codes.set(w.workOrderId, code);
        else {
          const existing = await repo(trx).codeOfWorkOrder(w.workOrderId); // made meanwhile by another run
          if (existing) codes.set(w.workOrderId, existing.code);
        }
      }
    }
    return codes;
  }

  type NoticeIn = Parameters<NotificationSinkLike['deliver']>[0];

  /**
   * What the notices become: texts to units' phones (with the work order's code) and survey texts to
   * citizens, rendered now with the city's templates (a template that fails to render is left to the
   * delivery run, which marks the text failed and says why). One transaction for the lot.
   */
  async function queueNotices(ns: NoticeIn[]) {
    const now = clock.now();
    const units = new Map<string, Awaited<ReturnType<SmsLookups['unit']>>>();
    const tickets = new Map<string, Awaited<ReturnType<SmsLookups['ticket']>>>();
    const cities = new Map<string, CitySms>();
    const planned: { n: NoticeIn; input: QueueInput; unitId: string | null }[] = [];
    for (const n of ns) {
      if (n.event === 'callback.survey' && n.recipient.kind === 'citizen') {
        const phone = typeof n.payload.callerPhone === 'string' ? n.payload.callerPhone : null;
        planned.push({ n, unitId: null, input: {
          cityId: n.cityId, kind: 'callback.survey', recipientKind: 'citizen', phone, sourceKey: `notice:${n.id}`, ticketId: n.ticketId,
          context: { ticketNumber: String(n.payload.ticketNumber ?? ''), result: typeof n.payload.result === 'string' ? n.payload.result : null }, confidential: n.payload.confidential === true,
        } });
        continue;
      }
      if (!UNIT_NOTICE_KINDS.has(n.event) || (n.recipient.kind !== 'unit' && n.recipient.kind !== 'unit_manager')) continue;
      if (!units.has(n.recipient.id)) units.set(n.recipient.id, await deps.lookups.unit(n.recipient.id));
      const unit = units.get(n.recipient.id);
      if (!unit) continue;
      if (n.ticketId && !tickets.has(n.ticketId)) tickets.set(n.ticketId, await deps.lookups.ticket(n.cityId, n.ticketId));
      const t = n.ticketId ? tickets.get(n.ticketId) : null;
      planned.push({ n, unitId: unit.id, input: {
        cityId: n.cityId, kind: n.event, recipientKind: 'unit', unitId: unit.id, sourceKey: `notice:${n.id}`, ticketId: n.ticketId, workOrderId: n.workOrderId,
        phone: n.recipient.kind === 'unit_manager' ? unit.dutyPhone ?? unit.smsPhone : unit.smsPhone ?? unit.dutyPhone,
        context: {
          ticketNumber: String(n.payload.ticketNumber ?? t?.number ?? ''), title: (n.payload.title as string | null) ?? t?.title ?? null, place: t?.place ?? null,
          category: t?.category ?? null, unitName: unit.name, actBy: n.actBy, reason: typeof n.payload.reason === 'string' ? n.payload.reason : null,
          urgencyZh: URGENCY_ZH[String(n.payload.urgency ?? '')] ?? null,
        },
      } });
    }
    if (!planned.length) return;
    for (const p of planned) if (!cities.has(p.input.cityId)) cities.set(p.input.cityId, await deps.lookups.citySms(p.input.cityId));
    const byCity = new Map<string, typeof planned>();
    for (const p of planned) byCity.set(p.input.cityId, [...(byCity.get(p.input.cityId) ?? []), p]);
    await transaction(async (trx) => {
      for (const [cityId, list] of byCity) {
        const wanted = list.filter((p) => p.unitId && p.n.workOrderId).map((p) => ({ workOrderId: p.n.workOrderId!, unitId: p.unitId! }));
        const codes = await codesFor(trx, cityId, [...new Map(wanted.map((w) => [w.workOrderId, w])).values()], now);
        for (const p of list) {
          if (p.unitId && p.n.workOrderId) p.input.context!.code = codes.get(p.n.workOrderId) ?? null;
          try {
            p.input.text = renderText(p.input.kind, p.input.context ?? {}, cities.get(cityId)!);
          } catch {
            p.input.text = null;
          }
        }
        await queueManyWithin(trx, list.map((p) => p.input), now);
      }
    });
    for (const p of planned) if (!p.input.phone || !normalizePhone(p.input.phone)) await announceIfFailedAtQueue(p.input.sourceKey);
    deps.kick?.();
  }

  /** A transaction, run again when MySQL picks it as a deadlock victim (receipts and submits of one text may meet). */
  function transaction<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    return transactionWithRetry(deps.db, work);
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

  /**
   * Settles one leased message: submits it (the caller records the submit, batched with others), or
   * puts it back with a backoff, or gives it up.
   */
  async function send(m: SmsMessageRow, token: string, now: Date): Promise<Submitted | void> {
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
      return { m, gateway: r.gateway ?? deps.gateway.name, providerMessageIds: r.providerMessageIds, parts: r.parts, at: clock.now(), resubmit };
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

  /**
   * Records what the gateways took (one transaction for a batch): the message submitted, its provider
   * ids, the audit; then the receipts that arrived before this commit. A run that lost its lease still
   * records the ids: a receipt must find its message.
   */
  async function recordSubmitted(batch: Submitted[], token: string) {
    if (!batch.length) return;
    const pending = await transaction(async (trx) => {
      const entries = [];
      for (const b of batch) {
        const held = await repo(trx).updateHeld(b.m.id, token, {
          state: 'submitted', gateway: b.gateway, provider_message_id: b.providerMessageIds[0] ?? null, parts: b.parts, submitted_at: ms(b.at),
          lease_until: null, claim_token: null, last_error: null, updated_at: ms(b.at),
        });
        if (held) {
          entries.push({
            entityType: 'sms', entityId: b.m.id, action: b.resubmit ? 'sms.resubmitted' : 'sms.submitted', cityId: b.m.city_id,
            after: { gateway: b.gateway, providerMessageIds: b.providerMessageIds, parts: b.parts, attempt: Number(b.m.attempts), idempotentGateway: deps.gateway.idempotent },
          });
        }
      }
      await repo(trx).insertProviderIdsMany(batch.flatMap((b) => b.providerMessageIds.map((pid, i) => ({ gateway: b.gateway, provider_message_id: pid.slice(0, 128), message_id: b.m.id, part: i + 1 }))));
      await recordAuditMany(trx, { actor: smsActor(batch[0]!.m.city_id) }, entries, clock.now());
      const found = [];
      for (const [gateway, list] of groupBy(batch, (b) => b.gateway)) {
        const owner = new Map(list.flatMap((b) => b.providerMessageIds.map((pid) => [pid, b.m.id] as const)));
        for (const rc of await repo(trx).unmatchedReceiptsFor(gateway, [...owner.keys()])) found.push({ rc, messageId: owner.get(rc.provider_message_id)! });
      }
      return found;
    });
    await applyReceiptRows(pending.map(({ rc, messageId }) => ({ receiptId: rc.id, messageId, state: rc.state as ReceiptState, detail: rc.detail })));
  }

  type ReceiptState = DeliveryReceipt['state'];

  /**
   * Applies receipts already matched to their messages, inside the caller's transaction: delivered
   * only from submitted; a failed or expired part makes the whole text failed (the citizen did not
   * get all of it). Returns the texts that failed, to announce after the commit.
   */
  async function applyReceiptsWithin(trx: Kysely<DB>, items: { messageId: string; state: ReceiptState; detail: string | null }[], now: Date): Promise<SmsMessageRow[]> {
    if (!items.length) return [];
    const target = new Map<string, { to: MessageState; detail: string | null }>();
    for (const i of items) {
      const to: MessageState = i.state === 'delivered' ? 'delivered' : i.state === 'expired' ? 'expired' : 'failed';
      const had = target.get(i.messageId);
      if (!had || had.to === 'delivered') target.set(i.messageId, { to, detail: i.detail });
    }
    const rows = await repo(trx).messagesForUpdate([...target.keys()]);
    const delivered = rows.filter((m) => target.get(m.id)!.to === 'delivered' && m.state === 'submitted');
    const failed = rows.filter((m) => target.get(m.id)!.to !== 'delivered' && ['submitted', 'delivered'].includes(m.state));
    await repo(trx).markDelivered(delivered.map((m) => m.id), ms(now));
    for (const m of failed) {
      const t = target.get(m.id)!;
      await repo(trx).updateMessage(m.id, { state: t.to, last_error: t.detail ?? 'receipt: not delivered', updated_at: ms(now) }, ['submitted', 'delivered']);
    }
    const entries = [...delivered, ...failed].map((m) => ({ entityType: 'sms', entityId: m.id, action: `sms.${target.get(m.id)!.to}`, after: { receipt: target.get(m.id)!.detail }, cityId: m.city_id }));
    if (entries.length) await recordAuditMany(trx, { actor: smsActor(rows[0]!.city_id) }, entries, now);
    return failed.map((m) => ({ ...m, state: target.get(m.id)!.to }));
  }

  /** Receipts kept before their message was known, now matched (a submit recorded since, or the sweep). */
  async function applyReceiptRows(items: { receiptId: string; messageId: string; state: ReceiptState; detail: string | null }[]) {
    if (!items.length) return;
    const failed = await transaction(async (trx) => {
      for (const i of items) await repo(trx).matchReceipt(i.receiptId, i.messageId);
      return applyReceiptsWithin(trx, items, clock.now());
    });
    for (const m of failed) announceFailure(m, m.last_error ?? m.state);
  }

  /**
   * A batch of receipts in one transaction: stored once per (gateway, provider id, state), matched to
   * their messages where the provider id is known, applied. Returns per receipt whether it matched a
   * message and whether it was a repeat.
   */
  async function applyReceiptBatch(rs: DeliveryReceipt[]): Promise<{ matched: boolean; duplicate: boolean }[]> {
    const now = clock.now();
    const keyOf = (r: DeliveryReceipt) => `${r.gateway}\u0000${r.providerMessageId.slice(0, 128)}\u0000${r.state}`;
    const { results, failed, unmatched } = await transaction(async (trx) => {
      const owners = new Map<string, string>();
      const existing = new Set<string>();
      for (const [gateway, list] of groupBy(rs, (r) => r.gateway)) {
        const pids = [...new Set(list.map((r) => r.providerMessageId.slice(0, 128)))];
        for (const o of await repo(trx).ownersOf(gateway, pids)) owners.set(`${gateway}\u0000${o.provider_message_id}`, o.message_id);
        for (const e of await repo(trx).receiptsOf(gateway, pids)) existing.add(`${gateway}\u0000${e.provider_message_id}\u0000${e.state}`);
      }
      const fresh: DB['sms_receipts'][] = [];
      const results = rs.map((r) => {
        const owner = owners.get(`${r.gateway}\u0000${r.providerMessageId.slice(0, 128)}`) ?? null;
        const k = keyOf(r);
        if (existing.has(k)) return { matched: !!owner, duplicate: true };
        existing.add(k);
        fresh.push({ id: newId(), gateway: r.gateway, provider_message_id: r.providerMessageId.slice(0, 128), state: r.state, detail: r.detail?.slice(0, 500) ?? null, message_id: owner, received_at: ms(r.at ?? now) });
        return { matched: !!owner, duplicate: false };
      });
      await repo(trx).insertReceipts(fresh);
      const failed = await applyReceiptsWithin(trx, fresh.filter((f) => f.message_id).map((f) => ({ messageId: f.message_id!, state: f.state as ReceiptState, detail: f.detail })), now);
      return { results, failed, unmatched: fresh.filter((f) => !f.message_id) };
    });
    for (const m of failed) announceFailure(m, m.last_error ?? m.state);
    // Looked up again after the commit: a submit recorded meanwhile checked for receipts before these
    // existed. What still slips between the two is matched by the sweep (reconcileReceipts).
    const late: { receiptId: string; messageId: string; state: ReceiptState; detail: string | null }[] = [];
    for (const u of unmatched) {
      const owner = await repo().messageOfProviderId(u.gateway, u.provider_message_id);
      if (owner) late.push({ receiptId: u.id, messageId: owner.message_id, state: u.state as ReceiptState, detail: u.detail });
      else log?.warn({ gateway: u.gateway, providerMessageId: u.provider_message_id, state: u.state }, 'sms: receipt for a message not known (yet); kept');
    }
    await applyReceiptRows(late);
    return results;
  }

  // Receipts arriving one by one (an SMSC's deliver_sm, Kannel's dlr-url) are applied in batches:
  // those that arrive while a batch is being written go together in the next one.
  const receiptQueue: { r: DeliveryReceipt; done: (v: { matched: boolean; duplicate: boolean }) => void; fail: (e: unknown) => void }[] = [];
  let receiptRun: Promise<void> | null = null;
  async function drainReceipts() {
    try {
      while (receiptQueue.length) {
        const batch = receiptQueue.splice(0, 500);
        try {
          const results = await applyReceiptBatch(batch.map((b) => b.r));
          batch.forEach((b, i) => b.done(results[i]!));
        } catch (err) {
          batch.forEach((b) => b.fail(err));
        }
      }
    } finally {
      receiptRun = null;
    }
  }

  const requireCenterRole = (actor: Actor, zh: string, roles: readonly string[] = [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]) => {
    if (!roles.includes(actor.role)) throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not ${zh}`, `角色 ${actor.role} 无权${zh}`);
  };

  const inbound = createInbound({
    clock, lookups: deps.lookups, commands: deps.commands, repo, transaction, queueWithin, kick: deps.kick, smsActor, requireCenterRole, logger: log,
    publish: (e) => void publish(e),
  });

  const service = {
    ...inbound,

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
    async deliverNotice(n: NoticeIn) {
      await queueNotices([n]);
    },

    /** The same for a whole outbox run, in one transaction. */
    async deliverNotices(ns: NoticeIn[]) {
      await queueNotices(ns);
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
      // Submits are recorded in batches (one commit for up to RECORD_BATCH of them), one batch at a time.
      const submitted: Submitted[] = [];
      let recording: Promise<void> = Promise.resolve();
      const record = () => {
        const batch = submitted.splice(0);
        recording = recording.then(() => recordSubmitted(batch, token)).catch((err) => {
          // Left leased: once the lease has run out the texts are submitted again (at least once).
          log?.error({ err, sms: batch.map((b) => b.m.id) }, 'sms: recording submitted texts failed');
        });
        return recording;
      };
      const worker = async () => {
        while (next < rows.length) {
          const m = rows[next++]!;
          try {
            const done = await send(m, token, now);
            if (done) submitted.push(done);
            if (submitted.length >= RECORD_BATCH) await record();
          } catch (err) {
            // A database error: the lease runs out and a later run takes the message again.
            log?.error({ err, sms: { id: m.id } }, 'sms: delivery run failed for a message');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
      await record();
      return rows.length;
    },

    /** A delivery receipt from any gateway; kept even when its message is not (yet) known. */
    applyReceipt(r: DeliveryReceipt): Promise<{ matched: boolean; duplicate: boolean }> {
      return new Promise((done, fail) => {
        receiptQueue.push({ r, done, fail });
        receiptRun ??= drainReceipts();
      });
    },

    /** Receipts kept unmatched whose message is known by now (a receipt that overtook its submit's commit). */
    async reconcileReceipts() {
      const rows = await repo().unmatchedWithOwner(200);
      await applyReceiptRows(rows.map((r) => ({ receiptId: r.id, messageId: r.message_id, state: r.state as ReceiptState, detail: r.detail })));
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

    /** For GET /sms/health: receipts kept with no message to match. */
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



