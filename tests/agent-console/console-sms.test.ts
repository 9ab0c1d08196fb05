/**
 * The console's SMS screens (短信), in a real browser at 1366×768 over the real server, whose SMS
 * gateway is the embedded default (`log`: texts are logged, never sent — the screens say so):
 *  - a citizen's text to the hotline (POST /sms/inbound) appears in the agent's 短信待登记 inbox
 *    without a reload; 登记 fills the form (channel 短信, the sender as caller, the text as 具体情形);
 *    saving registers it through POST /sms/inbound/:id/ticket — the ticket has the SMS channel, the
 *    text is linked to it, the inbox drops it, and the ticket page shows 短信 and the text;
 *  - a work order to a unit whose SMS number is wrong is kept as a failed text: it appears in the
 *    dispatcher's 失败短信 queue as it happens, and so does a text the gateway reports undeliverable
 *    (sms.failed); 重发 to a corrected number queues a new message (checked through the API);
 *  - the ticket page lists the ticket's texts with their kinds and coloured states (and in English);
 *  - a unit user opening its work order sees the texts to its own phone only, and the citizen's
 *    number appears nowhere on the page.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, unresolvedElements, type ConsoleServer } from './browser';

const CITIZEN = '13911112222';
const WATER_SMS = '13900000018'; // 演示市自来水有限公司's SMS phone (cities/demo/units.csv)
const POWER_FIXED = '13900000019'; // 国网演示市供电公司's right number, restored by 重发

async function unitId(s: ConsoleServer, code: string): Promise<string> {
  const r = await s.api('admin', 'GET', `/api/v1/units?q=${encodeURIComponent(code)}&pageSize=200`);
  const u = r.body.items.find((x: { code: string }) => x.code === code);
  if (!u) throw new Error(`no unit ${code}`);
  return u.id;
}

/** Registers a ticket (agent1) and dispatches it to the unit named, the plan's choice or not. */
async function dispatchTo(s: ConsoleServer, code: string, situation: string) {
  const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
    channel: 'phone', type: 'help', urgency: 'urgent', callerPhone: CITIZEN, citizenName: '赵先生', occurredAt: '2025-10-09T09:50:00+08:00',
    addressText: '白龙南路88号', parties: '来电人', situation, demand: '请尽快处理',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const unit = await unitId(s, code);
  const dispatched = await s.api('agent1', 'POST', `/api/v1/tickets/${created.body.id}/dispatch`, { version: created.body.version, handlingUnitId: unit, overrideReason: '测试指定承办单位' });
  expect(dispatched.status, JSON.stringify(dispatched.body)).toBe(200);
  expect(dispatched.body.ticket.handlingUnitId).toBe(unit);
  return dispatched.body.ticket as { id: string; number: string };
}

type Msg = { id: string; kind: string; state: string; phone: string; recipientKind: string; gateway: string | null; providerMessageId: string | null; lastError: string | null; workOrderId: string | null; createdAt: string };
async function textsOf(s: ConsoleServer, user: string, query: string): Promise<Msg[]> {
  const r = await s.api(user, 'GET', `/api/v1/sms/messages?${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.items;
}

const FINAL = ['delivered', 'failed', 'expired', 'suppressed'];
/** The ticket's texts once the delivery run has settled every one (the log gateway answers at once). */
async function settledTexts(s: ConsoleServer, ticketId: string, atLeast = 2): Promise<Msg[]> {
  await expect.poll(async () => {
    const items = await textsOf(s, 'dispatcher1', `ticketId=${ticketId}`);
    return items.length >= atLeast && items.every((m) => FINAL.includes(m.state));
  }, { timeout: 15_000 }).toBe(true);
  return textsOf(s, 'dispatcher1', `ticketId=${ticketId}`);
}

async function openAs(browser: Parameters<typeof openConsole>[0], s: ConsoleServer, user: string, home: string) {
  const c = await openConsole(browser, s.baseUrl);
  await login(c.page, user);
  await c.page.waitForURL(`**/${home}`);
  await expect.poll(() => c.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
  return c;
}

/** A row of an SMS table, by message id. */
const smsRow = (page: Page, scope: string, messageId: string) => page.getByTestId(scope).locator('tr', { has: page.locator(`[data-message-id="${messageId}"]`) });

describeConsole('SMS in the console: the agent\'s inbox, the failed queue with resend, the texts of a ticket and of a work order (browser)', (env) => {
  it('shows a citizen\'s text live in the agent\'s inbox; 登记 fills the form and saving registers an SMS ticket whose page shows 短信 and the text', async () => {
    const { s, browser } = env();
    const { context, page, errors } = await openAs(browser, s, 'agent1', 'agent');
    const inbox = page.getByTestId('sms-inbox');
    await inbox.waitFor();
    // The embedded gateway only logs: the inbox says so.
    await expect.poll(() => inbox.getByTestId('sms-gateway-note').innerText(), { timeout: 10_000 }).toContain('短信网关未接入');

    const from = '13955556666';
    const text = '白龙南路66号小区门口的路灯坏了一个星期了，晚上很黑，老人孩子出门不安全，请尽快派人修理。';
    const sent = await s.api('admin', 'POST', '/api/v1/sms/inbound', { gateway: 'api', providerMessageId: `mo-${Date.now()}`, from, to: '12345', text });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body.status).toBe('awaiting_agent');
    const inboundId = sent.body.id as string;

    // No reload: the text arrives over the live connection.
    const item = inbox.locator(`[data-inbound-id="${inboundId}"]`);
    await item.waitFor({ timeout: 10_000 });
    expect(await item.getByTestId('sms-inbox-text').innerText()).toBe(text);
    await screenshot(page, 'sms-agent-inbox');

    await item.getByTestId('sms-inbox-register').click();
    await expect.poll(() => page.getByTestId('field-situation').inputValue()).toBe(text);
    expect(await page.getByTestId('field-phone').inputValue()).toBe(from);
    expect(await page.getByTestId('field-channel').innerText()).toContain('短信');
    await page.getByTestId('field-address').fill('白龙南路66号');
    await page.getByTestId('field-parties').fill('发短信的市民');
    await page.getByTestId('field-demand').fill('请尽快修好路灯');
    await page.getByTestId('field-type').getByText('求助', { exact: true }).click();
    await screenshot(page, 'sms-agent-form');
    await page.getByTestId('save').click();

    // Registered through the text: the text is linked to a ticket with the SMS channel and the sender as caller.
    await expect.poll(async () => (await s.api('agent1', 'GET', `/api/v1/sms/inbound?phone=${from}`)).body.items[0], { timeout: 15_000 })
      .toMatchObject({ id: inboundId, status: 'accepted', ticketId: expect.any(String) });
    const inbound = (await s.api('agent1', 'GET', `/api/v1/sms/inbound?phone=${from}`)).body.items[0];
    const ticket = (await s.api('agent1', 'GET', `/api/v1/tickets/${inbound.ticketId}`)).body;
    expect(ticket).toMatchObject({ channel: 'sms', callerPhone: from, situation: text, addressText: '白龙南路66号', type: 'help' });
    await expect.poll(() => page.getByTestId('ticket-form').innerText(), { timeout: 10_000 }).toContain(ticket.number);
    // The inbox drops the registered text (sms.inbound_handled).
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(0);

    // The ticket page: channel 短信, the text as 具体情形, and the citizen's text with its receipt (受理回执).
    await page.goto(`/tickets/${ticket.number}`);
    await page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
    expect(await page.locator('.el-descriptions__content', { hasText: /^短信$/ }).count()).toBe(1);
    expect(await page.getByTestId('ticket-page-situation').innerText()).toBe(text);
    const sms = page.getByTestId('ticket-page-sms');
    await expect.poll(() => sms.getByTestId('sms-inbound-text').allInnerTexts(), { timeout: 10_000 }).toEqual([text]);
    expect(await sms.getByTestId('sms-inbound-status').innerText()).toBe('已受理');
    await expect.poll(() => sms.getByTestId('sms-kind').allInnerTexts(), { timeout: 10_000 }).toContain('受理回执');
    expect(await unresolvedElements(page)).toEqual([]);
    await sms.scrollIntoViewIfNeeded();
    await screenshot(page, 'sms-ticket-page-from-text');
    expect(errors).toEqual([]);
    await context.close();
  }, 150_000);

  it('lists failed texts live in the dispatcher\'s 失败短信 queue (a wrong unit number, an undeliverable receipt) and 重发 queues a new message', async () => {
    const { s, browser } = env();
    const { context, page, errors } = await openAs(browser, s, 'dispatcher1', 'dispatch');
    await page.getByTestId('tab-sms_failed').click();
    const queue = page.getByTestId('sms-failed');
    await queue.waitFor();
    await expect.poll(() => queue.getByTestId('sms-gateway-note').innerText(), { timeout: 10_000 }).toContain('短信仅记录，不会发出');

    // 1. The power company's SMS number is wrong (as if mistyped in the directory): its work-order text cannot go.
    await s.t.ctx.database.db.updateTable('units').set({ sms_phone: '12', duty_phone: null }).where('code', '=', 'util-power').execute();
    const ticket = await dispatchTo(s, 'util-power', '白龙南路88号整栋楼停电两个小时了，电梯里有人');
    const failed = (await textsOf(s, 'dispatcher1', `ticketId=${ticket.id}`)).find((m) => m.kind === 'workorder.dispatched')!;
    expect(failed).toMatchObject({ state: 'failed', recipientKind: 'unit' });
    const row = smsRow(page, 'sms-failed', failed.id);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getByTestId('sms-kind').innerText()).toBe('派单通知');
    expect(await row.getByTestId('sms-state').innerText()).toBe('发送失败');
    expect(await row.getByTestId('sms-error').innerText()).toContain('号码无效');

    // 2. A text that went out and the gateway then reports undeliverable: only sms.failed tells the console.
    const water = await dispatchTo(s, 'util-water', '白龙南路88号路口水管爆了，路面全是水');
    const delivered = (await settledTexts(s, water.id)).find((m) => m.kind === 'ticket.receipt')!;
    expect(delivered).toMatchObject({ state: 'delivered', phone: CITIZEN });
    await page.waitForTimeout(1500); // the queue's refetch after the dispatch has come and gone
    expect(await smsRow(page, 'sms-failed', delivered.id).count()).toBe(0);
    const applied = await s.t.ctx.sms.applyReceipt({ gateway: delivered.gateway!, providerMessageId: delivered.providerMessageId!, state: 'failed', detail: 'UNDELIV: 空号', at: new Date() });
    expect(applied).toMatchObject({ matched: true });
    const late = smsRow(page, 'sms-failed', delivered.id);
    await late.waitFor({ timeout: 10_000 });
    expect(await late.getByTestId('sms-kind').innerText()).toBe('受理回执');
    expect(await late.getByTestId('sms-error').innerText()).toContain('空号');
    expect(await late.getByTestId('sms-state').innerText()).toBe('发送失败');
    const failedTotal = (await s.api('dispatcher1', 'GET', '/api/v1/sms/messages?state=failed,expired')).body.total as number;
    expect(failedTotal).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.getByTestId('sms-failed-count').innerText()).toBe(String(failedTotal));
    await screenshot(page, 'sms-failed-queue');

    // 3. 重发 to the corrected number: a new message, queued (and then sent by the delivery run).
    await row.getByTestId('sms-resend').click();
    const dialog = page.getByTestId('sms-resend-dialog');
    await dialog.getByTestId('sms-resend-phone').fill(POWER_FIXED);
    await screenshot(page, 'sms-resend-dialog');
    await dialog.getByTestId('sms-resend-confirm').click();
    await expect.poll(async () => (await textsOf(s, 'dispatcher1', `ticketId=${ticket.id}`)).filter((m) => m.kind === 'workorder.dispatched').length, { timeout: 10_000 }).toBe(2);
    const again = (await textsOf(s, 'dispatcher1', `ticketId=${ticket.id}`)).filter((m) => m.kind === 'workorder.dispatched');
    const fresh = again.find((m) => m.id !== failed.id)!;
    expect(fresh.phone).toBe(POWER_FIXED);
    expect(['queued', 'submitting', 'submitted', 'delivered']).toContain(fresh.state);
    expect(again.find((m) => m.id === failed.id)!.state, 'the failed text stays as it was').toBe('failed');
    expect(errors).toEqual([]);
    await context.close();
  }, 150_000);

  it('shows the ticket\'s texts on its page with kinds and coloured states, in Chinese and in English', async () => {
    const { s, browser } = env();
    const ticket = await dispatchTo(s, 'util-water', '白龙南路88号小区水管漏水，楼道积水');
    const texts = await settledTexts(s, ticket.id);
    expect(texts.map((m) => m.kind)).toContain('ticket.receipt');
    expect(texts.map((m) => m.kind)).toContain('workorder.dispatched');
    const { context, page, errors } = await openAs(browser, s, 'dispatcher1', 'dispatch');
    await page.goto(`/tickets/${ticket.number}`);
    const sms = page.getByTestId('ticket-page-sms');
    await sms.getByTestId('sms-kind').first().waitFor({ timeout: 15_000 });
    const zhKind = (k: string) => ({ 'ticket.receipt': '受理回执', 'workorder.dispatched': '派单通知' })[k] ?? k;
    expect((await sms.getByTestId('sms-kind').allInnerTexts()).sort()).toEqual(texts.map((m) => zhKind(m.kind)).sort());
    for (const m of texts) {
      const r = smsRow(page, 'ticket-page-sms', m.id);
      expect(await r.getByTestId('sms-state').getAttribute('data-state')).toBe('delivered');
      expect(await r.getByTestId('sms-state').innerText()).toBe('已送达');
      expect(await r.getByTestId('sms-state').getAttribute('class')).toContain('el-tag--success');
      expect(await r.getByTestId('sms-phone').innerText()).toBe(m.recipientKind === 'citizen' ? CITIZEN : WATER_SMS);
    }
    expect(await smsRow(page, 'ticket-page-sms', texts.find((m) => m.kind === 'ticket.receipt')!.id).getByTestId('sms-text').innerText()).toContain(ticket.number);
    expect(await sms.getByTestId('sms-gateway-note').innerText()).toBe('短信网关未接入：短信仅记录，不会发出');
    await sms.scrollIntoViewIfNeeded();
    await screenshot(page, 'sms-ticket-page-history');

    // English: the same screen through vue-i18n.
    await page.evaluate(`localStorage.setItem('hotline.locale', 'en')`);
    await page.reload();
    await sms.getByTestId('sms-kind').first().waitFor({ timeout: 15_000 });
    expect(await sms.innerText()).toContain('Text messages');
    const enKind = (k: string) => ({ 'ticket.receipt': 'Receipt', 'workorder.dispatched': 'Work order' })[k] ?? k;
    expect((await sms.getByTestId('sms-kind').allInnerTexts()).sort()).toEqual(texts.map((m) => enKind(m.kind)).sort());
    expect(await sms.getByTestId('sms-state').first().innerText()).toBe('Delivered');
    await expect.poll(() => sms.getByTestId('sms-gateway-note').innerText()).toBe('SMS gateway not connected: texts are only logged, not sent');
    expect(errors).toEqual([]);
    await context.close();
  }, 150_000);

  it('shows a unit user opening its work order the texts to its own phone only, and the citizen\'s number nowhere', async () => {
    const { s, browser } = env();
    const ticket = await dispatchTo(s, 'util-water', '白龙南路88号地下室水管破裂，水漫到停车场');
    const all = await settledTexts(s, ticket.id);
    const unitText = all.find((m) => m.kind === 'workorder.dispatched')!;
    expect(all.some((m) => m.kind === 'ticket.receipt' && m.phone === CITIZEN), 'the citizen did get a text (the center sees it)').toBe(true);
    // What the unit may see, by the API: its own texts of the work order, to its own phone.
    const own = await textsOf(s, 'water1', `workOrderId=${unitText.workOrderId}`);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((m) => m.recipientKind === 'unit' && m.phone !== CITIZEN)).toBe(true);

    const { context, page, errors } = await openAs(browser, s, 'water1', 'unit');
    await page.getByTestId('work-order-table').locator(`[data-ticket-number="${ticket.number}"]`).first().click();
    const history = page.getByTestId('sms-history');
    await history.getByTestId('sms-kind').first().waitFor({ timeout: 15_000 });
    await expect.poll(() => history.getByTestId('sms-kind').count()).toBe(own.length);
    expect(new Set(await history.getByTestId('sms-kind').allInnerTexts())).toEqual(new Set(['派单通知']));
    expect(await history.locator('tr', { has: page.locator(`[data-message-id="${unitText.id}"]`) }).getByTestId('sms-phone').innerText()).toBe(WATER_SMS);
    expect(await history.getByTestId('sms-text').first().innerText()).toContain(ticket.number);
    await history.scrollIntoViewIfNeeded();
    await screenshot(page, 'sms-unit-work-order');
    expect(await page.content(), 'the citizen\'s number is nowhere on the page').not.toContain(CITIZEN);

    // The ticket's page, as the unit: the same — its own text only, no citizen's text in or out.
    await page.goto(`/tickets/${ticket.number}`);
    const sms = page.getByTestId('ticket-page-sms');
    await sms.getByTestId('sms-kind').first().waitFor({ timeout: 15_000 });
    expect(new Set(await sms.getByTestId('sms-kind').allInnerTexts())).toEqual(new Set(['派单通知']));
    expect(await sms.getByTestId('sms-phone').allInnerTexts()).not.toContain(CITIZEN);
    expect(await sms.getByTestId('sms-history-inbound').count()).toBe(0);
    expect(await page.content()).not.toContain(CITIZEN);
    expect(errors).toEqual([]);
    await context.close();
  }, 150_000);
});
