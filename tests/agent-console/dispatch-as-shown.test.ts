/**
 * Dispatch goes where the screen says (browser, Debian's chromium).
 * - The plan an agent sees is made from what will be saved: the title the ticket gets from its
 *   situation is in the plan too. Before, "路边垃圾桶满了没人清理" showed 滨江街道办事处 (the
 *   classifier unsure without the title) and went to 演示市环境卫生服务中心 (sure with it).
 * - A plan that changes between showing and dispatching (another unit took up the same problem at
 *   the same place) is not dispatched: the new plan is shown, and the next dispatch confirms it.
 * - The category the ticket was routed by is saved on it (问题分类 no longer empty).
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';

const SITUATION = '路边垃圾桶满了没人清理';
const PLACE = '白龙南路88号';

describeConsole('dispatch as shown (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  /** Types a ticket (by default about the overflowing bin) and waits for its plan. */
  async function fillTicket(page: Page, phone: string, situation = SITUATION, demand = '请尽快处理') {
    const kb = page.keyboard;
    await kb.press('Alt+N');
    await kb.type(phone);
    await kb.press('Alt+A');
    await kb.type(PLACE);
    await expect.poll(() => page.getByTestId('address-resolution').getAttribute('data-status'), { timeout: 10_000 }).toBe('resolved');
    await kb.press('Tab');
    await kb.type('来电人');
    await kb.press('Tab');
    await kb.type(situation);
    await kb.press('Tab');
    await kb.type(demand);
    await kb.press('Alt+P');
    await expect.poll(() => page.getByTestId('plan-lead').innerText(), { timeout: 10_000 }).not.toBe('');
    // Let the form's debounced re-plan (900 ms after the last keystroke) run and settle: what is on
    // the screen from here on is the plan the agent confirms.
    await page.waitForTimeout(1500);
    await page.waitForLoadState('networkidle');
  }

  async function dispatchedTicket(number: string) {
    const list = await s.api('agent1', 'GET', `/api/v1/tickets?number=${number}`);
    return list.body.items[0];
  }
  const unitName = async (id: string) => (await s.api('agent1', 'GET', `/api/v1/units/${id}`)).body.name as string;

  it('sends the ticket to the unit the plan showed, and keeps the category it was routed by', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await page.getByTestId('ticket-form').waitFor();
    await fillTicket(page, '13911110001');
    const shown = (await page.getByTestId('plan-lead').innerText()).trim();
    await screenshot(page, 'dispatch-as-shown-plan');

    await page.keyboard.press('Control+Enter');
    const toast = page.locator('.dispatch-success');
    await toast.waitFor({ timeout: 15_000 });
    const number = (await toast.innerText()).match(/\d{14}/)![0];
    const ticket = await dispatchedTicket(number);
    expect(ticket.status).toBe('dispatched');
    expect(await unitName(ticket.handlingUnitId)).toBe(shown);
    // 问题分类 is the one the plan routed by.
    expect(ticket.categoryId).toBeTruthy();
    const categories = (await s.api('agent1', 'GET', '/api/v1/categories?q=生活垃圾未及时清运')).body as { id: string }[];
    expect(categories.map((c) => c.id)).toContain(ticket.categoryId);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('refuses a plan that changed after it was shown, shows the new one, and dispatches that one when confirmed', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await page.getByTestId('ticket-form').waitFor();
    // 占道经营 is shared by 市场监管 and 城管: the plan names 市场监管 by the responsibility list …
    const stall = '路边有人占道摆摊卖菜';
    await fillTicket(page, '13911110002', stall, '请取缔');
    const shown = (await page.getByTestId('plan-lead').innerText()).trim();
    expect(shown).toBe('演示市市场监督管理局');

    // … when a dispatcher sends the same problem at the same place to 城管执法大队: the unit already
    // handling it now leads (按首问负责), and the plan on the screen is out of date.
    const other = (await s.api('agent1', 'GET', '/api/v1/units?q=执法大队')).body;
    const otherUnit = (Array.isArray(other) ? other : other.items)[0];
    const made = await s.api('agent1', 'POST', '/api/v1/tickets', {
      channel: 'phone', type: 'complaint', callerPhone: '13911110003', occurredAt: '2025-10-09T09:00:00+08:00', addressText: PLACE,
      parties: '来电人', situation: stall, demand: '请取缔', title: stall,
    });
    expect(made.status).toBe(201);
    const first = await s.api('dispatcher1', 'POST', `/api/v1/tickets/${made.body.id}/dispatch`, { version: made.body.version, handlingUnitId: otherUnit.id, overrideReason: '执法大队已在现场' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(otherUnit.name).not.toBe(shown);
    expect((await page.getByTestId('plan-lead').innerText()).trim()).toBe(shown); // the screen is now out of date

    await page.keyboard.press('Control+Enter');
    // Not dispatched: the new plan is on the screen.
    await expect.poll(() => page.getByTestId('plan-lead').innerText(), { timeout: 10_000 }).toContain(otherUnit.name);
    await expect.poll(() => page.locator('.el-alert, .el-message').allInnerTexts(), { timeout: 10_000 }).toContainEqual(expect.stringContaining('派单方案已变化'));
    await screenshot(page, 'dispatch-as-shown-plan-changed');
    const pending = await s.api('agent1', 'GET', '/api/v1/tickets?callerPhone=13911110002');
    expect(pending.body.items.map((x: { status: string }) => x.status)).toEqual(['accepted']);

    // Confirmed: it goes to the unit now shown.
    await page.keyboard.press('Control+Enter');
    const toast = page.locator('.dispatch-success');
    await toast.waitFor({ timeout: 15_000 });
    const number = (await toast.innerText()).match(/\d{14}/)![0];
    const ticket = await dispatchedTicket(number);
    expect(ticket.handlingUnitId).toBe(otherUnit.id);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
