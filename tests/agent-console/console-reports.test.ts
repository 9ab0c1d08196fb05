/**
 * The reports page in chromium: a supervisor picks a period and sees the KPI cards with 环比, the
 * charts (ECharts on canvas) and the tables; a number opens the tickets behind it, a ticket opens in
 * the drawer; an export (PDF, rendered by the server's chromium) shows its progress in the list and
 * is then downloaded from it.
 *
 * The figures come from the fixture document (tests/reports/fixture-document.ts). Until the figures
 * part's `GET /reports/figures` and `GET /reports/drill` are merged, this file stands in for them with
 * routes of the same shape (the document; a page of tickets — the demo city's real tickets).
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';
import { fixtureDocument } from '../reports/fixture-document';
import { fixtureSource } from '../reports/report-app';

const fixture = fixtureSource();

async function figuresStandIns(app: FastifyInstance, ctx: AppContext) {
  if (!app.hasRoute({ method: 'GET', url: '/api/v1/reports/figures' })) {
    app.get('/api/v1/reports/figures', async (request) => {
      const q = request.query as { kind: 'daily'; from: string; to: string };
      const doc = fixtureDocument({ kind: q.kind, period: { from: q.from, to: q.to, label: `${q.from}` } });
      return { ...doc, titleZh: `演示市12345热线${q.from}报表` };
    });
  }
  if (!app.hasRoute({ method: 'GET', url: '/api/v1/reports/drill' })) {
    app.get('/api/v1/reports/drill', async () => {
      const rows = await ctx.database.db.selectFrom('tickets').select(['id', 'number', 'situation', 'status', 'created_at']).orderBy('number').execute();
      return { items: rows.map((r) => ({ id: r.id, number: r.number, situation: r.situation, status: r.status, createdAt: `${r.created_at.replace(' ', 'T').slice(0, 19)}Z` })), total: rows.length, page: 1, pageSize: 20 };
    });
  }
}

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
    await expect.poll(() => page.getByTestId('report-title').innerText(), { timeout: 15_000 }).toBe('演示市12345热线2025-10-09报表');
    // Today is in the period: the page follows the live feed.
    await expect.poll(() => page.getByTestId('report-live').isVisible()).toBe(true);
    expect(await page.getByTestId('report-kpi-value-accepted').innerText()).toBe('12,873');
    expect(await page.getByTestId('report-kpi-onTimeCompletionRate').innerText()).toContain('96.34%');
    expect(await page.getByTestId('report-kpi-onTimeCompletionRate').innerText()).toContain('环比 ↑1.22个百分点');
    expect(await page.getByTestId('report-kpi-accepted').innerText()).toContain('↑8.0%');
    // Charts drawn by ECharts (canvas with pixels), tables with formatted numbers.
    await expect.poll(() => page.locator('[data-testid="report-chart-daily-volume"] canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid="report-chart-unit-volume"] canvas').count()).toBeGreaterThan(0);
    const units = page.getByTestId('report-table-unit-kpis');
    await expect.poll(() => units.innerText()).toContain('市水务集团');
    expect(await units.innerText()).toContain('98.23%');

    // A number → the tickets behind it → one ticket.
    await page.getByTestId('report-cell-unit-kpis-1-received').click();
    const drill = page.getByTestId('report-drill');
    await expect.poll(() => drill.isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('drill-total').innerText(), { timeout: 10_000 }).toBe('共 3 件');
    expect(await drill.innerText()).toContain('自来水水压低');
    await screenshot(page, 'reports-drill-down');
    await page.getByTestId('drill-ticket').nth(1).click();
    await expect.poll(() => page.getByTestId('ticket-situation').innerText(), { timeout: 10_000 }).toBe('自来水水压低');
    await screenshot(page, 'reports-ticket-from-drill-down');
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
    expect(await row.innerText()).toContain('演示市12345热线');
    const href = await download.getAttribute('href');
    const file = await page.request.get(href!);
    expect(file.status()).toBe(200);
    expect(file.headers()['content-type']).toBe('application/pdf');
    expect(file.headers()['content-disposition']).toContain("filename*=UTF-8''");
    expect((await file.body()).subarray(0, 5).toString()).toBe('%PDF-');
    await screenshot(page, 'reports-exported');
    expect(fixture.calls.at(-1)).toMatchObject({ kind: 'daily', period: { from: '2025-10-09', to: '2025-10-10' }, filters: { groupBy: 'unit' } });
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
}, threeTickets, { beforeReady: figuresStandIns, reportSource: fixture.source });
