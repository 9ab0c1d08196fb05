/**
 * Grid calls (网格呼叫·部门报到, 诸城) and grid-side work (网格办, 夏集).
 *
 * Command flow: validate → load → decide (domain/grid-call.ts) → write + audit + staged live event in
 * one transaction → release the event after the commit. Each step of a call runs on the working
 * clock: a reminder half-way and an overdue mark at its deadline (超期事督查督办), fired once each by
 * `sweep()` (the `gridcalls.sweep` job, every node). An escalated call follows its ticket: the
 * ticket's callback makes it the caller's to rate, and the caller's rating is the ticket's.
 */
import type { Kysely } from 'kysely';
import { recordAudit, listAudit } from '../audit';
import { runInTransaction, idempotentCommandOf, type DB } from '../db';
import {
  badRequest, conflict, forbidden, notFound, newId, toDbTime, dbTimeToIso, chinaDate, isCenter, systemClock, systemActor, EventBus,
  GRID_ROLES, Role, type Actor, type Clock, type CommandContext,
} from '../core';
import type { LiveEventInput } from '../live';
import {
  decideCall, firstApproverOf, covers, CALLER_ROLES, stepLimitsOf, GRID_CALL_STATUS_ZH, STEP_ZH, GridCallStatus, nextApproverOf,
  type ApproverRole, type CallDecision, type GridCallCommand, type GridCallStep,
} from './domain/grid-call';
import { GridCallRepository, type GridCallRow, type GridMatterRow, type GridTaskRow, type GridScope } from './gridcalls.repository';
import type { GridCallPorts } from './ports';

/** A matter recorded, with what the reports count it by (its city and the grid's territory path). */
export interface GridMatterRecorded {
  matter: GridMatterView;
  cityId: string;
  territoryPath: string;
}

export interface GridCallEvents extends Record<string, unknown> {
  /**
   * A matter handled inside the grid (简单事网格办): what the reports count besides tickets. Emitted
   * within the recording transaction (the rollups count it there) and again after the commit.
   */
  'gridmatter.recorded': GridMatterRecorded;
}

export interface GridCallDeps {
  db: Kysely<DB>;
  ports: GridCallPorts;
  clock?: Clock;
  events?: EventBus<GridCallEvents, Kysely<DB>>;
}

export interface NewGridCall {
  title: string;
  situation: string;
  demand?: string | null;
  addressText?: string | null;
  categoryId?: string | null;
}

export interface GridCallView {
  id: string;
  number: string;
  status: GridCallStatus;
  statusZh: string;
  step: GridCallStep | null;
  stepZh: string | null;
  stepStartedAt: string | null;
  stepRemindAt: string | null;
  stepDueAt: string | null;
  overdue: boolean;
  territoryId: string;
  callerId: string;
  callerRole: string;
  callerName: string;
  title: string;
  situation: string;
  demand: string | null;
  addressText: string | null;
  categoryId: string | null;
  round: number;
  sentBackReason: string | null;
  ticketId: string | null;
  result: string | null;
  satisfaction: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

export interface GridMatterView {
  id: string;
  territoryId: string;
  recordedBy: string;
  recorderName: string;
  categoryId: string | null;
  title: string;
  handling: string;
  addressText: string | null;
  handledAt: string;
  createdAt: string;
}

export function toGridCallView(r: GridCallRow, now?: Date): GridCallView {
  const step = r.step as GridCallStep | null;
  return {
    id: r.id, number: r.number, status: r.status as GridCallStatus, statusZh: GRID_CALL_STATUS_ZH[r.status as GridCallStatus] ?? r.status,
    step, stepZh: step ? STEP_ZH[step] : null,
    stepStartedAt: dbTimeToIso(r.step_started_at), stepRemindAt: dbTimeToIso(r.step_remind_at), stepDueAt: dbTimeToIso(r.step_due_at),
    overdue: !!r.overdue_fired_at || (!!now && !!r.step_due_at && r.step_due_at <= toDbTime(now)),
    territoryId: r.territory_id, callerId: r.caller_id, callerRole: r.caller_role, callerName: r.caller_name,
    title: r.title, situation: r.situation, demand: r.demand, addressText: r.address_text, categoryId: r.category_id,
    round: Number(r.round), sentBackReason: r.sent_back_reason, ticketId: r.ticket_id, result: r.result, satisfaction: r.satisfaction,
    version: Number(r.version), createdAt: dbTimeToIso(r.created_at)!, updatedAt: dbTimeToIso(r.updated_at)!, closedAt: dbTimeToIso(r.closed_at),
  };
}

const toMatterView = (m: GridMatterRow): GridMatterView => ({
  id: m.id, territoryId: m.territory_id, recordedBy: m.recorded_by, recorderName: m.recorder_name, categoryId: m.category_id, title: m.title,
  handling: m.handling, addressText: m.address_text, handledAt: dbTimeToIso(m.handled_at)!, createdAt: dbTimeToIso(m.created_at)!,
});

export interface GridTaskView {
  id: string;
  ticketId: string;
  workOrderId: string;
  unitId: string;
  territoryId: string;
  title: string;
  note: string | null;
  assignedByName: string;
  /** The work order's reply deadline (答复时限): its clocks keep running while the grid works. */
  replyDue: string | null;
  status: 'assigned' | 'reported';
  statusZh: string;
  result: string | null;
  reportedAt: string | null;
  version: number;
  createdAt: string;
}

const toTaskView = (r: GridTaskRow): GridTaskView => ({
  id: r.id, ticketId: r.ticket_id, workOrderId: r.work_order_id, unitId: r.unit_id, territoryId: r.territory_id, title: r.title, note: r.note,
  assignedByName: r.assigned_by_name, replyDue: dbTimeToIso(r.reply_due), status: r.status as GridTaskView['status'],
  statusZh: r.status === 'reported' ? '网格已反馈' : '已下派网格', result: r.result, reportedAt: dbTimeToIso(r.reported_at), version: Number(r.version),
  createdAt: dbTimeToIso(r.created_at)!,
});

/** Units that hand work down to grids (四级联动): a town's (镇街) and a community's (社区). */
const LINKAGE_UNIT_KINDS: ReadonlySet<string> = new Set(['street', 'community']);
/** Work-order statuses in which the unit has signed the work order and may hand it down (签收后, also while asking for more time). */
const TAKEN_STATUSES: ReadonlySet<string> = new Set(['acknowledged', 'extension_requested']);

const MAX_TEXT = 2000;
/** Grid staff who record matters they handled themselves. */
const MATTER_ROLES: ReadonlySet<Role> = new Set([Role.gridMember, Role.gridLeader]);

/** The data scope of an actor over grid calls and matters: the center the city, grid and town roles their territory. */
function scopeOf(actor: Actor): GridScope {
  if (isCenter(actor)) return { kind: 'city' };
  if (GRID_ROLES.has(actor.role) && actor.territoryPath) return { kind: 'territory', path: actor.territoryPath };
  throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} has no grid calls`, `角色 ${actor.role} 无权查看网格呼叫`);
}

function requireText(v: string | null | undefined, field: string, zh: string, max = MAX_TEXT): string {
  const s = (v ?? '').trim();
  if (!s) throw badRequest('FIELD_REQUIRED', `${field} is required`, `${zh}不能为空`, { field });
  if (s.length > max) throw badRequest('FIELD_TOO_LONG', `${field} is longer than ${max} characters`, `${zh}超过 ${max} 字`, { field });
  return s;
}

const idemScope = (ctx: CommandContext) => `${ctx.actor.kind}:${ctx.actor.id ?? 'system'}`;

export function createGridCallService(deps: GridCallDeps) {
  const clock = deps.clock ?? systemClock;
  const { ports } = deps;
  const repo = (db: Kysely<DB> = deps.db) => new GridCallRepository(db);

  /** The instants of a new step: half the limit reminds, the whole limit is the deadline. */
  async function stepClock(cityId: string, step: GridCallStep | null, now: Date): Promise<Partial<GridCallRow>> {
    const none = { step, step_started_at: step ? toDbTime(now) : null, step_remind_at: null, step_due_at: null, remind_fired_at: null, overdue_fired_at: null };
    if (!step) return none;
    const limit = stepLimitsOf(await ports.gridSettings(cityId))[step];
    const due = await ports.deadline(cityId, now, limit);
    const remind = await ports.deadline(cityId, now, { amount: limit.unit === 'working_days' ? limit.amount * 4 : limit.amount / 2, unit: limit.unit === 'working_days' ? 'working_hours' : limit.unit });
    return { ...none, step_remind_at: toDbTime(remind), step_due_at: toDbTime(due) };
  }

  /** Everyone over the call's territory (信息互通) and the caller; `roles` narrows the territory line. */
  function liveEvent(type: string, row: GridCallRow, extra: Record<string, unknown> = {}, roles?: Role[]): LiveEventInput {
    const data = { call: toGridCallView(row), ...extra };
    return {
      type, cityId: row.city_id, data, unitData: data,
      audience: { center: false, territoryPaths: [row.territory_path], userIds: [row.caller_id], ...(roles ? { roles } : {}) },
    };
  }

  async function load(actor: Actor, id: string): Promise<GridCallRow> {
    const row = await repo().find(id);
    if (!row || row.city_id !== actor.cityId) throw notFound('GRID_CALL_NOT_FOUND', 'grid call not found', '网格呼叫不存在');
    const scope = scopeOf(actor);
    if (scope.kind === 'territory' && !row.territory_path.startsWith(scope.path) && row.caller_id !== actor.id) {
      throw notFound('GRID_CALL_NOT_FOUND', 'grid call not found', '网格呼叫不存在');
    }
    return row;
  }

  const facts = (r: GridCallRow) => ({ status: r.status as GridCallStatus, step: r.step as GridCallStep | null, callerId: r.caller_id, territoryPath: r.territory_path, ticketId: r.ticket_id });

  /**
   * Writes a decided change with its audit row and live event, if the call is still as it was read
   * (another approver acting at the same instant gets GRID_CALL_CHANGED and nothing changes).
   */
  async function apply(ctx: CommandContext, before: GridCallRow, decision: CallDecision, action: string, patch: Partial<GridCallRow>, cmd: GridCallCommand, request: unknown = cmd) {
    const now = clock.now();
    const clockPatch = decision.to === before.status && decision.step === before.step && action !== 'resubmitted' ? {} : await stepClock(before.city_id, decision.step, now);
    let staged: string[] = [];
    const { value } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: commandName(cmd, before.id), request }, async (trx) => {
      const r = repo(trx);
      const changes: Partial<GridCallRow> = {
        status: decision.to, ...clockPatch, ...patch, updated_at: toDbTime(now),
        ...(decision.to === GridCallStatus.closed ? { closed_at: toDbTime(now) } : {}),
      };
      if (!(await r.update(before.id, Number(before.version), changes))) {
        throw conflict('GRID_CALL_CHANGED', 'the call changed meanwhile; reload it', '该呼叫已被他人处理，请刷新后重试');
      }
      const after = (await r.find(before.id))!;
      await recordAudit(trx, ctx, {
        entityType: 'grid_call', entityId: before.id, action: `gridcall.${action}`, cityId: before.city_id, reason: decision.reason ?? null,
        before: { status: before.status, step: before.step }, after: { status: after.status, step: after.step, ...(patch.ticket_id ? { ticketId: patch.ticket_id } : {}), ...(patch.satisfaction ? { satisfaction: patch.satisfaction } : {}) },
      }, now);
      staged = [await ports.feed.stageWithin(trx, liveEvent('gridcall.changed', after, { action }))];
      return toGridCallView(after, now);
    }, () => clock.now());
    await ports.feed.releaseStaged(staged);
    return value;
  }

  const commandName = (cmd: GridCallCommand, id: string) => `gridcall.${cmd.action}:${id}`;

  /**
   * A retry of a command that went through (same Idempotency-Key): its first result, before the
   * call's new state would refuse it; the same key on another request is IDEMPOTENCY_KEY_REUSED.
   */
  async function replayOf(ctx: CommandContext, id: string, cmd: GridCallCommand, request: unknown = cmd): Promise<GridCallView | null> {
    if (!ctx.idempotencyKey || !(await idempotentCommandOf(deps.db, idemScope(ctx), ctx.idempotencyKey))) return null;
    const { value } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: commandName(cmd, id), request }, async (): Promise<GridCallView> => {
      throw conflict('GRID_CALL_CHANGED', 'the call changed meanwhile; reload it', '该呼叫已被他人处理，请刷新后重试');
    });
    return value;
  }

  /** The command decided on the call as it is now. */
  async function command(ctx: CommandContext, id: string, cmd: GridCallCommand) {
    const before = await load(ctx.actor, id);
    const decision = decideCall(facts(before), cmd, ctx.actor);
    return { before, decision };
  }

  const service = {
    /** Raises a call (网格呼叫) from the caller's grid; the first approval step starts on the working clock. */
    async raise(ctx: CommandContext, input: NewGridCall): Promise<GridCallView> {
      const actor = ctx.actor;
      if (!CALLER_ROLES.has(actor.role)) throw forbidden('GRID_CALL_ROLE_FORBIDDEN', `role ${actor.role} may not raise a grid call`, `角色 ${actor.role} 不能发起网格呼叫`);
      if (!actor.territoryId || !actor.territoryPath || !actor.id) throw forbidden('GRID_CALL_NO_TERRITORY', 'your account has no territory', '您的账号未绑定网格');
      const title = requireText(input.title, 'title', '标题', 200);
      const situation = requireText(input.situation, 'situation', '具体情形');
      const demand = input.demand?.trim() ? requireText(input.demand, 'demand', '诉求') : null;
      const addressText = input.addressText?.trim() ? requireText(input.addressText, 'addressText', '地址', 255) : null;
      const step = firstApproverOf(actor.role);
      const now = clock.now();
      const stepPatch = await stepClock(actor.cityId, step, now);
      let staged: string[] = [];
      const { value } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: 'gridcall.raise', request: input }, async (trx) => {
        const id = newId();
        const row: GridCallRow = {
          id, city_id: actor.cityId, number: `WG${chinaDate(now).replace(/-/g, '')}${id.slice(-6)}`, territory_id: actor.territoryId!, territory_path: actor.territoryPath!,
          caller_id: actor.id!, caller_role: actor.role, caller_name: actor.name, title, situation, demand, address_text: addressText,
          category_id: input.categoryId ?? null, status: GridCallStatus.pending, step: null, step_started_at: null, step_remind_at: null, step_due_at: null,
          remind_fired_at: null, overdue_fired_at: null, round: 1, sent_back_reason: null, ticket_id: null, result: null, satisfaction: null, version: 1,
          created_at: toDbTime(now), updated_at: toDbTime(now), closed_at: null, ...stepPatch,
        } as GridCallRow;
        await repo(trx).insert(row);
        await recordAudit(trx, ctx, { entityType: 'grid_call', entityId: id, action: 'gridcall.raised', cityId: actor.cityId, after: { status: row.status, step, title } }, now);
        staged = [await ports.feed.stageWithin(trx, liveEvent('gridcall.changed', row, { action: 'raised' }))];
        return toGridCallView(row, now);
      }, () => clock.now());
      await ports.feed.releaseStaged(staged);
      return value;
    },

    /** Approves at the current level; at the town `route` says 镇街自办 ('town') or 转12345中心 ('center'). */
    async approve(ctx: CommandContext, id: string, input: { route?: 'town' | 'center' | null; note?: string | null }) {
      const cmd: GridCallCommand = { action: 'approve', route: input.route ?? null, note: input.note?.trim() || null };
      const replay = await replayOf(ctx, id, cmd);
      if (replay) return replay;
      const { before, decision } = await command(ctx, id, cmd);
      if (decision.effect !== 'create_ticket') return apply(ctx, before, decision, decision.to === GridCallStatus.townHandling ? 'town_accepted' : 'approved', {}, cmd);
      // 转12345中心: the ticket is registered first, idempotently on the call and its round, so a
      // retry after a failure between the two transactions finds the same ticket.
      const ticket = await ports.createTicket(ctx, {
        callId: before.id, number: before.number, title: before.title, situation: before.situation, demand: before.demand, addressText: before.address_text,
        territoryId: before.territory_id, categoryId: before.category_id, callerName: before.caller_name, raisedAt: dbTimeToIso(before.created_at)!,
      }, `gridcall:${before.id}:escalate:${before.round}`);
      return apply(ctx, before, decision, 'escalated', { ticket_id: ticket.id }, cmd);
    },

    /** Sends the call back to the caller with a reason (退回); the caller may revise and resubmit. */
    async sendBack(ctx: CommandContext, id: string, reason: string) {
      const cmd: GridCallCommand = { action: 'send_back', reason };
      const replay = await replayOf(ctx, id, cmd);
      if (replay) return replay;
      const { before, decision } = await command(ctx, id, cmd);
      return apply(ctx, before, decision, 'sent_back', { sent_back_reason: decision.reason ?? null }, cmd);
    },

    /** The caller resubmits a sent-back call, optionally revised; the chain starts again at the first level. */
    async resubmit(ctx: CommandContext, id: string, revised: Partial<NewGridCall> = {}) {
      const cmd: GridCallCommand = { action: 'resubmit' };
      const replay = await replayOf(ctx, id, cmd, { cmd, revised });
      if (replay) return replay;
      const { before, decision } = await command(ctx, id, cmd);
      const patch: Partial<GridCallRow> = {};
      if (revised.title !== undefined) patch.title = requireText(revised.title, 'title', '标题', 200);
      if (revised.situation !== undefined) patch.situation = requireText(revised.situation, 'situation', '具体情形');
      if (revised.demand !== undefined) patch.demand = revised.demand?.trim() || null;
      if (revised.addressText !== undefined) patch.address_text = revised.addressText?.trim() || null;
      return apply(ctx, before, decision, 'resubmitted', patch, cmd, { cmd, revised });
    },

    /** The town reports what it did (镇街自办结果); the caller then checks and rates it. */
    async townReply(ctx: CommandContext, id: string, result: string) {
      const cmd: GridCallCommand = { action: 'town_reply', result };
      const replay = await replayOf(ctx, id, cmd);
      if (replay) return replay;
      const { before, decision } = await command(ctx, id, cmd);
      return apply(ctx, before, decision, 'town_replied', { result: result.trim() }, cmd);
    },

    /**
     * The caller checks and rates the result (网格员评价): satisfied closes the call; unsatisfied sends
     * it to a second handling — the town's, or the ticket's unit's (the rating is the ticket's callback).
     */
    async rate(ctx: CommandContext, id: string, input: { satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied'; comment?: string | null }) {
      const cmd: GridCallCommand = { action: 'rate', satisfaction: input.satisfaction, comment: input.comment?.trim() || null };
      const replay = await replayOf(ctx, id, cmd);
      if (replay) return replay;
      const before = await load(ctx.actor, id);
      const decision = decideCall(facts(before), cmd, ctx.actor);
      if (decision.effect !== 'rate_ticket') {
        const patch: Partial<GridCallRow> = { satisfaction: input.satisfaction, ...(decision.to === GridCallStatus.townHandling ? { round: Number(before.round) + 1, result: null } : {}) };
        return apply(ctx, before, decision, decision.to === GridCallStatus.closed ? 'rated' : 'second_handling', patch, cmd);
      }
      // The ticket's callback takes the rating; its transition moves the call (followTicketWithin).
      await ports.rateTicket(before.city_id, before.ticket_id!, { satisfaction: input.satisfaction, comment: input.comment?.trim() || null }, `gridcall:${id}:rate:${before.round}`);
      const now = clock.now();
      const { value } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: commandName(cmd, id), request: cmd }, async (trx) => {
        await recordAudit(trx, ctx, { entityType: 'grid_call', entityId: id, action: 'gridcall.rated', cityId: before.city_id, reason: cmd.comment ?? null, after: { satisfaction: input.satisfaction, ticketId: before.ticket_id } }, now);
        return toGridCallView((await repo(trx).find(id))!, now);
      }, () => clock.now());
      return value;
    },

    /**
     * Inside a ticket transition's transaction: an escalated call follows its ticket. The ticket's
     * callback (回访) makes the result the caller's to rate; a rating closes the call or sends it
     * to a second handling; a ticket closed otherwise closes it. Returns staged live events to release.
     */
    async followTicketWithin(trx: Kysely<DB>, e: { ticketId: string; to: string; from: string; result: string | null; satisfaction: string | null }): Promise<string[]> {
      const r = repo(trx);
      const call = await r.findByTicket(e.ticketId);
      if (!call || call.status === GridCallStatus.closed) return [];
      const now = clock.now();
      let patch: Partial<GridCallRow> | null = null;
      let action = '';
      if ((e.to === 'reviewed' || e.to === 'callback') && call.status === GridCallStatus.escalated) {
        patch = { status: GridCallStatus.awaitingRating, ...(await stepClock(call.city_id, 'caller_rating', now)), result: e.result };
        action = 'awaiting_rating';
      } else if (e.to === 'closed') {
        patch = { status: GridCallStatus.closed, ...(await stepClock(call.city_id, null, now)), closed_at: toDbTime(now), satisfaction: e.satisfaction ?? call.satisfaction };
        action = 'closed';
      } else if (e.from === 'callback' && e.to === 'dispatched') {
        patch = { status: GridCallStatus.escalated, ...(await stepClock(call.city_id, null, now)), round: Number(call.round) + 1, satisfaction: e.satisfaction, result: null };
        action = 'second_handling';
      }
      if (!patch) return [];
      await r.update(call.id, Number(call.version), { ...patch, updated_at: toDbTime(now) });
      const after = (await r.find(call.id))!;
      await recordAudit(trx, { actor: systemActor(call.city_id, 'gridcalls') }, { entityType: 'grid_call', entityId: call.id, action: `gridcall.${action}`, cityId: call.city_id, before: { status: call.status }, after: { status: after.status, ticketId: e.ticketId } }, now);
      return [await ports.feed.stageWithin(trx, liveEvent('gridcall.changed', after, { action }))];
    },

    releaseStaged: (ids: string[]) => ports.feed.releaseStaged(ids),

    async get(actor: Actor, id: string) {
      const row = await load(actor, id);
      const trail = (await listAudit(deps.db, 'grid_call', id)).map((a) => ({ action: a.action, at: a.at, actorId: a.actorId, actorRole: a.actorRole, reason: a.reason, after: a.after }));
      return { call: toGridCallView(row, clock.now()), trail };
    },

    /**
     * Calls in the actor's scope. `inbox`: the calls waiting for this actor — the approvals of their
     * level (and the town's handling for a town leader), the results they must rate.
     */
    async list(actor: Actor, q: { status?: string[]; inbox?: boolean; mine?: boolean; page?: number; pageSize?: number } = {}) {
      const scope = scopeOf(actor);
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 50;
      const base = { cityId: actor.cityId, scope, statuses: q.status };
      let r;
      if (q.inbox) {
        const step = (['grid_leader', 'community_secretary', 'town_leader'] as string[]).includes(actor.role) ? actor.role : null;
        const waiting = step ? await repo().list({ ...base, step }, 0, 500) : { items: [], total: 0 };
        const town = actor.role === Role.townLeader ? await repo().list({ ...base, step: 'town_handling' }, 0, 500) : { items: [], total: 0 };
        const rating = await repo().list({ ...base, scope: { kind: 'city' }, callerId: actor.id ?? '-', step: 'caller_rating' }, 0, 500);
        const all = [...waiting.items, ...town.items, ...rating.items].sort((a, b) => (a.step_due_at ?? '').localeCompare(b.step_due_at ?? ''));
        r = { items: all.slice((page - 1) * pageSize, page * pageSize), total: all.length };
      } else {
        r = await repo().list({ ...base, ...(q.mine ? { callerId: actor.id ?? '-', scope: { kind: 'city' } as GridScope } : {}) }, (page - 1) * pageSize, pageSize);
      }
      const now = clock.now();
      return { items: r.items.map((x) => toGridCallView(x, now)), total: r.total, page, pageSize };
    },

    /**
     * Fires due reminders (催办, half-way through a step) and overdue marks (超期, at its deadline,
     * told one level up as well: 超期事督查督办). Each fires once, whichever node claims it.
     */
    async sweep(limit = 500): Promise<{ reminded: number; overdue: number }> {
      const now = clock.now();
      const nowDb = toDbTime(now);
      let reminded = 0;
      let overdue = 0;
      for (const [which, rows] of [['remind_fired_at', await repo().dueReminders(nowDb, limit)], ['overdue_fired_at', await repo().dueOverdue(nowDb, limit)]] as const) {
        for (const c of rows) {
          if (!c.step || !c.step_started_at) continue;
          const staged: string[] = [];
          const fired = await deps.db.transaction().execute(async (trx) => {
            if (!(await repo(trx).claim(c.id, which, c.step_started_at!, nowDb))) return false;
            const step = c.step as GridCallStep;
            const overdueMark = which === 'overdue_fired_at';
            await recordAudit(trx, { actor: systemActor(c.city_id, 'gridcalls') }, {
              entityType: 'grid_call', entityId: c.id, action: overdueMark ? 'gridcall.overdue' : 'gridcall.reminded', cityId: c.city_id,
              after: { step, dueAt: dbTimeToIso(c.step_due_at) },
            }, now);
            const actorRoles: Role[] = step === 'town_handling' ? [Role.townLeader] : step === 'caller_rating' ? [] : [step as ApproverRole];
            // The level above is told of an overdue step (督办); a town step goes up to the town leader still.
            const above = overdueMark && actorRoles[0] ? nextApproverOf(actorRoles[0] as ApproverRole) : null;
            const roles = above ? [...actorRoles, above] : actorRoles;
            const e = liveEvent(overdueMark ? 'gridcall.overdue' : 'gridcall.reminder', c, { step, stepZh: STEP_ZH[step] }, roles.length ? roles : [Role.gridMember]);
            staged.push(await ports.feed.stageWithin(trx, roles.length ? e : { ...e, audience: { center: false, userIds: [c.caller_id] } }));
            return true;
          });
          if (fired) {
            await ports.feed.releaseStaged(staged);
            if (which === 'remind_fired_at') reminded++;
            else overdue++;
          }
        }
      }
      return { reminded, overdue };
    },

    // --- grid-side work (网格办) -------------------------------------------------------------------

    /** Records a matter grid staff handled inside the grid (简单事网格办); it counts in the reports. */
    async recordMatter(ctx: CommandContext, input: { title: string; handling: string; categoryId?: string | null; addressText?: string | null; handledAt?: string | null }): Promise<GridMatterView> {
      const actor = ctx.actor;
      if (!MATTER_ROLES.has(actor.role)) throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} does not record grid matters`, `角色 ${actor.role} 无权登记网格办结事项`);
      if (!actor.territoryId || !actor.territoryPath || !actor.id) throw forbidden('GRID_CALL_NO_TERRITORY', 'your account has no territory', '您的账号未绑定网格');
      const title = requireText(input.title, 'title', '事项', 200);
      const handling = requireText(input.handling, 'handling', '处理情况');
      const now = clock.now();
      let handledAt = now;
      if (input.handledAt) {
        const d = new Date(input.handledAt);
        if (Number.isNaN(d.getTime()) || d.getTime() > now.getTime() + 10 * 60_000 || d.getTime() < now.getTime() - 31 * 86_400_000) {
          throw badRequest('HANDLED_AT_INVALID', 'handledAt must be a time within the last 31 days', '办结时间须为近31天内的有效时间', { field: 'handledAt' });
        }
        handledAt = d;
      }
      let staged: string[] = [];
      const { value, replayed } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: 'gridmatter.record', request: input }, async (trx) => {
        const row: GridMatterRow = {
          id: newId(), city_id: actor.cityId, territory_id: actor.territoryId!, territory_path: actor.territoryPath!, recorded_by: actor.id!, recorder_name: actor.name,
          category_id: input.categoryId ?? null, title, handling, address_text: input.addressText?.trim() || null, handled_at: toDbTime(handledAt), created_at: toDbTime(now),
        };
        await repo(trx).insertMatter(row);
        await recordAudit(trx, ctx, { entityType: 'grid_matter', entityId: row.id, action: 'gridmatter.recorded', cityId: actor.cityId, after: { title, handling } }, now);
        const view = toMatterView(row);
        await deps.events?.emitWithin(trx, 'gridmatter.recorded', { matter: view, cityId: row.city_id, territoryPath: row.territory_path });
        staged = [await ports.feed.stageWithin(trx, { type: 'gridmatter.recorded', cityId: actor.cityId, data: { matter: view }, unitData: { matter: view }, audience: { center: true, territoryPaths: [actor.territoryPath!] } })];
        return view;
      }, () => clock.now());
      await ports.feed.releaseStaged(staged);
      if (!replayed) deps.events?.emit('gridmatter.recorded', { matter: value, cityId: actor.cityId, territoryPath: actor.territoryPath });
      return value;
    },

    async listMatters(actor: Actor, q: { from: Date; to: Date; page?: number; pageSize?: number }) {
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 50;
      const r = await repo().listMatters(actor.cityId, scopeOf(actor), toDbTime(q.from), toDbTime(q.to), (page - 1) * pageSize, pageSize);
      return { items: r.items.map(toMatterView), total: r.total, page, pageSize };
    },

    /** Matters handled in the grid per grid, in [from, to): the figure the reports add to the tickets (网格办结量). */
    async matterCounts(actor: Actor, q: { from: Date; to: Date }) {
      const byTerritory = await repo().matterCounts(actor.cityId, scopeOf(actor), toDbTime(q.from), toDbTime(q.to));
      return { from: q.from.toISOString(), to: q.to.toISOString(), total: byTerritory.reduce((s, x) => s + x.matters, 0), byTerritory };
    },

    // --- four-level linkage (四级联动, 招远 市—镇街—社区—网格) ----------------------------------------

    /**
     * A town's or community's unit hands a work order it took down to a grid under its territory
     * (下派网格). The work order stays the unit's, with its clocks; the hand-down is noted on it.
     * Up to the center is the work order's own return (退回); taking one is acknowledge or claim.
     */
    async handDown(ctx: CommandContext, workOrderId: string, input: { territoryId: string; note?: string | null }): Promise<GridTaskView> {
      const actor = ctx.actor;
      if (!actor.unitId || (actor.role !== Role.unitHandler && actor.role !== Role.unitManager)) {
        throw forbidden('ROLE_FORBIDDEN', 'only a town\'s or community\'s unit staff hand work down to a grid', '只有镇街、社区的经办人员可以下派网格');
      }
      const unit = await ports.unit(actor.cityId, actor.unitId);
      if (!unit || !LINKAGE_UNIT_KINDS.has(unit.kind) || !unit.territoryId) {
        throw forbidden('GRID_TASK_UNIT_NOT_LOCAL', 'only a town\'s or community\'s unit hands work down to a grid', '只有镇街、社区单位可以下派网格');
      }
      const home = await ports.territory(actor.cityId, unit.territoryId);
      const grid = await ports.territory(actor.cityId, input.territoryId);
      if (!grid) throw badRequest('TERRITORY_NOT_FOUND', 'the grid does not exist', '网格不存在', { field: 'territoryId' });
      if (!home || grid.id === home.id || !grid.path.startsWith(home.path)) {
        throw forbidden('GRID_TASK_OUT_OF_SCOPE', 'the grid is not under your unit\'s territory', '该网格不在本单位辖区内', { field: 'territoryId' });
      }
      const replay = ctx.idempotencyKey && (await idempotentCommandOf(deps.db, idemScope(ctx), ctx.idempotencyKey));
      const wo = await ports.workOrder(ctx, workOrderId);
      if (!replay) {
        if (wo.unitId !== actor.unitId) throw notFound('WORK_ORDER_NOT_FOUND', 'work order not found', '工单不存在');
        if (!TAKEN_STATUSES.has(wo.status)) {
          throw conflict('GRID_TASK_NOT_TAKEN', 'sign for the work order before handing it down', '请先签收该工单再下派网格', { status: wo.status });
        }
        if (await repo().openTaskOf(workOrderId)) throw conflict('GRID_TASK_OPEN', 'the work order is already with a grid', '该工单已下派网格，尚未反馈');
      }
      const now = clock.now();
      const note = input.note?.trim() || null;
      let staged: string[] = [];
      const { value, replayed } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: `gridtask.hand_down:${workOrderId}`, request: input }, async (trx) => {
        const row: GridTaskRow = {
          id: newId(), city_id: actor.cityId, ticket_id: wo.ticketId, work_order_id: wo.id, unit_id: actor.unitId!, territory_id: grid.id, territory_path: grid.path,
          title: wo.title ?? '', note, assigned_by: actor.id ?? 'unknown', assigned_by_name: actor.name, reply_due: wo.replyDue ? toDbTime(new Date(wo.replyDue)) : null,
          status: 'assigned', result: null, reported_by: null, reported_at: null, version: 1, created_at: toDbTime(now), updated_at: toDbTime(now),
        };
        await repo(trx).insertTask(row);
        await recordAudit(trx, ctx, { entityType: 'grid_task', entityId: row.id, action: 'gridtask.handed_down', cityId: actor.cityId, after: { workOrderId, territoryId: grid.id, note } }, now);
        const view = toTaskView(row);
        staged = [await ports.feed.stageWithin(trx, { type: 'gridtask.changed', cityId: actor.cityId, data: { task: view }, unitData: { task: view }, audience: { center: false, territoryPaths: [grid.path], unitIds: [actor.unitId!] } })];
        return view;
      }, () => clock.now());
      await ports.feed.releaseStaged(staged);
      if (!replayed) await ports.noteOnWorkOrder(ctx, workOrderId, `下派网格：${grid.name}${note ? `。${note}` : ''}`);
      return value;
    },

    /** The grid reports what it did on a handed-down task (网格反馈); the unit then replies on the work order. */
    async reportTask(ctx: CommandContext, taskId: string, result: string): Promise<GridTaskView> {
      const actor = ctx.actor;
      if (actor.role !== Role.gridMember && actor.role !== Role.gridLeader) throw forbidden('ROLE_FORBIDDEN', 'grid staff report on grid tasks', '只有网格员、网格长可以反馈网格任务');
      const text = requireText(result, 'result', '反馈情况');
      const replay = ctx.idempotencyKey && (await idempotentCommandOf(deps.db, idemScope(ctx), ctx.idempotencyKey));
      const task = await repo().findTask(taskId);
      if (!task || task.city_id !== actor.cityId || !actor.territoryPath || !task.territory_path.startsWith(actor.territoryPath)) {
        throw notFound('GRID_TASK_NOT_FOUND', 'grid task not found', '网格任务不存在');
      }
      if (!replay && task.status !== 'assigned') throw conflict('GRID_TASK_REPORTED', 'the grid already reported on this task', '该网格任务已反馈');
      const now = clock.now();
      let staged: string[] = [];
      const { value } = await runInTransaction(deps.db, { scope: idemScope(ctx), key: ctx.idempotencyKey, command: `gridtask.report:${taskId}`, request: { result } }, async (trx) => {
        if (!(await repo(trx).updateTask(taskId, Number(task.version), { status: 'reported', result: text, reported_by: actor.id, reported_at: toDbTime(now), updated_at: toDbTime(now) }))) {
          throw conflict('GRID_TASK_REPORTED', 'the grid already reported on this task', '该网格任务已反馈');
        }
        await recordAudit(trx, ctx, { entityType: 'grid_task', entityId: taskId, action: 'gridtask.reported', cityId: actor.cityId, after: { result: text } }, now);
        const view = toTaskView((await repo(trx).findTask(taskId))!);
        staged = [await ports.feed.stageWithin(trx, { type: 'gridtask.changed', cityId: actor.cityId, data: { task: view }, unitData: { task: view }, audience: { center: false, territoryPaths: [task.territory_path], unitIds: [task.unit_id] } })];
        return view;
      }, () => clock.now());
      await ports.feed.releaseStaged(staged);
      return value;
    },

    /** Tasks handed down: a unit's own, or those of the grid staff's territory; the center's all. */
    /** Grid tasks in the actor's scope, newest first, a page at a time; `workOrderIds` narrows them to some work orders (a queue's page). */
    async listTasks(actor: Actor, q: { status?: string[]; workOrderIds?: string[]; page?: number; pageSize?: number } = {}) {
      const by = isCenter(actor) ? 'city' as const
        : actor.unitId && (actor.role === Role.unitHandler || actor.role === Role.unitManager) ? { unitId: actor.unitId }
          : GRID_ROLES.has(actor.role) && actor.territoryPath ? { path: actor.territoryPath } : null;
      if (!by) throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} has no grid tasks`, `角色 ${actor.role} 无权查看网格任务`);
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 50;
      const r = await repo().listTasks(actor.cityId, by, { statuses: q.status, workOrderIds: q.workOrderIds }, (page - 1) * pageSize, pageSize);
      return { items: r.items.map(toTaskView), total: r.total, page, pageSize };
    },

    /** Whether an actor's territory covers a call (for the routes' and console's hints). */
    covers,
  };
  return service;
}

export type GridCallService = ReturnType<typeof createGridCallService>;

/** A grid matter as the reports count it (网格自办事项). */
export interface GridMatterRecord {
  id: string;
  cityId: string;
  territoryId: string;
  territoryPath: string;
  categoryId: string | null;
  /** When it was handled, ISO (the day it counts on). */
  handledAt: string;
}

const toMatterRecord = (m: GridMatterRow): GridMatterRecord => ({
  id: m.id, cityId: m.city_id, territoryId: m.territory_id, territoryPath: m.territory_path, categoryId: m.category_id, handledAt: dbTimeToIso(m.handled_at)!,
});

/** Every matter of the city in batches (by id): the full scan that rebuilds and checks the reports' rollups. */
export async function* scanGridMatters(db: Kysely<DB>, cityId: string, batchSize = 2000): AsyncIterable<GridMatterRecord[]> {
  let after = '';
  for (;;) {
    const rows = await new GridCallRepository(db).mattersAfter(cityId, after, batchSize);
    if (!rows.length) return;
    yield rows.map(toMatterRecord);
    after = rows[rows.length - 1].id;
  }
}

/**
 * These matters as the viewer may see them (a report's drill-down): the center the city's, grid and
 * town roles their territory's; others none. Missing and hidden ids are left out; order kept.
 */
export async function gridMattersVisibleTo(db: Kysely<DB>, actor: Actor, ids: string[]): Promise<GridMatterView[]> {
  if (!isCenter(actor) && !(GRID_ROLES.has(actor.role) && actor.territoryPath)) return [];
  const scope = scopeOf(actor);
  const byId = new Map((await new GridCallRepository(db).mattersByIds(ids)).map((m) => [m.id, m]));
  return ids.map((id) => byId.get(id)).filter((m): m is GridMatterRow => !!m && m.city_id === actor.cityId && (scope.kind === 'city' || m.territory_path.startsWith(scope.path))).map(toMatterView);
}
