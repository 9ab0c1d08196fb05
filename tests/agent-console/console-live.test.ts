/**
 * The console live, in a real browser: a unit sees a ticket dispatched to it appear without reloading
 * and acknowledges it; the dispatcher sees it leave the to-acknowledge queue; a dropped connection in
 * the middle loses no event. These need the live hub (GET /api/v1/live) and the work-order API
 * (GET /api/v1/work-orders): checked at start, skipped with the reason when either is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { browserSkipReason, launchBrowser, login, openConsole, screenshot, startConsoleServer, type ConsoleServer } from './browser';

const skip = browserSkipReason();
if (skip) console.log(`[agent-console live] ${skip}`);

/** A water-main burst the plan sends to the water company (演示市自来水有限公司). */
async function dispatchWaterTicket(s: ConsoleServer, situation: string) {
  const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
    channel: 'phone', type: 'help', urgency: 'emergency', callerPhone: '13911112222', occurredAt: '2025-10-09T09:50:00+08:00',
    addressText: '白龙南路88号', parties: '来电人', situation, demand: '请尽快抢修',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const dispatched = await s.api('agent1', 'POST', `/api/v1/tickets/${created.body.id}/dispatch`, { version: created.body.version });
  expect(dispatched.status, JSON.stringify(dispatched.body)).toBe(200);
  const ticket = dispatched.body.ticket as { id: string; number: string; handlingUnitId: string };
  const unit = await s.api('agent1', 'GET', `/api/v1/units/${ticket.handlingUnitId}`);
  expect(unit.body.code, 'the plan sends it to the water company').toBe('util-water');
  return ticket;
}

/** The row of a ticket's work order; `unit` picks the lead's among a ticket's several (主办/协办). */
const rowOf = (page: Page, number: string, unit?: string) =>
  page.getByTestId('work-order-table').locator('tr', { has: page.locator(`[data-ticket-number="${number}"]`), ...(unit ? { hasText: unit } : {}) });

describe.skipIf(!!skip)('agent console live (browser)', () => {
  let s: ConsoleServer;
  let browser: Browser;
  let missing: string | null = null;

  beforeAll(async () => {
    s = await startConsoleServer();
    const routes = ['/api/v1/live', '/api/v1/work-orders'].filter((url) => !s.t.app.hasRoute({ method: 'GET', url }));
    if (routes.length) {
      missing = `${routes.join(' and ')} not on this server yet: live console tests skipped`;
      console.log(`[agent-console live] ${missing}`);
      return;
    }
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  }, 120_000);

  it('shows a unit the ticket dispatched to it as it happens; it acknowledges; the dispatcher sees it leave the queue', async (ctx) => {
    if (missing) return ctx.skip(missing);
    const unit = await openConsole(browser, s.baseUrl);
    const center = await openConsole(browser, s.baseUrl);
    await login(unit.page, 'water1');
    await login(center.page, 'dispatcher1');
    await unit.page.waitForURL('**/unit');
    await center.page.waitForURL('**/dispatch');
    for (const p of [unit.page, center.page]) {
      await expect.poll(() => p.getByTestId('live-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');
    }

    const ticket = await dispatchWaterTicket(s, '白龙南路88号楼下水管爆了，路面全是水');
    // No reload: the row arrives over the live connection.
    await rowOf(unit.page, ticket.number).waitFor({ timeout: 10_000 });
    await rowOf(center.page, ticket.number, '自来水').waitFor({ timeout: 10_000 });
    await screenshot(unit.page, 'live-unit-new-work-order');

    await rowOf(unit.page, ticket.number).getByTestId('wo-acknowledge').click();
    await expect.poll(async () => (await s.api('dispatcher1', 'GET', `/api/v1/work-orders?queue=all&ticketId=${ticket.id}`)).body.items[0]?.status, { timeout: 10_000 }).toBe('acknowledged');
    await expect.poll(() => rowOf(unit.page, ticket.number).getByTestId('wo-acknowledge').count(), { timeout: 10_000 }).toBe(0);
    // The dispatcher's to-acknowledge queue drops it.
    await expect.poll(() => rowOf(center.page, ticket.number, '自来水').count(), { timeout: 10_000 }).toBe(0);
    expect([...unit.errors, ...center.errors]).toEqual([]);
    await unit.context.close();
    await center.context.close();
  }, 120_000);

  it('loses no event across a reconnect', async (ctx) => {
    if (missing) return ctx.skip(missing);
    const unit = await openConsole(browser, s.baseUrl);
    const urls: string[] = [];
    let first: WebSocketRoute | null = null;
    let releaseSecond!: () => void;
    const secondMayConnect = new Promise<void>((r) => (releaseSecond = r));
    await unit.page.routeWebSocket(/\/api\/v1\/live/, async (ws) => {
      urls.push(ws.url());
      if (!first) {
        first = ws;
        ws.connectToServer();
        return;
      }
      // Hold the reconnect until an event has happened while the console was away.
      await secondMayConnect;
      ws.connectToServer();
    });
    await login(unit.page, 'water1');
    await unit.page.waitForURL('**/unit');
    await expect.poll(() => unit.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');
    const before = await dispatchWaterTicket(s, '白龙南路88号楼道里自来水管爆了，水漫进电梯');
    await rowOf(unit.page, before.number).waitFor({ timeout: 10_000 });

    // The link drops; while the console is away another ticket is dispatched to the unit.
    await first!.close({ code: 1006 });
    await expect.poll(() => unit.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 10_000 }).not.toBe('connected');
    const during = await dispatchWaterTicket(s, '白龙南路88号小区门口水管爆了，路面积水');
    releaseSecond();

    await expect.poll(() => unit.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await rowOf(unit.page, during.number).waitFor({ timeout: 10_000 });
    expect(urls.length).toBeGreaterThanOrEqual(2);
    expect(new URL(urls[1]).searchParams.get('after'), 'the reconnect resumes after the last event seen').toMatch(/^\d+$/);
    expect(unit.errors).toEqual([]);
    await unit.context.close();
  }, 120_000);
});
