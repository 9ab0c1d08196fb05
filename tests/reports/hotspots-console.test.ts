/**
 * The hotspot panel in the browser (Debian's chromium): a grid leader's console shows a warning of
 * its community the moment the fifth complaint makes it (live, no reload) — one row for the burst,
 * its broader levels listed as related — and one click turns it into a proactive ticket; the
 * supervisor's workspace lists the same incident as converted.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from '../agent-console/browser';
import { listCategories } from '../../routing';

describeConsole('hotspot panel (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  it('receives a warning live and converts it to a proactive ticket', async () => {
    const db = s.t.ctx.database.db;
    const category = (await listCategories(db, 'demo')).find((c) => c.code === '010214')!; // 环境卫生
    const grid = (await s.t.ctx.directory.findTerritoryByCode('demo', '990102001001001'))!; // 滨江社区第一网格

    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'gridlead1');
    await page.waitForURL('**/grid');
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    const panel = page.getByTestId('hotspot-panel');
    await expect.poll(() => panel.innerText(), { timeout: 15_000 }).toContain('暂无热点预警');

    for (let i = 0; i < 5; i++) {
      const r = await s.api('agent1', 'POST', '/api/v1/tickets', {
        channel: 'phone', type: 'complaint', callerPhone: `1391234500${i}`, title: '小区垃圾无人清运', situation: '垃圾桶满溢多日无人清运，气味很大',
        addressText: '滨江路1号', categoryId: category.id, territoryId: grid.id,
      });
      expect(r.status).toBe(201);
    }
    // The community's warning arrives live, as one row: the street's and the level-2 category's warnings of the same burst are its related levels.
    await expect.poll(() => panel.innerText(), { timeout: 20_000 }).toContain('滨江社区「环境卫生」诉求集中');
    expect(await panel.innerText()).toContain('蓝色预警（一般）');
    const items = (await s.api('gridlead1', 'GET', '/api/v1/hotspots?status=open')).body.items;
    expect(items).toHaveLength(1);
    const warning = items[0];
    expect(warning).toMatchObject({ territoryName: '滨江社区', categoryName: '环境卫生' });
    await expect.poll(() => page.getByTestId(`hotspot-related-${warning.id}`).innerText(), { timeout: 15_000 }).toContain('滨江街道「城市建设和市政管理」（蓝色）');
    const related = await page.getByTestId(`hotspot-related-${warning.id}`).innerText();
    for (const label of ['关联层级', '滨江街道「环境卫生」', '滨江社区「城市建设和市政管理」']) expect(related).toContain(label);
    expect(await panel.locator('[data-testid^="hotspot-title-"]').count()).toBe(1);
    await screenshot(page, 'hotspot-panel-grid-leader');

    await page.getByTestId(`hotspot-convert-${warning.id}`).click();
    await expect.poll(() => page.getByTestId(`hotspot-status-${warning.id}`).innerText(), { timeout: 15_000 }).toBe('已转主动治理');
    await expect.poll(() => page.locator('.el-message').allInnerTexts(), { timeout: 10_000 }).toEqual(expect.arrayContaining([expect.stringContaining('已生成主动治理工单')]));
    const after = (await s.api('supervisor1', 'GET', `/api/v1/hotspots/${warning.id}`)).body;
    expect(after.warning).toMatchObject({ status: 'converted', proactiveTicketId: expect.any(String) });
    const ticket = (await s.api('supervisor1', 'GET', `/api/v1/tickets/${after.warning.proactiveTicketId}`)).body;
    expect(ticket).toMatchObject({ channel: 'proactive', title: '【主动治理】滨江社区环境卫生问题集中' });

    const sup = await openConsole(browser, s.baseUrl);
    await login(sup.page, 'supervisor1');
    await sup.page.waitForURL('**/supervise');
    await expect.poll(() => sup.page.getByTestId(`hotspot-status-${warning.id}`).innerText(), { timeout: 15_000 }).toBe('已转主动治理');
    await screenshot(sup.page, 'hotspot-panel-supervisor');
    expect(errors).toEqual([]);
    expect(sup.errors).toEqual([]);
    await sup.context.close();
    await context.close();
  }, 120_000);
});
