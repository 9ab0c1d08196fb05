/**
 * The closed loop by SMS, over a real SMPP link to the SMSC simulator: dispatch → the unit's phone
 * gets the work order with its code → the unit texts 签收 <code> → the work order is acknowledged and
 * the unit's console hears it live → 办结 <code> <result> by text → the center accepts → the citizen
 * gets the result and the survey → answers 1 → the ticket closes satisfied. Every text on the way is
 * a message row that ends delivered (the simulator's receipts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';
import { startSmscSimulator, type SmscSimulator } from '../helpers/smsc-simulator';
import { LiveClient, listen } from '../live/live-client';
import { testConfig } from '../../app/config';
import { until } from '../helpers/until';

const CITIZEN = '13912345678';
const CGJ_SMS_PHONE = '13900000002'; // 演示市城市管理局's SMS phone (cities/demo/units.csv)

let sim: SmscSimulator;
let s: Scenario;
let base: string;


const textsTo = (phone: string) => sim.messages.filter((m) => m.to === phone).map((m) => m.text);

beforeAll(async () => {
  sim = await startSmscSimulator({ systemId: 'hotline', password: 'secret12' });
  const defaults = testConfig().sms;
  s = await startScenario(undefined, {
    sms: {
      ...defaults,
      gateways: [{ kind: 'smpp', name: 'smpp', url: sim.url, systemId: 'hotline', password: 'secret12', systemType: '', sourceAddr: '12345', windowSize: 10, enquireLinkMs: 30_000, submitTimeoutMs: 5_000, ratePerSecond: 1000 }],
    },
  });
  base = await listen(s.t.app);
});

afterAll(async () => {
  await s?.t.close();
  await sim?.close();
});

describe('the closed loop by SMS over SMPP', () => {
  it('dispatch → 签收 by text → acknowledged live → 办结 by text → survey answered 1 → closed satisfied', async () => {
    const unitConsole = await LiveClient.ready(base, { cookie: await s.t.login('chengguan1') });
    const { ticket, lead } = await s.dispatched('dept-cgj');

    // The citizen's receipt (受理回执) and the unit's work order, both as UCS2 texts with the city's signature.
    const receipt = await until(() => textsTo(CITIZEN).find((t) => t.includes(ticket.number)), 'the citizen\'s receipt');
    expect(receipt).toMatch(/^【演示市12345】您反映的问题已受理，工单编号/);
    const notice = await until(() => textsTo(CGJ_SMS_PHONE).find((t) => t.includes(ticket.number)), 'the unit\'s work-order text');
    expect(notice).toContain('地点：滨江路1号');
    const code = /签收 (\d{6})/.exec(notice)![1]!;
    // The citizen's number never goes to the unit.
    expect(notice).not.toContain(CITIZEN);

    // 签收 by text: applied through the work-order service, confirmed by text, seen live by the unit's console.
    await sim.sendMo(CGJ_SMS_PHONE, '12345', `签收 ${code}`);
    const w = (await s.workOrdersOf(ticket.id)).find((x) => x.id === lead.id);
    expect(w.status).toBe('acknowledged');
    await unitConsole.waitFor((m) => JSON.stringify(m).includes(lead.id) && JSON.stringify(m).includes('acknowledged'), 'the acknowledgement on the unit\'s console');
    await until(() => textsTo(CGJ_SMS_PHONE).find((t) => t.includes(`工单${ticket.number}已签收`)), 'the confirmation text');
    const history = await s.ok('dispatcher1', 'GET', `/audit?entityType=work_order&entityId=${lead.id}`).catch(() => null);
    if (history) expect(JSON.stringify(history)).toContain('短信');

    // 办结 by text with the result.
    await sim.sendMo(CGJ_SMS_PHONE, '12345', `办结 ${code} 已责令商铺拆除喇叭`);
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`))).toMatchObject({ status: 'replied', result: expect.stringContaining('已责令商铺拆除喇叭') });

    // The center accepts; the citizen gets the result, then the survey once the callback starts.
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
    await until(() => textsTo(CITIZEN).find((t) => t.includes('办理结果：') && t.includes('已责令商铺拆除喇叭')), 'the result text');
    await s.at('2025-10-09T02:01:00Z');
    await until(() => textsTo(CITIZEN).find((t) => t.includes('回复1满意')), 'the survey text');

    // The citizen answers 1: the ticket closes satisfied, and a thank-you goes back.
    await sim.sendMo(CITIZEN, '12345', '1');
    expect(await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).toMatchObject({ status: 'closed', satisfaction: 'satisfied' });
    await until(() => textsTo(CITIZEN).find((t) => t.includes('感谢您对工单') && t.includes('满意')), 'the thank-you');

    let last: string[] = [];
    // Every text of the ticket ends delivered (receipts from the SMSC), and the log shows them to the center.
    const log = await until(async () => {
      const r = await s.ok('dispatcher1', 'GET', `/sms/messages?ticketId=${ticket.id}&pageSize=50`);
      last = r.items.map((m: any) => `${m.kind}:${m.state}:${m.lastError ?? ''}`);
      return r.items.length >= 6 && r.items.every((m: any) => m.state === 'delivered') ? r : null;
    }, 'every text delivered').catch((err) => { throw new Error(`${err.message}: ${JSON.stringify(last)}`); });
    expect(log.items.map((m: any) => m.kind).sort()).toEqual(expect.arrayContaining(['ticket.receipt', 'workorder.dispatched', 'reply.command_done', 'ticket.result', 'callback.survey', 'reply.survey_thanks']));
    // The unit sees the texts to its own phone only, never the citizen's.
    const unitLog = await s.ok('chengguan1', 'GET', `/sms/messages?workOrderId=${lead.id}`);
    expect(unitLog.items.length).toBeGreaterThan(0);
    expect(unitLog.items.every((m: any) => m.recipientKind === 'unit' && m.phone === CGJ_SMS_PHONE)).toBe(true);
    // Nothing went twice: one text per source.
    expect(new Set(sim.messages.map((m) => m.text)).size).toBe(sim.messages.length);
    await unitConsole.close();
  });

  it('the same inbound text delivered twice is applied once and answered once', async () => {
    const { ticket } = await s.dispatched('dept-cgj');
    const notice = await until(() => textsTo(CGJ_SMS_PHONE).find((t) => t.includes(ticket.number) && t.includes('签收 ')), 'the work-order text');
    const code = /签收 (\d{6})/.exec(notice)![1]!;
    const mo = { gateway: 'api', providerMessageId: `dup-${code}`, from: CGJ_SMS_PHONE, to: '12345', text: `签收 ${code}` };
    const first = await s.ok('admin', 'POST', '/sms/inbound', mo);
    const second = await s.ok('admin', 'POST', '/sms/inbound', mo);
    expect(second).toEqual(first);
    expect(first).toMatchObject({ outcome: 'command', status: 'handled' });
    await until(() => textsTo(CGJ_SMS_PHONE).filter((t) => t.includes(`工单${ticket.number}已签收`)).length === 1, 'one confirmation');
    await new Promise((r) => setTimeout(r, 300));
    expect(textsTo(CGJ_SMS_PHONE).filter((t) => t.includes(`工单${ticket.number}已签收`))).toHaveLength(1);
  });
});
