/**
 * Caller context on the agent's screen (browser, Debian's chromium): a known caller's name is filled
 * in from history; the history reads whole (summary on two lines, then unit and result), and counts
 * the ticket just dispatched for the caller; the line reads 12345 once.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';

describeConsole('caller context (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  it('greets a known caller by name, shows readable history with unit and result, and counts the new ticket', async () => {
    const phone = '13866667777';
    const situation = '白龙南路88号小区东门的路灯连续三个晚上不亮，老人晚上出门很不方便';
    const earlier = await s.api('agent1', 'POST', '/api/v1/tickets', {
      channel: 'phone', type: 'complaint', callerPhone: phone, citizenName: '周大爷', occurredAt: '2025-10-08T20:00:00+08:00', addressText: '白龙南路88号',
      parties: '来电人', situation, demand: '请修复路灯',
    });
    expect(earlier.status).toBe(201);
    const unit = (await s.api('agent1', 'GET', '/api/v1/units?q=滨江街道')).body.items[0];
    const sent = await s.api('dispatcher1', 'POST', `/api/v1/tickets/${earlier.body.id}/dispatch`, { version: earlier.body.version, handlingUnitId: unit.id, overrideReason: '街道负责辖区路灯' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);

    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent1');
    await page.waitForURL('**/agent');
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    const callId = `gw-ctx-${Date.now()}`;
    expect((await s.api('admin', 'POST', '/api/v1/calls/events', { type: 'offered', callId, callerPhone: phone, dialledNumber: '12345', agentUsername: 'agent1' })).status).toBe(200);
    await expect.poll(() => page.getByTestId('caller-number').innerText(), { timeout: 15_000 }).toContain(phone);

    expect((await page.getByTestId('call-line').innerText()).match(/12345/g)).toHaveLength(1);
    await expect.poll(() => page.getByTestId('field-name').inputValue(), { timeout: 10_000 }).toBe('周大爷');
    const history = page.getByTestId('caller-history');
    await expect.poll(() => history.innerText(), { timeout: 10_000 }).toContain(unit.name);
    // The summary is readable: far more than 8 characters of it are on screen.
    const summary = history.getByTestId('history-summary').first();
    const box = await summary.boundingBox();
    expect(box!.height).toBeGreaterThan(20); // wraps onto a second line instead of being cut
    expect((await summary.innerText()).length).toBeGreaterThan(20);
    await expect.poll(() => page.locator('.history-head').innerText()).toContain('共 1 件');
    await screenshot(page, 'caller-context');

    // A new ticket for the same caller, dispatched: the history counts it.
    const kb = page.keyboard;
    await kb.press('Alt+A');
    await kb.type('白龙南路88号');
    await expect.poll(() => page.getByTestId('address-resolution').getAttribute('data-status'), { timeout: 10_000 }).toBe('resolved');
    await kb.press('Tab');
    await kb.type('来电人');
    await kb.press('Tab');
    await kb.type('白龙南路88号楼下水管爆了，水一直往外冒');
    await kb.press('Tab');
    await kb.type('请派人抢修');
    await kb.press('Alt+P');
    await expect.poll(() => page.getByTestId('plan-lead').innerText(), { timeout: 10_000 }).toContain('自来水');
    await kb.press('Control+Enter');
    await page.locator('.dispatch-success').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('.history-head').innerText(), { timeout: 10_000 }).toContain('共 2 件');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
