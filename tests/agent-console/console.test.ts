/**
 * The agent console in a real browser (Debian's chromium) against the real server and the BUILT
 * console: each role lands in its workspace in Chinese; an agent builds and dispatches a ticket with
 * the keyboard only, from scratch and from an incoming call the gateway reports; citizen markup stays
 * text; an API error reads in Chinese with its code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchBrowser, login, openConsole, screenshot, startConsoleServer, unresolvedElements, type ConsoleServer } from './browser';

const skip = browserSkipReason();
if (skip) console.log(`[agent-console] ${skip}`);

describe.skipIf(!!skip)('agent console (browser)', () => {
  let s: ConsoleServer;
  let browser: Browser;

  beforeAll(async () => {
    s = await startConsoleServer();
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  }, 120_000);

  it('logs each role into its own workspace, in Chinese, and screenshots it', async () => {
    const cases = [
      { user: 'agent1', path: '/agent', title: '话务受理', testid: 'ticket-form' },
      { user: 'dispatcher1', path: '/dispatch', title: '派单审核', testid: 'dispatcher-tabs' },
      { user: 'water1', path: '/unit', title: '单位办理', testid: 'work-order-table' },
      { user: 'chengguan_mgr', path: '/unit', title: '单位办理', testid: 'work-order-table' },
      { user: 'supervisor1', path: '/supervise', title: '督办监控', testid: 'kpis' },
      { user: 'admin', path: '/supervise', title: '督办监控', testid: 'kpis' },
      { user: 'grid1', path: '/grid', title: '网格工单', testid: 'grid-calls' },
    ];
    for (const c of cases) {
      const { context, page, errors } = await openConsole(browser, s.baseUrl);
      await login(page, c.user);
      await page.waitForURL(`**${c.path}`);
      await expect.poll(() => page.getByTestId('workspace-title').innerText()).toBe(c.title);
      await page.getByTestId(c.testid).first().waitFor();
      expect(await page.evaluate<string>('document.documentElement.lang')).toBe('zh-CN');
      // The live connection comes up (when this server has the hub).
      if (s.t.app.hasRoute({ method: 'GET', url: '/api/v1/live' })) {
        await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');
      }
      await page.waitForLoadState('networkidle');
      await screenshot(page, `workspace-${c.user}`);
      expect(await unresolvedElements(page), 'every Element Plus tag is registered').toEqual([]);
      expect(errors, `no script errors for ${c.user}`).toEqual([]);
      await context.close();
    }
  }, 120_000);

  it('lets an agent build a ticket with the six elements and dispatch it with the keyboard only', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await page.getByTestId('ticket-form').waitFor();
    const kb = page.keyboard;
    const focused = () => page.evaluate<string>(`document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.className ?? ''`);

    await kb.press('Alt+N');
    expect(await focused()).toBe('field-phone');
    await kb.type('13912345678');
    await kb.press('Tab');
    expect(await focused()).toBe('field-name');
    await kb.type('张先生');
    await kb.press('Alt+A');
    expect(await focused()).toBe('field-address');
    await kb.type('白龙南路88号');
    await expect.poll(() => page.getByTestId('address-resolution').getAttribute('data-status'), { timeout: 10_000 }).toBe('resolved');
    await kb.press('Tab');
    expect(await focused()).toBe('field-parties');
    await kb.type('来电人张先生；演示市自来水有限公司');
    await kb.press('Tab');
    expect(await focused()).toBe('field-situation');
    await kb.type('白龙南路88号楼下水管爆了，路面全是水，已经流了半小时');
    await kb.press('Tab');
    expect(await focused()).toBe('field-demand');
    await kb.type('请尽快派人抢修，恢复供水');
    // The routing plan follows what was typed; Alt+P asks at once.
    await kb.press('Alt+P');
    await expect.poll(() => page.getByTestId('plan-lead').innerText(), { timeout: 10_000 }).toContain('自来水');
    expect(await page.getByTestId('six-elements').locator('[data-present="true"]').count()).toBe(6);
    await screenshot(page, 'agent-ticket-before-dispatch');

    await kb.press('Control+Enter');
    const toast = page.locator('.dispatch-success');
    await toast.waitFor({ timeout: 15_000 });
    const text = await toast.innerText();
    const number = text.match(/\d{14}/)?.[0];
    expect(text).toContain('已派单至 演示市自来水有限公司');
    expect(number).toBeTruthy();

    const list = await s.api('agent1', 'GET', `/api/v1/tickets?number=${number}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const ticket = list.body.items[0];
    expect(ticket).toMatchObject({
      status: 'dispatched', channel: 'phone', callerPhone: '13912345678', citizenName: '张先生', addressText: '白龙南路88号',
      parties: '来电人张先生；演示市自来水有限公司', demand: '请尽快派人抢修，恢复供水', missingElements: [],
    });
    expect(ticket.situation).toContain('水管爆了');
    expect(ticket.occurredAt).toBeTruthy();
    expect(ticket.territoryId).toBeTruthy();
    const unit = await s.api('agent1', 'GET', `/api/v1/units/${ticket.handlingUnitId}`);
    expect(unit.body.name).toBe('演示市自来水有限公司');
    // The form is ready for the next ticket and the new one is listed with its status.
    expect(await page.getByTestId('field-situation').inputValue()).toBe('');
    await expect.poll(() => page.getByTestId('recent-tickets').innerText()).toContain(number!);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('pops an incoming call, and the agent builds and dispatches its ticket with the keyboard only', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await page.getByTestId('ticket-form').waitFor();
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    const kb = page.keyboard;
    const focused = () => page.evaluate<string>(`document.activeElement?.getAttribute('data-testid') ?? ''`);

    // The telephony gateway reports the call, offered to agent1 on the 12345 line.
    const callId = `gw-call-${Date.now()}`;
    const offered = await s.api('admin', 'POST', '/api/v1/calls/events', { type: 'offered', callId, callerPhone: '13822223333', dialledNumber: '12345', agentUsername: 'agent1' });
    expect(offered.status, JSON.stringify(offered.body)).toBe(200);
    await expect.poll(() => page.getByTestId('caller-number').innerText(), { timeout: 15_000 }).toContain('13822223333');
    // The pop starts a ticket with the caller's number and puts the cursor on the address.
    await expect.poll(() => page.getByTestId('field-phone').inputValue()).toBe('13822223333');
    await expect.poll(focused).toBe('field-address');
    await kb.type('白龙南路88号');
    await expect.poll(() => page.getByTestId('address-resolution').getAttribute('data-status'), { timeout: 10_000 }).toBe('resolved');
    await kb.press('Tab');
    await kb.type('来电人；演示市自来水有限公司');
    await kb.press('Tab');
    await kb.type('白龙南路88号的水管爆了，水一直往外冒');
    await kb.press('Tab');
    await kb.type('请派人抢修');
    await kb.press('Alt+P');
    await expect.poll(() => page.getByTestId('plan-lead').innerText(), { timeout: 10_000 }).toContain('自来水');
    await kb.press('Control+Enter');
    const toast = page.locator('.dispatch-success');
    await toast.waitFor({ timeout: 15_000 });
    const number = (await toast.innerText()).match(/\d{14}/)?.[0];
    const list = await s.api('agent1', 'GET', `/api/v1/tickets?number=${number}`);
    expect(list.body.items[0]).toMatchObject({ status: 'dispatched', channel: 'phone', callerPhone: '13822223333', callId, missingElements: [] });
    await screenshot(page, 'agent-call-dispatched');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('shows citizen markup as text and never runs it', async () => {
    const evil = '<img src=x onerror="window.__xss=1">';
    const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
      channel: 'web', type: 'complaint', callerPhone: '13700001111', title: `<script>window.__xss=2</script>${evil}`,
      occurredAt: '2025-10-09T09:30:00+08:00', addressText: `${evil}白龙南路1号`, parties: '<b>张三</b>', situation: `楼道堆物 ${evil}`, demand: '请清理',
    });
    expect(created.status).toBe(201);
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await login(page, 'dispatcher1');
    await page.waitForURL('**/dispatch');
    await page.goto('/tickets');
    const table = page.getByTestId('ticket-table');
    await table.getByText(created.body.number).click();
    const situation = page.getByTestId('ticket-situation');
    await expect.poll(() => situation.innerText()).toBe(`楼道堆物 ${evil}`);
    expect(await table.innerText()).toContain('<script>window.__xss=2</script>');
    // The caller history of the agent's form renders the same text.
    const agent = await openConsole(browser, s.baseUrl);
    await login(agent.page, 'agent1');
    await agent.page.waitForURL('**/agent');
    await agent.page.getByTestId('field-phone').fill('13700001111');
    await expect.poll(() => agent.page.getByTestId('caller-history').innerText(), { timeout: 10_000 }).toContain('<script>window.__xss=2</script>');
    for (const p of [page, agent.page]) {
      expect(await p.evaluate<unknown>('window.__xss')).toBeUndefined();
      expect(await p.locator('img[src="x"], b:text("张三")').count()).toBe(0);
      expect(await p.locator('script:text("__xss")').count()).toBe(0);
    }
    expect(dialogs).toBe(0);
    expect([...errors, ...agent.errors]).toEqual([]);
    await screenshot(page, 'xss-drawer');
    await agent.context.close();
    await context.close();
  }, 120_000);

  it('lets an admin issue an API key with its scopes (the secret shown once) and revoke it', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'admin');
    await page.waitForURL('**/supervise');
    await page.getByRole('menuitem', { name: '接口密钥' }).click();
    await page.waitForURL('**/admin/api-keys');
    await expect.poll(() => page.getByTestId('workspace-title').innerText()).toBe('接口密钥');
    await page.getByTestId('api-key-new').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByPlaceholder('如：电话网关、短信网关').fill('电话网关');
    await dialog.getByText('上报来电事件').click();
    await dialog.getByRole('button', { name: '签发' }).click();
    const secret = await page.getByTestId('api-key-secret').innerText();
    expect(secret).toMatch(/^hk_/);
    const row = page.locator('.el-table__row', { hasText: '电话网关' });
    await expect.poll(() => row.innerText()).toContain('上报来电事件');
    // The key works for what it was issued for, and only that.
    const call = await s.t.app.inject({ method: 'POST', url: '/api/v1/calls/events', headers: { 'x-api-key': secret }, payload: { type: 'offered', callId: 'console-key', callerPhone: '13811112222', dialledNumber: '12345' } });
    expect(call.statusCode).toBe(200);
    expect((await s.t.app.inject({ method: 'GET', url: '/api/v1/tickets', headers: { 'x-api-key': secret } })).json().code).toBe('API_KEY_SCOPE');
    await page.reload();
    await expect.poll(() => page.locator('.el-table__row', { hasText: '电话网关' }).innerText()).not.toContain('未使用');
    expect(await page.getByTestId('api-key-secret').count(), 'the secret is not shown again').toBe(0);
    await screenshot(page, 'admin-api-keys');
    await page.locator('.el-table__row', { hasText: '电话网关' }).getByRole('button', { name: '吊销' }).click();
    await page.locator('.el-message-box').getByRole('button', { name: '吊销' }).click();
    await expect.poll(() => page.locator('.el-table__row', { hasText: '电话网关' }).count()).toBe(0);
    expect((await s.t.app.inject({ method: 'POST', url: '/api/v1/calls/events', headers: { 'x-api-key': secret }, payload: { type: 'offered', callId: 'console-key-2', callerPhone: '13811112222', dialledNumber: '12345' } })).statusCode).toBe(401);
    expect(await unresolvedElements(page), 'every Element Plus tag is registered').toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('shows an API error in Chinese with its code', async () => {
    const { context, page } = await openConsole(browser, s.baseUrl);
    // Login: the API's LOGIN_FAILED.
    await login(page, 'agent1', 'wrong-password');
    const alert = page.getByTestId('api-error');
    await expect.poll(() => alert.innerText()).toContain('用户名或密码错误（LOGIN_FAILED）');

    // The agent's form: a number the client lets through and the API refuses (PHONE_INVALID).
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await page.keyboard.press('Alt+N');
    await page.keyboard.type('123');
    await page.keyboard.press('Alt+A');
    await page.keyboard.type('白龙南路88号');
    await page.keyboard.press('Tab');
    await page.keyboard.type('来电人');
    await page.keyboard.press('Tab');
    await page.keyboard.type('小区门口路灯不亮');
    await page.keyboard.press('Control+S');
    const formError = page.getByTestId('ticket-form').getByTestId('api-error');
    await expect.poll(() => formError.innerText(), { timeout: 10_000 }).toContain('电话号码格式不正确（PHONE_INVALID）');
    // …and the field it names says so too.
    await expect.poll(() => page.locator('.el-form-item.is-error').allInnerTexts()).toEqual([expect.stringContaining('电话号码格式不正确')]);
    await screenshot(page, 'api-error');
    await context.close();
  }, 120_000);
});
