/**
 * Grid matters (网格自办事项, 简单事网格办) are a figure of the reports: counted in the rollups in the
 * transaction that records them (a failed count records nothing; a retried request counts once),
 * by territory at every level and by period, scoped like the other figures, with a drill-down that
 * lists the matters; in `hotline reports rebuild` and its proof against a full scan; and in the
 * daily report, weekly review and monthly bulletin (document, HTML, Excel, PDF).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { Role, type Actor } from '../../core';
import { reportsRebuildCommand } from '../../app/reports';
import { createChromiumPrinter, findChromiumBinary, renderReportExcel, renderReportHtml, type ReportDocument } from '../../reports';
import { startGridScenario, type GridScenario } from '../gridcalls/helpers';

let s: GridScenario;
const territory = new Map<string, { id: string; path: string }>();
const work = mkdtempSync(join(tmpdir(), 'grid-matter-reports-'));

beforeAll(async () => {
  s = await startGridScenario();
  const walk = (nodes: any[]): void => nodes.forEach((n) => { territory.set(n.name, { id: n.id, path: n.path }); walk(n.children); });
  walk(await s.t.ctx.directory.territoryTree('demo'));
}, 300_000);
afterAll(async () => {
  await s?.t.close();
  rmSync(work, { recursive: true, force: true });
});

const DAY = 'period=day&from=2025-10-09';
const figure = (r: any, kpi = 'gridMatters') => r.figures.find((f: any) => f.kpi === kpi);
const byGroup = (r: any, kpi = 'gridMatters') => Object.fromEntries(r.groups.map((g: any) => [g.name, figure(g, kpi).value]).filter(([, v]: any) => v));
const matterCount = async () => Number((await s.t.ctx.database.db.selectFrom('grid_matters').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

/** A grid member of 望湖社区第一网格 (the demo city has no such user): recorded through the service. */
const wanghuMember = (): Actor => {
  const t = territory.get('望湖社区第一网格')!;
  return { kind: 'user', id: 'grid-wanghu-test', name: '网格员 望湖', role: Role.gridMember, cityId: 'demo', unitId: null, territoryId: t.id, territoryPath: t.path };
};

describe('grid matters in the reports', { timeout: 180_000 }, () => {
  it('count in the figures on the day handled, apart from the tickets, once per request', async () => {
    await s.newTicket();
    const before = await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}`);
    expect(figure(before)).toMatchObject({ value: 0, previous: 0, labelZh: '网格自办事项' });
    const unitGroupsBefore = (await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}&groupBy=unit`)).groups.map((g: any) => g.name);

    const category = await s.categoryId('04020302');
    const first = { title: '劝导占道经营摊贩离开', handling: '现场劝导，摊贩已自行离开', categoryId: category };
    await s.ok('grid1', 'POST', '/grid-matters', first, { 'idempotency-key': 'matter-1' });
    await s.ok('grid1', 'POST', '/grid-matters', first, { 'idempotency-key': 'matter-1' }); // a retry: counted once
    await s.ok('grid1', 'POST', '/grid-matters', { title: '清理楼道小广告', handling: '已清理' });
    await s.ok('grid2', 'POST', '/grid-matters', { title: '调解邻里漏水纠纷', handling: '约双方到社区调解，达成维修协议' });
    await s.ok('grid1', 'POST', '/grid-matters', { title: '扶正倒伏的共享单车', handling: '已扶正', handledAt: '2025-10-08T16:00:00+08:00' });
    await s.t.ctx.gridCalls.recordMatter({ actor: wanghuMember() }, { title: '劝离广场高音喇叭', handling: '已劝导降低音量' });
    expect(await matterCount()).toBe(5);

    const after = await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}`);
    expect(figure(after)).toMatchObject({ value: 4, previous: 1 });
    // The ticket figures do not move: a grid matter is not a ticket.
    for (const k of ['accepted', 'onSpotRate', 'satisfactionRate', 'overdueCount']) expect(figure(after, k)).toEqual(figure(before, k));
    const week = await s.ok('supervisor1', 'GET', '/reports/figures?period=week&from=2025-10-09');
    expect(figure(week).value).toBe(5);
    const month = await s.ok('supervisor1', 'GET', '/reports/figures?period=month&from=2025-10-09');
    expect(figure(month).value).toBe(5);
    // A matter belongs to no unit: grouped by unit (or channel, type) it makes no row.
    const byUnit = await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}&groupBy=unit`);
    expect(byUnit.groups.map((g: any) => g.name)).toEqual(unitGroupsBefore);
    expect(byGroup(byUnit)).toEqual({});
  });

  it('are counted by territory at every level (district, street, community, grid) and category', async () => {
    const at = async (level: string) => byGroup(await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}&groupBy=territory&level=${level}`));
    expect(await at('district')).toEqual({ 湖滨区: 4 });
    expect(await at('street')).toEqual({ 滨江街道: 3, 望湖街道: 1 });
    expect(await at('community')).toEqual({ 滨江社区: 3, 望湖社区: 1 });
    expect(await at('grid')).toEqual({ 滨江社区第一网格: 2, 滨江社区第二网格: 1, 望湖社区第一网格: 1 });
    const street = territory.get('滨江街道')!.id;
    expect(figure(await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}&territoryId=${street}`)).value).toBe(3);
    const byCategory = await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}&groupBy=category&level=4`);
    // One matter has a category (a leaf of level 4), the others none (未分类).
    const categories = byGroup(byCategory);
    expect(categories['未分类']).toBe(3);
    expect(Object.values(categories).sort()).toEqual([1, 3]);
  });

  it('are scoped like the other figures: grid staff their territory, a unit none, others refused', async () => {
    const value = async (user: string) => figure(await s.ok(user, 'GET', `/reports/figures?${DAY}`)).value;
    expect(await value('gridlead1')).toBe(2);
    expect(await value('secretary1')).toBe(3);
    expect(await value('townlead1')).toBe(3);
    expect(await value('chengguan1')).toBe(0);
    const r = await s.api('grid1', 'GET', `/reports/figures?${DAY}&territoryId=${territory.get('望湖街道')!.id}`);
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 403, code: 'REPORT_SCOPE_FORBIDDEN' });
    expect(r.body.message_zh).toBeTruthy();
  });

  it('drill down to the matters behind the number, as the viewer may see them', async () => {
    const link = (r: any) => figure(r).drill.replace('/api/v1', '');
    const all = await s.ok('supervisor1', 'GET', link(await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}`)));
    expect(all.total).toBe(4);
    expect(all.items.map((m: any) => m.title).sort()).toEqual(['劝导占道经营摊贩离开', '劝离广场高音喇叭', '清理楼道小广告', '调解邻里漏水纠纷']);
    expect(all.items[0]).toHaveProperty('handling');
    // The row of a grouping drills into its territory.
    const streets = await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}&groupBy=territory&level=street`);
    const wanghu = streets.groups.find((g: any) => g.name === '望湖街道');
    expect((await s.ok('supervisor1', 'GET', link(wanghu))).items.map((m: any) => m.title)).toEqual(['劝离广场高音喇叭']);
    const leader = await s.ok('gridlead1', 'GET', link(await s.ok('gridlead1', 'GET', `/reports/figures?${DAY}`)));
    expect({ total: leader.total, titles: leader.items.map((m: any) => m.title).sort() }).toEqual({ total: 2, titles: ['劝导占道经营摊贩离开', '清理楼道小广告'] });
    const unit = await s.ok('chengguan1', 'GET', '/reports/drill?kpi=gridMatters&from=2025-10-09&to=2025-10-09');
    expect({ total: unit.total, items: unit.items }).toEqual({ total: 0, items: [] });
  });

  it('a matter whose count fails is not recorded (one transaction)', async () => {
    const db = s.t.ctx.database.db;
    const audit = async () => Number((await db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('entity_type', '=', 'grid_matter').executeTakeFirstOrThrow()).n);
    const [matters, audits] = [await matterCount(), await audit()];
    await db.schema.alterTable('report_rollups_month').renameTo('report_rollups_month_away').execute();
    try {
      const r = await s.api('grid2', 'POST', '/grid-matters', { title: '清理绿化带垃圾', handling: '已清理' });
      expect(r.status).toBe(500);
    } finally {
      await db.schema.alterTable('report_rollups_month_away').renameTo('report_rollups_month').execute();
    }
    expect([await matterCount(), await audit()]).toEqual([matters, audits]);
    expect(figure(await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}`)).value).toBe(4);
    expect((await s.t.ctx.reports.rebuild('demo', { checkOnly: true })).before.mismatches).toBe(0);
  });

  it('hotline reports rebuild scans them with the tickets: equal to a full scan, a damaged counter found and repaired', async () => {
    const check = await s.t.ctx.reports.rebuild('demo', { checkOnly: true });
    expect({ matters: check.matters, mismatches: check.before.mismatches }).toEqual({ matters: 5, mismatches: 0 });
    const db = s.t.ctx.database.db;
    const row = await db.selectFrom('report_rollups').selectAll().where('measure', '=', 'grid_matter').where('grain', '=', 'full').where('n', '>', 0).limit(1).executeTakeFirstOrThrow();
    await db.updateTable('report_rollups').set({ n: row.n + 3 }).where('grain', '=', 'full').where('city_id', '=', row.city_id).where('measure', '=', row.measure).where('day', '=', row.day)
      .where('unit_id', '=', row.unit_id).where('category_id', '=', row.category_id).where('territory_id', '=', row.territory_id).where('channel', '=', row.channel).where('type', '=', row.type).execute();
    const lines: string[] = [];
    expect(await reportsRebuildCommand(s.t.ctx.reports, ['demo'], { check: true }, (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toContain('5 grid matters scanned');
    expect(lines.join('\n')).toContain(`grid_matter | ${row.day}`);
    lines.length = 0;
    expect(await reportsRebuildCommand(s.t.ctx.reports, ['demo'], {}, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/rebuilt vs full scan: \d+ counters, 0 different/);
    // The rebuilt facts keep the drill-down, and a matter recorded after counts on.
    expect((await s.ok('supervisor1', 'GET', '/reports/drill?kpi=gridMatters&from=2025-10-08&to=2025-10-09')).total).toBe(5);
    await s.ok('grid2', 'POST', '/grid-matters', { title: '清理绿化带垃圾', handling: '已清理' });
    expect(figure(await s.ok('supervisor1', 'GET', `/reports/figures?${DAY}`)).value).toBe(5);
    expect((await s.t.ctx.reports.rebuild('demo', { checkOnly: true })).before.mismatches).toBe(0);
  });

  describe('in the report documents', () => {
    const docs: Record<string, ReportDocument> = {};
    const section = (d: ReportDocument) => d.sections.find((x) => x.id === 'grid-matters')!;

    it('the daily report, weekly review and monthly bulletin carry the figure and a section 网格自办事项 by 镇街', async () => {
      for (const kind of ['daily', 'weekly', 'monthly'] as const) docs[kind] = await s.t.ctx.reports.buildReportDocument(kind, '2025-10-09', 'demo');
      expect(docs.daily.summary.find((f) => f.kpi === 'gridMatters')).toMatchObject({ value: 5, previous: 1 });
      expect(section(docs.daily).titleZh).toBe('网格自办事项');
      expect(section(docs.daily).paragraphsZh[0]).toContain('5件');
      expect(section(docs.daily).tables[0].rows).toEqual([
        { name: '滨江街道', count: 4, previous: 1 },
        { name: '望湖街道', count: 1, previous: 0 },
        { name: '合计', count: 5, previous: 1 },
      ]);
      expect(section(docs.weekly).tables[0].rows.at(-1)).toMatchObject({ name: '合计', count: 6 });
      expect(section(docs.monthly).tables[0].rows.at(-1)).toMatchObject({ name: '合计', count: 6 });
      expect(docs.monthly.sections.find((x) => x.id === 'overall')!.tables[0].rows).toContainEqual(expect.objectContaining({ name: '网格自办事项', value: 6 }));
      // A grid leader's document is their territory's.
      const grid = territory.get('滨江社区第一网格')!;
      const leader: Actor = { kind: 'user', id: 'gridlead-test', name: '网格长', role: Role.gridLeader, cityId: 'demo', unitId: null, territoryId: grid.id, territoryPath: grid.path };
      const mine = await s.t.ctx.reports.buildReportDocument('daily', '2025-10-09', 'demo', {}, leader);
      expect(mine.summary.find((f) => f.kpi === 'gridMatters')!.value).toBe(2);
    });

    it('rendered: HTML and Excel hold the section and its numbers', async () => {
      const html = renderReportHtml(docs.monthly);
      expect(html).toContain('网格自办事项');
      expect(html).toContain('各镇街网格自办事项');
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load((await renderReportExcel(docs.monthly)) as unknown as ExcelJS.Buffer);
      const sheet = wb.worksheets.find((w) => w.name.includes('网格自办事项'))!;
      expect(sheet).toBeTruthy();
      const cells = sheet.getSheetValues().flat().filter((v) => v != null).map(String);
      expect(cells).toEqual(expect.arrayContaining(['滨江街道', '望湖街道', '合计', '5', '1', '6']));
      const summary = wb.getWorksheet('概要')!.getSheetValues().flat().map(String);
      expect(summary).toContain('网格自办事项');
    });

    const chromium = findChromiumBinary(process.env.CHROMIUM_PATH);
    it.skipIf(!chromium && process.env.CI !== 'true')('rendered: the PDF prints the section', async () => {
      const pdf = await createChromiumPrinter({ executablePath: chromium }).pdf(renderReportHtml(docs.daily));
      const file = join(work, 'daily.pdf');
      writeFileSync(file, pdf);
      const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      expect(text).toContain('网格自办事项');
      expect(text).toContain('各镇街网格自办事项');
    });
  });
});
