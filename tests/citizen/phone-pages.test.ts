/**
 * The citizen pages in Debian's chromium at phone size (390×844, touch): scanning a building's code
 * opens the form with the building known; a report with a photo becomes a ticket in that building's
 * grid; later the citizen opens the status page with an SMS code, reads the result and rates it.
 * A forged code shows the Chinese error. Screenshots go to test-artifacts/citizen/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { systemActor } from '../../core';
import { startScenario, type Scenario } from '../workorders/helpers';
import { ARTIFACTS, browserSkipReason, findChromium } from '../agent-console/browser';
import { BUILDING, GRID, citizenApi, pngPhoto, takeToCallback } from './helpers';

const skip = browserSkipReason();
const SHOTS = join(ARTIFACTS, 'citizen');
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

let s: Scenario;
let c: ReturnType<typeof citizenApi>;
let browser: Browser;
let context: BrowserContext;
let base: string;
const errors: string[] = [];

describe.skipIf(!!skip)('citizen pages on a phone (390×844)', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    s = await startScenario(new Date('2025-10-09T02:00:00Z'));
    c = citizenApi(s);
    await s.t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(s.t.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: findChromium()!, headless: true, args: FLAGS });
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await s?.t.close();
  });

  it('a QR report with a photo becomes a ticket routed to the building\'s grid', async () => {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/c/q/${await c.token()}`);
    await expect.poll(() => page.locator('#building-place').textContent()).toContain('滨江社区第一网格');
    expect(await page.locator('#building-place').textContent()).toContain(BUILDING);
    await page.selectOption('#type', 'complaint');
    await page.fill('#description', '3单元一楼楼道堆满废旧家具，堵住消防通道，物业不处理');
    await page.setInputFiles('#photos', { name: 'scene.png', mimeType: 'image/png', buffer: await pngPhoto() });
    await expect.poll(() => page.locator('#previews img').count()).toBe(1);
    await page.fill('#phone', '13722223333');
    // Nothing wider than the phone.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, '1-report-form.png'), fullPage: true });
    await page.tap('#submit');
    await page.locator('#done').waitFor({ state: 'visible' });
    const number = (await page.locator('#ticket-number').textContent())!.trim();
    expect(number).toMatch(/^\d{10,}$/);
    await page.screenshot({ path: join(SHOTS, '2-report-done.png'), fullPage: true });

    const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), number);
    const grid = await s.t.ctx.directory.findTerritoryByCode('demo', GRID);
    expect(t).toMatchObject({ channel: 'qr', type: 'complaint', territoryId: grid!.id, callerPhone: '13722223333' });
    expect((await s.ok('grid1', 'GET', `/tickets/${t.id}`)).number).toBe(number);
    expect((await s.ok('dispatcher1', 'GET', `/citizen/tickets/${t.id}/photos`)).items).toHaveLength(1);
    expect(await page.getAttribute('#status-link', 'href')).toBe(`/c/s?n=${number}`);
    await page.close();
  }, 120_000);

  it('the citizen checks the status with an SMS code and rates the result', async () => {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    const number = (await s.t.database.db.selectFrom('tickets').select('number').where('caller_phone', '=', '13722223333').executeTakeFirstOrThrow()).number;
    await takeToCallback(s, number);
    s.clock.set(new Date('2025-10-09T03:00:00Z'));

    await page.goto(`${base}/c/s?n=${number}`);
    expect(await page.inputValue('#ticket-number')).toBe(number);
    await page.fill('#phone', '13722223333');
    await page.tap('#send-code');
    await page.locator('#verify-form').waitFor({ state: 'visible' });
    await expect.poll(() => c.lastCode(number)).toMatch(/^\d{6}$/);
    // A wrong code first: the Chinese error, still on the form.
    const code = (await c.lastCode(number))!;
    await page.fill('#code', code === '111111' ? '222222' : '111111');
    await page.tap('#verify');
    await expect.poll(() => page.locator('#error').textContent()).toContain('验证码不正确');
    await page.fill('#code', code);
    await page.tap('#verify');
    await page.locator('#status').waitFor({ state: 'visible' });
    expect(await page.locator('#s-result').textContent()).toBe('已清理楼道堆放杂物，并告知物业加强巡查');
    expect(await page.locator('.stages li.done').count()).toBe(4);
    const text = await page.locator('#status').innerText();
    for (const hidden of ['内部备注', '张某', '刘洋', '13722223333']) expect(text).not.toContain(hidden);
    expect(text).toContain('已办结');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, '3-status.png'), fullPage: true });

    await page.locator('input[value=satisfied]').check();
    await page.fill('#comment', '处理及时，谢谢');
    await page.tap('#rate');
    await expect.poll(() => page.locator('#s-note').textContent()).toBe('感谢您的评价！');
    expect(await page.locator('#s-satisfaction').textContent()).toBe('满意');
    expect(await page.locator('#rate-form').isHidden()).toBe(true);
    await page.screenshot({ path: join(SHOTS, '4-rated.png'), fullPage: true });
    const t = await s.t.ctx.intake.getTicketByNumber(systemActor('demo'), number);
    expect(t).toMatchObject({ status: 'closed', satisfaction: 'satisfied' });
    await page.close();
  }, 120_000);

  it('a forged code shows the Chinese error and no form', async () => {
    const page = await context.newPage();
    const real = await c.token();
    await page.goto(`${base}/c/q/${real.slice(0, -4)}abcd`);
    await expect.poll(() => page.locator('#error').textContent()).toContain('二维码无效');
    expect(await page.locator('#report-form').isHidden()).toBe(true);
    await page.screenshot({ path: join(SHOTS, '5-forged.png'), fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  }, 60_000);
});
