import { describe, expect, it } from 'vitest';
import { decide, TRANSITIONS, TicketStatus, availableActions, missingSixElements, type TransitionInput, type TicketAction } from '../../intake';
import { ALL_ROLES, Role, type Actor, type AppError } from '../../core';

const NOW = new Date('2025-10-09T02:00:00Z');
const actor = (role: Actor['role'], unitId: string | null = null): Actor => ({
  kind: 'user', id: 'u1', name: 'x', role, cityId: 'c', unitId, territoryId: null, territoryPath: null,
});

/** A valid input for every action. */
const INPUTS: Record<TicketAction, TransitionInput> = {
  answer_on_spot: { action: 'answer_on_spot', answer: '营业时间为工作日 9:00-17:00' },
  dispatch: { action: 'dispatch', handlingUnitId: 'unit-a' },
  acknowledge: { action: 'acknowledge' },
  start_handling: { action: 'start_handling' },
  return_to_center: { action: 'return_to_center', reason: '不属于本单位职责' },
  redispatch: { action: 'redispatch', handlingUnitId: 'unit-b', reason: '职能划分' },
  confirm_assignment: { action: 'confirm_assignment', reason: '经审定属于该单位职责' },
  request_extension: { action: 'request_extension', reason: '需协调多部门', proposedDeadline: '2025-10-20T17:30:00+08:00' },
  grant_extension: { action: 'grant_extension' },
  refuse_extension: { action: 'refuse_extension', reason: '理由不充分' },
  reply: { action: 'reply', result: '已修复路灯' },
  approve_reply: { action: 'approve_reply' },
  reject_reply: { action: 'reject_reply', reason: '反馈不完整' },
  start_callback: { action: 'start_callback' },
  record_satisfaction: { action: 'record_satisfaction', satisfaction: 'satisfied' },
  close_without_answer: { action: 'close_without_answer', reason: '三次回访未接通' },
  close: { action: 'close' },
  merge: { action: 'merge', intoTicketId: 'other' },
  cancel: { action: 'cancel', reason: '重复登记' },
};

const facts = (status: TicketStatus) => ({ id: 't1', status, handlingUnitId: 'unit-a', missingElements: [], round: 1 });
const code = (f: () => unknown) => {
  try {
    f();
    return 'OK';
  } catch (e) {
    return (e as AppError).code;
  }
};

describe('ticket state machine', () => {
  const statuses = Object.values(TicketStatus);
  for (const [action, rule] of Object.entries(TRANSITIONS) as [TicketAction, (typeof TRANSITIONS)[TicketAction]][]) {
    const role = rule.roles[0];
    const who = actor(role, 'unit-a');
    for (const status of statuses) {
      const allowed = rule.from.includes(status);
      it(`${action} from ${status} is ${allowed ? 'allowed' : 'refused'}`, () => {
        const result = code(() => decide(facts(status), INPUTS[action], who, NOW));
        expect(result).toBe(allowed ? 'OK' : 'TRANSITION_NOT_ALLOWED');
      });
    }
    for (const r of ALL_ROLES) {
      if (rule.roles.includes(r)) continue;
      it(`${action} is refused to ${r}`, () => {
        expect(code(() => decide(facts(rule.from[0]), INPUTS[action], actor(r, 'unit-a'), NOW))).toBe('ROLE_FORBIDDEN');
      });
    }
  }

  it('goes the whole closed loop: accept → dispatch → acknowledge → handle → reply → review → callback → closed', () => {
    const path: [TicketAction, Role, TicketStatus][] = [
      ['dispatch', Role.agent, 'dispatched'],
      ['acknowledge', Role.unitHandler, 'acknowledged'],
      ['start_handling', Role.unitHandler, 'in_progress'],
      ['reply', Role.unitHandler, 'replied'],
      ['approve_reply', Role.dispatcher, 'reviewed'],
      ['start_callback', Role.agent, 'callback'],
      ['record_satisfaction', Role.agent, 'closed'],
    ];
    let status: TicketStatus = 'accepted';
    for (const [action, role, expected] of path) {
      status = decide(facts(status), INPUTS[action], actor(role, 'unit-a'), NOW).to;
      expect(status).toBe(expected);
    }
  });

  it('unsatisfied sends the ticket back to the same unit for a second round (重办)', () => {
    const d = decide(facts('callback'), { action: 'record_satisfaction', satisfaction: 'unsatisfied' }, actor(Role.agent), NOW);
    expect(d.to).toBe('dispatched');
    expect(d.patch.round).toBe(2);
    expect(d.patch.handling_unit_id).toBeUndefined();
  });

  it('refuses dispatch while any of the six elements is missing, naming them', () => {
    const f = { ...facts('accepted'), handlingUnitId: null, missingElements: missingSixElements({ occurred_at: null, address_text: '', territory_id: null, parties: 'x', situation: 'y', demand: null, handling_unit_id: null }) };
    try {
      decide(f, { action: 'dispatch' }, actor(Role.agent), NOW);
      expect.unreachable();
    } catch (e) {
      expect((e as AppError).code).toBe('SIX_ELEMENTS_INCOMPLETE');
      expect((e as AppError).details).toEqual({ missing: ['occurredAt', 'place', 'demand', 'handlingUnit'] });
      expect((e as AppError).messageZh).toContain('时间');
    }
    // The unit given with the dispatch itself completes the sixth element.
    const complete = { ...facts('accepted'), handlingUnitId: null, missingElements: ['handlingUnit' as const] };
    expect(decide(complete, { action: 'dispatch', handlingUnitId: 'u' }, actor(Role.agent), NOW).patch.handling_unit_id).toBe('u');
  });

  it('a unit acts only on tickets assigned to it', () => {
    expect(code(() => decide(facts('dispatched'), INPUTS.acknowledge, actor(Role.unitHandler, 'unit-x'), NOW))).toBe('SCOPE_FORBIDDEN');
    expect(code(() => decide(facts('dispatched'), INPUTS.acknowledge, actor(Role.unitHandler, null), NOW))).toBe('SCOPE_FORBIDDEN');
  });

  it('needs reasons and results where the rules say so', () => {
    expect(code(() => decide(facts('acknowledged'), { action: 'return_to_center', reason: '  ' }, actor(Role.unitHandler, 'unit-a'), NOW))).toBe('FIELD_REQUIRED');
    expect(code(() => decide(facts('in_progress'), { action: 'reply', result: '' }, actor(Role.unitHandler, 'unit-a'), NOW))).toBe('FIELD_REQUIRED');
    expect(code(() => decide(facts('in_progress'), { action: 'request_extension', reason: 'x', proposedDeadline: '2025-10-01T00:00:00+08:00' }, actor(Role.unitHandler, 'unit-a'), NOW))).toBe('DEADLINE_IN_PAST');
    expect(code(() => decide(facts('accepted'), { action: 'merge', intoTicketId: 't1' }, actor(Role.agent), NOW))).toBe('MERGE_INTO_SELF');
  });

  it('lists only the actions this actor may take now', () => {
    expect(availableActions({ status: 'dispatched', handlingUnitId: 'unit-a' }, actor(Role.unitHandler, 'unit-a')).sort()).toEqual(['acknowledge', 'return_to_center']);
    expect(availableActions({ status: 'dispatched', handlingUnitId: 'unit-a' }, actor(Role.unitHandler, 'unit-b'))).toEqual([]);
    expect(availableActions({ status: 'accepted', handlingUnitId: null }, actor(Role.agent)).sort()).toEqual(['answer_on_spot', 'dispatch', 'merge']);
    expect(availableActions({ status: 'closed', handlingUnitId: 'unit-a' }, actor(Role.admin))).toEqual([]);
  });
});
