/**
 * The ticket's life, in one place (工单状态机). Every state change goes through `decide`, which
 * checks the current state, the actor's role and scope and the command's preconditions, and returns
 * the change to write. It knows nothing of storage or HTTP.
 */
import { badRequest, conflict, forbidden, unprocessable, Role, UNIT_ROLES, type Actor } from '../../core';

export const TicketStatus = {
  accepted: 'accepted', // 已受理
  answered: 'answered', // 即办 answered on the spot
  dispatched: 'dispatched', // 已派单
  acknowledged: 'acknowledged', // 已签收
  inProgress: 'in_progress', // 办理中
  extensionRequested: 'extension_requested', // 延期申请中
  returned: 'returned', // 已退回 (to the center)
  replied: 'replied', // 已反馈 (the unit reported its result)
  reviewed: 'reviewed', // 已审核 (the center accepted the reply)
  callback: 'callback', // 回访中
  closed: 'closed', // 已办结归档
  merged: 'merged', // 已合并 (into another ticket)
  cancelled: 'cancelled', // 已撤销
} as const;
export type TicketStatus = (typeof TicketStatus)[keyof typeof TicketStatus];

export const TICKET_STATUS_ZH: Record<TicketStatus, string> = {
  accepted: '已受理', answered: '即办办结', dispatched: '已派单', acknowledged: '已签收', in_progress: '办理中',
  extension_requested: '延期申请中', returned: '已退回', replied: '已反馈', reviewed: '已审核', callback: '回访中',
  closed: '已办结', merged: '已合并', cancelled: '已撤销',
};

export const FINAL_STATUSES: ReadonlySet<TicketStatus> = new Set(['closed', 'merged', 'cancelled']);
/** States in which the center may still edit the six elements. */
export const EDITABLE_STATUSES: ReadonlySet<TicketStatus> = new Set(['accepted', 'returned', 'dispatched']);

export const Satisfaction = { satisfied: 'satisfied', basicallySatisfied: 'basically_satisfied', unsatisfied: 'unsatisfied' } as const;
export type Satisfaction = (typeof Satisfaction)[keyof typeof Satisfaction];

/** What the state machine needs to know about a ticket. */
export interface TicketFacts {
  status: TicketStatus;
  handlingUnitId: string | null;
  missingElements: SixElement[];
  round: number;
  id: string;
}

export type SixElement = 'occurredAt' | 'place' | 'parties' | 'situation' | 'demand' | 'handlingUnit';
export const SIX_ELEMENTS_ZH: Record<SixElement, string> = {
  occurredAt: '时间', place: '地点', parties: '当事人', situation: '具体情形', demand: '需求诉求', handlingUnit: '承办单位',
};

/** The commands, with what each needs from the caller. */
/** What routing decided, recorded on the ticket at dispatch (the plan's unit, so overrides show). */
export interface RoutingRecord {
  rule: string;
  responsibilityVersionId: string | null;
  plannedUnitId: string | null;
  coUnitIds?: string[];
  /** The category the plan routed by (given or the classifier's): the ticket keeps it. */
  categoryId?: string | null;
}

export type TransitionInput =
  | { action: 'answer_on_spot'; answer: string; knowledgeArticleId?: string | null }
  | { action: 'dispatch'; handlingUnitId?: string | null; note?: string | null; routing?: RoutingRecord | null }
  | { action: 'acknowledge' }
  | { action: 'start_handling' }
  | { action: 'return_to_center'; reason: string }
  | { action: 'redispatch'; handlingUnitId: string; reason: string }
  | { action: 'confirm_assignment'; reason: string }
  | { action: 'request_extension'; reason: string; proposedDeadline: string }
  | { action: 'grant_extension'; newDeadline?: string | null; reason?: string | null }
  | { action: 'refuse_extension'; reason: string }
  | { action: 'reply'; result: string }
  | { action: 'approve_reply'; note?: string | null }
  | { action: 'reject_reply'; reason: string }
  | { action: 'start_callback' }
  | { action: 'record_satisfaction'; satisfaction: Satisfaction; comment?: string | null }
  | { action: 'close_without_answer'; reason: string }
  | { action: 'close'; reason?: string | null }
  | { action: 'merge'; intoTicketId: string; reason?: string | null }
  | { action: 'cancel'; reason: string };

export type TicketAction = TransitionInput['action'];

const CENTER: Role[] = [Role.agent, Role.dispatcher, Role.supervisor, Role.admin];
const DISPATCH: Role[] = [Role.dispatcher, Role.supervisor, Role.admin];
const UNIT: Role[] = [Role.unitHandler, Role.unitManager];

interface Rule {
  from: TicketStatus[];
  roles: Role[];
  /** Target state; a function when it depends on the input. */
  to: TicketStatus | ((input: any) => TicketStatus);
  zh: string;
}

/** The transition table: from which states, by whom, to where. */
export const TRANSITIONS: Record<TicketAction, Rule> = {
  answer_on_spot: { from: ['accepted'], roles: [Role.agent, ...DISPATCH], to: 'answered', zh: '即办答复' },
  dispatch: { from: ['accepted'], roles: [Role.agent, ...DISPATCH], to: 'dispatched', zh: '派单' },
  acknowledge: { from: ['dispatched'], roles: UNIT, to: 'acknowledged', zh: '签收' },
  start_handling: { from: ['acknowledged'], roles: UNIT, to: 'in_progress', zh: '开始办理' },
  return_to_center: { from: ['dispatched', 'acknowledged'], roles: UNIT, to: 'returned', zh: '退回' },
  redispatch: { from: ['returned'], roles: DISPATCH, to: 'dispatched', zh: '改派' },
  // 审定: the center rules that the return was unfounded; the same unit keeps it and signs for it again.
  confirm_assignment: { from: ['returned'], roles: DISPATCH, to: 'dispatched', zh: '审定原单位' },
  request_extension: { from: ['acknowledged', 'in_progress'], roles: UNIT, to: 'extension_requested', zh: '申请延期' },
  grant_extension: { from: ['extension_requested'], roles: DISPATCH, to: 'in_progress', zh: '同意延期' },
  refuse_extension: { from: ['extension_requested'], roles: DISPATCH, to: 'in_progress', zh: '驳回延期' },
  reply: { from: ['acknowledged', 'in_progress'], roles: UNIT, to: 'replied', zh: '办结反馈' },
  approve_reply: { from: ['replied'], roles: DISPATCH, to: 'reviewed', zh: '审核通过' },
  reject_reply: { from: ['replied'], roles: DISPATCH, to: 'in_progress', zh: '审核退回重办' },
  start_callback: { from: ['reviewed', 'answered'], roles: CENTER, to: 'callback', zh: '回访' },
  record_satisfaction: {
    from: ['callback'],
    roles: [...CENTER, Role.system],
    // 不满意 → second handling (二次办理) by the same unit
    to: (i: { satisfaction: Satisfaction }) => (i.satisfaction === 'unsatisfied' ? 'dispatched' : 'closed'),
    zh: '回访评价',
  },
  close_without_answer: { from: ['callback'], roles: [...CENTER, Role.system], to: 'closed', zh: '回访未接通办结' },
  close: { from: ['reviewed', 'answered'], roles: DISPATCH, to: 'closed', zh: '办结归档' },
  merge: { from: ['accepted', 'returned', 'dispatched'], roles: [Role.agent, ...DISPATCH], to: 'merged', zh: '合并' },
  cancel: { from: ['accepted', 'returned', 'dispatched'], roles: DISPATCH, to: 'cancelled', zh: '撤销' },
};

export interface Decision {
  from: TicketStatus;
  to: TicketStatus;
  /** Column changes besides status (snake_case, as stored). */
  patch: Record<string, unknown>;
  reason: string | null;
}

const need = (ok: boolean, field: string, en: string, zh: string) => {
  if (!ok) throw badRequest('FIELD_REQUIRED', en, zh, { field });
};

/**
 * Decides a transition or throws the reason it is refused. `trusted` is for the work-order part
 * driving the ticket from its work orders (a co-handler's reply completing the ticket, a unit
 * claiming from the pool): it has checked who may act on the work order, so role and unit scope
 * are not checked again here; the state rules and preconditions still are.
 */
export function decide(ticket: TicketFacts, input: TransitionInput, actor: Actor, now: Date, opts: { trusted?: boolean } = {}): Decision {
  const rule = TRANSITIONS[input.action];
  if (!rule) throw badRequest('ACTION_UNKNOWN', `unknown action ${String(input.action)}`, `未知操作 ${String(input.action)}`);
  if (!opts.trusted && !rule.roles.includes(actor.role)) {
    throw forbidden('ROLE_FORBIDDEN', `role ${actor.role} may not ${input.action}`, `角色 ${actor.role} 无权执行「${rule.zh}」`);
  }
  // A unit acts only on its own tickets (本单位工单).
  if (!opts.trusted && UNIT_ROLES.has(actor.role) && (!actor.unitId || actor.unitId !== ticket.handlingUnitId)) {
    throw forbidden('SCOPE_FORBIDDEN', 'this ticket is not assigned to your unit', '该工单不属于本单位');
  }
  if (!rule.from.includes(ticket.status)) {
    throw conflict(
      'TRANSITION_NOT_ALLOWED',
      `cannot ${input.action} a ticket that is ${ticket.status}`,
      `工单当前为「${TICKET_STATUS_ZH[ticket.status]}」，不能「${rule.zh}」`,
      { status: ticket.status, action: input.action, allowedFrom: rule.from },
    );
  }
  const to = typeof rule.to === 'function' ? rule.to(input) : rule.to;
  const patch: Record<string, unknown> = {};
  let reason: string | null = null;
  const text = (s: string | null | undefined) => (s ?? '').trim();

  switch (input.action) {
    case 'answer_on_spot':
      need(text(input.answer).length > 0, 'answer', 'an answer is required', '即办须填写答复内容');
      patch.answer = text(input.answer);
      patch.closed_at = null;
      break;
    case 'dispatch': {
      const unitId = input.handlingUnitId ?? ticket.handlingUnitId;
      const missing = ticket.missingElements.filter((e) => !(e === 'handlingUnit' && unitId));
      if (missing.length) {
        // 六要素 must all be present before dispatch (诸城).
        throw unprocessable(
          'SIX_ELEMENTS_INCOMPLETE',
          `cannot dispatch: missing ${missing.join(', ')}`,
          `六要素不全，不能派单：缺少${missing.map((m) => SIX_ELEMENTS_ZH[m]).join('、')}`,
          { missing },
        );
      }
      patch.handling_unit_id = unitId;
      if (input.routing) {
        patch.routing_rule = input.routing.rule;
        patch.responsibility_version_id = input.routing.responsibilityVersionId;
        patch.planned_unit_id = input.routing.plannedUnitId;
        if (input.routing.categoryId) patch.category_id = input.routing.categoryId;
      }
      reason = input.note ?? null;
      break;
    }
    case 'return_to_center':
    case 'confirm_assignment':
    case 'refuse_extension':
    case 'reject_reply':
    case 'close_without_answer':
    case 'cancel':
      need(text(input.reason).length > 0, 'reason', 'a reason is required', '必须填写原因');
      reason = text(input.reason);
      break;
    case 'redispatch':
      need(text(input.reason).length > 0, 'reason', 'a reason is required', '必须填写原因');
      need(!!input.handlingUnitId, 'handlingUnitId', 'a handling unit is required', '必须指定承办单位');
      patch.handling_unit_id = input.handlingUnitId;
      reason = text(input.reason);
      break;
    case 'request_extension': {
      need(text(input.reason).length > 0, 'reason', 'a reason is required', '必须填写延期原因');
      const proposed = new Date(input.proposedDeadline);
      if (Number.isNaN(proposed.getTime()) || proposed.getTime() <= now.getTime()) {
        throw badRequest('DEADLINE_IN_PAST', 'the proposed deadline must be in the future', '申请的延期时间必须晚于当前时间', { field: 'proposedDeadline' });
      }
      reason = text(input.reason);
      break;
    }
    case 'grant_extension':
      reason = input.reason ?? null;
      break;
    case 'reply':
      need(text(input.result).length > 0, 'result', 'a reply needs the result', '办结反馈须填写办理结果');
      patch.result = text(input.result);
      break;
    case 'record_satisfaction':
      patch.satisfaction = input.satisfaction;
      reason = input.comment ?? null;
      if (input.satisfaction === 'unsatisfied') {
        // 重办: same unit, a new round; the result of the failed round stays in the audit trail.
        patch.round = ticket.round + 1;
        patch.result = null;
      }
      break;
    case 'merge':
      need(!!input.intoTicketId, 'intoTicketId', 'the ticket to merge into is required', '必须指定合并到的工单');
      if (input.intoTicketId === ticket.id) throw badRequest('MERGE_INTO_SELF', 'a ticket cannot be merged into itself', '工单不能合并到自身');
      patch.merged_into_id = input.intoTicketId;
      reason = input.reason ?? null;
      break;
    case 'close':
      reason = input.reason ?? null;
      break;
    default:
      break;
  }
  if (to === 'closed' || to === 'merged' || to === 'cancelled' || to === 'answered') patch.closed_at = now;
  return { from: ticket.status, to, patch, reason };
}

/** Which of the six elements (六要素) a ticket still lacks. */
export function missingSixElements(t: {
  occurred_at: string | null;
  address_text: string | null;
  territory_id: string | null;
  parties: string | null;
  situation: string | null;
  demand: string | null;
  handling_unit_id: string | null;
}): SixElement[] {
  const blank = (s: string | null) => !s || !s.trim();
  const missing: SixElement[] = [];
  if (!t.occurred_at) missing.push('occurredAt');
  if (blank(t.address_text) && !t.territory_id) missing.push('place');
  if (blank(t.parties)) missing.push('parties');
  if (blank(t.situation)) missing.push('situation');
  if (blank(t.demand)) missing.push('demand');
  if (!t.handling_unit_id) missing.push('handlingUnit');
  return missing;
}

/** The actions an actor may take on a ticket now (for the console's buttons). */
export function availableActions(ticket: Pick<TicketFacts, 'status' | 'handlingUnitId'>, actor: Actor): TicketAction[] {
  return (Object.entries(TRANSITIONS) as [TicketAction, Rule][])
    .filter(([, r]) => r.from.includes(ticket.status) && r.roles.includes(actor.role))
    .filter(() => !UNIT_ROLES.has(actor.role) || (actor.unitId !== null && actor.unitId === ticket.handlingUnitId))
    .map(([a]) => a);
}
