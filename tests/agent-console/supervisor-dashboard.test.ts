/**
 * The supervisor's dashboard on a busy day (browser, Debian's chromium): today's figures come from
 * the server as one small answer per update. Before, each new ticket made the page download every
 * ticket of the day again (16 requests and 3.1 MB at 3,000 tickets) and the count stopped at 5,000.
 * The seat board lists seats only, and shows 通话中 for an agent on a call.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser, Response } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, START, type ConsoleServer } from './browser';
import { insertTickets } from '../helpers/ticket-rows';

const BUSY_DAY = 3000;

/** 3,000 tickets registered today (China) before 10:00, when the server's day starts. */
async function busyMorning(s: ConsoleServer) {
  const midnight = START.getTime() - 10 * 3_600_000;
  await insertTickets(s.t.ctx.database.db, 'demo', Array.from({ length: BUSY_DAY }, (_, i) => ({
    at: new Date(midnight + Math.floor((i / BUSY_DAY) * 10 * 3_600_000)), channel: i % 3 === 0 ? 'sms' : 'phone',
  })));
}

describeConsole('supervisor dashboard at scale (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));

  it('updates today\'s figures with one small answer when a ticket comes in', async () => {
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'supervisor1');
    await page.waitForURL('**/supervise');
    await expect.poll(() => page.getByTestId('kpi-total').innerText(), { timeout: 15_000 }).toBe(String(BUSY_DAY));
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await page.waitForLoadState('networkidle');

    const pending: Promise<{ url: string; bytes: number }>[] = [];
    const onResponse = (r: Response) => {
      if (!r.url().includes('/api/v1/') || r.url().includes('/api/v1/live')) return;
      pending.push(r.body().then((b) => ({ url: r.url(), bytes: b.length }), () => ({ url: r.url(), bytes: 0 })));
    };
    page.on('response', onResponse);
    const made = await s.api('agent1', 'POST', '/api/v1/tickets', { channel: 'phone', type: 'complaint', callerPhone: '13911112222', situation: '新来电' });
    expect(made.status).toBe(201);
    await expect.poll(() => page.getByTestId('kpi-total').innerText(), { timeout: 20_000 }).toBe(String(BUSY_DAY + 1));
    await page.waitForLoadState('networkidle');
    page.off('response', onResponse);
    const seen = await Promise.all(pending);

    const ticketReads = seen.filter((x) => /\/api\/v1\/tickets(\?|\/figures|$)/.test(x.url));
    const bytes = ticketReads.reduce((n, x) => n + x.bytes, 0);
    console.log(`[dashboard] one new ticket at ${BUSY_DAY} today: ${ticketReads.length} request(s), ${bytes} bytes of ticket data (all API: ${seen.length} requests, ${seen.reduce((n, x) => n + x.bytes, 0)} bytes)`);
    expect(ticketReads.length).toBeGreaterThanOrEqual(1);
    expect(ticketReads.every((x) => x.url.includes('/tickets/figures'))).toBe(true);
    expect(ticketReads.length).toBeLessThanOrEqual(2);
    expect(bytes).toBeLessThan(4_000);
    await screenshot(page, 'supervisor-busy-day');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('lists the seats only, and shows 通话中 for an agent on a call', async () => {
    const agent = await openConsole(browser, s.baseUrl);
    await login(agent.page, 'agent1');
    await agent.page.waitForURL('**/agent');
    await expect.poll(() => agent.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');

    const sup = await openConsole(browser, s.baseUrl);
    await login(sup.page, 'supervisor1');
    await sup.page.waitForURL('**/supervise');
    const board = sup.page.getByTestId('presence-table');
    await expect.poll(() => board.innerText(), { timeout: 15_000 }).toContain('话务员 李娜');
    expect(await board.innerText()).toContain('派单员 王磊'); // a seat, offline
    expect(await board.innerText()).not.toContain('督查员 赵琳'); // the supervisor watching is no seat

    const callId = `gw-dash-${Date.now()}`;
    expect((await s.api('admin', 'POST', '/api/v1/calls/events', { type: 'offered', callId, callerPhone: '13822224444', dialledNumber: '12345', agentUsername: 'agent1' })).status).toBe(200);
    await expect.poll(() => agent.page.getByTestId('caller-number').innerText(), { timeout: 15_000 }).toContain('13822224444');
    expect((await s.api('admin', 'POST', '/api/v1/calls/events', { type: 'answered', callId })).status).toBe(200);
    const row = board.locator('tr', { hasText: '话务员 李娜' });
    await expect.poll(() => row.innerText(), { timeout: 15_000 }).toContain('通话中');
    await screenshot(sup.page, 'supervisor-seat-on-call');
    expect((await s.api('admin', 'POST', '/api/v1/calls/events', { type: 'ended', callId })).status).toBe(200);
    await expect.poll(() => row.innerText(), { timeout: 15_000 }).toContain('话后处理');
    expect(agent.errors).toEqual([]);
    expect(sup.errors).toEqual([]);
    await agent.context.close();
    await sup.context.close();
  }, 120_000);
}, busyMorning);
