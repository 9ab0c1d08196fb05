/**
 * The closed loop on a controlled clock (SQLite or MariaDB per TEST_DATABASE): dispatch creates work
 * orders with their clocks; units acknowledge, reply, return, ask for extensions; the center rules;
 * the supervision ladder fires; callbacks close the loop or send it round again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, expectError, type Scenario } from './helpers';

let s: Scenario;
beforeAll(async () => {
  s = await startScenario(undefined, process.env.DEBUG_LOG ? { logLevel: 'error' } : undefined);
}, 60_000);
afterAll(async () => s?.t.close());

const at = (iso: string) => s.at(iso);
const reset = () => s.clock.set(new Date('2025-10-09T02:00:00Z'));

describe('dispatch creates work orders with their clocks', () => {
  it('one lead work order with the policy\'s deadlines on the working-time clock', async () => {
    reset();
    const { ticket, lead, co } = await s.dispatched('dept-cgj');
    expect(ticket.status).toBe('dispatched');
    expect(co).toEqual([]);
    expect(lead).toMatchObject({
      role: 'lead', status: 'dispatched', round: 1, policyCode: 'general', ticketNumber: ticket.number, risk: 'ok',
      // 诸城: 2 h to acknowledge; 3 working days to reply (Thu 10:00 → Mon 10:00: Sat 11 Oct is a make-up workday).
      deadlines: { acknowledge: '2025-10-09T12:00:00+08:00', reply: '2025-10-13T10:00:00+08:00', onSite: null, citizenReply: null },
    });
    const ladder = await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`);
    const due = Object.fromEntries(ladder.map((m: any) => [`${m.clock}.${m.step}`, m.due]));
    expect(due).toEqual({
      'acknowledge.reminder': '2025-10-09T11:30:00+08:00',
      'acknowledge.overdue': '2025-10-09T12:00:00+08:00',
      // Counted from the next working instant after the deadline (12:00 is lunch: from 14:00).
      'acknowledge.escalation': '2025-10-10T14:00:00+08:00',
      'acknowledge.supervision': '2025-10-11T14:00:00+08:00',
      // 75% of 1,260 office minutes after Thu 10:00 is Sat 11:45 (lunch and evenings do not count; Saturday is a make-up day).
      'reply.reminder': '2025-10-11T11:45:00+08:00',
      'reply.overdue': '2025-10-13T10:00:00+08:00',
      'reply.escalation': '2025-10-14T10:00:00+08:00',
      'reply.supervision': '2025-10-15T10:00:00+08:00',
    });
    const [notice] = await s.notices({ workOrderId: lead.id, event: 'workorder.dispatched' });
    expect(notice).toMatchObject({ recipient: { kind: 'unit', id: await s.unitId('dept-cgj') }, actBy: '2025-10-09T12:00:00+08:00' });
  });

  it('a utility burst gets the on-site clock (诸城: on site within 1 h)', async () => {
    reset();
    const { lead } = await s.dispatched('util-water', { extra: { categoryId: await s.categoryId('01021603'), type: 'help', urgency: 'emergency' } });
    expect(lead.policyCode).toBe('utility-onsite');
    expect(lead.deadlines).toMatchObject({ acknowledge: '2025-10-09T11:00:00+08:00', onSite: '2025-10-09T11:00:00+08:00', reply: '2025-10-10T10:00:00+08:00' });
  });
});

describe('the happy path', () => {
  it('acknowledge → on site → progress → reply → accepted → SMS survey → satisfied → closed', async () => {
    reset();
    const { ticket, lead } = await s.dispatched('dept-cgj');
    let w = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    expect(w).toMatchObject({ status: 'acknowledged', acknowledgedAt: '2025-10-09T10:00:00+08:00' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('acknowledged');
    w = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/on-site`, { version: w.version, note: '执法队员已到现场' });
    expect(w.onSiteAt).toBeTruthy();
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('in_progress');
    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/notes`, { text: '已约谈商铺负责人' });
    w = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: w.version, result: '已责令商铺拆除喇叭，并纳入日常巡查' });
    expect(w.status).toBe('replied');
    let tk = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`);
    expect(tk).toMatchObject({ status: 'replied', result: '已责令商铺拆除喇叭，并纳入日常巡查' });
    expect((await s.ok('dispatcher1', 'GET', '/work-orders?queue=to_review')).items.map((x: any) => x.id)).toContain(lead.id);

    tk = await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    expect(tk.status).toBe('reviewed');
    expect((await s.workOrdersOf(ticket.id))[0].status).toBe('completed');
    // The sweep starts the callback: the ticket is called back and the citizen gets the survey.
    await at('2025-10-09T02:01:00Z');
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('callback');
    const [survey] = await s.notices({ ticketId: ticket.id, event: 'callback.survey' });
    expect(survey).toMatchObject({ recipient: { kind: 'citizen' }, payload: { callerPhone: '13912345678', attempt: 1, of: 3 } });
    const [cb] = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items;
    const rated = await s.ok('agent1', 'POST', `/callbacks/${cb.id}/result`, { satisfaction: 'satisfied' });
    expect(rated).toMatchObject({ status: 'answered', satisfaction: 'satisfied' });
    tk = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`);
    expect(tk).toMatchObject({ status: 'closed', satisfaction: 'satisfied', round: 1 });
    // Every step is in the audit trail.
    const history = (await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}`)).history.map((h: any) => h.action);
    expect(history).toEqual(expect.arrayContaining(['workorder.created', 'workorder.acknowledged', 'workorder.on_site', 'workorder.note_added', 'workorder.replied', 'workorder.completed']));
  });
});

describe('returns', () => {
  it('return → re-dispatch (改派): the old work order is reassigned, the new unit gets fresh clocks', async () => {
    reset();
    const { ticket, lead } = await s.dispatched('dept-cgj');
    await at('2025-10-09T03:00:00Z'); // 11:00
    const r = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/return`, { version: lead.version, reason: '商铺经营噪声属市场监管职责' });
    expect(r.status).toBe('returned');
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('returned');
    expect((await s.ok('dispatcher1', 'GET', '/work-orders?queue=returned')).items.map((x: any) => x.id)).toContain(lead.id);
    const fresh = await s.ok('dispatcher1', 'POST', `/work-orders/${lead.id}/return-ruling`, { version: r.version, decision: 'redispatch', handlingUnitId: await s.unitId('dept-scjgj'), reason: '改派市场监管局' });
    expect(fresh).toMatchObject({ unitId: await s.unitId('dept-scjgj'), status: 'dispatched', deadlines: { acknowledge: '2025-10-09T13:00:00+08:00' } });
    const all = await s.workOrdersOf(ticket.id);
    expect(all.map((w: any) => [w.unitId, w.status])).toEqual([[await s.unitId('dept-cgj'), 'reassigned'], [await s.unitId('dept-scjgj'), 'dispatched']]);
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`))).toMatchObject({ status: 'dispatched', handlingUnitId: await s.unitId('dept-scjgj') });
    // The old unit no longer sees the ticket; its ladder stopped.
    expectError(await s.api('chengguan1', 'GET', `/tickets/${ticket.id}`), 404, 'TICKET_NOT_FOUND');
    expect((await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`)).every((m: any) => m.status !== 'pending')).toBe(true);
  });

  it('return → confirmed (审定): the same unit signs again on a fresh acknowledgement clock; the reply deadline keeps running', async () => {
    reset();
    const { ticket, lead } = await s.dispatched('dept-cgj');
    const r = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/return`, { version: lead.version, reason: '不属于本单位' });
    await at('2025-10-09T06:00:00Z'); // 14:00
    const w = await s.ok('dispatcher1', 'POST', `/work-orders/${lead.id}/return-ruling`, { version: r.version, decision: 'confirm', reason: '依责任清单第12项属城管职责' });
    expect(w).toMatchObject({ id: lead.id, status: 'dispatched', deadlines: { acknowledge: '2025-10-09T16:00:00+08:00', reply: '2025-10-13T10:00:00+08:00' } });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('dispatched');
    const history = (await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}`)).history;
    expect(history.find((h: any) => h.action === 'workorder.return_refused').reason).toBe('依责任清单第12项属城管职责');
  });

  it('a return after the window is refused and changes nothing', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    await at('2025-10-10T02:00:01Z'); // 24 h and a second later
    expectError(await s.api('chengguan1', 'POST', `/work-orders/${lead.id}/return`, { version: lead.version, reason: '不属于本单位' }), 409, 'RETURN_WINDOW_CLOSED');
    expect((await s.ok('chengguan1', 'GET', `/work-orders/${lead.id}`)).status).toBe('dispatched');
  });
});

describe('extensions', () => {
  it('granted: the new deadline replaces the old, which stays in history; the ladder moves with it', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    const req = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/extension-request`, { version: a.version, reason: '需协调多部门联合执法', proposedDeadline: '2025-10-20T17:00:00+08:00' });
    expect(req).toMatchObject({ status: 'extension_requested', extension: { reason: '需协调多部门联合执法', proposedDeadline: '2025-10-20T17:00:00+08:00' } });
    expect((await s.ok('dispatcher1', 'GET', '/work-orders?queue=extension_requested')).items.map((x: any) => x.id)).toContain(lead.id);
    const g = await s.ok('dispatcher1', 'POST', `/work-orders/${lead.id}/extension-ruling`, { version: req.version, decision: 'grant', reason: '同意' });
    expect(g).toMatchObject({ status: 'acknowledged', extensionCount: 1, deadlines: { reply: '2025-10-20T17:00:00+08:00' } });
    const ladder = await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`);
    expect(ladder.filter((m: any) => m.clock === 'reply' && m.status === 'pending').map((m: any) => m.deadline)).toEqual(Array(4).fill('2025-10-20T17:00:00+08:00'));
    expect(ladder.filter((m: any) => m.clock === 'reply' && m.deadline === '2025-10-13T10:00:00+08:00').every((m: any) => m.status === 'cancelled')).toBe(true);
    const granted = (await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}`)).history.find((h: any) => h.action === 'workorder.extension_granted');
    expect(granted.after.reply_due).toBe('2025-10-20 09:00:00.000');
    expect(await s.ok('dispatcher1', 'GET', `/tickets/${lead.ticketId}`)).toMatchObject({ status: 'in_progress' });
  });

  it('refused: the old deadline stands', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    const req = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/extension-request`, { version: a.version, reason: '人手不足', proposedDeadline: '2025-10-20T17:00:00+08:00' });
    expectError(await s.api('dispatcher1', 'POST', `/work-orders/${lead.id}/extension-ruling`, { version: req.version, decision: 'refuse' }), 400, 'FIELD_REQUIRED');
    const r = await s.ok('dispatcher1', 'POST', `/work-orders/${lead.id}/extension-ruling`, { version: req.version, decision: 'refuse', reason: '理由不充分' });
    expect(r).toMatchObject({ status: 'acknowledged', extensionCount: 0, deadlines: { reply: '2025-10-13T10:00:00+08:00' } });
    const [notice] = await s.notices({ workOrderId: lead.id, event: 'workorder.extension_refused' });
    expect(notice.payload.reason).toBe('理由不充分');
  });

  it('an extension into the past, not later than the deadline, or into a year the calendar lacks: clear errors, nothing changed', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    const ask = (proposedDeadline: string) => s.api('chengguan1', 'POST', `/work-orders/${lead.id}/extension-request`, { version: a.version, reason: '需协调', proposedDeadline });
    expectError(await ask('2025-10-01T17:00:00+08:00'), 400, 'DEADLINE_IN_PAST');
    expectError(await ask('2025-10-13T09:00:00+08:00'), 400, 'EXTENSION_NOT_LATER');
    expectError(await ask('2027-01-15T17:00:00+08:00'), 422, 'CALENDAR_YEAR_MISSING');
    expectError(await ask('2025-10-20T17:00:00'), 400, 'VALIDATION_FAILED');
    expect(await s.ok('chengguan1', 'GET', `/work-orders/${lead.id}`)).toMatchObject({ status: 'acknowledged', version: a.version });
  });
});

describe('the supervision ladder', () => {
  it('reminder → overdue → escalation → supervision order, each exactly once, even when swept again', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    const events = async () => (await s.notices({ workOrderId: lead.id })).map((n: any) => `${n.event}→${n.recipient.kind}`).filter((e: string) => e !== 'workorder.dispatched→unit');

    await at('2025-10-11T03:44:00Z'); // Sat (a make-up workday) 11:44, a minute before the reminder
    expect(await events()).toEqual([]);
    await at('2025-10-11T03:45:00Z');
    expect(await events()).toEqual(['workorder.reminder→unit']);
    expect((await s.ok('chengguan1', 'GET', '/work-orders?queue=open')).items.find((w: any) => w.id === lead.id).risk).toBe('at_risk');
    await at('2025-10-13T02:00:00Z'); // Mon 10:00: overdue
    expect(await events()).toEqual(['workorder.reminder→unit', 'workorder.overdue→unit', 'workorder.overdue→role']);
    expect((await s.ok('dispatcher1', 'GET', '/work-orders?queue=overdue')).items.map((w: any) => w.id)).toContain(lead.id);
    await at('2025-10-14T02:00:00Z'); // a working day overdue: escalated to the unit's manager and the supervisors
    await at('2025-10-15T02:00:00Z'); // two: a supervision order
    await at('2025-10-15T02:00:00Z'); // swept again: nothing new
    expect(await events()).toEqual([
      'workorder.reminder→unit', 'workorder.overdue→unit', 'workorder.overdue→role',
      'workorder.escalated→unit_manager', 'workorder.escalated→role', 'supervision.raised→unit', 'supervision.raised→unit_manager',
    ]);
    const order = (await s.ok('chengguan1', 'GET', '/supervision-orders?status=open')).items.find((o: any) => o.workOrderId === lead.id);
    expect(order).toMatchObject({ workOrderId: lead.id, origin: 'auto', status: 'open' });
    const answered = await s.ok('chengguan1', 'POST', `/supervision-orders/${order.id}/answer`, { answer: '已加派人手，明日办结' });
    expect(answered.status).toBe('answered');
    expectError(await s.api('chengguan1', 'POST', `/supervision-orders/${order.id}/answer`, { answer: '再答一次' }), 409, 'SUPERVISION_ORDER_ANSWERED');
    // A reply stops the clock: nothing more fires.
    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result: '已处理' });
    await at('2025-10-30T02:00:00Z');
    expect((await events()).slice(7)).toEqual(['supervision.answered→role']); // the answer, and nothing from the ladder
  });

  it('a supervisor raises a supervision order by hand; units and agents may not', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    expectError(await s.api('chengguan1', 'POST', `/work-orders/${lead.id}/supervision-orders`, { reason: '督办' }), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('agent1', 'POST', `/work-orders/${lead.id}/supervision-orders`, { reason: '督办' }), 403, 'ROLE_FORBIDDEN');
    const so = await s.ok('supervisor1', 'POST', `/work-orders/${lead.id}/supervision-orders`, { reason: '群众多次来电，请加快办理' });
    expect(so).toMatchObject({ origin: 'manual', status: 'open', unitId: await s.unitId('dept-cgj') });
  });

  it('a step that fell due while no node was running fires at the next sweep, once', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    // Nobody swept for five days; every due step fires now, once each.
    const first = await at('2025-10-14T09:00:00Z');
    expect(first.fired).toBeGreaterThanOrEqual(6);
    const again = await at('2025-10-14T09:00:00Z');
    expect(again.fired).toBe(0);
    const fired = (await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`)).filter((m: any) => m.status === 'fired');
    expect(new Set(fired.map((m: any) => `${m.clock}.${m.step}`)).size).toBe(fired.length);
  });
});

describe('callbacks and second handling', () => {
  async function repliedAndAccepted(unitCode = 'dept-cgj', user = 'chengguan1', extra: Record<string, unknown> = {}) {
    const { ticket, lead } = await s.dispatched(unitCode, { extra });
    const a = await s.ok(user, 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    await s.ok(user, 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result: '已处理' });
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    return { ticket, lead };
  }

  it('unsatisfied → second handling by the same unit with new deadlines → satisfied; rounds recorded', async () => {
    reset();
    const { ticket, lead } = await repliedAndAccepted();
    const cb = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items.find((c: any) => c.ticketId === ticket.id);
    await at('2025-10-10T01:00:00Z'); // Fri 09:00
    await s.ok('agent1', 'POST', `/callbacks/${cb.id}/result`, { satisfaction: 'unsatisfied', comment: '喇叭晚上又响了' });
    const tk = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`);
    expect(tk).toMatchObject({ status: 'dispatched', round: 2, satisfaction: 'unsatisfied' });
    const all = await s.workOrdersOf(ticket.id);
    const second = all.find((w: any) => w.round === 2);
    expect(all.find((w: any) => w.id === lead.id).status).toBe('completed');
    expect(second).toMatchObject({ unitId: lead.unitId, role: 'lead', status: 'dispatched', deadlines: { acknowledge: '2025-10-10T11:00:00+08:00', reply: '2025-10-14T09:00:00+08:00' } });
    const [notice] = await s.notices({ workOrderId: second.id, event: 'workorder.second_handling' });
    expect(notice.payload).toMatchObject({ round: 2, comment: '喇叭晚上又响了' });
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${second.id}/acknowledge`, { version: second.version });
    await s.ok('chengguan1', 'POST', `/work-orders/${second.id}/reply`, { version: a.version, result: '已没收喇叭' });
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    const cb2 = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items.find((c: any) => c.ticketId === ticket.id);
    expect(cb2.round).toBe(2);
    await s.ok('agent1', 'POST', `/callbacks/${cb2.id}/result`, { satisfaction: 'basically_satisfied' });
    expect(await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).toMatchObject({ status: 'closed', round: 2, satisfaction: 'basically_satisfied' });
  });

  it('no answer after the configured attempts closes the ticket with a note', async () => {
    reset();
    const { ticket } = await repliedAndAccepted();
    const surveys = async () => (await s.notices({ ticketId: ticket.id, event: 'callback.survey' })).length;
    await at('2025-10-09T02:00:00Z');
    expect(await surveys()).toBe(1);
    await at('2025-10-10T02:00:00Z'); // 24 h later: second attempt
    await at('2025-10-11T02:00:00Z');
    expect(await surveys()).toBe(3);
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('callback');
    await at('2025-10-12T02:00:00Z'); // the last attempt went unanswered
    const tk = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`);
    expect(tk.status).toBe('closed');
    const audit = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}/audit`);
    expect(audit.find((e: any) => e.action === 'ticket.close_without_answer').reason).toBe('回访 3 次未获答复，按未接通办结');
    const [cb] = (await s.ok('agent1', 'GET', '/callbacks?status=all')).items.filter((c: any) => c.ticketId === ticket.id);
    expect(cb).toMatchObject({ status: 'no_answer', attempts: 3 });
  });

  it('an agent\'s unanswered calls count as attempts', async () => {
    reset();
    const { ticket } = await repliedAndAccepted();
    const cb = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items.find((c: any) => c.ticketId === ticket.id);
    for (let i = 0; i < 3; i++) await s.ok('agent1', 'POST', `/callbacks/${cb.id}/attempts`, { outcome: 'no_answer' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('closed');
    expectError(await s.api('agent1', 'POST', `/callbacks/${cb.id}/result`, { satisfaction: 'satisfied' }), 409, 'CALLBACK_NOT_OPEN');
  });

  it('a rating for a ticket never replied to is refused', async () => {
    reset();
    const { ticket } = await s.dispatched('dept-cgj');
    expectError(await s.api('agent1', 'POST', `/tickets/${ticket.id}/rating`, { satisfaction: 'satisfied' }), 409, 'CALLBACK_NOT_OPEN');
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('dispatched');
  });

  it('a confidential ticket is called back without exposing the citizen to the unit', async () => {
    reset();
    const { ticket, lead } = await repliedAndAccepted('dept-cgj', 'chengguan1', { confidential: true, callerPhone: '13911112222', citizenName: '匿名' });
    const cb = (await s.ok('agent1', 'GET', '/callbacks?status=pending')).items.find((c: any) => c.ticketId === ticket.id);
    expect(cb.ticket.callerPhone).toBe('13911112222'); // the center sees it
    expectError(await s.api('chengguan1', 'GET', '/callbacks?status=all'), 403, 'ROLE_FORBIDDEN');
    await s.ok('agent1', 'POST', `/callbacks/${cb.id}/result`, { satisfaction: 'unsatisfied', comment: '没有解决' });
    const second = (await s.workOrdersOf(ticket.id)).find((w: any) => w.round === 2);
    const detail = await s.ok('chengguan1', 'GET', `/work-orders/${second.id}`);
    expect(detail.ticket).toMatchObject({ confidential: true, citizenHidden: true, callerPhone: null, citizenName: null });
    const unitNotices = [...await s.notices({ workOrderId: lead.id }), ...await s.notices({ workOrderId: second.id })];
    expect(JSON.stringify(unitNotices)).not.toContain('13911112222');
    expect(JSON.stringify(unitNotices)).not.toContain('匿名');
  });
});

describe('lead and co-handlers', () => {
  it('co-handler first, then the lead: the ticket is replied only when all have replied, with every result', async () => {
    reset();
    const { ticket, lead, co } = await s.dispatched('dept-cgj', { coUnitCodes: ['dept-scjgj', 'st-990102001'] });
    expect(co.map((w: any) => w.role)).toEqual(['co', 'co']);
    const scjUnit = await s.unitId('dept-scjgj');
    const scj = co.find((w: any) => w.unitId === scjUnit);
    const street = co.find((w: any) => w.unitId !== scjUnit);
    // The street's handler acts on its own work order; it sees the ticket through it (masked phone).
    const detail = await s.ok('street1', 'GET', `/work-orders/${street.id}`);
    expect(detail.ticket.callerPhone).toBe('139****5678');
    const sa = await s.ok('street1', 'POST', `/work-orders/${street.id}/acknowledge`, { version: street.version });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('dispatched'); // the lead decides the ticket's state
    await s.ok('street1', 'POST', `/work-orders/${street.id}/reply`, { version: sa.version, result: '社区已上门劝导' });
    const la = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: la.version, result: '已责令整改' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('acknowledged'); // one co-handler still owes a reply
    // The remaining co-handler is the market regulator: nobody logs in for it here, so the center acts through the service.
    const ctxOf = { actor: { kind: 'user' as const, id: 'scj-user', name: '市场监管', role: 'unit_handler' as const, cityId: 'demo', unitId: scj.unitId, territoryId: null, territoryPath: null } };
    const w1 = await s.t.ctx.workOrders.acknowledge(ctxOf, scj.id, scj.version);
    await s.t.ctx.workOrders.reply(ctxOf, scj.id, w1.version, '已对商铺立案调查');
    const tk = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`);
    expect(tk.status).toBe('replied');
    const lines = tk.result.split('\n');
    expect(lines[0]).toBe('已责令整改');
    expect(lines.slice(1)).toHaveLength(2);
    expect(lines.slice(1)).toEqual(expect.arrayContaining([expect.stringMatching(/^【协办 .*】已对商铺立案调查$/), expect.stringMatching(/^【协办 .*】社区已上门劝导$/)]));
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    expect((await s.workOrdersOf(ticket.id)).map((w: any) => w.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('lead first, co-handler last: the co-handler\'s reply completes the ticket', async () => {
    reset();
    const { ticket, lead, co } = await s.dispatched('dept-cgj', { coUnitCodes: ['st-990102001'] });
    const la = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: la.version, result: '已责令整改' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('acknowledged');
    // The lead cannot reply the ticket through the ticket either while a co-handler is open.
    const sa = await s.ok('street1', 'POST', `/work-orders/${co[0].id}/acknowledge`, { version: co[0].version });
    await s.ok('street1', 'POST', `/work-orders/${co[0].id}/reply`, { version: sa.version, result: '社区配合' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('replied');
  });

  it('a reply sent back for rework reopens the replied work orders and their clocks', async () => {
    reset();
    const { ticket, lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result: '已处理' });
    expectError(await s.api('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'rework' }), 400, 'FIELD_REQUIRED');
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'rework', reason: '反馈未说明处理结果' });
    expect((await s.ok('chengguan1', 'GET', `/work-orders/${lead.id}`)).status).toBe('acknowledged');
    expect((await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`)).filter((m: any) => m.clock === 'reply' && m.status === 'pending').length).toBe(4);
  });
});

describe('deadlines across the holidays', () => {
  it('National Day 2025: dispatched Tue 30 Sep 16:00, 3 working days → Sat 11 Oct (make-up day) 16:00', async () => {
    s.clock.set(new Date('2025-09-30T08:00:00Z'));
    const { lead } = await s.dispatched('dept-cgj');
    expect(lead.deadlines.reply).toBe('2025-10-11T16:00:00+08:00');
    // The reminder lands on a working day, not in the holiday.
    const reminder = (await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`)).find((m: any) => m.clock === 'reply' && m.step === 'reminder');
    expect(['2025-09-30', '2025-10-09', '2025-10-10', '2025-10-11']).toContain(reminder.due.slice(0, 10));
  });

  it('Spring Festival 2026: dispatched Fri 13 Feb 10:00, 3 working days → Wed 25 Feb 10:00 (14 Feb is a make-up day)', async () => {
    s.clock.set(new Date('2026-02-13T02:00:00Z'));
    const { lead } = await s.dispatched('dept-cgj');
    expect(lead.deadlines.reply).toBe('2026-02-25T10:00:00+08:00');
    const escalation = (await s.ok('dispatcher1', 'GET', `/work-orders/${lead.id}/milestones`)).find((m: any) => m.clock === 'reply' && m.step === 'escalation');
    expect(escalation.due).toBe('2026-02-26T10:00:00+08:00');
  });
});

describe('claim pool (认领)', () => {
  it('the center offers a hard ticket; the first unit to claim gets it, the second is told', async () => {
    reset();
    const t = await s.newTicket();
    expectError(await s.api('chengguan1', 'POST', `/tickets/${t.id}/claim-pool`, { reason: '疑难' }), 403, 'ROLE_FORBIDDEN');
    await s.ok('dispatcher1', 'POST', `/tickets/${t.id}/claim-pool`, { reason: '职责不清的疑难事项' });
    const pool = (await s.ok('street1', 'GET', '/claim-pool')).items;
    expect(pool.find((p: any) => p.ticketId === t.id)).toMatchObject({ reason: '职责不清的疑难事项' });
    expect(JSON.stringify(pool)).not.toContain('13912345678');
    const results = await Promise.all([s.api('street1', 'POST', `/claim-pool/${t.id}/claim`), s.api('chengguan1', 'POST', `/claim-pool/${t.id}/claim`)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)!.body;
    expect(winner).toMatchObject({ role: 'lead', status: 'dispatched' });
    expect(results.find((r) => r.status === 409)!.body.code).toBe('ALREADY_CLAIMED');
    const tk = await s.ok('dispatcher1', 'GET', `/tickets/${t.id}`);
    expect(tk).toMatchObject({ status: 'dispatched', handlingUnitId: winner.unitId, routingRule: 'claimed' });
    expect((await s.ok('street1', 'GET', '/claim-pool')).items.find((p: any) => p.ticketId === t.id)).toBeUndefined();
  });
});

describe('retries and rulings at the edges', () => {
  it('a granted deadline must be later than the current one', async () => {
    reset();
    const { lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    const req = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/extension-request`, { version: a.version, reason: '需协调', proposedDeadline: '2025-10-20T17:00:00+08:00' });
    const r = await s.api('dispatcher1', 'POST', `/work-orders/${lead.id}/extension-ruling`, { version: req.version, decision: 'grant', newDeadline: lead.deadlines.reply });
    expectError(r, 400, 'EXTENSION_NOT_LATER');
    expect(r.body.details).toMatchObject({ field: 'newDeadline', currentDeadline: lead.deadlines.reply });
  });

  it('a rating retried with its Idempotency-Key answers again and changes nothing', async () => {
    reset();
    const { ticket, lead } = await s.dispatched('dept-cgj');
    const a = await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/acknowledge`, { version: lead.version });
    await s.ok('chengguan1', 'POST', `/work-orders/${lead.id}/reply`, { version: a.version, result: '已处理' });
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    const key = { 'idempotency-key': `rate-${ticket.id}` };
    const first = await s.ok('agent1', 'POST', `/tickets/${ticket.id}/rating`, { satisfaction: 'satisfied' }, key);
    const again = await s.ok('agent1', 'POST', `/tickets/${ticket.id}/rating`, { satisfaction: 'satisfied' }, key);
    expect(again).toMatchObject({ id: first.id, status: 'answered', satisfaction: 'satisfied' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('closed');
  });
});
