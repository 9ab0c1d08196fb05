/**
 * Delivery you can trust, over a real SMPP link to the SMSC simulator: a throttled text is retried
 * after its backoff, a refused one fails at once into the dispatchers' failed queue and can be sent
 * again to a corrected number, attempts and the validity period end in `failed`/`expired` (never a
 * silent drop), surveys wait out the quiet hours and stop after 退订, and receipts that name no known
 * message are kept.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startScenario, expectError, type Scenario } from '../workorders/helpers';
import { startSmscSimulator, type SmscSimulator } from '../helpers/smsc-simulator';
import { testConfig } from '../../app/config';
import { listAudit } from '../../audit';
import { fromDbTime } from '../../core';
import { until } from '../helpers/until';

let sim: SmscSimulator;
let s: Scenario;


const messagesTo = (phone: string) => s.t.ctx.database.db.selectFrom('sms_messages').selectAll().where('phone', '=', phone).orderBy('created_at').execute();
const settle = () => new Promise((r) => setTimeout(r, 200));

beforeAll(async () => {
  sim = await startSmscSimulator({ systemId: 'hotline', password: 'secret12' });
  s = await startScenario(undefined, {
    sms: {
      ...testConfig().sms,
      maxAttempts: 3,
      gateways: [{ kind: 'smpp', name: 'smpp', url: sim.url, systemId: 'hotline', password: 'secret12', systemType: '', sourceAddr: '12345', windowSize: 10, enquireLinkMs: 30_000, submitTimeoutMs: 5_000, ratePerSecond: 1000 }],
    },
  });
});

afterAll(async () => {
  await s?.t.close();
  await sim?.close();
});

beforeEach(() => {
  s.clock.set(new Date('2025-10-09T02:00:00Z'));
  sim.setMode({ throttle: 0, rejectDestinations: {}, receipts: 'delivered' });
});

describe('retries, failures and expiry', () => {
  it('a throttled text waits 30 s, then goes; the audit has each step', async () => {
    sim.setMode({ throttle: 1 });
    await s.newTicket({ callerPhone: '13911110001' });
    const [queued] = await until(async () => {
      const rows = await messagesTo('13911110001');
      return rows[0]?.state === 'queued' && rows[0].last_error ? rows : null;
    }, 'the throttled text back in the queue');
    expect(queued!.last_error).toContain('SMPP_THROTTLED');
    expect(queued!.next_attempt_at > queued!.created_at).toBe(true);
    // Not before its time.
    expect(await s.t.ctx.sms.deliverDue()).toBe(0);
    s.clock.set(new Date('2025-10-09T02:00:31Z'));
    expect(await s.t.ctx.sms.deliverDue()).toBe(1);
    const [sent] = await until(async () => ((await messagesTo('13911110001'))[0]?.state === 'delivered' ? messagesTo('13911110001') : null), 'delivered');
    expect(sent).toMatchObject({ attempts: 2, gateway: 'smpp' });
    const actions = (await listAudit(s.t.ctx.database.db, 'sms', sent!.id)).map((a) => a.action);
    expect(actions).toEqual(['sms.queued', 'sms.retry_scheduled', 'sms.submitted', 'sms.delivered']);
  });

  it('after the last attempt a text is failed, never dropped', async () => {
    sim.setMode({ throttle: 100 });
    await s.newTicket({ callerPhone: '13911110002' });
    await until(async () => (await messagesTo('13911110002'))[0]?.last_error, 'first failure');
    s.clock.set(new Date('2025-10-09T02:00:31Z'));
    await s.t.ctx.sms.deliverDue();
    s.clock.set(new Date('2025-10-09T02:01:32Z'));
    await s.t.ctx.sms.deliverDue();
    const [m] = await messagesTo('13911110002');
    expect(m).toMatchObject({ state: 'failed', attempts: 3 });
    expect(m!.last_error).toContain('after 3 attempts');
  });

  it('a text no gateway took within its validity is expired', async () => {
    sim.setMode({ throttle: 100 });
    await s.newTicket({ callerPhone: '13911110003' });
    await until(async () => (await messagesTo('13911110003'))[0]?.last_error, 'first failure');
    s.clock.set(new Date('2025-10-10T03:00:00Z'));
    await s.t.ctx.sms.deliverDue();
    expect((await messagesTo('13911110003'))[0]).toMatchObject({ state: 'expired' });
  });

  it('a refused number fails at once, shows in the failed queue, and is sent again to a corrected number', async () => {
    sim.setMode({ rejectDestinations: { '13911110004': 0x0b } });
    const t = await s.newTicket({ callerPhone: '13911110004' });
    const [m] = await until(async () => ((await messagesTo('13911110004'))[0]?.state === 'failed' ? messagesTo('13911110004') : null), 'failed');
    expect(m!.attempts).toBe(1);
    expect(m!.last_error).toContain('SMPP_REJECTED_0B');
    const queue = await s.ok('dispatcher1', 'GET', '/sms/messages?state=failed,expired&pageSize=200');
    expect(queue.items.map((x: any) => x.id)).toContain(m!.id);
    // Agents do not resend; a unit does not see the center's queue.
    expectError(await s.api('agent1', 'POST', `/sms/messages/${m!.id}/resend`, {}), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('chengguan1', 'GET', '/sms/messages?state=failed'), 403, 'ROLE_FORBIDDEN');
    expectError(await s.api('dispatcher1', 'POST', `/sms/messages/${m!.id}/resend`, { phone: '123' }), 400, 'PHONE_INVALID');
    const again = await s.ok('dispatcher1', 'POST', `/sms/messages/${m!.id}/resend`, { phone: '13911110005' }, { 'idempotency-key': 'resend-1' });
    expect(again).toMatchObject({ phone: '13911110005', ticketId: t.id, text: m!.body });
    await until(async () => (await messagesTo('13911110005'))[0]?.state === 'delivered', 'the resent text delivered');
    // The same request again (a double click) queues nothing new.
    await s.ok('dispatcher1', 'POST', `/sms/messages/${m!.id}/resend`, { phone: '13911110005' }, { 'idempotency-key': 'resend-1' });
    expect(await messagesTo('13911110005')).toHaveLength(1);
    // A delivered text is not "resent".
    expectError(await s.api('dispatcher1', 'POST', `/sms/messages/${again.id}/resend`, {}), 409, 'SMS_NOT_FAILED');
  });

  it('a receipt for a message nobody knows is kept and counted, and the same receipt twice is one', async () => {
    const before = (await s.ok('dispatcher1', 'GET', '/sms/health')).unmatchedReceipts;
    const r = { gateway: 'smpp', providerMessageId: 'no-such-id', state: 'delivered' as const, detail: 'stat:DELIVRD', at: new Date() };
    expect(await s.t.ctx.sms.applyReceipt(r)).toEqual({ matched: false, duplicate: false });
    expect(await s.t.ctx.sms.applyReceipt(r)).toEqual({ matched: false, duplicate: true });
    expect((await s.ok('dispatcher1', 'GET', '/sms/health')).unmatchedReceipts).toBe(before + 1);
  });
});

describe('quiet hours and opting out', () => {
  const surveyNotice = (id: string, phone: string) => ({
    id, cityId: 'demo', event: 'callback.survey', recipient: { kind: 'citizen', id: phone }, ticketId: null, workOrderId: null, actBy: null,
    payload: { ticketNumber: 'T-QUIET', callerPhone: phone, result: '已处理' },
  });

  it('a survey due at 22:30 waits for 08:00; a receipt at 22:30 goes at once', async () => {
    s.clock.set(new Date('2025-10-09T14:30:00Z')); // 22:30 China time
    await s.t.ctx.sms.deliverNotice(surveyNotice('quiet-1', '13911110006'));
    await s.newTicket({ callerPhone: '13911110006' });
    await settle();
    await s.t.ctx.sms.deliverDue();
    const rows = await messagesTo('13911110006');
    const survey = rows.find((r) => r.kind === 'callback.survey')!;
    expect(survey.state).toBe('queued');
    expect(fromDbTime(survey.next_attempt_at).toISOString()).toBe('2025-10-10T00:00:00.000Z'); // 08:00 China
    expect(rows.find((r) => r.kind === 'ticket.receipt')!.state).not.toBe('queued');
    s.clock.set(new Date('2025-10-10T00:00:01Z'));
    await s.t.ctx.sms.deliverDue();
    await until(async () => (await messagesTo('13911110006')).find((r) => r.kind === 'callback.survey')?.state === 'delivered', 'the survey sent at 08:00');
  });

  it('退订 stops survey texts (kept as not sent), with a confirmation', async () => {
    await s.ok('admin', 'POST', '/sms/inbound', { providerMessageId: 'td-1', from: '13911110007', to: '12345', text: 'TD' });
    await until(async () => (await messagesTo('13911110007')).find((r) => r.kind === 'reply.opted_out'), 'the confirmation');
    await s.t.ctx.sms.deliverNotice(surveyNotice('optout-1', '13911110007'));
    await settle();
    await s.t.ctx.sms.deliverDue();
    const survey = (await messagesTo('13911110007')).find((r) => r.kind === 'callback.survey')!;
    expect(survey).toMatchObject({ state: 'suppressed' });
    expect(sim.messages.some((m) => m.to === '13911110007' && m.text.includes('请评价'))).toBe(false);
  });

  it('a notice delivered to the SMS sink twice (at least once) queues one text', async () => {
    await s.t.ctx.sms.deliverNotice(surveyNotice('twice-1', '13911110008'));
    await s.t.ctx.sms.deliverNotice(surveyNotice('twice-1', '13911110008'));
    expect(await messagesTo('13911110008')).toHaveLength(1);
  });
});

describe('texts into the hotline', () => {
  const inbound = (id: string, from: string, text: string) => s.ok('admin', 'POST', '/sms/inbound', { providerMessageId: id, from, to: '12345', text });
  const replyTo = async (phone: string, kind: string) => until(async () => (await messagesTo(phone)).find((r) => r.kind === kind), kind);

  it('a command from a number no unit registered is refused with a helpful reply', async () => {
    expect(await inbound('in-1', '13911112001', '签收 123456')).toMatchObject({ outcome: 'command_unregistered', status: 'handled' });
    expect((await replyTo('13911112001', 'reply.command_unregistered')).body).toContain('未登记为承办单位值班手机');
  });

  it('a unit\'s malformed command, an unknown code and free text each get the format back', async () => {
    expect(await inbound('in-2', '13900000002', '签收')).toMatchObject({ outcome: 'command_malformed' });
    expect(await inbound('in-3', '13900000002', '办结 123456')).toMatchObject({ outcome: 'command_malformed' }); // 办结 needs the result
    expect(await inbound('in-4', '13900000002', '签收 000000')).toMatchObject({ outcome: 'command_unknown_code' });
    expect(await inbound('in-5', '13900000002', '收到，马上去')).toMatchObject({ outcome: 'command_malformed' });
    const replies = (await messagesTo('13900000002')).filter((r) => r.kind.startsWith('reply.'));
    expect(replies.map((r) => r.kind).sort()).toEqual(['reply.command_malformed', 'reply.command_malformed', 'reply.command_malformed', 'reply.command_unknown_code']);
  });

  it('another unit\'s code does not act on its work order', async () => {
    const { ticket } = await s.dispatched('dept-cgj');
    const notice = await until(() => sim.messages.find((m) => m.to === '13900000002' && m.text.includes(ticket.number))?.text, 'the work-order text');
    const code = /签收 (\d{6})/.exec(notice)![1]!;
    // 自来水公司's phone sends 城管局's code.
    expect(await inbound('in-6', '13900000018', `签收 ${code}`)).toMatchObject({ outcome: 'command_unknown_code' });
    expect((await s.workOrdersOf(ticket.id))[0].status).toBe('dispatched');
  });

  it('a command the work order cannot take is answered with the reason', async () => {
    const { ticket } = await s.dispatched('dept-cgj');
    const notice = await until(() => sim.messages.find((m) => m.to === '13900000002' && m.text.includes(ticket.number))?.text, 'the work-order text');
    const code = /签收 (\d{6})/.exec(notice)![1]!;
    await inbound('in-7', '13900000002', `签收 ${code}`);
    expect(await inbound('in-8', '13900000002', `签收 ${code}`)).toMatchObject({ outcome: 'command_failed', detail: expect.stringContaining('WORK_ORDER_STATE') });
    expect((await messagesTo('13900000002')).some((r) => r.kind === 'reply.command_failed' && r.body?.includes('未能签收'))).toBe(true);
  });

  it('a "1" with no survey waiting, an empty text and a bad sender are each answered or kept, never dropped', async () => {
    expect(await inbound('in-9', '13911112002', '1')).toMatchObject({ outcome: 'survey_unmatched' });
    await replyTo('13911112002', 'reply.survey_unknown');
    expect(await inbound('in-10', '13911112003', '   ')).toMatchObject({ status: 'handled' });
    expect(await inbound('in-11', 'not-a-number', '路灯坏了')).toMatchObject({ outcome: 'invalid_sender', status: 'handled' });
    expectError(await s.api('admin', 'POST', '/sms/inbound', { providerMessageId: 'in-12', from: '13911112004', to: '12345', text: '长'.repeat(2001) }), 400, 'VALIDATION_FAILED');
    expectError(await s.api('admin', 'POST', '/sms/inbound', { from: '13911112004', text: '没有编号' }), 400, 'VALIDATION_FAILED');
    const rows = await s.t.ctx.database.db.selectFrom('sms_inbound').select(['provider_message_id']).where('provider_message_id', 'in', ['in-9', 'in-10', 'in-11']).execute();
    expect(rows).toHaveLength(3);
  });

  it('a citizen\'s request waits for an agent, who registers it once as an SMS ticket; the citizen gets the number', async () => {
    const text = '幸福小区3号楼门口路灯坏了一个星期，晚上很黑，请尽快修理';
    const row = await inbound('in-13', '13911112005', text);
    expect(row).toMatchObject({ outcome: 'draft', status: 'awaiting_agent' });
    await replyTo('13911112005', 'reply.draft_received');
    const queue = await s.ok('agent1', 'GET', '/sms/inbound?status=awaiting_agent');
    expect(queue.items.map((x: any) => x.id)).toContain(row.id);
    // Units never see citizens' texts.
    expectError(await s.api('chengguan1', 'GET', '/sms/inbound'), 403, 'ROLE_FORBIDDEN');
    const body = { type: 'help', title: '路灯不亮', addressText: '幸福小区3号楼', occurredAt: '2025-10-08T20:00:00+08:00' };
    const first = await s.ok('agent1', 'POST', `/sms/inbound/${row.id}/ticket`, body);
    const second = await s.ok('agent1', 'POST', `/sms/inbound/${row.id}/ticket`, body);
    expect(second.ticket.id).toBe(first.ticket.id);
    const t = await s.ok('agent1', 'GET', `/tickets/${first.ticket.id}`);
    expect(t).toMatchObject({ channel: 'sms', callerPhone: '13911112005', situation: text });
    const receipt = await until(async () => (await messagesTo('13911112005')).find((r) => r.kind === 'ticket.receipt' && r.body), 'the receipt rendered');
    expect(receipt.body).toContain(t.number);
    expect(await s.ok('agent1', 'GET', `/sms/inbound?ticketId=${t.id}`)).toMatchObject({ total: 1 });
    expectError(await s.api('agent1', 'POST', `/sms/inbound/${row.id}/dismiss`, { reason: '重复' }), 409, 'SMS_INBOUND_HANDLED');
  });

  it('a text set aside keeps its reason', async () => {
    const row = await inbound('in-14', '13911112006', '谢谢你们上次帮忙');
    expectError(await s.api('agent1', 'POST', `/sms/inbound/${row.id}/dismiss`, { reason: ' ' }), 400, 'FIELD_REQUIRED');
    expect(await s.ok('agent1', 'POST', `/sms/inbound/${row.id}/dismiss`, { reason: '致谢，无需受理' })).toMatchObject({ status: 'dismissed', detail: '致谢，无需受理' });
  });

  it('a gateway callback needs its gateway configured and its token', async () => {
    expectError(await s.api('admin', 'GET', '/sms/gateways/kannel/inbound?token=x'), 404, 'SMS_GATEWAY_NOT_FOUND');
    const res = await s.t.app.inject({ method: 'GET', url: '/api/v1/sms/gateways/kannel/receipt' });
    expect(res.statusCode).toBe(404);
  });
});
