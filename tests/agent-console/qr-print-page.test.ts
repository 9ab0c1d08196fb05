/**
 * 楼栋二维码 (一码受理) in the console, in chromium over the real server: the admin finds the page in the
 * menu, chooses 滨江社区 and sees exactly the buildings the API lists for it, each with its code's
 * image; downloads one building's PNG (PNG magic bytes) and the community's A4 sheet (a PDF printed by
 * the server's chromium). Grid staff get only their own territory; a unit user has no such page.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, unresolvedElements } from './browser';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The buildings the table shows, by the alt of their code's image. (Page scripts are strings: no DOM types here.) */
const shownCodes = (page: Page) => page.evaluate<string[]>(`[...document.querySelectorAll('[data-testid="qr-buildings"] img[data-testid^="qr-img-"]')].map((i) => i.alt).sort()`);

const menuEntry = (page: Page) => page.locator('.aside-menu').getByText('楼栋二维码', { exact: true });

describeConsole('building QR codes page (browser)', (env) => {
  it('the admin chooses a community, sees its buildings, downloads a PNG and the A4 PDF sheet', async () => {
    const { s, browser } = env();
    const { page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'admin');
    await page.waitForURL('**/supervise');
    await menuEntry(page).click();
    await page.waitForURL('**/qr-codes');
    expect(await page.getByTestId('qr-sheet-pdf').isDisabled(), 'no sheet before a community is chosen').toBe(true);

    await page.getByTestId('qr-community').click();
    await page.locator('.el-select-dropdown__item', { hasText: /^滨江社区$/ }).click();
    const community = (await s.t.ctx.directory.findTerritoryByCode('demo', '990102001001'))!;
    const listed = await s.api('admin', 'GET', `/api/v1/citizen/buildings?territoryId=${community.id}`);
    const codes: string[] = listed.body.items.map((b: { code: string }) => b.code).sort();
    expect(codes).toEqual(['QR-990102001001-0001', 'QR-990102001001-0002', 'QR-990102001001-0003', '江景苑1栋', '江景苑2栋', '江景苑5栋'].sort());
    await expect.poll(() => page.getByTestId('qr-count').textContent(), { timeout: 10_000 }).toContain(`（${codes.length}）`);
    expect(await shownCodes(page)).toEqual(codes);

    // The preview is the API's PNG, loaded with the session.
    const img = page.getByTestId('qr-img-QR-990102001001-0001');
    await img.scrollIntoViewIfNeeded();
    await expect.poll(() => page.evaluate<number>(`document.querySelector('[data-testid="qr-img-QR-990102001001-0001"]').naturalWidth`), { timeout: 10_000 }).toBeGreaterThan(100);
    expect(await unresolvedElements(page), 'every Element Plus tag is registered').toEqual([]);
    await screenshot(page, 'qr-print-page');

    const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('qr-png-QR-990102001001-0001').click()]);
    expect(png.suggestedFilename()).toBe('qr-QR-990102001001-0001.png');
    expect([...readFileSync((await png.path())!).subarray(0, 8)]).toEqual(PNG_MAGIC);

    const [pdf] = await Promise.all([page.waitForEvent('download', { timeout: 90_000 }), page.getByTestId('qr-sheet-pdf').click()]);
    expect(pdf.suggestedFilename()).toMatch(/\.pdf$/);
    expect(readFileSync((await pdf.path())!).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(errors).toEqual([]);
  }, 180_000);

  it('grid staff get their own territory only; a unit user has no QR page', async () => {
    const { s, browser } = env();
    const grid = await openConsole(browser, s.baseUrl);
    await login(grid.page, 'grid1');
    await grid.page.waitForURL('**/grid');
    await menuEntry(grid.page).click();
    await grid.page.waitForURL('**/qr-codes');
    // grid1's grid (滨江社区第一网格) is chosen for it: its two buildings.
    await expect.poll(() => grid.page.getByTestId('qr-count').textContent(), { timeout: 10_000 }).toContain('（2）');
    expect(await shownCodes(grid.page)).toEqual(['QR-990102001001-0001', 'QR-990102001001-0002']);

    const unit = await openConsole(browser, s.baseUrl);
    await login(unit.page, 'street1');
    await unit.page.waitForURL('**/unit');
    expect(await menuEntry(unit.page).count()).toBe(0);
    await unit.page.goto('/qr-codes');
    await unit.page.waitForURL('**/unit');
    expect(grid.errors).toEqual([]);
    expect(unit.errors).toEqual([]);
  }, 120_000);
});
