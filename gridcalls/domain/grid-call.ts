/**
 * The grid call (网格呼叫·部门报到, after 诸城) as pure rules: who raises it, the approval chain up the
 * territory's levels, send-back, the town's choice (镇街自办 or 转12345中心), the caller's rating.
 * It knows nothing of storage or HTTP; the service loads, asks `decide…`, writes and audits.
 */
import { z } from 'zod';
import { badRequest, conflict, forbidden, unprocessable, Role, type Actor } from '../../core';
import { timeLimitSchema, type TimeLimit } from '../../calendar';

export const GridCallStatus = {
  pending: 'pending', // 待审批 (step names who must act)
  sentBack: 'sent_back', // 已退回 (to the caller, with a reason)
  townHandling: 'town_handling', // 镇街自办
  escalated: 'escalated', // 已转12345中心 (a ticket follows the closed loop)
  awaitingRating: 'awaiting_rating', // 待评价 (the caller checks the result)
  closed: 'closed', // 已办结
} as const;
export type GridCallStatus = (typeof GridCallStatus)[keyof typeof GridCallStatus];

export const GRID_CALL_STATUS_ZH: Record<GridCallStatus, string> = {
  pending: '待审批', sent_back: '已退回', town_handling: '镇街自办中', escalated: '已转12345中心', awaiting_rating: '待评价', closed: '已办结',
};

/** The roles that approve, bottom up: 网格长 → 社区书记 → 镇街分管负责同志. */
export const APPROVER_CHAIN = [Role.gridLeader, Role.communitySecretary, Role.townLeader] as const;
export type ApproverRole = (typeof APPROVER_CHAIN)[number];
/** Who may raise a call (a town leader files a ticket directly). */
export const CALLER_ROLES: ReadonlySet<Role> = new Set([Role.gridMember, Role.gridLeader, Role.communitySecretary]);

/** A step of the call: an approval level, the town's own handling, or the caller's rating. */
export type GridCallStep = ApproverRole | 'town_handling' | 'caller_rating';
export const STEP_ZH: Record<GridCallStep, string> = {
  grid_leader: '网格长审批', community_secretary: '社区书记审批', town_leader: '镇街审批', town_handling: '镇街办理', caller_rating: '网格员评价',
};

/**
 * Time limits of each step on the working clock (工作时间); the reminder comes half-way. The
 * defaults; a city sets its own in `settings.gridCalls.stepLimits` (city.json), step by step.
 */
export const DEFAULT_STEP_LIMITS: Record<GridCallStep, TimeLimit> = {
  grid_leader: { amount: 2, unit: 'working_hours' },
  community_secretary: { amount: 2, unit: 'working_hours' },
  town_leader: { amount: 4, unit: 'working_hours' },
  town_handling: { amount: 5, unit: 'working_days' },
  caller_rating: { amount: 3, unit: 'working_days' },
};

/** The longest a step may be given, per unit (a month of working time): beyond it a typo is more likely than a rule. */
const MAX_STEP_AMOUNT: Record<TimeLimit['unit'], number> = { minutes: 30 * 24 * 60, hours: 30 * 24, working_hours: 30 * 8, working_days: 30 };
const UNIT_ZH: Record<TimeLimit['unit'], string> = { minutes: '分钟', hours: '小时', working_hours: '工作小时', working_days: '工作日' };

const StepLimit = timeLimitSchema
  .refine((l) => l.amount > 0, { message: 'a step\'s time limit must be more than zero', path: ['amount'] })
  .refine((l) => l.amount <= MAX_STEP_AMOUNT[l.unit], { message: 'a step\'s time limit is at most 30 working days (240 working hours, 720 hours)', path: ['amount'] });

/** `settings.gridCalls` of a city (city.json): the time limit of each step, any left out at its default. */
export const GridCallSettings = z.strictObject({
  stepLimits: z.strictObject({
    grid_leader: StepLimit.optional(),
    community_secretary: StepLimit.optional(),
    town_leader: StepLimit.optional(),
    town_handling: StepLimit.optional(),
    caller_rating: StepLimit.optional(),
  }).optional(),
});
export type GridCallSettings = z.infer<typeof GridCallSettings>;

export interface GridCallSettingsProblem { field: string; message: string; messageZh: string }

/** Why a city's `settings.gridCalls` is refused, field by field in English and Chinese (empty: it is fine). */
export function gridCallSettingsProblems(raw: unknown): GridCallSettingsProblem[] {
  const r = GridCallSettings.safeParse(raw ?? {});
  if (r.success) return [];
  return r.error.issues.map((i) => {
    const field = ['settings', 'gridCalls', ...i.path.map(String)].join('.');
    const step = i.path[1] as GridCallStep | undefined;
    const stepZh = step && step in STEP_ZH ? `「${STEP_ZH[step]}」` : '';
    let zh: string;
    if (i.code === 'unrecognized_keys') zh = `未知字段：${i.keys.join('、')}（可设步骤：${Object.keys(DEFAULT_STEP_LIMITS).join('、')}）`;
    else if (i.path.at(-1) === 'unit') zh = `${stepZh}时限单位须为 ${Object.entries(UNIT_ZH).map(([k, v]) => `${k}（${v}）`).join('、')}`;
    else if (i.path.at(-1) === 'amount') zh = `${stepZh}时限须为大于 0、不超过 30 个工作日的数值（工作日须为整数）`;
    else zh = `${stepZh}时限设置不正确`;
    return { field, message: `${field}: ${i.message}`, messageZh: `网格呼叫时限设置 ${field} 有误：${zh}` };
  });
}

/** A city's step limits: its own where it sets one, the default elsewhere. Throws on invalid settings. */
export function stepLimitsOf(raw: unknown): Record<GridCallStep, TimeLimit> {
  const problems = gridCallSettingsProblems(raw);
  if (problems.length) {
    throw unprocessable('GRID_CALL_SETTINGS_INVALID', problems.map((p) => p.message).join('; '), problems.map((p) => p.messageZh).join('；'), { problems });
  }
  return { ...DEFAULT_STEP_LIMITS, ...(GridCallSettings.parse(raw ?? {}).stepLimits ?? {}) } as Record<GridCallStep, TimeLimit>;
}

/** The first approver of a call raised by this role: the level above the caller's. */
export function firstApproverOf(callerRole: Role): ApproverRole {
  if (callerRole === Role.gridMember) return Role.gridLeader;
  if (callerRole === Role.gridLeader) return Role.communitySecretary;
  if (callerRole === Role.communitySecretary) return Role.townLeader;
  throw forbidden('GRID_CALL_ROLE_FORBIDDEN', `role ${callerRole} may not raise a grid call`, `角色 ${callerRole} 不能发起网格呼叫`);
}

export function nextApproverOf(step: ApproverRole): ApproverRole | null {
  const i = APPROVER_CHAIN.indexOf(step);
  return i >= 0 && i < APPROVER_CHAIN.length - 1 ? APPROVER_CHAIN[i + 1] : null;
}

export interface CallFacts {
  status: GridCallStatus;
  step: GridCallStep | null;
  callerId: string;
  territoryPath: string;
  ticketId: string | null;
}

/** Whether an actor's territory covers the call's (a leader above the grid sees and acts on it). */
export const covers = (actor: Pick<Actor, 'territoryPath'>, call: Pick<CallFacts, 'territoryPath'>) =>
  !!actor.territoryPath && call.territoryPath.startsWith(actor.territoryPath);

export type TownRoute = 'town' | 'center';

export type GridCallCommand =
  | { action: 'approve'; route?: TownRoute | null; note?: string | null }
  | { action: 'send_back'; reason: string }
  | { action: 'resubmit' }
  | { action: 'town_reply'; result: string }
  | { action: 'rate'; satisfaction: 'satisfied' | 'basically_satisfied' | 'unsatisfied'; comment?: string | null };

export interface CallDecision {
  to: GridCallStatus;
  step: GridCallStep | null;
  /** Escalation: the service registers the ticket. Rating an escalated call: the service rates the ticket. */
  effect?: 'create_ticket' | 'rate_ticket';
  reason?: string | null;
}

const need = (ok: boolean, field: string, en: string, zh: string) => {
  if (!ok) throw badRequest('FIELD_REQUIRED', en, zh, { field });
};

/**
 * Decides a command on a call, or throws why it is refused: self-approval, a step out of order, a
 * role that is not the step's, a territory not covering the call, a send-back without a reason.
 */
export function decideCall(call: CallFacts, cmd: GridCallCommand, actor: Actor): CallDecision {
  const text = (s: string | null | undefined) => (s ?? '').trim();
  switch (cmd.action) {
    case 'approve':
    case 'send_back': {
      if (actor.id === call.callerId) {
        throw forbidden('GRID_CALL_SELF_APPROVAL', 'you may not approve or send back your own call', '不能审批本人发起的网格呼叫');
      }
      if (!(APPROVER_CHAIN as readonly string[]).includes(actor.role)) {
        throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} does not approve grid calls`, `角色 ${actor.role} 无权审批网格呼叫`);
      }
      if (call.status !== GridCallStatus.pending) {
        throw conflict('GRID_CALL_NOT_PENDING', `the call is ${call.status}, not waiting for an approval`, `该呼叫当前为「${GRID_CALL_STATUS_ZH[call.status]}」，不在审批中`, { status: call.status });
      }
      if (call.step !== actor.role) {
        throw conflict('GRID_CALL_OUT_OF_ORDER', `the call waits for ${call.step}, not ${actor.role}`, `该呼叫应由「${STEP_ZH[call.step as GridCallStep]}」处理，尚未轮到本级`, { step: call.step });
      }
      if (!covers(actor, call)) throw forbidden('GRID_CALL_OUT_OF_SCOPE', 'the call is outside your territory', '该呼叫不在您的管辖区域内');
      if (cmd.action === 'send_back') {
        need(text(cmd.reason).length > 0, 'reason', 'a send-back needs a reason', '退回必须填写原因');
        return { to: GridCallStatus.sentBack, step: null, reason: text(cmd.reason) };
      }
      const next = nextApproverOf(call.step as ApproverRole);
      if (next) return { to: GridCallStatus.pending, step: next, reason: cmd.note ?? null };
      // 镇街: what the town can handle it handles itself (镇街自办); the rest goes to the center.
      if (cmd.route !== 'town' && cmd.route !== 'center') {
        throw badRequest('FIELD_REQUIRED', 'the town decides: route "town" (handle it) or "center" (a ticket)', '镇街审批须选择「镇街自办」或「转12345中心」', { field: 'route' });
      }
      return cmd.route === 'town'
        ? { to: GridCallStatus.townHandling, step: 'town_handling', reason: cmd.note ?? null }
        : { to: GridCallStatus.escalated, step: null, effect: 'create_ticket', reason: cmd.note ?? null };
    }
    case 'resubmit': {
      if (actor.id !== call.callerId) throw forbidden('GRID_CALL_NOT_CALLER', 'only the caller resubmits a call', '只有发起人可以重新提交');
      if (call.status !== GridCallStatus.sentBack) {
        throw conflict('GRID_CALL_NOT_SENT_BACK', 'only a sent-back call is resubmitted', '只有已退回的呼叫可以重新提交', { status: call.status });
      }
      return { to: GridCallStatus.pending, step: firstApproverOf(actor.role) };
    }
    case 'town_reply': {
      if (actor.role !== Role.townLeader) throw forbidden('ROLE_FORBIDDEN', 'the town leader reports the town\'s result', '只有镇街负责同志可以反馈镇街办理结果');
      if (!covers(actor, call)) throw forbidden('GRID_CALL_OUT_OF_SCOPE', 'the call is outside your territory', '该呼叫不在您的管辖区域内');
      if (call.status !== GridCallStatus.townHandling) {
        throw conflict('GRID_CALL_NOT_IN_TOWN', 'the call is not being handled by the town', '该呼叫不在镇街办理中', { status: call.status });
      }
      need(text(cmd.result).length > 0, 'result', 'the result is required', '必须填写办理结果');
      return { to: GridCallStatus.awaitingRating, step: 'caller_rating', reason: null };
    }
    case 'rate': {
      if (actor.id !== call.callerId) throw forbidden('GRID_CALL_NOT_CALLER', 'only the grid staff who called rates the result', '只有发起呼叫的网格员可以评价');
      if (call.status !== GridCallStatus.awaitingRating) {
        throw conflict('GRID_CALL_NOT_AWAITING_RATING', 'the call has no result to rate yet', '该呼叫尚无办理结果，不能评价', { status: call.status });
      }
      if (!['satisfied', 'basically_satisfied', 'unsatisfied'].includes(cmd.satisfaction)) {
        throw badRequest('FIELD_REQUIRED', 'satisfaction is satisfied, basically_satisfied or unsatisfied', '评价须为满意、基本满意或不满意', { field: 'satisfaction' });
      }
      const unsatisfied = cmd.satisfaction === 'unsatisfied';
      if (unsatisfied) need(text(cmd.comment).length > 0, 'comment', 'say what is still wrong', '不满意须说明原因');
      // 不满意 → second handling (二次办理) by whoever handled it: the town again, or the ticket's unit.
      if (call.ticketId) return { to: unsatisfied ? GridCallStatus.escalated : GridCallStatus.closed, step: null, effect: 'rate_ticket', reason: cmd.comment ?? null };
      return unsatisfied
        ? { to: GridCallStatus.townHandling, step: 'town_handling', reason: cmd.comment ?? null }
        : { to: GridCallStatus.closed, step: null, reason: cmd.comment ?? null };
    }
  }
}
