/**
 * The lists beside the queues on a busy day, in a real browser (chromium at 1366×768): 待回访 with
 * more callbacks than the 500 the server used to stop at, a unit's 督办单 (more than 500 too), the
 * 认领池 and the supervisor's overdue list each show the whole list's total in a pager, and every
 * row is reachable page by page. Before, none of them had a pager: the server's first 500 (or the
 * first 50 of the overdue queue) were all there was.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';
import { seedBusyDay, seedLongLists, type LongLists } from './busy-day';

const pager = (page: Page) => page.getByTestId('queue-pager').filter({ visible: true });
/** The ticket numbers on the visible table with this test id, one per row. */
const numbersIn = (page: Page, scope: string) =>
  page.locator(scope).filter({ visible: true }).locator('.el-table__body-wrapper [data-ticket-number]').evaluateAll((els) => els.map((e) => e.getAttribute('data-ticket-number')!));

/**
 * Pages through the visible list to its end with the pager's "next" button and returns how many rows
 * it saw, one per page turn; each page's rows are waited for (none of them on the page before).
 */
async function walk(page: Page, scope: string, total: number, pageSize = 50) {
  let seen = 0;
  let before: string[] = [];
  const pages = Math.ceil(total / pageSize);
  for (let p = 1; p <= pages; p++) {
    if (p > 1) {
      await pager(page).locator('.btn-next').click();
      // As long as the rows' wait: on a loaded CI machine (MariaDB, browsers and test files side by
      // side on 2 cores) the page's main thread can take more than the default 5 s to handle a click.
      await expect.poll(() => pager(page).getAttribute('data-page'), { timeout: 20_000 }).toBe(String(p));
    }
    const expected = Math.min(pageSize, total - (p - 1) * pageSize);
    const prev = before;
    await expect.poll(async () => {
      const nums = await numbersIn(page, scope);
      return nums.length === expected && (p === 1 || nums.join() !== prev.join());
    }, { timeout: 20_000 }).toBe(true);
    before = await numbersIn(page, scope);
    seen += before.length;
  }
  return seen;
}

let lists: LongLists;

describeConsole('lists beside the queues on a busy day (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  it('待回访: the dispatcher sees all 500+ callbacks due, page by page', async () => {
    const total = (await s.api('dispatcher1', 'GET', '/api/v1/callbacks?status=due&pageSize=1')).body.total as number;
    expect(total).toBe(lists.callbacks);
    expect(total).toBeGreaterThan(500);
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'dispatcher1');
    await page.waitForURL('**/dispatch');
    await page.getByTestId('tab-callbacks').click();
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(total));
    await expect(pager(page).textContent()).resolves.toContain(String(total));
    expect(await walk(page, '[data-testid="callbacks-table"]', total)).toBe(total);
    await screenshot(page, 'long-lists-callbacks-last-page');
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it("督办单: the water company reaches all 500+ of its supervision orders, and the center's tab counts them", async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    await page.getByTestId('unit-tab-supervision').click();
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(lists.supervisionOrders));
    // The last page holds the oldest (newest first), and the ones before it are all there.
    await pager(page).locator('.el-pager li.number').last().click();
    const lastPage = Math.ceil(lists.supervisionOrders / 50);
    await expect.poll(() => pager(page).getAttribute('data-page')).toBe(String(lastPage));
    await expect.poll(async () => (await numbersIn(page, '[data-testid="supervision-table"]')).length, { timeout: 10_000 }).toBe(lists.supervisionOrders - (lastPage - 1) * 50);
    const oldest = (await s.api('water1', 'GET', `/api/v1/supervision-orders?status=open&page=${lists.supervisionOrders}&pageSize=1`)).body.items[0];
    expect(await page.getByTestId('supervision-table').filter({ visible: true }).innerText()).toContain(oldest.reason);
    await screenshot(page, 'long-lists-supervision-unit');
    expect(errors).toEqual([]);
    await context.close();

    const center = await openConsole(browser, s.baseUrl);
    await login(center.page, 'supervisor1');
    await center.page.waitForURL('**/supervise');
    await center.page.goto('/dispatch');
    await center.page.getByTestId('tab-supervision').click();
    await expect.poll(() => pager(center.page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(lists.supervisionOrders));
    expect(center.errors).toEqual([]);
    await center.context.close();
  }, 180_000);

  it('认领池: the whole pool in pages', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'water1');
    await page.waitForURL('**/unit');
    await page.getByTestId('unit-tab-pool').click();
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(lists.pool));
    expect(await walk(page, '[data-testid="claim-pool-table"]', lists.pool)).toBe(lists.pool);
    await screenshot(page, 'long-lists-claim-pool');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it("the supervisor's overdue list shows the whole overdue queue's total and pages to its end", async () => {
    const total = (await s.api('supervisor1', 'GET', '/api/v1/work-orders?queue=overdue&pageSize=1')).body.total as number;
    expect(total).toBeGreaterThanOrEqual(lists.overdue);
    expect(total).toBeGreaterThan(50);
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'supervisor1');
    await page.waitForURL('**/supervise');
    await expect.poll(() => pager(page).getAttribute('data-total'), { timeout: 15_000 }).toBe(String(total));
    expect(await walk(page, '.overdue [data-testid="work-order-table"]', total)).toBe(total);
    await screenshot(page, 'long-lists-supervisor-overdue');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
}, async (s) => {
  const day = await seedBusyDay(s.t);
  lists = await seedLongLists(s.t, day);
  console.log(`[agent-console long lists] ${lists.callbacks} callbacks, ${lists.supervisionOrders} supervision orders, ${lists.pool} in the pool, ${lists.overdue} overdue`);
});
