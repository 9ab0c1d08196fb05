/**
 * The ticket's own page and the header's bell and search, in a real browser at 1366×768:
 *  - opened from its address by each role, the page shows what that role may see: the agent and the
 *    supervisor the full phone and the callbacks, the handling unit the phone masked and no callbacks,
 *    another unit a "not found" page; the audit trail names the person who registered it;
 *  - the header's search opens the page from a ticket number, and from a phone number's results;
 *  - a work order dispatched to a unit lights its bell (+1), and the notice leads to the ticket page;
 *  - a co-handler (协办) unit opens the page of a ticket it co-handles: its own work order (and its
 *    签收), not the lead's, the phone masked (before, intake's unit scope knew only the handling unit: 404).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { systemActor } from '../../core';
import { browserSkipReason, launchBrowser, login, openConsole, screenshot, startConsoleServer, unresolvedElements, type ConsoleServer } from './browser';

const skip = browserSkipReason();
if (skip) console.log(`[agent-console ticket page] ${skip}`);

const PHONE = '13911112222';
const MASKED = '139****2222';

/** A water-main burst the plan sends to the water company (演示市自来水有限公司), registered by agent1. */
async function dispatchWaterTicket(s: ConsoleServer, situation: string) {
  const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
    channel: 'phone', type: 'help', urgency: 'emergency', callerPhone: PHONE, citizenName: '赵先生', occurredAt: '2025-10-09T09:50:00+08:00',
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

/** A ticket dispatched to the water company with 城管局 co-handling (主办 + 协办), as a dispatcher would by a plan with co-units. */
async function dispatchWithCoHandler(s: ConsoleServer, situation: string) {
  const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
    channel: 'phone', type: 'help', callerPhone: PHONE, citizenName: '赵先生', occurredAt: '2025-10-09T09:50:00+08:00',
    addressText: '白龙南路88号', parties: '来电人', situation, demand: '请尽快处理',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const unit = async (code: string) => (await s.t.ctx.directory.findUnitByCode('demo', code))!.id;
  const water = await unit('util-water');
  const cgj = await unit('dept-cgj');
  const dispatcher = { ...systemActor('demo'), kind: 'user' as const, id: 'co-handler-test', role: 'dispatcher' as const, name: 'test' };
  await s.t.ctx.intake.transition({ actor: dispatcher }, created.body.id, created.body.version, {
    action: 'dispatch', handlingUnitId: water, routing: { rule: 'function', responsibilityVersionId: null, plannedUnitId: water, coUnitIds: [cgj] },
  });
  const orders = (await s.api('dispatcher1', 'GET', `/api/v1/work-orders?queue=all&ticketId=${created.body.id}`)).body.items as { id: string; role: string }[];
  return { ticket: created.body as { id: string; number: string }, lead: orders.find((w) => w.role === 'lead')!, co: orders.find((w) => w.role === 'co')! };
}

async function openAs(browser: Browser, s: ConsoleServer, user: string) {
  const c = await openConsole(browser, s.baseUrl);
  await login(c.page, user);
  await c.page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return c;
}

const text = (page: Page, testId: string) => page.getByTestId(testId).first().innerText();

describe.skipIf(!!skip)('the ticket page, the header search and the bell (browser)', () => {
  let s: ConsoleServer;
  let browser: Browser;
  let ticket: { id: string; number: string };

  beforeAll(async () => {
    s = await startConsoleServer();
    browser = await launchBrowser();
    ticket = await dispatchWaterTicket(s, '白龙南路88号路口水管爆了，路面全是水');
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  }, 120_000);

  it('shows each role what it may see, from the page address', async () => {
    const agentName = (await s.api('agent1', 'GET', '/api/v1/auth/me')).body.name as string;
    expect(agentName).toBeTruthy();

    // The agent: the full phone, the callbacks, the audit naming the person who registered the ticket.
    const agent = await openAs(browser, s, 'agent1');
    await agent.page.goto(`/tickets/${ticket.number}`);
    await agent.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
    await screenshot(agent.page, 'ticket-page-agent');
    expect(await text(agent.page, 'ticket-page-number')).toBe(ticket.number);
    expect(await text(agent.page, 'ticket-page-phone')).toBe(PHONE);
    expect(await agent.page.getByTestId('ticket-page-callbacks').count()).toBe(1);
    expect(await agent.page.getByTestId('audit-actor').allInnerTexts()).toContain(agentName);
    expect(await agent.page.getByTestId('ticket-page-workorders').innerText()).toContain('自来水');
    expect(await unresolvedElements(agent.page)).toEqual([]);
    await screenshot(agent.page, 'ticket-page-agent');

    // The unit that handles it: the phone masked, no callbacks, its own action (签收) on the page.
    const unit = await openAs(browser, s, 'water1');
    await unit.page.goto(`/tickets/${ticket.number}`);
    await unit.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
    expect(await text(unit.page, 'ticket-page-phone')).toBe(MASKED);
    expect(await unit.page.getByTestId('ticket-page-callbacks').count()).toBe(0);
    expect(await unit.page.content()).not.toContain(PHONE);
    await unit.page.getByTestId('wo-action-acknowledge').waitFor({ timeout: 5_000 });
    await screenshot(unit.page, 'ticket-page-unit');

    // Another unit (neither lead nor co-handler: the power company): refused, as if the ticket did not exist.
    const other = await openAs(browser, s, 'power1');
    await other.page.goto(`/tickets/${ticket.number}`);
    await other.page.getByTestId('ticket-not-found').waitFor({ timeout: 15_000 });
    expect(await other.page.getByTestId('ticket-page-number').count()).toBe(0);
    expect(await other.page.content()).not.toContain('路口水管爆了');
    await screenshot(other.page, 'ticket-page-other-unit');

    // The dispatcher and the supervisor: the full phone, the callbacks, the center's actions (督办).
    for (const user of ['dispatcher1', 'supervisor1']) {
      const c = await openAs(browser, s, user);
      await c.page.goto(`/tickets/${ticket.number}`);
      await c.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
      expect(await text(c.page, 'ticket-page-phone')).toBe(PHONE);
      expect(await c.page.getByTestId('ticket-page-callbacks').count()).toBe(1);
      await c.page.getByTestId('wo-action-supervise').first().waitFor({ timeout: 5_000 });
      if (user === 'dispatcher1') await screenshot(c.page, 'ticket-page-dispatcher');
      expect(c.errors).toEqual([]);
      await c.context.close();
    }

    // The unit acts from the page: 签收 goes through and the page follows.
    await unit.page.getByTestId('wo-action-acknowledge').click();
    await expect.poll(async () => (await s.api('dispatcher1', 'GET', `/api/v1/work-orders?queue=all&ticketId=${ticket.id}`)).body.items[0]?.status, { timeout: 10_000 }).toBe('acknowledged');
    await expect.poll(() => unit.page.getByTestId('wo-action-acknowledge').count(), { timeout: 10_000 }).toBe(0);

    expect([...agent.errors, ...unit.errors, ...other.errors]).toEqual([]);
    for (const c of [agent, unit, other]) await c.context.close();
  }, 180_000);

  it('opens the ticket page for a co-handler (协办) unit: its own work order, the phone masked', async () => {
    const { ticket: shared, lead, co } = await dispatchWithCoHandler(s, '白龙南路88号井盖破损，路面塌陷');
    const c = await openAs(browser, s, 'chengguan1');
    await c.page.goto(`/tickets/${shared.number}`);
    await c.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
    expect(await c.page.getByTestId('ticket-not-found').count()).toBe(0);
    expect(await text(c.page, 'ticket-page-number')).toBe(shared.number);
    expect(await text(c.page, 'ticket-page-phone')).toBe(MASKED);
    expect(await c.page.content()).not.toContain(PHONE);
    expect(await text(c.page, 'ticket-page-situation')).toContain('井盖破损');
    // Its own work order, with its own action; the lead's is the water company's and not shown.
    await c.page.getByTestId(`story-wo-${co.id}`).waitFor({ timeout: 10_000 });
    expect(await c.page.getByTestId(`story-wo-${lead.id}`).count()).toBe(0);
    expect(await c.page.getByTestId('ticket-page-callbacks').count()).toBe(0);
    await c.page.getByTestId(`story-wo-${co.id}`).getByTestId('wo-action-acknowledge').waitFor({ timeout: 5_000 });
    await screenshot(c.page, 'ticket-page-co-handler');
    expect(c.errors).toEqual([]);
    await c.context.close();
  }, 120_000);

  it('opens the page from the header search: by number, and by the caller phone (center)', async () => {
    const c = await openAs(browser, s, 'agent1');
    await c.page.getByTestId('header-search').fill(ticket.number);
    await c.page.getByTestId('header-search').press('Enter');
    await c.page.waitForURL(`**/tickets/${ticket.number}`);
    await c.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });

    await c.page.getByTestId('header-search').fill(PHONE);
    await c.page.getByTestId('header-search').press('Enter');
    const hit = c.page.getByTestId('header-search-result').filter({ hasText: ticket.number });
    await hit.waitFor({ timeout: 10_000 });
    await screenshot(c.page, 'header-search-phone');
    await c.page.goto('/agent');
    await c.page.getByTestId('header-search').fill('路口水管爆了');
    await c.page.getByTestId('header-search').press('Enter');
    await c.page.getByTestId('header-search-result').filter({ hasText: ticket.number }).click();
    await c.page.waitForURL(`**/tickets/${ticket.number}`);
    await c.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
    expect(c.errors).toEqual([]);
    await c.context.close();
  }, 120_000);

  it('lights the unit\'s bell when a work order is dispatched to it; the notice opens the ticket page', async () => {
    const c = await openAs(browser, s, 'water1');
    await c.page.waitForURL('**/unit');
    await expect.poll(() => c.page.getByTestId('live-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');
    const bell = c.page.getByTestId('bell');
    // The notices already there (the tickets dispatched before) are loaded first.
    await expect.poll(async () => Number(await bell.getAttribute('data-unread')), { timeout: 10_000 }).toBeGreaterThan(0);
    const before = Number(await bell.getAttribute('data-unread'));

    const fresh = await dispatchWaterTicket(s, '白龙南路88号小区门口水管爆了，路面积水');
    await expect.poll(async () => Number(await bell.getAttribute('data-unread')), { timeout: 10_000 }).toBe(before + 1);
    // The badge shows the count.
    expect(await c.page.getByTestId('bell-count').innerText()).toContain(String(before + 1));

    await bell.click();
    const item = c.page.getByTestId('bell-item').filter({ hasText: fresh.number });
    await item.waitFor({ timeout: 5_000 });
    // Shown once, even if the feed and the list both brought it.
    expect(await c.page.getByTestId('bell-item').filter({ hasText: fresh.number }).count()).toBe(1);
    await screenshot(c.page, 'bell-open-unit');
    await item.locator('button').first().click();
    await c.page.waitForURL(`**/tickets/${fresh.number}`);
    await c.page.getByTestId('ticket-page-number').waitFor({ timeout: 15_000 });
    expect(await text(c.page, 'ticket-page-number')).toBe(fresh.number);
    // Following a notice marks it read.
    await expect.poll(async () => Number(await bell.getAttribute('data-unread')), { timeout: 10_000 }).toBe(before);
    await screenshot(c.page, 'ticket-page-from-bell');
    expect(c.errors).toEqual([]);
    await c.context.close();
  }, 120_000);
});
