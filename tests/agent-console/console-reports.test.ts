/**
 * The reports page in chromium over the real figures: a supervisor sees today's daily report of the
 * demo city — KPI cards with 环比, charts (ECharts on canvas), tables; the 受理量 number opens the
 * tickets behind it and a ticket opens in the drawer; an export (PDF, printed by the server's
 * chromium) appears in the list and its download link serves the file.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';

async function threeTickets(s: ConsoleServer) {
  for (const situation of ['小区门口路灯不亮', '自来水水压低', '夜间施工噪音扰民']) {
    const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
      channel: 'phone', type: 'complaint', callerPhone: '13911112222', occurredAt: '2025-10-09T09:00:00+08:00', addressText: '白龙南路88号', parties: '来电人', situation, demand: '请尽快处理',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
}

describeConsole('reports page (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  it('shows KPI cards with 环比, charts and tables; a number drills down to its tickets and a ticket opens', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'supervisor1');
    await page.waitForURL('**/supervise');
    await page.goto('/reports');
    await expect.poll(() => page.getByTestId('report-title').innerText(), { timeout: 15_000 }).toBe('演示市 (Demo City)12345热线2025年10月9日日报告');
    // Today is in the period: the page follows the live feed.
    await expect.poll(() => page.getByTestId('report-live').isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('report-kpi-value-accepted').innerText(), { timeout: 10_000 }).toBe('3');
    // Yesterday had none: 环比 against 0 is no percentage.
    expect(await page.getByTestId('report-kpi-accepted').innerText()).toContain('环比');
    expect(await page.getByTestId('report-kpi-onTimeCompletionRate').innerText()).toContain('按期办结率');
    // Charts drawn by ECharts (canvas), tables with their KPIs.
    await expect.poll(() => page.locator('[data-testid="report-chart-by-channel-chart"] canvas').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const channels = page.getByTestId('report-table-by-channel');
    await expect.poll(() => channels.innerText()).toContain('受理总量');
    expect(await channels.innerText()).toContain('电话');
    const overall = page.getByTestId('report-table-overall-kpis');
    expect(await overall.innerText()).toContain('按期办结率');

    // A number → the tickets behind it → one ticket.
    await page.getByTestId('report-kpi-value-accepted').click();
    const drill = page.getByTestId('report-drill');
    await expect.poll(() => drill.isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('drill-total').innerText(), { timeout: 10_000 }).toBe('共 3 件');
    expect(await drill.innerText()).toContain('自来水水压低');
    await screenshot(page, 'reports-drill-down');
    await drill.getByTestId('drill-ticket').nth(1).click();
    const opened = await drill.getByTestId('drill-ticket').nth(1).innerText();
    await expect.poll(() => page.getByTestId('ticket-drawer').innerText(), { timeout: 10_000 }).toContain(opened);
    await screenshot(page, 'reports-ticket-from-drill-down');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('网格自办事项 drills down to the matters the grid handled, not to tickets', async () => {
    const matter = await s.api('grid1', 'POST', '/api/v1/grid-matters', { title: '楼道堆放杂物', handling: '网格员上门劝导，住户当场清理', addressText: '江景苑1栋' });
    expect(matter.status, JSON.stringify(matter.body)).toBe(201);
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'supervisor1');
    await page.waitForURL('**/supervise');
    await page.goto('/reports');
    await expect.poll(() => page.getByTestId('report-kpi-value-gridMatters').innerText(), { timeout: 15_000 }).toBe('1');
    await page.getByTestId('report-kpi-value-gridMatters').click();
    const drill = page.getByTestId('report-drill');
    await expect.poll(() => drill.getByTestId('drill-matter').count(), { timeout: 10_000 }).toBe(1);
    expect(await drill.innerText()).toContain('网格员上门劝导，住户当场清理');
    expect(await drill.getByTestId('drill-ticket').count()).toBe(0);
    await screenshot(page, 'reports-drill-down-grid-matters');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('exports the period as PDF: the list shows it, then its download link serves the file', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'supervisor1');
    await page.waitForURL('**/supervise');
    await page.goto('/reports');
    await expect.poll(() => page.getByTestId('report-title').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.getByTestId('report-export-button').click();
    await page.getByTestId('report-export-pdf').click();
    const row = page.getByTestId('report-exports').locator('tbody tr').first();
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).toContain('PDF');
    const download = row.locator('[data-testid^="export-download-"]');
    await expect.poll(() => download.count(), { timeout: 60_000 }).toBe(1);
    expect(await row.innerText()).toContain('演示市 (Demo City)12345热线2025年10月9日日报告');
    const href = await download.getAttribute('href');
    const file = await page.request.get(href!);
    expect(file.status()).toBe(200);
    expect(file.headers()['content-type']).toBe('application/pdf');
    expect(file.headers()['content-disposition']).toContain("filename*=UTF-8''");
    expect((await file.body()).subarray(0, 5).toString()).toBe('%PDF-');
    await screenshot(page, 'reports-exported');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
}, threeTickets);
