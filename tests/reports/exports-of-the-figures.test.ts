/**
 * Exports of the real figures (no fixture): the figures part's report document rendered to Excel and
 * HTML — the month's tickets counted in the workbook; the first working day's daily report after the
 * National Day holiday covers the holiday; a unit's export is built as that unit sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { FixedClock } from '../../core';
import type { InProcessJobQueue } from '../../jobs';
import { reportSourceOf } from '../../app/report-exports';
import type { ReportsService } from '../../reports';
import { json, startTestApp, type TestApp } from '../helpers/app';

const clock = new FixedClock(new Date('2025-10-09T02:00:00Z')); // Thursday 9 October 2025, 10:00 China
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ clock });
  for (const situation of ['路灯不亮', '水压低']) {
    const res = await t.app.inject({
      method: 'POST', url: '/api/v1/tickets', headers: { cookie: await t.login('agent1') },
      payload: { channel: 'phone', type: 'complaint', callerPhone: '13911112222', occurredAt: '2025-10-09T09:00:00+08:00', addressText: '白龙南路88号', parties: '来电人', situation, demand: '请处理' },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
});
afterAll(() => t?.close());

const runJobs = () => (t.ctx.jobs as unknown as InProcessJobQueue<Record<string, unknown>>).runDue();

async function exportFile(user: string, body: object) {
  const cookie = await t.login(user);
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/reports/exports', headers: { cookie }, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  await runJobs();
  const view = json(await t.app.inject({ method: 'GET', url: `/api/v1/reports/exports/${json(res).id}`, headers: { cookie } }));
  expect(view.status, view.error).toBe('done');
  const file = await t.app.inject({ method: 'GET', url: view.downloadUrl, headers: { cookie } });
  return { view, body: file.rawPayload };
}

describe('exports of the figures part\'s documents', () => {
  it('the monthly bulletin in Excel counts the month\'s tickets, one sheet per table', async () => {
    const { view, body } = await exportFile('supervisor1', { kind: 'monthly', from: '2025-10-01', format: 'xlsx' });
    expect(view.title).toBe('演示市 (Demo City)12345热线2025年10月通报');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(body as unknown as ExcelJS.Buffer);
    const names = wb.worksheets.map((w) => w.name);
    expect(names[0]).toBe('概要');
    expect(names).toEqual(expect.arrayContaining(['主要指标', '各承办单位办理情况', '各渠道受理情况', '承办单位排名']));
    const summary = wb.getWorksheet('概要')!;
    expect(summary.getCell('A3').value).toBe('受理总量');
    expect(summary.getCell('B3').value).toBe(2);
  });

  it('the daily report on the first working day after the holiday covers 30 September to 8 October', async () => {
    const { view, body } = await exportFile('supervisor1', { kind: 'daily', from: '2025-09-30', to: '2025-10-09', format: 'html' });
    expect(view.period).toEqual({ from: '2025-09-30', to: '2025-10-09', label: '2025年9月30日至2025年10月8日' });
    const html = body.toString('utf8');
    expect(html).toContain('2025-09-30 至 2025-10-08');
    // Today's two tickets are outside it.
    expect(html).toMatch(/受理总量<\/div><div class="value">0</);
  });
});

describe('the source over the figures part', () => {
  function spy() {
    const calls: unknown[][] = [];
    const reports = { buildReportDocument: async (...args: unknown[]) => { calls.push(args); return {} as never; } } as unknown as ReportsService;
    return { source: reportSourceOf(reports), calls };
  }

  it('asks for a natural period by its first day and any other span by its dates', async () => {
    const { source, calls } = spy();
    await source.build('weekly', { from: '2025-10-06', to: '2025-10-13', label: '' }, 'demo', {});
    await source.build('daily', { from: '2025-09-30', to: '2025-10-09', label: '' }, 'demo', { channel: 'phone', groupBy: 'unit' });
    expect(calls[0].slice(0, 4)).toEqual(['weekly', '2025-10-06', 'demo', { unitId: undefined, categoryId: undefined, territoryId: undefined, channel: undefined }]);
    expect(calls[0][4]).toBeUndefined();
    expect(calls[1].slice(0, 4)).toEqual(['daily', { from: '2025-09-30', to: '2025-10-09' }, 'demo', { unitId: undefined, categoryId: undefined, territoryId: undefined, channel: 'phone' }]);
  });

  it('builds a unit\'s export as that unit sees it (its own figures and rank only)', async () => {
    const { source, calls } = spy();
    await source.build('monthly', { from: '2025-09-01', to: '2025-10-01', label: '' }, 'demo', { unitId: 'u-water' });
    expect(calls[0][4]).toMatchObject({ role: 'unit_manager', unitId: 'u-water', cityId: 'demo' });
  });
});
