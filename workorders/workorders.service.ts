/**
 * The closed loop (接诉即办闭环): work orders for every unit on a dispatched ticket, the units' and
 * the center's actions on them, the supervision ladder, callbacks and second handling, the claim
 * pool and the notification outbox.
 *
 * The ticket's state machine (intake) stays the authority for the ticket's status; this part takes
 * part in every ticket transition (see {@link TicketTransitionParticipant}) so that a ticket change
 * and its work orders commit together, and drives the ticket from the work orders (the lead's
 * acknowledgement acknowledges the ticket; the last reply of lead and co-handlers replies it).
 */
import type { Kysely } from 'kysely';
import { createHash, randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { runInTransaction, transactionWithRetry, idempotentCommandOf, onUniqueViolation, type DB } from '../db';
import { recordAudit, recordAuditMany, listAudit, type AuditEntry } from '../audit';
import {
  AppError, badRequest, conflict, forbidden, notFound, unprocessable, newId, toDbTime, fromDbTime, dbTimeToIso, isCenter, systemClock,
  Role, UNIT_ROLES, EventBus, systemActor, cachedPerKey,
  type Actor, type Clock as TimeSource, type CommandContext,
} from '../core';
import type { TicketChange, TicketRow, TicketTransitionParticipant, TransitionInput, TicketView } from '../intake';
import { listPolicies, ladderOf, type TimeLimitPolicy } from './time-limit-policies';
import { choosePolicy } from './domain/policy-match';
import { planClock, CLOCKS, CLOCK_ZH, STEP_ZH, type Clock, type PlannedStep, type LadderStep } from './domain/ladder';
import {
  WORK_ORDER_STATUS_ZH, OPEN_STATUSES, FINAL_WORK_ORDER_STATUSES, riskOf, runningClocks,
  type Deadlines, type WorkOrderStatus, type WorkOrderRole, type Risk,
} from './domain/work-order';
import { WorkOrdersRepository, type WorkOrderSort, type WorkOrderRow, type CallbackRow, type ClaimPoolRow, type MilestoneRow, type OutboxRow, type Recipient, type TicketMilestoneRow } from './workorders.repository';
import type { AttachmentStorage, CityRules, Notification, NotificationSink, TicketPort, WorkOrderLookups } from './ports';

export interface WorkOrderView {
  id: string;
  ticketId: string;
  ticketNumber: string;
  ticketTitle: string | null;
  /** The ticket's urgency at dispatch (一般/紧急/特急). */
  urgency: string;
  unitId: string;
  role: WorkOrderRole;
  status: WorkOrderStatus;
  statusZh: string;
  round: number;
  version: number;
  policyCode: string | null;
  dispatchedAt: string;
  deadlines: { acknowledge: string | null; onSite: string | null; reply: string | null; citizenReply: string | null };
  /** When each clock's reminder is (the ladder's at-risk point), where the list knows it. */
  reminders: Partial<Record<Clock, string>>;
  acknowledgedAt: string | null;
  onSiteAt: string | null;
  repliedAt: string | null;
  result: string | null;
  risk: Risk;
  extension: { reason: string | null; proposedDeadline: string | null } | null;
  extensionCount: number;
  returnReason: string | null;
  returnedAt: string | null;
  closedAt: string | null;
}

export interface WorkOrderEvents extends Record<string, unknown> {
  /** A work order was created or changed (after commit). */
  'workorder.changed': { workOrder: WorkOrderRow; action: string; view: WorkOrderView };
}

export interface WorkOrderDeps {
  db: Kysely<DB>;
  clock?: TimeSource;
  tickets: TicketPort;
  lookups: WorkOrderLookups;
  storage: AttachmentStorage;
  /** Where notices go; each must take a repeat of the same notice (same id) without acting twice. */
  sinks?: NotificationSink[];
  /** How long a delivery run holds the rows it took before another run may deliver them again. Default 60 s. */
  outboxLeaseMs?: number;
  /** `workorder.changed`: `emitWithin` inside each command's transaction, `emit` after its commit. */
  events?: EventBus<WorkOrderEvents, Kysely<DB>>;
  /** This node's name in `fired_by` (which node fired a milestone). */
  nodeId?: string;
  /** Asks for the outbox to be delivered soon (a job); the periodic sweep delivers anyway. */
  kick?: () => void;
  /** Largest attachment accepted, bytes. */
  maxAttachmentBytes?: number;
}

/** 413: an attachment over ATTACHMENTS_MAX_BYTES (the route's stream check and the service's own). */
export const attachmentTooLarge = (maxBytes: number) =>
  new AppError('ATTACHMENT_TOO_LARGE', 413, `files up to ${maxBytes} bytes`, `附件不能超过 ${maxBytes >= 1048576 ? `${Math.round(maxBytes / 1048576)} MB` : `${Math.ceil(maxBytes / 1024)} KB`}`, { field: 'file', maxBytes });

/** What a work-order queue may be narrowed and ordered by (GET /work-orders). */
export interface WorkOrderListQuery {
  queue?: Queue;
  ticketId?: string;
  unitId?: string;
  urgency?: string[];
  categoryId?: string;
  territoryId?: string;
  /** The reply deadline (办结时限) within [deadlineFrom, deadlineTo). */
  deadlineFrom?: Date;
  deadlineTo?: Date;
  sort?: WorkOrderSort;
  order?: 'asc' | 'desc';
}

export const QUEUES = ['to_acknowledge', 'returned', 'extension_requested', 'to_review', 'overdue', 'at_risk', 'open', 'all'] as const;
export type Queue = (typeof QUEUES)[number];

/** Deadlines and ladder steps of a new work order, computed before the transaction. */
interface ClockPlan {
  policy: TimeLimitPolicy | null;
  deadlines: Deadlines;
  steps: PlannedStep[];
}

interface Prepared {
  plan?: ClockPlan;
  rules?: CityRules;
  extension?: { deadline: Date; steps: PlannedStep[] };
}

const OPEN_SET = new Set<string>(OPEN_STATUSES);
const FINAL_SET = new Set<string>(FINAL_WORK_ORDER_STATUSES);
const iso = (s: string | null) => dbTimeToIso(s);
const date = (s: string | null) => (s ? fromDbTime(s) : null);
const db = (d: Date | null) => (d ? toDbTime(d) : null);
const ALLOWED_ATTACHMENT_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'application/pdf', 'text/plain',
  'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'video/mp4', 'audio/mpeg', 'audio/wav']);

/** The line a unit's list shows for a ticket: its title, or the start of its situation when it has none. */
function summaryOf(t: TicketRow): string | null {
  const text = (t.title ?? '').trim() || (t.situation ?? '').trim().replace(/\s+/g, ' ');
  return text ? [...text].slice(0, 60).join('') : null;
}

export function deadlinesOf(w: WorkOrderRow): Deadlines {
  return { acknowledge: date(w.acknowledge_due), onSite: date(w.on_site_due), reply: date(w.reply_due), citizenReply: date(w.citizen_reply_due) };
}

export function toWorkOrderView(w: WorkOrderRow, now: Date, reminders?: Partial<Record<Clock, Date>>): WorkOrderView {
  const status = w.status as WorkOrderStatus;
  return {
    id: w.id,
    ticketId: w.ticket_id,
    ticketNumber: w.ticket_number,
    ticketTitle: w.ticket_title,
    urgency: w.urgency ?? 'normal',
    unitId: w.unit_id,
    role: w.role as WorkOrderRole,
    status,
    statusZh: WORK_ORDER_STATUS_ZH[status] ?? status,
    round: Number(w.round),
    version: Number(w.version),
    policyCode: w.policy_code,
    dispatchedAt: iso(w.dispatched_at)!,
    deadlines: { acknowledge: iso(w.acknowledge_due), onSite: iso(w.on_site_due), reply: iso(w.reply_due), citizenReply: iso(w.citizen_reply_due) },
    reminders: Object.fromEntries(Object.entries(reminders ?? {}).map(([k, d]) => [k, iso(toDbTime(d!))])),
    acknowledgedAt: iso(w.acknowledged_at),
    onSiteAt: iso(w.on_site_at),
    repliedAt: iso(w.replied_at),
    result: w.result,
    risk: riskOf({ status, acknowledgedAt: date(w.acknowledged_at), onSiteAt: date(w.on_site_at), repliedAt: date(w.replied_at), dispatchedAt: fromDbTime(w.dispatched_at), deadlines: deadlinesOf(w) }, now, reminders),
    extension: status === 'extension_requested' ? { reason: w.extension_reason, proposedDeadline: iso(w.extension_proposed_due) } : null,
    extensionCount: Number(w.extension_count),
    returnReason: w.return_reason,
    returnedAt: iso(w.returned_at),
    closedAt: iso(w.closed_at),
  };
}

const versionConflict = (w: WorkOrderRow | undefined) =>
  conflict('VERSION_CONFLICT', 'the work order was changed by someone else; reload and try again', '工单已被他人处理，请刷新后重试', {
    currentVersion: w ? Number(w.version) : null,
    currentStatus: w?.status ?? null,
  });

const notInStatus = (w: WorkOrderRow, action: string, zh: string, allowed: readonly string[]) =>
  conflict('WORK_ORDER_STATE', `cannot ${action} a work order that is ${w.status}`, `工单当前为「${WORK_ORDER_STATUS_ZH[w.status as WorkOrderStatus] ?? w.status}」，不能${zh}`, {
    status: w.status, action, allowedFrom: allowed, version: Number(w.version),
  });

const requireText = (v: string | null | undefined, field: string, en: string, zh: string) => {
  const t = (v ?? '').trim();
  if (!t) throw badRequest('FIELD_REQUIRED', en, zh, { field });
  return t;
};

export function createWorkOrderService(deps: WorkOrderDeps) {
  const clock = deps.clock ?? systemClock;
  const events = deps.events ?? new EventBus<WorkOrderEvents, Kysely<DB>>();
  const node = deps.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  const sinks: NotificationSink[] = [...(deps.sinks ?? [])];
  const outboxLeaseMs = deps.outboxLeaseMs ?? 60_000;
  const repo = (q: Kysely<DB> = deps.db) => new WorkOrdersRepository(q);
  const idemScope = (ctx: CommandContext) => `${ctx.actor.kind}:${ctx.actor.id ?? 'system'}`;
  const policiesOf = cachedPerKey(60_000, (cityId) => listPolicies(deps.db, cityId));
  const maxAttachmentBytes = deps.maxAttachmentBytes ?? 20 * 1024 * 1024;

  /** The clocks of a work order starting now on a ticket: its policy's limits on the city's working-time clock. */
  async function planFor(ticket: TicketRow, start: Date): Promise<ClockPlan> {
    const facts = await deps.lookups.categoryFacts(ticket.city_id, ticket.category_id);
    const policy = choosePolicy(await policiesOf(ticket.city_id), {
      type: ticket.type, urgency: ticket.urgency, categoryCodes: facts.categoryCodes, utility: facts.utility, categoryPolicyCode: facts.policyCode,
    });
    const cal = await deps.lookups.cityClock(ticket.city_id);
    const deadlines: Deadlines = { acknowledge: null, onSite: null, reply: null, citizenReply: null };
    const steps: PlannedStep[] = [];
    for (const c of CLOCKS) {
      const limit = policy?.limits[c];
      if (!limit) continue;
      deadlines[c] = cal.addTimeLimit(start, limit);
      steps.push(...planClock(c, start, deadlines[c]!, ladderOf(policy), cal));
    }
    return { policy, deadlines, steps };
  }

  async function ladderForCode(cityId: string, code: string | null) {
    return ladderOf((await policiesOf(cityId)).find((p) => p.code === code));
  }

  // ------------------------------------------------------------------------------------------
  // Writing, inside a transaction

  async function audit(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, action: string, before: unknown, after: unknown, reason: string | null, now: Date) {
    await recordAudit(trx, ctx, { entityType: 'work_order', entityId: w.id, action: `workorder.${action}`, before, after, reason, cityId: w.city_id }, now);
  }

  /** Queues a notice in the outbox, once per dedup key (a repeat of the same notice is dropped). */
  async function notify(trx: Kysely<DB>, n: NoticeInput, now: Date) {
    if (await repo(trx).outboxHas(n.dedupKey)) return;
    await repo(trx).insertOutboxOnce(outboxRow(n, now));
  }

  /** What a unit is told about its work order: never the citizen (confidential or not, the center holds that). */
  const unitPayload = (w: WorkOrderRow, extra: Record<string, unknown> = {}) => ({
    ticketNumber: w.ticket_number, title: w.ticket_title, workOrderId: w.id, role: w.role, round: Number(w.round),
    deadlines: { acknowledge: iso(w.acknowledge_due), onSite: iso(w.on_site_due), reply: iso(w.reply_due), citizenReply: iso(w.citizen_reply_due) },
    ...extra,
  });

  async function change(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, patch: Partial<WorkOrderRow>, action: string, reason: string | null, now: Date): Promise<WorkOrderRow> {
    const full = { ...patch, updated_at: toDbTime(now) };
    if (!(await repo(trx).updateIfVersion(w.id, Number(w.version), full))) throw versionConflict(await repo(trx).findWorkOrder(w.id));
    const before = Object.fromEntries(Object.keys(patch).map((k) => [k, (w as Record<string, unknown>)[k]]));
    await audit(trx, ctx, w, action, before, patch, reason, now);
    return (await repo(trx).findWorkOrder(w.id))!;
  }

  async function createWorkOrder(trx: Kysely<DB>, ctx: CommandContext, t: TicketRow, unitId: string, role: WorkOrderRole, plan: ClockPlan, now: Date, reason: string | null) {
    const id = newId();
    const row: DB['work_orders'] = {
      id, city_id: t.city_id, ticket_id: t.id, ticket_number: t.number, ticket_title: summaryOf(t), unit_id: unitId, role, round: Number(t.round),
      status: 'dispatched', version: 1, policy_code: plan.policy?.code ?? null, dispatched_at: toDbTime(now),
      acknowledge_due: db(plan.deadlines.acknowledge), on_site_due: db(plan.deadlines.onSite), reply_due: db(plan.deadlines.reply),
      citizen_reply_due: db(plan.deadlines.citizenReply), acknowledged_at: null, on_site_at: null, replied_at: null, result: null,
      extension_reason: null, extension_proposed_due: null, extension_count: 0, return_reason: null, returned_at: null, closed_at: null,
      created_at: toDbTime(now), updated_at: toDbTime(now),
      // What the queues filter by, as the ticket stands at dispatch (see migration 0008).
      urgency: t.urgency, category_id: t.category_id, territory_path: t.territory_path,
    };
    await repo(trx).insertWorkOrder(row);
    await insertSteps(trx, row, plan.steps);
    await audit(trx, ctx, row, 'created', null, { unitId, role, round: row.round, policyCode: row.policy_code, deadlines: unitPayload(row).deadlines }, reason, now);
    const secondRound = Number(t.round) > 1;
    await notify(trx, {
      cityId: t.city_id, event: secondRound ? 'workorder.second_handling' : 'workorder.dispatched', recipient: { kind: 'unit', id: unitId },
      ticketId: t.id, workOrderId: id, actBy: plan.deadlines.acknowledge ?? plan.deadlines.reply,
      payload: unitPayload(row, secondRound ? { comment: t.satisfaction === 'unsatisfied' ? reason : null } : {}), dedupKey: `wo:${id}:dispatched`,
    }, now);
    return row;
  }

  async function insertSteps(trx: Kysely<DB>, w: WorkOrderRow, steps: PlannedStep[]) {
    await repo(trx).insertMilestones(steps.map((s) => ({
      id: newId(), city_id: w.city_id, work_order_id: w.id, clock: s.clock, step: s.step, deadline_at: toDbTime(s.deadline),
      due_at: toDbTime(s.due), status: 'pending', fired_at: null, fired_by: null,
    })));
  }

  // The work-order steps, each shared by the lead (through the ticket) and the co-handlers (directly).

  async function acknowledgeIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, now: Date) {
    if (w.status !== 'dispatched') throw notInStatus(w, 'acknowledge', '签收', ['dispatched']);
    const late = !!w.acknowledge_due && fromDbTime(w.acknowledge_due).getTime() < now.getTime();
    await repo(trx).cancelMilestones(w.id, ['acknowledge']);
    return change(trx, ctx, w, { status: 'acknowledged', acknowledged_at: toDbTime(now) }, late ? 'acknowledged_late' : 'acknowledged', null, now);
  }

  async function returnIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, reason: string, rules: CityRules, now: Date) {
    if (!['dispatched', 'acknowledged'].includes(w.status)) throw notInStatus(w, 'return', '退回', ['dispatched', 'acknowledged']);
    const windowEnds = fromDbTime(w.dispatched_at).getTime() + rules.returnWindowHours * 3_600_000;
    if (now.getTime() > windowEnds) {
      throw conflict('RETURN_WINDOW_CLOSED', `a work order can be returned only within ${rules.returnWindowHours} h of dispatch`, `派单后 ${rules.returnWindowHours} 小时内方可退回，已超出退回时限`, {
        windowEndsAt: dbTimeToIso(toDbTime(new Date(windowEnds))),
      });
    }
    const after = await change(trx, ctx, w, { status: 'returned', return_reason: reason, returned_at: toDbTime(now) }, 'returned', reason, now);
    await notify(trx, { cityId: w.city_id, event: 'workorder.returned', recipient: { kind: 'role', id: Role.dispatcher }, ticketId: w.ticket_id, workOrderId: w.id, actBy: null, payload: unitPayload(after, { unitId: w.unit_id, reason }), dedupKey: `wo:${w.id}:returned:${w.version}` }, now);
    return after;
  }

  async function requestExtensionIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, reason: string, proposed: Date, now: Date) {
    if (w.status !== 'acknowledged') throw notInStatus(w, 'request an extension for', '申请延期', ['acknowledged']);
    const after = await change(trx, ctx, w, { status: 'extension_requested', extension_reason: reason, extension_proposed_due: toDbTime(proposed) }, 'extension_requested', reason, now);
    await notify(trx, { cityId: w.city_id, event: 'workorder.extension_requested', recipient: { kind: 'role', id: Role.dispatcher }, ticketId: w.ticket_id, workOrderId: w.id, actBy: null, payload: unitPayload(after, { unitId: w.unit_id, reason, proposedDeadline: iso(after.extension_proposed_due) }), dedupKey: `wo:${w.id}:extension_requested:${w.version}` }, now);
    return after;
  }

  async function rulingOnExtensionIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, grant: { deadline: Date; steps: PlannedStep[] } | null, reason: string | null, now: Date) {
    if (w.status !== 'extension_requested') throw notInStatus(w, grant ? 'grant an extension for' : 'refuse an extension for', grant ? '同意延期' : '驳回延期', ['extension_requested']);
    let after: WorkOrderRow;
    if (grant) {
      // The new deadline replaces the old; the old one stays in the audit trail and in the fired milestones.
      await repo(trx).cancelMilestones(w.id, ['reply']);
      after = await change(trx, ctx, w, { status: 'acknowledged', reply_due: toDbTime(grant.deadline), extension_count: Number(w.extension_count) + 1, extension_reason: null, extension_proposed_due: null }, 'extension_granted', reason, now);
      await insertSteps(trx, after, grant.steps);
    } else {
      after = await change(trx, ctx, w, { status: 'acknowledged', extension_reason: null, extension_proposed_due: null }, 'extension_refused', reason, now);
    }
    await notify(trx, { cityId: w.city_id, event: grant ? 'workorder.extension_granted' : 'workorder.extension_refused', recipient: { kind: 'unit', id: w.unit_id }, ticketId: w.ticket_id, workOrderId: w.id, actBy: date(after.reply_due), payload: unitPayload(after, { reason }), dedupKey: `wo:${w.id}:extension_ruled:${w.version}` }, now);
    return after;
  }

  async function replyIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, result: string, now: Date) {
    if (w.status !== 'acknowledged') throw notInStatus(w, 'reply to', '办结反馈', ['acknowledged']);
    await repo(trx).cancelMilestones(w.id, ['reply', 'citizenReply', 'onSite']);
    return change(trx, ctx, w, { status: 'replied', replied_at: toDbTime(now), result }, 'replied', null, now);
  }

  async function reassignIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, t: TicketRow, unitId: string, plan: ClockPlan, reason: string, now: Date) {
    if (w.status !== 'returned') throw notInStatus(w, 'reassign', '改派', ['returned']);
    await repo(trx).cancelMilestones(w.id);
    await change(trx, ctx, w, { status: 'reassigned', closed_at: toDbTime(now) }, 'reassigned', reason, now);
    return createWorkOrder(trx, ctx, t, unitId, w.role as WorkOrderRole, plan, now, reason);
  }

  async function confirmIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, plan: ClockPlan, reason: string, now: Date) {
    if (w.status !== 'returned') throw notInStatus(w, 'confirm', '审定', ['returned']);
    // 审定: the unit signs again, on a fresh acknowledgement clock; the reply deadline keeps running.
    await repo(trx).cancelMilestones(w.id, ['acknowledge']);
    const ackDue = plan.deadlines.acknowledge;
    if (ackDue) await repo(trx).deleteUnfiredMilestones(w.id, 'acknowledge', toDbTime(ackDue));
    const after = await change(trx, ctx, w, { status: 'dispatched', acknowledged_at: null, acknowledge_due: db(ackDue), return_reason: null, returned_at: null }, 'return_refused', reason, now);
    await insertSteps(trx, after, plan.steps.filter((s) => s.clock === 'acknowledge'));
    await notify(trx, { cityId: w.city_id, event: 'workorder.return_refused', recipient: { kind: 'unit', id: w.unit_id }, ticketId: w.ticket_id, workOrderId: w.id, actBy: ackDue, payload: unitPayload(after, { reason }), dedupKey: `wo:${w.id}:return_refused:${w.version}` }, now);
    return after;
  }

  async function closeAll(trx: Kysely<DB>, ctx: CommandContext, ticketId: string, status: 'completed' | 'cancelled', onlyStatuses: readonly string[] | null, reason: string | null, now: Date) {
    for (const w of await repo(trx).workOrdersOfTicket(ticketId)) {
      if (FINAL_SET.has(w.status) || (onlyStatuses && !onlyStatuses.includes(w.status))) continue;
      await repo(trx).cancelMilestones(w.id);
      await change(trx, ctx, w, { status, closed_at: toDbTime(now) }, status, reason, now);
    }
  }

  const leadOf = async (trx: Kysely<DB>, t: TicketRow) => {
    const all = await repo(trx).workOrdersOfTicket(t.id, Number(t.round));
    return all.filter((w) => w.role === 'lead' && !FINAL_SET.has(w.status)).at(-1) ?? null;
  };

  const pendingCoHandlers = (all: WorkOrderRow[]) => all.filter((w) => w.role === 'co' && OPEN_SET.has(w.status));

  /** The ticket's result: the lead's, then each co-handler's (联办), as the citizen will hear it. */
  function combinedResult(all: WorkOrderRow[], unitNames: Map<string, string>) {
    const lead = all.find((w) => w.role === 'lead' && w.status === 'replied');
    const co = all.filter((w) => w.role === 'co' && w.status === 'replied');
    return [lead?.result ?? '', ...co.map((w) => `【协办 ${unitNames.get(w.unit_id) ?? w.unit_id}】${w.result ?? ''}`)].filter(Boolean).join('\n');
  }

  // ------------------------------------------------------------------------------------------
  // Taking part in ticket transitions

  const participant: TicketTransitionParticipant = {
    /** The center's dispatch clock, when the ticket's policy has one (寿光: 1 working day from acceptance). */
    async prepareCreate(cityId, facts, now) {
      // Every registration passes here: most cities have no center clock, so ask nothing more then.
      const policies = await policiesOf(cityId);
      if (!policies.some((p) => p.limits.centerDispatch)) return [];
      const cat = await deps.lookups.categoryFacts(cityId, facts.categoryId);
      const policy = choosePolicy(policies, { type: facts.type, urgency: facts.urgency, categoryCodes: cat.categoryCodes, utility: cat.utility, categoryPolicyCode: cat.policyCode });
      const limit = policy?.limits.centerDispatch;
      if (!limit) return [];
      try {
        const cal = await deps.lookups.cityClock(cityId);
        return planClock('centerDispatch', now, cal.addTimeLimit(now, limit), ladderOf(policy), cal);
      } catch (err) {
        // A ticket is always registered: without next year's calendar its dispatch clock cannot be
        // counted (the start log and /healthz already warn about the missing year).
        if ((err as { code?: string }).code === 'CALENDAR_YEAR_MISSING') return [];
        throw err;
      }
    },

    async created(trx, t, _ctx, prepared) {
      const steps = (prepared ?? []) as PlannedStep[];
      await repo(trx).insertTicketMilestones(steps.map((s) => ({
        id: newId(), city_id: t.city_id, ticket_id: t.id, ticket_number: t.number, clock: s.clock, step: s.step,
        deadline_at: toDbTime(s.deadline), due_at: toDbTime(s.due), status: 'pending', fired_at: null, fired_by: null,
      })));
    },

    async prepare(t, input, _actor, now): Promise<Prepared> {
      switch (input.action) {
        case 'dispatch':
        case 'redispatch':
        case 'confirm_assignment':
          return { plan: await planFor(t, now) };
        case 'record_satisfaction':
          return input.satisfaction === 'unsatisfied' ? { plan: await planFor({ ...t, round: Number(t.round) + 1 }, now) } : {};
        case 'return_to_center':
        case 'approve_reply':
          return { rules: await deps.lookups.cityRules(t.city_id) };
        case 'request_extension':
          await checkCovered(t.city_id, now, new Date(input.proposedDeadline));
          return {};
        case 'grant_extension': {
          const lead = (await repo().workOrdersOfTicket(t.id, Number(t.round))).filter((w) => w.role === 'lead' && w.status === 'extension_requested').at(-1);
          if (!lead) return {};
          return { extension: await extensionPlan(lead, input.newDeadline ?? null, now) };
        }
        default:
          return {};
      }
    },

    async apply(trx, c: TicketChange, prepared) {
      const p = (prepared ?? {}) as Prepared;
      const { ctx, after: t, input, now } = c;
      const lead = () => leadOf(trx, t);
      // The center's dispatch clock stops once the ticket is no longer waiting for it.
      if (c.from === 'accepted' && c.to !== 'accepted') await repo(trx).cancelTicketMilestones(t.id);
      switch (input.action) {
        case 'dispatch': {
          if (!p.plan) throw new Error('work orders: dispatch was not prepared');
          await createWorkOrder(trx, ctx, t, t.handling_unit_id!, 'lead', p.plan, now, c.reason);
          const co = [...new Set(input.routing?.coUnitIds ?? [])].filter((u) => u !== t.handling_unit_id);
          for (const unitId of co) await createWorkOrder(trx, ctx, t, unitId, 'co', p.plan, now, c.reason);
          await repo(trx).removePoolEntry(t.id);
          return;
        }
        case 'acknowledge': {
          const w = await lead();
          if (w) await acknowledgeIn(trx, ctx, w, now);
          return;
        }
        case 'return_to_center': {
          const w = await lead();
          if (w) await returnIn(trx, ctx, w, c.reason!, p.rules!, now);
          return;
        }
        case 'redispatch': {
          const w = await lead();
          if (w && w.status === 'returned') await reassignIn(trx, ctx, w, t, t.handling_unit_id!, p.plan!, c.reason!, now);
          else await createWorkOrder(trx, ctx, t, t.handling_unit_id!, 'lead', p.plan!, now, c.reason);
          await repo(trx).removePoolEntry(t.id);
          return;
        }
        case 'confirm_assignment': {
          const w = await lead();
          if (w) await confirmIn(trx, ctx, w, p.plan!, c.reason!, now);
          return;
        }
        case 'request_extension': {
          const w = await lead();
          if (w) await requestExtensionIn(trx, ctx, w, c.reason!, new Date(input.proposedDeadline), now);
          return;
        }
        case 'grant_extension':
        case 'refuse_extension': {
          const w = await lead();
          if (!w) return;
          if (input.action === 'grant_extension' && !p.extension) throw new Error('work orders: extension was not prepared');
          await rulingOnExtensionIn(trx, ctx, w, input.action === 'grant_extension' ? p.extension! : null, c.reason, now);
          return;
        }
        case 'reply': {
          const all = await repo(trx).workOrdersOfTicket(t.id, Number(t.round));
          const pending = pendingCoHandlers(all);
          if (pending.length) {
            throw conflict('CO_HANDLERS_PENDING', `${pending.length} co-handling unit(s) have not replied yet`, `尚有 ${pending.length} 个协办单位未反馈，不能办结反馈`, { workOrderIds: pending.map((w) => w.id) });
          }
          const w = all.find((x) => x.role === 'lead' && x.status === 'acknowledged');
          if (w) await replyIn(trx, ctx, w, input.result, now);
          await notify(trx, { cityId: t.city_id, event: 'ticket.reply_to_review', recipient: { kind: 'role', id: Role.dispatcher }, ticketId: t.id, workOrderId: null, actBy: null, payload: { ticketNumber: t.number, title: t.title }, dedupKey: `t:${t.id}:reply:${t.version}` }, now);
          return;
        }
        case 'approve_reply': {
          await closeAll(trx, ctx, t.id, 'completed', ['replied'], null, now);
          const rules = p.rules!;
          if (!(await repo(trx).callbackOfRound(t.id, Number(t.round)))) {
            await repo(trx).insertCallback({
              id: newId(), city_id: t.city_id, ticket_id: t.id, round: Number(t.round), status: 'pending', version: 1, attempts: 0,
              max_attempts: rules.callbackAttempts, next_attempt_at: toDbTime(now), satisfaction: null, comment: null, answered_via: null,
              answered_at: null, created_at: toDbTime(now), updated_at: toDbTime(now),
            });
          }
          return;
        }
        case 'reject_reply': {
          // 审核退回重办: the replied work orders go back to work; their reply clocks run again.
          for (const w of await repo(trx).workOrdersOfTicket(t.id, Number(t.round))) {
            if (w.status !== 'replied') continue;
            const after = await change(trx, ctx, w, { status: 'acknowledged', replied_at: null }, 'rework', c.reason, now);
            await repo(trx).rearmMilestones(w.id, [w.reply_due, w.citizen_reply_due].filter((d): d is string => !!d));
            await notify(trx, { cityId: w.city_id, event: 'workorder.rework', recipient: { kind: 'unit', id: w.unit_id }, ticketId: w.ticket_id, workOrderId: w.id, actBy: date(w.reply_due), payload: unitPayload(after, { reason: c.reason }), dedupKey: `wo:${w.id}:rework:${w.version}` }, now);
          }
          return;
        }
        case 'start_callback':
          return;
        case 'record_satisfaction': {
          const cb = await repo(trx).openCallbackOfTicket(t.id);
          if (cb) {
            await repo(trx).updateCallbackIfVersion(cb.id, Number(cb.version), {
              status: 'answered', satisfaction: input.satisfaction, comment: input.comment ?? null, answered_at: toDbTime(now),
              answered_via: ctx.actor.role === Role.system ? 'sms' : 'call', next_attempt_at: null, updated_at: toDbTime(now),
            });
          }
          if (input.satisfaction === 'unsatisfied') {
            // 二次办理: the same units, a new round, new clocks.
            const previous = (await repo(trx).workOrdersOfTicket(t.id, Number(c.before.round))).filter((w) => w.status === 'completed');
            const units = previous.length ? previous : [{ unit_id: t.handling_unit_id!, role: 'lead' }];
            for (const w of units) await createWorkOrder(trx, ctx, t, w.unit_id, w.role as WorkOrderRole, p.plan!, now, input.comment ?? '群众不满意，二次办理');
          }
          return;
        }
        case 'close_without_answer':
        case 'close': {
          const cb = await repo(trx).openCallbackOfTicket(t.id);
          if (cb) {
            await repo(trx).updateCallbackIfVersion(cb.id, Number(cb.version), { status: input.action === 'close' ? 'skipped' : 'no_answer', next_attempt_at: null, updated_at: toDbTime(now) });
          }
          return;
        }
        case 'merge':
        case 'cancel':
          await closeAll(trx, ctx, t.id, 'cancelled', null, c.reason, now);
          await repo(trx).removePoolEntry(t.id);
          return;
        default:
          return;
      }
    },
  };
  deps.tickets.addParticipant(participant);

  /** Refuses a date the working-time clock cannot count to (a year not loaded) or that is not ahead. */
  async function checkCovered(cityId: string, now: Date, when: Date, field: 'proposedDeadline' | 'newDeadline' = 'proposedDeadline') {
    if (Number.isNaN(when.getTime()) || when.getTime() <= now.getTime()) {
      throw badRequest('DEADLINE_IN_PAST', 'the deadline must be in the future', '延期时间必须晚于当前时间', { field });
    }
    const cal = await deps.lookups.cityClock(cityId);
    cal.workingMinutesBetween(now, when); // CALENDAR_YEAR_MISSING (422) when a year between is not loaded
  }

  async function extensionPlan(w: WorkOrderRow, newDeadline: string | null, now: Date) {
    const deadline = newDeadline ? new Date(newDeadline) : date(w.extension_proposed_due);
    if (!deadline) throw badRequest('FIELD_REQUIRED', 'a new deadline is required', '须指定新的办结时限', { field: 'newDeadline' });
    await checkCovered(w.city_id, now, deadline, 'newDeadline');
    if (w.reply_due && deadline.getTime() <= fromDbTime(w.reply_due).getTime()) {
      throw badRequest('EXTENSION_NOT_LATER', 'the new deadline must be later than the current one', '新的办结时限须晚于现办结时限', { field: 'newDeadline', currentDeadline: iso(w.reply_due) });
    }
    const cal = await deps.lookups.cityClock(w.city_id);
    const ladder = await ladderForCode(w.city_id, w.policy_code);
    return { deadline, steps: planClock('reply', now, deadline, ladder, cal) };
  }

  // ------------------------------------------------------------------------------------------
  // Commands

  function canSeeWorkOrder(actor: Actor, w: WorkOrderRow) {
    if (w.city_id !== actor.cityId) return false;
    if (isCenter(actor)) return true;
    return UNIT_ROLES.has(actor.role) && !!actor.unitId && actor.unitId === w.unit_id;
  }

  async function loadVisible(q: Kysely<DB>, actor: Actor, id: string) {
    // Inside a command's transaction the row is locked first: concurrent commands on it take turns.
    const w = q.isTransaction ? await repo(q).findWorkOrderForUpdate(id) : await repo(q).findWorkOrder(id);
    if (!w || !canSeeWorkOrder(actor, w)) throw notFound('WORK_ORDER_NOT_FOUND', `work order ${id} not found`, `工单 ${id} 不存在`);
    return w;
  }

  const requireUnit = (actor: Actor, zh: string) => {
    if (!UNIT_ROLES.has(actor.role)) throw forbidden('ROLE_FORBIDDEN', `only the handling unit may ${zh}`, `仅承办单位可以${zh}`);
  };
  const requireCenter = (actor: Actor, zh: string, roles: readonly string[] = [Role.dispatcher, Role.supervisor, Role.admin]) => {
    if (!roles.includes(actor.role)) throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not ${zh}`, `角色 ${actor.role} 无权${zh}`);
  };

  /** Runs a work-order command: one transaction (idempotent by key), then the events. */
  async function command<T>(ctx: CommandContext, name: string, id: string, request: unknown, work: (trx: Kysely<DB>, now: Date, after: (f: () => void) => void) => Promise<T>) {
    const now = clock.now();
    const afterCommit: (() => void)[] = [];
    const { value, replayed } = await runInTransaction(
      deps.db,
      { scope: idemScope(ctx), key: ctx.idempotencyKey, command: `workorder.${name}:${id}`, request },
      (trx) => {
        afterCommit.length = 0; // a retried transaction starts again
        return work(trx, now, (f) => afterCommit.push(f));
      },
      () => clock.now(),
    );
    if (!replayed) {
      for (const f of afterCommit) f();
      deps.kick?.();
    }
    return { value, replayed };
  }

  /**
   * Whether this is a retry of a command that already ran (its Idempotency-Key is stored for it): the
   * checks made before the command against the state it changed must not refuse it then; the command
   * replays its first answer.
   */
  async function isRetry(ctx: CommandContext, name: string, id: string) {
    if (!ctx.idempotencyKey) return false;
    return (await idempotentCommandOf(deps.db, idemScope(ctx), ctx.idempotencyKey)) === `workorder.${name}:${id}`;
  }

  /**
   * Announces changed work orders: `workorder.changed` for each row inside the command's transaction
   * (the live feed stages it there, with the reminders the transaction sees), and after the commit.
   * Returns the after-commit part.
   */
  async function changedWithin(trx: Kysely<DB>, rows: WorkOrderRow[], action: string): Promise<() => void> {
    const reminders = await remindersOf(rows.map((w) => w.id), trx);
    const now = clock.now();
    const payloads = rows.map((w) => ({ workOrder: w, action, view: toWorkOrderView(w, now, reminders.get(w.id)) }));
    for (const p of payloads) await events.emitWithin(trx, 'workorder.changed', p);
    return () => payloads.forEach((p) => events.emit('workorder.changed', p));
  }

  async function viewOf(actor: Actor, id: string) {
    return toWorkOrderView(await loadVisible(deps.db, actor, id), clock.now(), (await remindersOf([id])).get(id));
  }

  /** The reminder time of each running clock (the ladder's at-risk point), by work order. */
  async function remindersOf(ids: string[], q: Kysely<DB> = deps.db) {
    const out = new Map<string, Partial<Record<Clock, Date>>>();
    for (const m of await repo(q).remindersOf(ids)) {
      const forOrder = out.get(m.work_order_id) ?? {};
      forOrder[m.clock as Clock] = fromDbTime(m.due_at);
      out.set(m.work_order_id, forOrder);
    }
    return out;
  }

  async function ticketOfWorkOrder(w: WorkOrderRow) {
    return deps.tickets.getTicketRow(systemActor(w.city_id), w.ticket_id);
  }

  /** A claim-pool entry as listed: the ticket's title, place and category, never its citizen. */
  async function poolItemOf(e: ClaimPoolRow) {
    const t = await deps.tickets.getTicketRow(systemActor(e.city_id), e.ticket_id);
    return { ticketId: e.ticket_id, number: t.number, title: t.title, situation: t.situation, addressText: t.address_text, categoryId: t.category_id, reason: e.reason, offeredAt: iso(e.offered_at)! };
  }

  const unitNamesOf = async (rows: WorkOrderRow[]) => {
    const names = new Map<string, string>();
    for (const w of rows) if (!names.has(w.unit_id)) names.set(w.unit_id, (await deps.lookups.unit(w.unit_id))?.name ?? w.unit_id);
    return names;
  };

  const service = {
    events,
    participant,
    nodeId: node,

    /**
     * Queues a notice from another part (hotspot warnings, …) in the work-order outbox, inside the
     * caller's transaction: the bell lists it and the sinks deliver it like the work orders' own
     * (the live feed; SMS only for the events it knows). A repeat of a `dedupKey` is dropped.
     */
    async notifyWithin(trx: Kysely<DB>, n: OutsideNotice): Promise<void> {
      if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(n.event ?? '')) throw badRequest('NOTICE_EVENT_INVALID', `a notice's event is dotted lower-case words (got ${JSON.stringify(n.event)})`, '通知事件名格式有误');
      if (!n.dedupKey?.trim()) throw badRequest('NOTICE_DEDUP_KEY_REQUIRED', 'a notice needs a dedupKey (its repeats are dropped by it)', '通知缺少去重键');
      if (!NOTICE_RECIPIENT_KINDS.has(n.recipient?.kind) || !n.recipient.id) throw badRequest('NOTICE_RECIPIENT_INVALID', `unknown recipient ${JSON.stringify(n.recipient)}`, '通知接收方有误');
      await notify(trx, { cityId: n.cityId, event: n.event, recipient: n.recipient, ticketId: n.ticketId ?? null, workOrderId: n.workOrderId ?? null, actBy: n.actBy ?? null, payload: n.payload, dedupKey: n.dedupKey }, clock.now());
    },

    async get(actor: Actor, id: string) {
      const w = await loadVisible(deps.db, actor, id);
      const [notes, attachments, history, ticketRow, supervision, reminders] = await Promise.all([
        repo().notesOf(id),
        repo().attachmentsOf(id),
        listAudit(deps.db, 'work_order', id),
        ticketOfWorkOrder(w),
        repo().supervisionOrdersOf(id),
        remindersOf([id]),
      ]);
      const unit = await deps.lookups.unit(w.unit_id);
      return {
        ...toWorkOrderView(w, clock.now(), reminders.get(id)),
        unitName: unit?.name ?? null,
        // The ticket as this viewer may see it: masked phone for units, no citizen at all when confidential.
        ticket: deps.tickets.view(ticketRow, actor),
        notes: notes.map((n) => ({ id: n.id, kind: n.kind, text: n.text, authorName: n.author_name, createdAt: iso(n.created_at)! })),
        attachments: attachments.map((a) => ({ id: a.id, fileName: a.file_name, contentType: a.content_type, size: Number(a.size), sha256: a.sha256, createdAt: iso(a.created_at)! })),
        supervisionOrders: supervision.map(toSupervisionView),
        history: history.map((h) => ({ id: h.id, at: h.at, action: h.action, actorId: h.actorId, actorRole: h.actorRole, reason: h.reason, after: h.after })),
      };
    },

    /**
     * Lists work orders by queue, one page, with filters and a sort; a unit sees its own only.
     * Every filter is applied in SQL, so `total` counts the whole queue, not the page.
     */
    async list(actor: Actor, q: WorkOrderListQuery, page = 1, pageSize = 50) {
      const now = clock.now();
      let unitId: string | null = q.unitId ?? null;
      if (!isCenter(actor)) {
        if (!UNIT_ROLES.has(actor.role) || !actor.unitId) throw forbidden('ROLE_FORBIDDEN', 'work orders are for the center and the units', '仅热线中心和承办单位可查看工单');
        unitId = actor.unitId;
      }
      const queue = q.queue ?? 'open';
      const statuses: Record<Queue, readonly string[] | undefined> = {
        to_acknowledge: ['dispatched'], returned: ['returned'], extension_requested: ['extension_requested'], to_review: ['replied'],
        overdue: ['dispatched', 'acknowledged', 'extension_requested'], at_risk: ['dispatched', 'acknowledged', 'extension_requested'],
        open: [...OPEN_STATUSES, 'replied'], all: undefined,
      };
      let territoryPath: string | undefined;
      if (q.territoryId) {
        const t = await deps.lookups.territory?.(q.territoryId);
        if (!t || t.cityId !== actor.cityId) throw badRequest('TERRITORY_NOT_FOUND', `territory ${q.territoryId} does not exist`, `区域 ${q.territoryId} 不存在`, { field: 'territoryId' });
        territoryPath = t.path;
      }
      const r = await repo().listWorkOrders(
        {
          cityId: actor.cityId, unitId, statuses: statuses[queue], ticketId: q.ticketId, role: queue === 'to_review' ? 'lead' : undefined,
          dueBefore: queue === 'overdue' ? toDbTime(now) : undefined,
          atRiskAt: queue === 'at_risk' ? toDbTime(now) : undefined,
          urgencies: q.urgency, categoryId: q.categoryId, territoryPath,
          replyDueFrom: q.deadlineFrom ? toDbTime(q.deadlineFrom) : undefined, replyDueTo: q.deadlineTo ? toDbTime(q.deadlineTo) : undefined,
        },
        (page - 1) * pageSize, pageSize, q.sort, q.order,
      );
      const reminders = await remindersOf(r.items.map((w) => w.id));
      const items = r.items.map((w) => toWorkOrderView(w, now, reminders.get(w.id)));
      const names = await unitNamesOf(r.items);
      return { items: items.map((w) => ({ ...w, unitName: names.get(w.unitId) ?? null })), total: r.total, page, pageSize };
    },

    /** 签收 acknowledge. The lead's acknowledgement acknowledges the ticket. A late one is accepted and recorded as late. */
    async acknowledge(ctx: CommandContext, id: string, version: number) {
      requireUnit(ctx.actor, '签收');
      const { value } = await command(ctx, 'acknowledge', id, { version }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        if (w.role === 'lead' && w.status === 'dispatched') {
          after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, { action: 'acknowledge' }, { now, trusted: true })).emit);
        } else after(await changedWithin(trx, [await acknowledgeIn(trx, ctx, w, now)], 'acknowledged'));
        return w.id;
      });
      return viewOf(ctx.actor, value);
    },

    /** 到场 someone is on site. For the lead this starts the ticket's handling (办理中). */
    async recordOnSite(ctx: CommandContext, id: string, version: number, note?: string | null) {
      requireUnit(ctx.actor, '登记到场');
      await command(ctx, 'on_site', id, { version, note }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        if (w.on_site_at) throw conflict('ALREADY_ON_SITE', 'arrival on site was already recorded', '已登记到场', { onSiteAt: iso(w.on_site_at) });
        if (w.status !== 'acknowledged') throw notInStatus(w, 'record arrival on', '登记到场', ['acknowledged']);
        await repo(trx).cancelMilestones(w.id, ['onSite']);
        const updated = await change(trx, ctx, w, { on_site_at: toDbTime(now) }, 'on_site', note?.trim() || null, now);
        if (note?.trim()) await repo(trx).insertNote({ id: newId(), work_order_id: id, kind: 'on_site', text: note.trim(), author_id: ctx.actor.id, author_name: ctx.actor.name, created_at: toDbTime(now) });
        after(await changedWithin(trx, [updated], 'on_site'));
        if (w.role === 'lead') {
          if ((await deps.tickets.statusWithin(trx, w.ticket_id)) === 'acknowledged') after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, { action: 'start_handling' }, { now, trusted: true })).emit);
        }
      });
      return viewOf(ctx.actor, id);
    },

    /** 办理进展: a progress note. */
    async addNote(ctx: CommandContext, id: string, text: string) {
      const body = requireText(text, 'text', 'a note needs text', '请填写办理进展');
      await command(ctx, 'note', id, { text: body }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (!isCenter(ctx.actor) && FINAL_SET.has(w.status)) throw notInStatus(w, 'add a note to', '添加进展', OPEN_STATUSES);
        const noteId = newId();
        await repo(trx).insertNote({ id: noteId, work_order_id: id, kind: 'progress', text: body, author_id: ctx.actor.id, author_name: ctx.actor.name, created_at: toDbTime(now) });
        await audit(trx, ctx, w, 'note_added', null, { noteId, text: body }, null, now);
        after(await changedWithin(trx, [w], 'note_added'));
      });
      return service.get(ctx.actor, id);
    },

    /** Stores a photo or document (on disk or S3) and records it on the work order. */
    async addAttachment(ctx: CommandContext, id: string, file: { fileName: string; contentType: string; body: Buffer }) {
      const w = await loadVisible(deps.db, ctx.actor, id);
      if (!isCenter(ctx.actor) && FINAL_SET.has(w.status)) throw notInStatus(w, 'attach to', '上传附件', OPEN_STATUSES);
      if (!ALLOWED_ATTACHMENT_TYPES.has(file.contentType)) {
        throw badRequest('ATTACHMENT_TYPE', `files of type ${file.contentType} are not accepted`, `不支持的附件类型：${file.contentType}`, { field: 'file', allowed: [...ALLOWED_ATTACHMENT_TYPES] });
      }
      if (file.body.length === 0) throw badRequest('ATTACHMENT_EMPTY', 'the file is empty', '附件为空', { field: 'file' });
      if (file.body.length > maxAttachmentBytes) throw attachmentTooLarge(maxAttachmentBytes);
      const sha256 = createHash('sha256').update(file.body).digest('hex');
      const attachmentId = newId();
      const key = `${w.city_id}/${w.ticket_id}/${attachmentId}${extname(file.fileName).toLowerCase().replace(/[^.a-z0-9]/g, '').slice(0, 10)}`;
      // The file first, then the row: a crash between leaves an orphan file, never a row without its file.
      await deps.storage.put(key, file.body, file.contentType);
      // The answer is the one the command stored: a retry with the same key gets the first upload's id.
      const { value } = await command(ctx, 'attachment', id, { sha256, fileName: file.fileName }, async (trx, now, after) => {
        const cur = await loadVisible(trx, ctx.actor, id);
        await repo(trx).insertAttachment({ id: attachmentId, work_order_id: id, file_name: file.fileName.slice(0, 255), content_type: file.contentType, size: file.body.length, sha256, storage_key: key, uploaded_by: ctx.actor.id, created_at: toDbTime(now) });
        await audit(trx, ctx, cur, 'attachment_added', null, { attachmentId, fileName: file.fileName, size: file.body.length, sha256 }, null, now);
        after(await changedWithin(trx, [cur], 'attachment_added'));
        return { id: attachmentId, fileName: file.fileName, contentType: file.contentType, size: file.body.length, sha256 };
      });
      return value;
    },

    async readAttachment(actor: Actor, workOrderId: string, attachmentId: string) {
      await loadVisible(deps.db, actor, workOrderId);
      const a = await repo().findAttachment(attachmentId);
      if (!a || a.work_order_id !== workOrderId) throw notFound('ATTACHMENT_NOT_FOUND', 'attachment not found', '附件不存在');
      return { fileName: a.file_name, contentType: a.content_type, body: await deps.storage.get(a.storage_key) };
    },

    /** 办结反馈: the unit's result. The ticket is replied when the lead and every co-handler have replied. */
    async reply(ctx: CommandContext, id: string, version: number, result: string) {
      requireUnit(ctx.actor, '办结反馈');
      const text = requireText(result, 'result', 'a reply needs the result', '办结反馈须填写办理结果');
      const w0 = await loadVisible(deps.db, ctx.actor, id);
      const names = await unitNamesOf(await repo().workOrdersOfTicket(w0.ticket_id, Number(w0.round)));
      await command(ctx, 'reply', id, { version, result: text }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        const replied = await replyIn(trx, ctx, w, text, now);
        const all = await repo(trx).workOrdersOfTicket(w.ticket_id, Number(w.round));
        const leadReplied = all.some((x) => x.role === 'lead' && x.status === 'replied');
        if (leadReplied && pendingCoHandlers(all).length === 0) {
          after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, { action: 'reply', result: combinedResult(all, names) }, { now, trusted: true })).emit);
        } else after(await changedWithin(trx, [replied], 'replied'));
      });
      return viewOf(ctx.actor, id);
    },

    /** 申请延期 with a reason and a proposed deadline the calendar can count to. */
    async requestExtension(ctx: CommandContext, id: string, version: number, reason: string, proposedDeadline: string) {
      requireUnit(ctx.actor, '申请延期');
      const why = requireText(reason, 'reason', 'a reason is required', '必须填写延期原因');
      const w0 = await loadVisible(deps.db, ctx.actor, id);
      const proposed = new Date(proposedDeadline);
      await checkCovered(w0.city_id, clock.now(), proposed);
      if (w0.reply_due && proposed.getTime() <= fromDbTime(w0.reply_due).getTime()) {
        throw badRequest('EXTENSION_NOT_LATER', 'the proposed deadline must be later than the current one', '申请的延期时间须晚于现办结时限', { field: 'proposedDeadline', currentDeadline: iso(w0.reply_due) });
      }
      await command(ctx, 'request_extension', id, { version, reason: why, proposedDeadline }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        if (w.role === 'lead' && w.status === 'acknowledged') {
          after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, { action: 'request_extension', reason: why, proposedDeadline }, { now, trusted: true })).emit);
        } else after(await changedWithin(trx, [await requestExtensionIn(trx, ctx, w, why, proposed, now)], 'extension_requested'));
      });
      return viewOf(ctx.actor, id);
    },

    /** 退回: the unit says the ticket is not its own, within the city's window after dispatch. */
    async returnToCenter(ctx: CommandContext, id: string, version: number, reason: string) {
      requireUnit(ctx.actor, '退回');
      const why = requireText(reason, 'reason', 'a reason is required', '必须填写退回原因');
      const w0 = await loadVisible(deps.db, ctx.actor, id);
      const rules = await deps.lookups.cityRules(w0.city_id);
      const prepared = w0.role === 'lead' ? await deps.tickets.prepareTransition(ctx.actor, w0.ticket_id, { action: 'return_to_center', reason: why }, clock.now()) : undefined;
      await command(ctx, 'return', id, { version, reason: why }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        if (w.role === 'lead' && ['dispatched', 'acknowledged'].includes(w.status)) {
          after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, { action: 'return_to_center', reason: why }, { now, trusted: true, prepared })).emit);
        } else after(await changedWithin(trx, [await returnIn(trx, ctx, w, why, rules, now)], 'returned'));
      });
      return viewOf(ctx.actor, id);
    },

    /** The center rules on a return: 改派 to another unit, or 审定 — the unit keeps it. */
    async ruleOnReturn(ctx: CommandContext, id: string, version: number, ruling: { decision: 'redispatch' | 'confirm'; handlingUnitId?: string | null; reason: string }) {
      requireCenter(ctx.actor, '审核退回');
      const why = requireText(ruling.reason, 'reason', 'a reason is required', '必须填写审核意见');
      const w0 = await loadVisible(deps.db, ctx.actor, id);
      const retry = await isRetry(ctx, 'return_ruling', id);
      if (w0.status !== 'returned' && !retry) throw notInStatus(w0, 'rule on the return of', '审核退回', ['returned']);
      let unitId: string | null = null;
      if (ruling.decision === 'redispatch') {
        unitId = ruling.handlingUnitId ?? null;
        if (!unitId) throw badRequest('FIELD_REQUIRED', 'the unit to re-dispatch to is required', '改派须指定承办单位', { field: 'handlingUnitId' });
        const u = await deps.lookups.unit(unitId);
        if (!u || u.cityId !== w0.city_id || !u.active) throw badRequest('UNIT_NOT_FOUND', `unit ${unitId} not found`, `承办单位 ${unitId} 不存在或已停用`, { field: 'handlingUnitId' });
        if (unitId === w0.unit_id) throw badRequest('SAME_UNIT', 'to keep the same unit, confirm instead of re-dispatching', '改派单位与原单位相同，请选择「审定原单位」', { field: 'handlingUnitId' });
      }
      const input: TransitionInput = ruling.decision === 'redispatch' ? { action: 'redispatch', handlingUnitId: unitId!, reason: why } : { action: 'confirm_assignment', reason: why };
      const ticket = await ticketOfWorkOrder(w0);
      const prepared = w0.role === 'lead' ? await deps.tickets.prepareTransition(ctx.actor, w0.ticket_id, input, clock.now()) : undefined;
      const plan = w0.role === 'co' ? await planFor(ticket, clock.now()) : undefined;
      const { value } = await command(ctx, 'return_ruling', id, { version, ...ruling }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        if (w.role === 'lead') {
          after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, input, { now, prepared })).emit);
        } else if (ruling.decision === 'redispatch') {
          const fresh = await reassignIn(trx, ctx, w, ticket, unitId!, plan!, why, now);
          after(await changedWithin(trx, [(await repo(trx).findWorkOrder(id))!, fresh], 'reassigned'));
        } else after(await changedWithin(trx, [await confirmIn(trx, ctx, w, plan!, why, now)], 'return_refused'));
        const rows = await repo(trx).workOrdersOfTicket(w.ticket_id, Number(w.round));
        // After a re-dispatch the open work order is the new unit's.
        return rows.filter((x) => x.role === w.role && !FINAL_SET.has(x.status)).at(-1)?.id ?? id;
      });
      return viewOf(ctx.actor, value);
    },

    /** The center grants (the new deadline replaces the old; the old stays in history) or refuses an extension. */
    async ruleOnExtension(ctx: CommandContext, id: string, version: number, ruling: { decision: 'grant' | 'refuse'; newDeadline?: string | null; reason?: string | null }) {
      requireCenter(ctx.actor, '审批延期');
      const w0 = await loadVisible(deps.db, ctx.actor, id);
      const retry = await isRetry(ctx, 'extension_ruling', id);
      if (w0.status !== 'extension_requested' && !retry) throw notInStatus(w0, 'rule on an extension of', '审批延期', ['extension_requested']);
      const reason = ruling.reason?.trim() || null;
      if (ruling.decision === 'refuse' && !reason) throw badRequest('FIELD_REQUIRED', 'a reason is required to refuse', '驳回延期须填写原因', { field: 'reason' });
      const input: TransitionInput = ruling.decision === 'grant'
        ? { action: 'grant_extension', newDeadline: ruling.newDeadline ?? null, reason }
        : { action: 'refuse_extension', reason: reason! };
      const prepared = w0.role === 'lead' ? await deps.tickets.prepareTransition(ctx.actor, w0.ticket_id, input, clock.now()) : undefined;
      const grant = w0.role === 'co' && ruling.decision === 'grant' && !retry ? await extensionPlan(w0, ruling.newDeadline ?? null, clock.now()) : null;
      await command(ctx, 'extension_ruling', id, { version, ...ruling }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, id);
        if (Number(w.version) !== version) throw versionConflict(w);
        if (w.role === 'lead') after((await deps.tickets.transitionWithin(trx, ctx, w.ticket_id, input, { now, prepared })).emit);
        else after(await changedWithin(trx, [await rulingOnExtensionIn(trx, ctx, w, grant, reason, now)], ruling.decision === 'grant' ? 'extension_granted' : 'extension_refused'));
      });
      return viewOf(ctx.actor, id);
    },

    /** 审核: the center accepts the ticket's reply (then the citizen is called back) or sends it back for rework. */
    async reviewReply(ctx: CommandContext, ticketId: string, review: { decision: 'accept' | 'rework'; reason?: string | null }) {
      requireCenter(ctx.actor, '审核反馈');
      const reason = review.reason?.trim() || null;
      if (review.decision === 'rework' && !reason) throw badRequest('FIELD_REQUIRED', 'a reason is required for rework', '退回重办须填写原因', { field: 'reason' });
      const input: TransitionInput = review.decision === 'accept' ? { action: 'approve_reply', note: reason } : { action: 'reject_reply', reason: reason! };
      const prepared = await deps.tickets.prepareTransition(ctx.actor, ticketId, input, clock.now());
      await command(ctx, 'review', ticketId, review, async (trx, now, after) => {
        after((await deps.tickets.transitionWithin(trx, ctx, ticketId, input, { now, prepared })).emit);
      });
      return deps.tickets.view(await deps.tickets.getTicketRow(ctx.actor, ticketId), ctx.actor);
    },

    // --- claim pool (认领) -------------------------------------------------------------------

    /** The center puts a hard ticket in the pool for a unit to claim. */
    async offerForClaim(ctx: CommandContext, ticketId: string, reason: string) {
      requireCenter(ctx.actor, '发布认领');
      const why = requireText(reason, 'reason', 'a reason is required', '必须填写发布认领的原因');
      const t = await deps.tickets.getTicketRow(ctx.actor, ticketId);
      if (!['accepted', 'returned'].includes(t.status)) {
        throw conflict('TICKET_NOT_CLAIMABLE', 'only tickets waiting for dispatch can be offered for claim', '仅待派单或已退回的工单可发布认领', { status: t.status });
      }
      await command(ctx, 'offer', ticketId, { reason: why }, async (trx, now) => {
        const inPool = () => conflict('ALREADY_IN_POOL', 'the ticket is already in the claim pool', '该工单已在认领池中');
        if (await repo(trx).findPoolEntry(ticketId)) throw inPool();
        // Two offers at once both find no entry; the ticket id is the pool's key and stops the second.
        await onUniqueViolation(
          () => repo(trx).insertPoolEntry({ ticket_id: ticketId, city_id: t.city_id, reason: why, offered_by: ctx.actor.id, offered_at: toDbTime(now), claimed_by_unit_id: null, claimed_at: null }),
          inPool,
        );
        await recordAudit(trx, ctx, { entityType: 'ticket', entityId: ticketId, action: 'ticket.offered_for_claim', after: { reason: why }, reason: why, cityId: t.city_id }, now);
      });
      // The entry just made (in a list, as this answer has always been): the pool itself is paged (GET /claim-pool).
      const entry = await repo().findPoolEntry(ticketId);
      return entry ? [await poolItemOf(entry)] : [];
    },

    /**
     * The open pool, one page, the longest waiting first: tickets any unit of the city may claim
     * (title and category only; no citizen); `total` counts the whole pool.
     */
    async pool(actor: Actor, page = 1, pageSize = 50) {
      if (!isCenter(actor) && !UNIT_ROLES.has(actor.role)) throw forbidden('ROLE_FORBIDDEN', 'the claim pool is for the center and the units', '仅热线中心和承办单位可查看认领池');
      const r = await repo().openPool(actor.cityId, (page - 1) * pageSize, pageSize);
      const items = [];
      for (const e of r.items) items.push(await poolItemOf(e));
      return { items, total: r.total, page, pageSize };
    },

    /** 认领: the first unit to claim gets the ticket, dispatched to it with fresh clocks. */
    async claim(ctx: CommandContext, ticketId: string) {
      requireUnit(ctx.actor, '认领');
      const unitId = ctx.actor.unitId!;
      const sys = systemActor(ctx.actor.cityId);
      const t0 = await deps.tickets.getTicketRow(sys, ticketId);
      const input: TransitionInput = t0.status === 'returned'
        ? { action: 'redispatch', handlingUnitId: unitId, reason: '单位认领' }
        : { action: 'dispatch', handlingUnitId: unitId, note: '单位认领', routing: { rule: 'claimed', responsibilityVersionId: null, plannedUnitId: null, coUnitIds: [] } };
      const prepared = await deps.tickets.prepareTransition(sys, ticketId, input, clock.now());
      await command(ctx, 'claim', ticketId, {}, async (trx, now, after) => {
        if (!(await repo(trx).claimPoolEntry(ticketId, unitId, toDbTime(now)))) {
          throw conflict('ALREADY_CLAIMED', 'the ticket is not in the pool or another unit claimed it first', '该工单不在认领池中或已被其他单位认领');
        }
        after((await deps.tickets.transitionWithin(trx, ctx, ticketId, input, { now, trusted: true, prepared })).emit);
      });
      const rows = await repo().workOrdersOfTicket(ticketId);
      return toWorkOrderView(rows.filter((w) => w.unit_id === unitId).at(-1)!, clock.now());
    },

    // --- supervision orders (督办单) ---------------------------------------------------------

    async raiseSupervisionOrder(ctx: CommandContext, workOrderId: string, reason: string) {
      requireCenter(ctx.actor, '督办', [Role.supervisor, Role.dispatcher, Role.admin]);
      const why = requireText(reason, 'reason', 'a reason is required', '必须填写督办事由');
      const { value } = await command(ctx, 'supervise', workOrderId, { reason: why }, async (trx, now, after) => {
        const w = await loadVisible(trx, ctx.actor, workOrderId);
        if (FINAL_SET.has(w.status)) throw notInStatus(w, 'supervise', '督办', OPEN_STATUSES);
        after(await changedWithin(trx, [w], 'supervised'));
        return superviseIn(trx, ctx, w, 'manual', why, now, `so:manual:${newId()}`);
      });
      return toSupervisionView((await repo().findSupervisionOrder(value))!);
    },

    /** Supervision orders (督办单), one page, the newest first (a unit: its own); `total` counts them all. */
    async listSupervisionOrders(actor: Actor, status?: string, page = 1, pageSize = 50) {
      if (!isCenter(actor) && !UNIT_ROLES.has(actor.role)) throw forbidden('ROLE_FORBIDDEN', 'supervision orders are for the center and the units', '仅热线中心和承办单位可查看督办单');
      const r = await repo().listSupervisionOrders({ cityId: actor.cityId, unitId: isCenter(actor) ? null : actor.unitId, status }, (page - 1) * pageSize, pageSize);
      const items = r.items.map((so) => ({ ...toSupervisionView(so), ticketNumber: so.ticket_number, ticketTitle: so.ticket_title }));
      return { items, total: r.total, page, pageSize };
    },

    async answerSupervisionOrder(ctx: CommandContext, id: string, answer: string) {
      requireUnit(ctx.actor, '答复督办');
      const text = requireText(answer, 'answer', 'an answer is required', '请填写督办答复');
      await command(ctx, 'supervision_answer', id, { answer: text }, async (trx, now) => {
        const so = await repo(trx).findSupervisionOrder(id);
        if (!so || so.city_id !== ctx.actor.cityId || so.unit_id !== ctx.actor.unitId) throw notFound('SUPERVISION_ORDER_NOT_FOUND', 'supervision order not found', '督办单不存在');
        if (!(await repo(trx).answerSupervisionOrder(id, { status: 'answered', answer: text, answered_by: ctx.actor.id, answered_at: toDbTime(now) }))) {
          throw conflict('SUPERVISION_ORDER_ANSWERED', 'the supervision order was already answered', '该督办单已答复');
        }
        await recordAudit(trx, ctx, { entityType: 'supervision_order', entityId: id, action: 'supervision.answered', after: { answer: text }, cityId: so.city_id }, now);
        await notify(trx, { cityId: so.city_id, event: 'supervision.answered', recipient: { kind: 'role', id: Role.supervisor }, ticketId: so.ticket_id, workOrderId: so.work_order_id, actBy: null, payload: { supervisionOrderId: id, answer: text }, dedupKey: `so:${id}:answered` }, now);
      });
      const so = (await repo().findSupervisionOrder(id))!;
      return toSupervisionView(so);
    },

    // --- callbacks (回访) ----------------------------------------------------------------------

    /** Callbacks (回访), one page, the next attempt first; `total` counts them all. */
    async listCallbacks(actor: Actor, status: 'due' | 'pending' | 'all' = 'due', page = 1, pageSize = 50) {
      requireCenter(actor, '查看回访', [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]);
      const r = await repo().listCallbacks({
        cityId: actor.cityId,
        statuses: status === 'all' ? undefined : ['pending', 'surveying'],
        dueBefore: status === 'due' ? toDbTime(clock.now()) : undefined,
      }, (page - 1) * pageSize, pageSize);
      const items = await Promise.all(r.items.map(async (c) => ({ ...toCallbackView(c), ticket: deps.tickets.view(await deps.tickets.getTicketRow(actor, c.ticket_id), actor) })));
      return { items, total: r.total, page, pageSize };
    },

    /** An agent reached the citizen (or the SMS survey was answered): the rating decides close or second handling. */
    async recordCallbackResult(ctx: CommandContext, callbackId: string, r: { satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied'; comment?: string | null }) {
      if (ctx.actor.role !== Role.system) requireCenter(ctx.actor, '登记回访结果', [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]);
      const cb = await repo().findCallback(callbackId);
      if (!cb || cb.city_id !== ctx.actor.cityId) throw notFound('CALLBACK_NOT_FOUND', 'callback not found', '回访任务不存在');
      return rate(ctx, cb, r);
    },

    /** A rating that arrives for a ticket (SMS reply, web form): refused unless the ticket is being called back. */
    async rateTicket(ctx: CommandContext, ticketId: string, r: { satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied'; comment?: string | null }) {
      // The citizen's rating comes through the center (or its SMS gateway), never from the unit being rated.
      if (ctx.actor.role !== Role.system) requireCenter(ctx.actor, '登记评价', [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]);
      const t = await deps.tickets.getTicketRow(ctx.actor, ticketId);
      // A retry of a rating that went through answers with that callback, as it is now.
      if (await isRetry(ctx, 'rate', ticketId)) {
        const last = await repo().lastCallbackOfTicket(ticketId);
        if (last) return toCallbackView(last);
      }
      const cb = await repo().openCallbackOfTicket(ticketId);
      if (!cb) {
        throw conflict('CALLBACK_NOT_OPEN', 'the ticket has no reply to rate yet', '该工单尚未办结反馈或不在回访中，不能评价', { status: t.status });
      }
      return rate(ctx, cb, r, ticketId);
    },

    /** An agent's call went unanswered; after the last attempt the ticket closes with a note. */
    async recordCallbackAttempt(ctx: CommandContext, callbackId: string, outcome: 'no_answer') {
      requireCenter(ctx.actor, '登记回访', [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]);
      const cb = await repo().findCallback(callbackId);
      if (!cb || cb.city_id !== ctx.actor.cityId) throw notFound('CALLBACK_NOT_FOUND', 'callback not found', '回访任务不存在');
      const rules = await deps.lookups.cityRules(cb.city_id);
      await attempt(ctx, cb, rules, outcome);
      return toCallbackView((await repo().findCallback(callbackId))!);
    },

    // --- the sweep: the ladder, callbacks, the outbox ------------------------------------------

    /**
     * Fires every due milestone and callback attempt, then delivers the outbox. Safe to run on every
     * node at once: each milestone is claimed by one atomic update, so each fires exactly once.
     */
    async sweep(opts: { batch?: number } = {}) {
      const batch = opts.batch ?? 500;
      let fired = 0;
      let callbacks = 0;
      for (;;) {
        const now = clock.now();
        const due = await repo().dueMilestones(toDbTime(now), batch);
        fired += await fireBatch(due, now);
        if (due.length < batch) break;
      }
      for (;;) {
        const now = clock.now();
        const due = await repo().dueTicketMilestones(toDbTime(now), batch);
        fired += await fireCenterBatch(due, now);
        if (due.length < batch) break;
      }
      for (;;) {
        const now = clock.now();
        const due = await repo().dueCallbacks(toDbTime(now), batch);
        for (const c of due) if (await callbackTurn(c, now)) callbacks++;
        if (due.length < batch) break;
      }
      const delivered = await service.deliverOutbox();
      return { fired, callbacks, delivered };
    },

    /**
     * Hands due notifications to every sink, at least once: a run leases its rows (one update), gives
     * each row to every sink, and marks the batch delivered only afterwards. A node killed in between
     * leaves its lease to expire and the next run delivers those rows again; a failing sink postpones
     * its row with a backoff. Sinks de-duplicate by the notification's id (the live feed keeps one event
     * per notice), so a repeat is harmless and nothing is lost.
     */
    async deliverOutbox(limit = 500) {
      let delivered = 0;
      for (;;) {
        const now = clock.now();
        const candidates = await repo().deliverableOutbox(toDbTime(now), limit);
        const token = `${node}:${newId()}`;
        const rows = await repo().claimOutbox(candidates.map((r) => r.id), toDbTime(now), token, toDbTime(new Date(now.getTime() + outboxLeaseMs)));
        const notices = rows.map(toNotification);
        const failed = new Map<string, unknown>();
        for (const sink of sinks) {
          const pending = notices.filter((n) => !failed.has(n.id));
          // A sink that takes the run at once (SMS: one transaction for the batch); on an error, one by one to find the notice that fails.
          if (sink.deliverBatch && pending.length) {
            try {
              await sink.deliverBatch(pending);
              continue;
            } catch { /* below */ }
          }
          for (const n of pending) {
            try {
              await sink.deliver(n);
            } catch (err) {
              failed.set(n.id, err);
            }
          }
        }
        for (const row of rows) {
          const err = failed.get(row.id);
          if (err === undefined) continue;
          // Tried again after a backoff (30 s, 1 min, 2 min … at most an hour); the other sinks get it again too.
          const backoffMs = Math.min(30_000 * 2 ** Math.max(0, Number(row.attempts) - 1), 3_600_000);
          await repo().postponeOutbox(row.id, token, toDbTime(new Date(clock.now().getTime() + backoffMs)), err instanceof Error ? err.message : String(err));
        }
        const done = rows.filter((r) => !failed.has(r.id)).map((r) => r.id);
        await repo().markOutboxDelivered(done, token, toDbTime(clock.now()));
        delivered += done.length;
        if (candidates.length < limit) return delivered;
      }
    },

    /** Adds a place notices go (the live feed, the SMS sender); it must de-duplicate by `Notification.id`. */
    addSink(sink: NotificationSink) {
      sinks.push(sink);
    },

    async notifications(filter: { ticketId?: string; workOrderId?: string; event?: string }) {
      return (await repo().outboxOf(filter)).map(toNotification);
    },

    /**
     * The notices of one ticket with their delivery status, as this viewer may see them: the center
     * sees all (SMS to the citizen included); a unit only those addressed to it or to its user, never
     * the citizen's (they carry the phone number). A ticket out of scope is 404, like missing.
     */
    async noticesOfTicket(actor: Actor, ticketId: string) {
      await deps.tickets.getTicketRow(actor, ticketId);
      const rows = await repo().outboxOf({ ticketId });
      const mine = isCenter(actor) ? rows : rows.filter((r) => isAddressedTo(r, recipientsOf(actor)));
      return mine.map(toNoticeView);
    },

    /** The callbacks (回访) of one ticket: the center's business, units never see them. */
    async callbacksOfTicket(actor: Actor, ticketId: string) {
      requireCenter(actor, '查看回访', [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]);
      await deps.tickets.getTicketRow(actor, ticketId);
      return (await repo().callbacksOfTicket(ticketId)).map(toCallbackView);
    },

    /**
     * The user's recent notices (the bell): those to the user, to the user's unit (and its manager),
     * to the user's center role, of the last `days` days, newest first, each with whether this user
     * read it, and the count of unread ones. Each notice names its ticket's number (the link to the
     * ticket page), also for notices whose payload does not hold it.
     */
    async myNotices(actor: Actor, opts: { days?: number; limit?: number; unreadOnly?: boolean } = {}) {
      const recipients = recipientsOf(actor);
      if (!recipients.length || !actor.id) return { items: [], unread: 0 };
      const since = toDbTime(new Date(clock.now().getTime() - (opts.days ?? NOTICE_DAYS) * 86_400_000));
      const f = { cityId: actor.cityId, recipients, since, userId: actor.id };
      const [rows, unread] = await Promise.all([repo().noticesTo({ ...f, unreadOnly: opts.unreadOnly }, opts.limit ?? 30), repo().countUnreadNotices(f)]);
      const missing = rows.filter((r) => !numberOfPayload(r) && r.work_order_id).map((r) => r.work_order_id!);
      const numbers = new Map((await repo().ticketNumbersOfWorkOrders([...new Set(missing)])).map((w) => [w.id, w.ticket_number]));
      const items = rows.map((r) => ({
        ...toNotification(r),
        ticketNumber: numberOfPayload(r) ?? (r.work_order_id ? numbers.get(r.work_order_id) ?? null : null),
        read: r.read_at !== null,
        readAt: dbTimeToIso(r.read_at),
      }));
      return { items, unread };
    },

    /**
     * Marks notices read for this user (`ids`), or every unread one of the window (`all`). Notices not
     * addressed to the user are ignored, so ids of others' notices reveal nothing. Repeats are harmless.
     */
    async markNoticesRead(actor: Actor, which: { ids: string[] } | { all: true }, days = NOTICE_DAYS) {
      const recipients = recipientsOf(actor);
      if (!recipients.length || !actor.id) return { unread: 0 };
      const since = toDbTime(new Date(clock.now().getTime() - days * 86_400_000));
      const f = { cityId: actor.cityId, recipients, since, userId: actor.id, unreadOnly: true };
      const now = toDbTime(clock.now());
      const rows = await repo().noticesTo('ids' in which ? { ...f, ids: which.ids.slice(0, 500) } : f, 2000);
      try {
        await repo().insertReads(rows.map((r) => ({ user_id: actor.id!, notification_id: r.id, read_at: now })));
      } catch (err) {
        // Two tabs marking the same notice at once: the other insert won, and read is read.
        if (!isDuplicateKey(err)) throw err;
      }
      return { unread: await repo().countUnreadNotices(f) };
    },

    /** The center's dispatch clock of a ticket (center roles). */
    async centerMilestones(actor: Actor, ticketId: string) {
      requireCenter(actor, '查看派单时限', [Role.agent, Role.dispatcher, Role.supervisor, Role.admin]);
      await deps.tickets.getTicketRow(actor, ticketId);
      return (await repo().ticketMilestonesOf(ticketId)).map((m) => ({ clock: m.clock, step: m.step, deadline: iso(m.deadline_at)!, due: iso(m.due_at)!, status: m.status, firedAt: iso(m.fired_at), firedBy: m.fired_by }));
    },

    async milestones(actor: Actor, workOrderId: string) {
      await loadVisible(deps.db, actor, workOrderId);
      return (await repo().milestonesOf(workOrderId)).map((m) => ({ clock: m.clock, step: m.step, deadline: iso(m.deadline_at)!, due: iso(m.due_at)!, status: m.status, firedAt: iso(m.fired_at), firedBy: m.fired_by }));
    },

    /**
     * Announces the work orders a ticket transition changed, inside its transaction (app/ calls this
     * on `ticket.transitioned`): those written in the same instant as the ticket. Returns the
     * after-commit part.
     */
    async announceTicketChangeWithin(trx: Kysely<DB>, ticket: { id: string; updated_at: string }, action: string) {
      const rows = (await repo(trx).workOrdersOfTicket(ticket.id)).filter((w) => w.updated_at === ticket.updated_at);
      return changedWithin(trx, rows, action);
    },

    /**
     * Keeps the work orders' copies of the ticket (the title line, urgency, category, place: what
     * the queues filter and sort by) equal to the ticket after an edit, inside the edit's transaction
     * (app/ calls this on `ticket.updated`). The time limits stay as dispatched: a new urgency or
     * category re-times the work only through a new dispatch. Returns how many work orders changed.
     */
    async syncTicketFactsWithin(trx: Kysely<DB>, ticket: TicketRow): Promise<number> {
      const facts = { ticket_title: summaryOf(ticket), urgency: ticket.urgency, category_id: ticket.category_id, territory_path: ticket.territory_path };
      const stale = (await repo(trx).workOrdersOfTicket(ticket.id)).filter((w) =>
        w.ticket_title !== facts.ticket_title || w.urgency !== facts.urgency || w.category_id !== facts.category_id || w.territory_path !== facts.territory_path);
      if (stale.length) await repo(trx).updateTicketFacts(stale.map((w) => w.id), facts);
      return stale.length;
    },

    forget(cityId?: string) {
      policiesOf.forget(cityId);
    },
  };

  async function superviseIn(trx: Kysely<DB>, ctx: CommandContext, w: WorkOrderRow, origin: 'auto' | 'manual', reason: string, now: Date, dedupKey: string, actBy: Date | null = null) {
    const id = newId();
    await repo(trx).insertSupervisionOrder({ id, city_id: w.city_id, work_order_id: w.id, ticket_id: w.ticket_id, unit_id: w.unit_id, origin, reason, raised_by: ctx.actor.id, status: 'open', answer: null, answered_by: null, answered_at: null, created_at: toDbTime(now) });
    await recordAudit(trx, ctx, { entityType: 'supervision_order', entityId: id, action: 'supervision.raised', after: { workOrderId: w.id, origin, reason }, reason, cityId: w.city_id }, now);
    for (const recipient of [{ kind: 'unit', id: w.unit_id }, { kind: 'unit_manager', id: w.unit_id }] as const) {
      await notify(trx, { cityId: w.city_id, event: 'supervision.raised', recipient, ticketId: w.ticket_id, workOrderId: w.id, actBy, payload: unitPayload(w, { supervisionOrderId: id, reason, origin }), dedupKey: `${dedupKey}:${recipient.kind}` }, now);
    }
    return id;
  }

  /** A fired batch's notices and audit rows, in its transaction; the ladder acts as the system of each city. */
  async function writeLadderOutput(trx: Kysely<DB>, notices: DB['notification_outbox'][], audits: { cityId: string; entry: AuditEntry }[], now: Date) {
    await repo(trx).insertOutboxMany(notices);
    for (const cityId of new Set(audits.map((a) => a.cityId))) {
      await recordAuditMany(trx, { actor: systemActor(cityId, 'supervision-ladder') }, audits.filter((a) => a.cityId === cityId).map((a) => a.entry), now);
    }
  }

  /**
   * Fires a batch of due ladder steps in one transaction: claims the ones still pending (another node
   * may have taken some), drops those whose clock was met meanwhile, and writes each step's notices,
   * audit row and, for the last step, its supervision order. Returns how many fired.
   */
  async function fireBatch(due: MilestoneRow[], now: Date): Promise<number> {
    if (!due.length) return 0;
    const token = `${node}:${newId()}`;
    return transactionWithRetry(deps.db, async (trx) => {
      const r = repo(trx);
      const claimed = await r.claimMilestones(due.map((m) => m.id), toDbTime(now), token);
      const orders = new Map((await r.findWorkOrders([...new Set(claimed.map((m) => m.work_order_id))])).map((w) => [w.id, w]));
      const stale: string[] = [];
      const notices: DB['notification_outbox'][] = [];
      const audits: { cityId: string; entry: AuditEntry }[] = [];
      const notice = (w: WorkOrderRow, event: string, recipient: Notification['recipient'], dedupKey: string, payload: Record<string, unknown>, actBy: string) => {
        notices.push(outboxRow({ cityId: w.city_id, event, recipient, ticketId: w.ticket_id, workOrderId: w.id, actBy: fromDbTime(actBy), payload, dedupKey }, now));
      };
      for (const m of claimed) {
        const w = orders.get(m.work_order_id);
        const clockName = m.clock as Clock;
        const facts = w && { status: w.status as WorkOrderStatus, acknowledgedAt: date(w.acknowledged_at), onSiteAt: date(w.on_site_at), repliedAt: date(w.replied_at) };
        // The clock may have been met since the row was read (a reply just committed): nothing to say then.
        if (!w || !runningClocks(facts!).includes(clockName)) {
          stale.push(m.id);
          continue;
        }
        const step = m.step as LadderStep;
        const payload = unitPayload(w, { clock: clockName, clockZh: CLOCK_ZH[clockName], step, stepZh: STEP_ZH[step], deadline: iso(m.deadline_at) });
        const key = `ms:${m.id}`;
        if (step === 'reminder') notice(w, 'workorder.reminder', { kind: 'unit', id: w.unit_id }, key, payload, m.deadline_at);
        if (step === 'overdue') {
          notice(w, 'workorder.overdue', { kind: 'unit', id: w.unit_id }, key, payload, m.deadline_at);
          notice(w, 'workorder.overdue', { kind: 'role', id: Role.dispatcher }, `${key}:center`, payload, m.deadline_at);
        }
        if (step === 'escalation') {
          notice(w, 'workorder.escalated', { kind: 'unit_manager', id: w.unit_id }, key, payload, m.deadline_at);
          notice(w, 'workorder.escalated', { kind: 'role', id: Role.supervisor }, `${key}:supervisor`, payload, m.deadline_at);
        }
        if (step === 'supervision') {
          const reason = `${CLOCK_ZH[clockName]}超期未完成（时限 ${iso(m.deadline_at)}），系统自动督办`;
          await superviseIn(trx, { actor: systemActor(w.city_id, 'supervision-ladder') }, w, 'auto', reason, now, key, fromDbTime(m.deadline_at));
        }
        audits.push({ cityId: w.city_id, entry: { entityType: 'work_order', entityId: w.id, action: `workorder.ladder.${step}`, after: { clock: clockName, deadline: iso(m.deadline_at), milestoneId: m.id, firedBy: token }, cityId: w.city_id } });
      }
      await r.setMilestonesStatus(stale, 'cancelled');
      await writeLadderOutput(trx, notices, audits, now);
      return claimed.length - stale.length;
    });
  }

  /**
   * Fires due steps of the center's dispatch clock: reminders and overdue notices to the
   * dispatchers, escalation to the supervisors; a ticket dispatched (or closed) meanwhile says nothing.
   */
  async function fireCenterBatch(due: TicketMilestoneRow[], now: Date): Promise<number> {
    if (!due.length) return 0;
    const token = `${node}:${newId()}`;
    return transactionWithRetry(deps.db, async (trx) => {
      const r = repo(trx);
      const claimed = await r.claimTicketMilestones(due.map((m) => m.id), toDbTime(now), token);
      const stale: string[] = [];
      const notices: DB['notification_outbox'][] = [];
      const audits: { cityId: string; entry: AuditEntry }[] = [];
      const EVENT: Record<string, [string, string]> = {
        reminder: ['ticket.dispatch_reminder', Role.dispatcher], overdue: ['ticket.dispatch_overdue', Role.dispatcher], escalation: ['ticket.dispatch_escalated', Role.supervisor],
      };
      for (const m of claimed) {
        const [event, role] = EVENT[m.step] ?? [];
        if (!event || (await deps.tickets.statusWithin(trx, m.ticket_id)) !== 'accepted') {
          stale.push(m.id);
          continue;
        }
        const payload = { ticketNumber: m.ticket_number, clock: m.clock, clockZh: '中心派单', step: m.step, stepZh: STEP_ZH[m.step as LadderStep], deadline: iso(m.deadline_at) };
        notices.push(outboxRow({ cityId: m.city_id, event, recipient: { kind: 'role', id: role }, ticketId: m.ticket_id, workOrderId: null, actBy: fromDbTime(m.deadline_at), payload, dedupKey: `tms:${m.id}` }, now));
        audits.push({ cityId: m.city_id, entry: { entityType: 'ticket', entityId: m.ticket_id, action: `ticket.center_ladder.${m.step}`, after: { clock: m.clock, deadline: iso(m.deadline_at), milestoneId: m.id, firedBy: token }, cityId: m.city_id } });
      }
      await r.setTicketMilestonesStatus(stale, 'cancelled');
      await writeLadderOutput(trx, notices, audits, now);
      return claimed.length - stale.length;
    });
  }

  /** A callback attempt is due: the first asks the citizen (SMS survey), later ones remind; after the last, close. */
  async function callbackTurn(c: CallbackRow, now: Date): Promise<boolean> {
    const rules = await deps.lookups.cityRules(c.city_id);
    const ctx: CommandContext = { actor: systemActor(c.city_id, 'callback') };
    try {
      await attempt(ctx, c, rules, 'survey', now);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'VERSION_CONFLICT') return false; // another node took this turn
      throw err;
    }
  }

  async function attempt(ctx: CommandContext, c: CallbackRow, rules: CityRules, kind: 'survey' | 'no_answer', at?: Date) {
    const now = at ?? clock.now();
    const sys = systemActor(c.city_id, 'callback');
    const ticket = await deps.tickets.getTicketRow(sys, c.ticket_id);
    const last = Number(c.attempts) >= Number(c.max_attempts);
    const closing = kind === 'survey' ? last : Number(c.attempts) + 1 >= Number(c.max_attempts);
    const afterCommit: (() => void)[] = [];
    await deps.db.transaction().execute(async (trx) => {
      afterCommit.length = 0;
      const cur = await repo(trx).findCallback(c.id);
      if (!cur || Number(cur.version) !== Number(c.version) || !['pending', 'surveying'].includes(cur.status)) throw versionConflict(undefined);
      if ((await deps.tickets.statusWithin(trx, c.ticket_id)) === 'reviewed') {
        afterCommit.push((await deps.tickets.transitionWithin(trx, { actor: sys }, c.ticket_id, { action: 'start_callback' }, { now, trusted: true })).emit);
      }
      if (closing) {
        const reason = `回访 ${cur.max_attempts} 次未获答复，按未接通办结`;
        await repo(trx).updateCallbackIfVersion(c.id, Number(cur.version), { attempts: Number(cur.attempts) + (kind === 'no_answer' ? 1 : 0), status: 'surveying', updated_at: toDbTime(now) });
        afterCommit.push((await deps.tickets.transitionWithin(trx, ctx, c.ticket_id, { action: 'close_without_answer', reason }, { now, trusted: true })).emit);
        return;
      }
      await repo(trx).updateCallbackIfVersion(c.id, Number(cur.version), {
        attempts: Number(cur.attempts) + 1, status: 'surveying',
        next_attempt_at: toDbTime(new Date(now.getTime() + rules.callbackIntervalHours * 3_600_000)), updated_at: toDbTime(now),
      });
      await recordAudit(trx, ctx, { entityType: 'callback', entityId: c.id, action: kind === 'survey' ? 'callback.survey_sent' : 'callback.no_answer', after: { attempt: Number(cur.attempts) + 1, of: cur.max_attempts }, cityId: c.city_id }, now);
      if (kind === 'survey') {
        // To the citizen: the SMS part sends it. Kept in the center's outbox; never shown to the unit.
        await notify(trx, {
          cityId: c.city_id, event: 'callback.survey', recipient: { kind: 'citizen', id: ticket.citizen_id ?? ticket.caller_phone ?? 'unknown' },
          ticketId: c.ticket_id, workOrderId: null, actBy: null,
          payload: { ticketNumber: ticket.number, callerPhone: ticket.caller_phone, attempt: Number(cur.attempts) + 1, of: Number(cur.max_attempts), result: ticket.result, confidential: ticket.confidential === 1 },
          dedupKey: `cb:${c.id}:attempt:${Number(cur.attempts) + 1}`,
        }, now);
      }
    });
    for (const f of afterCommit) f();
    deps.kick?.();
  }

  /** Records a rating; `commandOn` names what the idempotency key is for (the callback, or the ticket when rated by ticket). */
  async function rate(ctx: CommandContext, cb: CallbackRow, r: { satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied'; comment?: string | null }, commandOn: string = cb.id) {
    const input: TransitionInput = { action: 'record_satisfaction', satisfaction: r.satisfaction, comment: r.comment ?? null };
    // The rating names no version the agent saw: a ticket changed meanwhile by the sweep (its first
    // survey turn moves 审核通过 → 回访 on another node) is read again and the rating applied to it.
    // The open-callback check below still refuses a second rating.
    for (let attempt = 1; ; attempt++) {
      const prepared = await deps.tickets.prepareTransition(ctx.actor, cb.ticket_id, input, clock.now());
      try {
        await command(ctx, 'rate', commandOn, r, async (trx, at, after) => {
          const cur = await repo(trx).findCallback(cb.id);
          if (!cur || !['pending', 'surveying'].includes(cur.status)) {
            throw conflict('CALLBACK_NOT_OPEN', 'this callback is already finished', '该回访已结束', { status: cur?.status ?? null });
          }
          if ((await deps.tickets.statusWithin(trx, cb.ticket_id)) === 'reviewed') after((await deps.tickets.transitionWithin(trx, ctx, cb.ticket_id, { action: 'start_callback' }, { now: at, trusted: true })).emit);
          after((await deps.tickets.transitionWithin(trx, ctx, cb.ticket_id, input, { now: at, trusted: true, prepared })).emit);
        });
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'VERSION_CONFLICT' || attempt >= 3) throw err;
      }
    }
    return toCallbackView((await repo().findCallback(cb.id))!);
  }

  return service;
}

/** A notice another part queues with `notifyWithin` (the bell, the live feed). */
export interface OutsideNotice {
  cityId: string;
  /** Dotted, e.g. 'hotspot.raised'; the console names it (shell.notice.event.hotspot_raised). */
  event: string;
  recipient: Notification['recipient'];
  ticketId?: string | null;
  workOrderId?: string | null;
  actBy?: Date | null;
  /** Shown by the bell: `title`, and `ticketNumber` when it opens a ticket. */
  payload: Record<string, unknown>;
  dedupKey: string;
}
const NOTICE_RECIPIENT_KINDS: ReadonlySet<string> = new Set(['unit', 'unit_manager', 'role', 'citizen', 'user']);

/** A notice: who must act, by when, about what; `dedupKey` makes a repeat of the same notice a no-op. */
interface NoticeInput {
  cityId: string;
  event: string;
  recipient: Notification['recipient'];
  ticketId: string | null;
  workOrderId: string | null;
  actBy: Date | null;
  payload: Record<string, unknown>;
  dedupKey: string;
}

function outboxRow(n: NoticeInput, now: Date): DB['notification_outbox'] {
  return {
    id: newId(), city_id: n.cityId, event: n.event, recipient_kind: n.recipient.kind, recipient_id: n.recipient.id,
    ticket_id: n.ticketId, work_order_id: n.workOrderId, act_by: db(n.actBy), payload: JSON.stringify(n.payload),
    dedup_key: n.dedupKey, status: 'pending', claim_token: null, created_at: toDbTime(now), delivered_at: null,
    lease_until: null, attempts: 0, last_error: null,
  };
}

function toSupervisionView(s: import('./workorders.repository').SupervisionOrderRow) {
  return {
    id: s.id, workOrderId: s.work_order_id, ticketId: s.ticket_id, unitId: s.unit_id, origin: s.origin, reason: s.reason, raisedBy: s.raised_by,
    status: s.status, answer: s.answer, answeredAt: dbTimeToIso(s.answered_at), createdAt: dbTimeToIso(s.created_at)!,
  };
}

function toCallbackView(c: CallbackRow) {
  return {
    id: c.id, ticketId: c.ticket_id, round: Number(c.round), status: c.status, attempts: Number(c.attempts), maxAttempts: Number(c.max_attempts),
    nextAttemptAt: dbTimeToIso(c.next_attempt_at), satisfaction: c.satisfaction, comment: c.comment, answeredVia: c.answered_via,
    answeredAt: dbTimeToIso(c.answered_at), version: Number(c.version),
  };
}

/** How far back the bell looks: older notices are history (the ticket page), not work waiting. */
const NOTICE_DAYS = 7;

/** Whom an actor's notices are addressed to: the user, the user's unit (and its manager), the user's center role. */
function recipientsOf(actor: Actor): Recipient[] {
  const out: Recipient[] = [];
  if (actor.id) out.push({ kind: 'user', id: actor.id });
  if (UNIT_ROLES.has(actor.role) && actor.unitId) {
    out.push({ kind: 'unit', id: actor.unitId });
    if (actor.role === Role.unitManager) out.push({ kind: 'unit_manager', id: actor.unitId });
  }
  if (isCenter(actor)) out.push({ kind: 'role', id: actor.role });
  return out;
}

const isAddressedTo = (r: OutboxRow, recipients: Recipient[]) => recipients.some((x) => x.kind === r.recipient_kind && x.id === r.recipient_id);

function numberOfPayload(r: OutboxRow): string | null {
  try {
    const n = (JSON.parse(r.payload) as { ticketNumber?: unknown }).ticketNumber;
    return typeof n === 'string' ? n : null;
  } catch {
    return null;
  }
}

const isDuplicateKey = (err: unknown) => /UNIQUE constraint|Duplicate entry|ER_DUP_ENTRY|PRIMARY KEY/i.test(String((err as { code?: string; message?: string })?.code ?? '') + String((err as Error)?.message ?? ''));

/** A notice with its delivery (to the consoles, and by SMS where a sender is configured). */
function toNoticeView(r: OutboxRow) {
  return { ...toNotification(r), status: r.status, deliveredAt: dbTimeToIso(r.delivered_at), attempts: Number(r.attempts ?? 0), lastError: r.last_error };
}

function toNotification(r: OutboxRow): Notification {
  return {
    id: r.id, cityId: r.city_id, event: r.event, recipient: { kind: r.recipient_kind as Notification['recipient']['kind'], id: r.recipient_id },
    ticketId: r.ticket_id, workOrderId: r.work_order_id, actBy: dbTimeToIso(r.act_by), payload: JSON.parse(r.payload) as Record<string, unknown>,
    createdAt: dbTimeToIso(r.created_at)!,
  };
}

export type WorkOrderService = ReturnType<typeof createWorkOrderService>;
export type { TicketView };
