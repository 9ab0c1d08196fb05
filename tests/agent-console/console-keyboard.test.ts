/**
 * The workspaces' keyboard, in a real browser (chromium at 1366×768) on a busy day: each shortcut is
 * pressed and its effect checked, so a key that stops working fails here.
 *  - 派单审核, 待派单: X selects the row under the cursor (and again unselects it), Alt+R opens the
 *    dispatch dialog for it, Alt+D dispatches it by its plan (the row's result listed);
 *  - 派单审核, 待签收: Alt+R raises a supervision order (督办) on the row under the cursor;
 *  - 单位办理: X selects, Alt+R on a row not yet signed does nothing, and once signed (A) opens 办结反馈,
 *    which sends the reply;
 *  - 话务受理: Alt+S puts the cursor in 具体情形, Alt+T steps the ticket type (咨询 → 求助 → 投诉 …).
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';
import { seedBusyDay } from './busy-day';

const current = (page: Page) => page.locator('tr.row-kbd-current').filter({ visible: true });
const currentNumber = async (page: Page) => (await current(page).locator('[data-ticket-number]').first().getAttribute('data-ticket-number'))!;
const rowsOf = (page: Page, testId: string) => page.getByTestId(testId).filter({ visible: true }).locator('.el-table__body-wrapper tr.el-table__row');
const dialog = (page: Page) => page.locator('.el-dialog').filter({ visible: true });
const blur = (page: Page) => page.evaluate('document.activeElement && document.activeElement.blur()');
const focused = (page: Page) => page.evaluate<string>(`(() => { const e = document.activeElement; return (e && (e.getAttribute('data-testid') || (e.closest('[data-testid]') && e.closest('[data-testid]').getAttribute('data-testid')))) || ''; })()`);

describeConsole('the workspaces from the keyboard (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  it('待派单: X selects and unselects the row, Alt+R opens its dispatch dialog, Alt+D dispatches it by its plan', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'dispatcher1');
    await page.waitForURL('**/dispatch');
    await page.getByTestId('tab-accepted').click();
    await expect.poll(() => rowsOf(page, 'ticket-queue-accepted').count(), { timeout: 15_000 }).toBe(50);
    await blur(page);
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await expect.poll(() => current(page).count()).toBe(1);
    const number = await currentNumber(page);

    // X: the row under the cursor joins the selection, and leaves it on a second X.
    const checked = () => current(page).locator('.el-checkbox.is-checked').count();
    await page.keyboard.press('x');
    await expect.poll(checked).toBe(1);
    expect(await page.getByTestId('bulk-dispatch').textContent()).toContain('1');
    expect(await page.getByTestId('bulk-dispatch').isEnabled()).toBe(true);
    await page.keyboard.press('x');
    await expect.poll(checked).toBe(0);
    expect(await page.getByTestId('bulk-dispatch').isDisabled()).toBe(true);

    // Alt+R: the dispatch dialog, for that ticket.
    await page.keyboard.press('Alt+r');
    await dialog(page).waitFor({ timeout: 10_000 });
    expect(await dialog(page).locator('.el-dialog__title').textContent()).toContain(number);
    await screenshot(page, 'keyboard-dispatcher-alt-r');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog(page).count(), { timeout: 5_000 }).toBe(0);

    // Alt+D: dispatched by its plan at once, its result listed (where it went, or why not).
    await blur(page);
    expect(await currentNumber(page)).toBe(number);
    await page.keyboard.press('Alt+d');
    const summary = page.getByTestId('bulk-summary');
    await summary.waitFor({ timeout: 30_000 });
    const ok = Number(await summary.getAttribute('data-ok'));
    expect(ok + Number(await summary.getAttribute('data-failed'))).toBe(1);
    expect(await dialog(page).textContent()).toContain(number);
    const status = (await s.api('dispatcher1', 'GET', `/api/v1/tickets?number=${number}`)).body.items[0].status;
    if (ok) expect(status).not.toBe('accepted');
    else expect(status).toBe('accepted');
    console.log(`[agent-console keyboard] Alt+D on ${number}: ${ok ? `dispatched (${status})` : 'refused, the reason listed'}`);
    await screenshot(page, 'keyboard-dispatcher-alt-d');
    await page.getByTestId('bulk-close').click();
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('待签收: Alt+R raises a supervision order (督办) on the work order under the cursor', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'dispatcher1');
    await page.waitForURL('**/dispatch');
    await expect.poll(() => rowsOf(page, 'work-order-table').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await blur(page);
    await page.keyboard.press('j');
    await expect.poll(() => current(page).count()).toBe(1);
    const number = await currentNumber(page);
    const raised = async () => (await s.api('supervisor1', 'GET', '/api/v1/supervision-orders?status=open&pageSize=200')).body.items.filter((so: any) => so.ticketNumber === number).length;
    expect(await raised()).toBe(0);

    await page.keyboard.press('Alt+r');
    await dialog(page).waitFor({ timeout: 10_000 });
    expect(await dialog(page).locator('.el-dialog__title').textContent()).toContain('督办');
    expect(await dialog(page).textContent()).toContain(number);
    await dialog(page).getByTestId('action-confirm').click();
    await expect.poll(raised, { timeout: 10_000 }).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('单位办理: X selects, Alt+R waits for 签收, then opens 办结反馈 and sends the reply', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    await expect.poll(() => rowsOf(page, 'work-order-table').count(), { timeout: 15_000 }).toBe(50);
    await blur(page);
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await expect.poll(() => current(page).count()).toBe(1);
    const number = await currentNumber(page);
    const ticketId = (await s.api('dispatcher1', 'GET', `/api/v1/tickets?number=${number}`)).body.items[0].id;
    const lead = async () => (await s.api('water1', 'GET', `/api/v1/work-orders?queue=all&ticketId=${ticketId}`)).body.items[0];
    expect((await lead()).status).toBe('dispatched');

    const checked = () => current(page).locator('.el-checkbox.is-checked').count();
    await page.keyboard.press('x');
    await expect.poll(checked).toBe(1);
    expect(await page.getByTestId('bulk-acknowledge').textContent()).toContain('1');
    await page.keyboard.press('x');
    await expect.poll(checked).toBe(0);
    expect(await page.getByTestId('bulk-acknowledge').isDisabled()).toBe(true);

    // Not signed yet: Alt+R opens nothing.
    await page.keyboard.press('Alt+r');
    await page.waitForTimeout(500);
    expect(await dialog(page).count()).toBe(0);

    await page.keyboard.press('a');
    await expect.poll(async () => (await lead()).status, { timeout: 10_000 }).toBe('acknowledged');
    await expect.poll(() => current(page).locator('[data-testid="wo-acknowledge"]').count(), { timeout: 10_000 }).toBe(0);
    expect(await currentNumber(page)).toBe(number);
    await page.keyboard.press('Alt+r');
    await dialog(page).waitFor({ timeout: 10_000 });
    expect(await dialog(page).locator('.el-dialog__title').textContent()).toContain('办结反馈');
    expect(await dialog(page).textContent()).toContain(number);
    await dialog(page).getByTestId('action-reason').fill('已更换破损管段，恢复供水');
    await screenshot(page, 'keyboard-unit-alt-r');
    await dialog(page).getByTestId('action-confirm').click();
    await expect.poll(async () => (await lead()).status, { timeout: 10_000 }).toBe('replied');
    expect((await lead()).result).toBe('已更换破损管段，恢复供水');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('话务受理: Alt+S goes to 具体情形, Alt+T steps the ticket type', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await page.getByTestId('ticket-form').waitFor({ timeout: 15_000 });
    await blur(page);
    await page.keyboard.press('Alt+s');
    await expect.poll(() => focused(page)).toBe('field-situation');
    await page.keyboard.type('楼道灯坏了');
    expect(await page.getByTestId('field-situation').inputValue()).toBe('楼道灯坏了');

    const ORDER = ['咨询', '求助', '投诉', '举报', '建议', '表扬'];
    const active = () => page.getByTestId('field-type').locator('.el-radio-button.is-active').textContent().then((x) => x?.trim() ?? null, () => null);
    const before = (await page.getByTestId('field-type').locator('.el-radio-button.is-active').count()) ? await active() : null;
    const start = before ? ORDER.indexOf(before) : -1;
    for (let step = 1; step <= 3; step++) {
      await page.keyboard.press('Alt+t');
      await expect.poll(active).toBe(ORDER[(start + step) % ORDER.length]);
    }
    // The focus is on the type, and the situation typed before is kept.
    await expect.poll(() => focused(page)).toBe('field-type');
    expect(await page.getByTestId('field-situation').inputValue()).toBe('楼道灯坏了');
    await screenshot(page, 'keyboard-agent-alt-t');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
}, async (s) => {
  const day = await seedBusyDay(s.t, { tickets: 600, waiting: 60, water: 120, withCoHandler: 10 });
  console.log(`[agent-console keyboard] busy day: ${day.tickets} tickets in ${day.ms} ms`);
});
