/**
 * The console through a busy day, in a real browser (chromium at 1366×768): thousands of tickets
 * seeded (busy-day.ts), and the queues hide none of them — the dispatcher's 待派单 shows its total
 * and pages to its last ticket, the water company's handler sees all 300+ of its work orders across
 * pages and narrows them by urgency, acknowledges a whole page at once (each row's result shown),
 * and 特急/紧急 rows stand out. The live badge says 重连中 within seconds of the network going away,
 * and the lists are marked stale until they have been refetched after the reconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, login, openConsole, screenshot, startConsoleServer, type ConsoleServer } from './browser';
import { seedBusyDay, type BusyDay } from './busy-day';

const skip = browserSkipReason();
if (skip) console.log(`[agent-console queues] ${skip}`);

const pager = (page: Page) => page.getByTestId('queue-pager').filter({ visible: true });
const rowsOf = (page: Page, testId: string) => page.getByTestId(testId).filter({ visible: true }).locator('.el-table__body-wrapper tr.el-table__row');
/** The ticket numbers on the page's visible table (one per row; a grouped ticket's number once). */
const numbersOn = (page: Page, testId: string) =>
  page.getByTestId(testId).filter({ visible: true }).locator('.el-table__body-wrapper [data-ticket-number]').evaluateAll((els) => els.map((e) => e.getAttribute('data-ticket-number')!));

describe.skipIf(!!skip)('agent console on a busy day (browser)', () => {
  let s: ConsoleServer;
  let browser: Browser;
  let day: BusyDay;

  beforeAll(async () => {
    s = await startConsoleServer();
    day = await seedBusyDay(s.t);
    console.log(`[agent-console queues] busy day: ${day.tickets} tickets (${day.waiting} to dispatch, ${day.waterWorkOrders} for the water company) seeded in ${day.ms} ms`);
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  }, 120_000);

  it("the dispatcher's 待派单 shows its total, pages to the last ticket, and 特急/紧急 rows stand out", async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'dispatcher1');
    await page.waitForURL('**/dispatch');
    await page.getByTestId('tab-accepted').click();
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(day.waiting));
    await expect(pager(page).textContent()).resolves.toContain(String(day.waiting));

    // The first page: the urgent ones carry the highlight class and a tag.
    const urgentRows = page.getByTestId('ticket-queue-accepted').locator('tr.row-urgency-emergency, tr.row-urgency-urgent');
    await expect.poll(() => urgentRows.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('ticket-queue-accepted').locator('tr.row-urgency-emergency .urgency-tag').count()).toBeGreaterThan(0);

    // The last page holds the newest saved ticket (oldest first is the default order).
    const newest = (await s.api('dispatcher1', 'GET', '/api/v1/tickets?status=accepted&sort=created&order=desc&pageSize=1')).body.items[0].number;
    await pager(page).locator('.el-pager li.number').last().click();
    await expect.poll(() => numbersOn(page, 'ticket-queue-accepted'), { timeout: 10_000 }).toContain(newest);
    const lastPage = Math.ceil(day.waiting / 50);
    expect(await pager(page).getAttribute('data-page')).toBe(String(lastPage));
    expect(await numbersOn(page, 'ticket-queue-accepted')).toHaveLength(day.waiting - (lastPage - 1) * 50);
    await screenshot(page, 'queues-dispatcher-last-page');

    // 待签收: a ticket's lead and co-handler (主办 + 协办) under one number cell.
    await page.getByTestId('tab-to_acknowledge').click();
    const groups = page.getByTestId('work-order-table').filter({ visible: true }).getByTestId('ticket-group');
    await expect.poll(() => groups.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const spanned = page.getByTestId('work-order-table').filter({ visible: true }).locator('td[rowspan="2"] [data-ticket-number]');
    expect(await spanned.count()).toBeGreaterThan(0);
    await screenshot(page, 'queues-dispatcher-grouped');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('the water company sees all its 300+ work orders across pages, and narrows them by urgency', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(day.waterWorkOrders));

    const seen = new Set<string>();
    const pages = Math.ceil(day.waterWorkOrders / 50);
    for (let p = 1; p <= pages; p++) {
      if (p > 1) {
        await pager(page).locator('.btn-next').click();
        await expect.poll(() => pager(page).getAttribute('data-page')).toBe(String(p));
      }
      // The page's rows have arrived when none of them was on the page before.
      await expect.poll(async () => {
        const nums = await numbersOn(page, 'work-order-table');
        return nums.length > 0 && nums.every((n) => !seen.has(n));
      }, { timeout: 10_000 }).toBe(true);
      for (const n of await numbersOn(page, 'work-order-table')) seen.add(n);
    }
    expect(seen.size).toBe(day.waterWorkOrders);

    // 特急 only: the total is the queue's 特急, every row highlighted.
    await page.getByTestId('filter-urgency').click();
    await page.getByTestId('filter-urgency-emergency').click();
    await page.keyboard.press('Escape');
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 10_000 }).toBe(String(day.waterByUrgency.emergency));
    await expect.poll(() => rowsOf(page, 'work-order-table').count(), { timeout: 10_000 }).toBe(Math.min(50, day.waterByUrgency.emergency));
    expect(await page.getByTestId('work-order-table').locator('tr.el-table__row:not(.row-urgency-emergency)').count()).toBe(0);
    await screenshot(page, 'queues-unit-emergency-only');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('bulk 签收 of a page acknowledges every row on it, each row reporting its result', async () => {
    const toAck = async () => (await s.api('water1', 'GET', '/api/v1/work-orders?queue=to_acknowledge&pageSize=1')).body.total as number;
    const before = await toAck();
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    await expect.poll(() => rowsOf(page, 'work-order-table').count(), { timeout: 15_000 }).toBe(50);

    // A live refetch landing just as the header box is clicked can swallow the click on a slow run:
    // click again while nothing is selected (the count on the button is what the user sees).
    const selectAll = page.getByTestId('work-order-table').locator('.el-table__header-wrapper .el-checkbox').first();
    await expect.poll(async () => {
      const label = (await page.getByTestId('bulk-acknowledge').textContent()) ?? '';
      if (/[（(]0[）)]/.test(label)) await selectAll.click();
      return label;
    }, { timeout: 20_000, interval: 1000 }).toContain('50');
    await page.getByTestId('bulk-acknowledge').click();
    const summary = page.getByTestId('bulk-summary');
    await summary.waitFor({ timeout: 30_000 });
    expect(await summary.getAttribute('data-ok')).toBe('50');
    expect(await summary.getAttribute('data-failed')).toBe('0');
    expect(await page.getByTestId('bulk-row-ok').count()).toBe(50);
    await screenshot(page, 'queues-unit-bulk-acknowledge');
    expect(await toAck()).toBe(before - 50);
    await page.getByTestId('bulk-close').click();
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('works the unit queue from the keyboard: j/k move, A acknowledges, Enter opens; the help lists the keys', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    await expect.poll(() => rowsOf(page, 'work-order-table').count(), { timeout: 15_000 }).toBe(50);
    // Page 6: still to acknowledge (the bulk case signed the first page).
    const first = await numbersOn(page, 'work-order-table');
    await pager(page).locator('.el-pager li.number', { hasText: /^6$/ }).click();
    await expect.poll(() => pager(page).getAttribute('data-page')).toBe('6');
    await expect.poll(async () => (await numbersOn(page, 'work-order-table')).every((n) => !first.includes(n)), { timeout: 10_000 }).toBe(true);
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    const current = page.locator('tr.row-kbd-current [data-ticket-number]');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('k');
    await expect.poll(() => current.count()).toBe(1);
    const numbers = await numbersOn(page, 'work-order-table');
    const number = (await current.getAttribute('data-ticket-number'))!;
    expect(number).toBe(numbers[1]);

    await page.keyboard.press('a');
    const ticket = (await s.api('dispatcher1', 'GET', `/api/v1/tickets?number=${number}`)).body.items[0];
    await expect.poll(async () => (await s.api('water1', 'GET', `/api/v1/work-orders?queue=all&ticketId=${ticket.id}`)).body.items[0].status, { timeout: 10_000 }).toBe('acknowledged');

    await page.keyboard.press('Enter');
    await page.locator('.el-drawer').filter({ visible: true }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Alt+H');
    const help = page.getByTestId('shortcut-list');
    await help.waitFor({ timeout: 5_000 });
    for (const label of ['下一条', '上一条', '打开当前工单', '签收当前工单', '办结反馈']) expect(await help.textContent()).toContain(label);
    await screenshot(page, 'queues-unit-keyboard-help');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('keeps 承办单位 above the fold in English at 1366×768, and 本班已登记 usable', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await context.addInitScript("localStorage.setItem('hotline.locale', 'en')");
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    const unit = page.locator('[data-testid="field-unit"]').first();
    await unit.waitFor({ timeout: 15_000 });
    const box = (await unit.boundingBox())!;
    console.log(`[agent-console queues] English: handling unit field at y=${Math.round(box.y)}..${Math.round(box.y + box.height)}`);
    expect(box.y + box.height).toBeLessThanOrEqual(768);
    // Not just inside the window: on top at its centre, not under the form's action bar or scrolled away.
    const onTop = await page.evaluate(`(() => { const e = document.elementFromPoint(${box.x + box.width / 2}, ${box.y + box.height / 2}); return !!e && !!e.closest('[data-testid="field-unit"]'); })()`);
    expect(onTop, 'the handling unit field is visible without scrolling').toBe(true);
    const recent = (await page.getByTestId('recent-tickets').boundingBox())!;
    console.log(`[agent-console queues] 本班已登记 panel: y=${Math.round(recent.y)} height=${Math.round(recent.height)}`);
    expect(recent.height).toBeGreaterThanOrEqual(120);
    expect(recent.y + recent.height).toBeLessThanOrEqual(768);
    await screenshot(page, 'queues-agent-english');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('says 重连中 within seconds of going offline, marks the lists stale, and clears the mark once resynced', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    const state = () => page.getByTestId('live-state').getAttribute('data-state');
    await expect.poll(state, { timeout: 10_000 }).toBe('connected');
    await expect.poll(() => rowsOf(page, 'work-order-table').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('stale-banner').count()).toBe(0);

    const offAt = Date.now();
    await context.setOffline(true);
    await expect.poll(state, { timeout: 5_000, interval: 100 }).toBe('reconnecting');
    const noticedMs = Date.now() - offAt;
    await page.getByTestId('stale-banner').waitFor({ timeout: 5_000 });
    expect(await page.getByTestId('stale-banner').textContent()).toContain('数据可能已过期');
    await screenshot(page, 'queues-offline-stale');

    await context.setOffline(false);
    await expect.poll(state, { timeout: 20_000 }).toBe('connected');
    await expect.poll(() => page.getByTestId('stale-banner').count(), { timeout: 15_000 }).toBe(0);
    console.log(`[agent-console queues] offline noticed in ${noticedMs} ms`);
    expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|WebSocket/.test(e))).toEqual([]);
    await context.close();
  }, 120_000);
  it('dispatches a selection of 待派单 by each ticket\'s plan, every row reporting where it went or why not', async () => {
    const waiting = async () => (await s.api('dispatcher1', 'GET', '/api/v1/tickets?status=accepted&pageSize=1')).body.total as number;
    const before = await waiting();
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'dispatcher1');
    await page.waitForURL('**/dispatch');
    await page.getByTestId('tab-accepted').click();
    await expect.poll(() => rowsOf(page, 'ticket-queue-accepted').count(), { timeout: 15_000 }).toBe(50);
    const boxes = rowsOf(page, 'ticket-queue-accepted').locator('.el-checkbox');
    for (let i = 0; i < 5; i++) await boxes.nth(i).click();
    await expect.poll(() => page.getByTestId('bulk-dispatch').textContent()).toContain('5');
    await page.getByTestId('bulk-dispatch').click();
    const summary = page.getByTestId('bulk-summary');
    await summary.waitFor({ timeout: 30_000 });
    const ok = Number(await summary.getAttribute('data-ok'));
    const failed = Number(await summary.getAttribute('data-failed'));
    expect(ok + failed).toBe(5);
    expect(await page.getByTestId('bulk-row-ok').count()).toBe(ok);
    expect(await page.getByTestId('bulk-row-failed').count()).toBe(failed);
    console.log(`[agent-console queues] bulk dispatch by plan: ${ok} dispatched, ${failed} refused`);
    await screenshot(page, 'queues-dispatcher-bulk-dispatch');
    expect(await waiting()).toBe(before - ok);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
