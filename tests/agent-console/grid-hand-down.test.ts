/**
 * 四级联动 (市—镇街—社区—网格) in the console, in chromium over the real server: a ticket dispatched to
 * the town's unit (滨江街道办事处) offers no 下派到网格 until street1 signs for it; the dialog refuses to
 * hand down without a grid (nothing written); street1 then picks 滨江社区 › 滨江社区第一网格 with a note.
 * On a phone the grid leader (gridlead1) sees the task under 下派任务 and reports the result (报告结果);
 * street1's open work-order drawer shows the grid's report without a reload, and the queue row says so.
 * A refusal (the work order returned to the center meanwhile) is shown in the dialog in Chinese, with
 * its code, and writes nothing.
 */
import { expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, START, unresolvedElements, type ConsoleServer } from './browser';

const NOTE = '请网格员上门核实噪声来源';
const RESULT = '已上门核实：临街商铺音箱外放，已劝导撤下';

/** A ticket dispatched to 滨江街道办事处 (st-990102001), by the dispatcher's choice. */
async function dispatchToTown(s: ConsoleServer) {
  const created = await s.api('agent1', 'POST', '/api/v1/tickets', {
    channel: 'phone', type: 'complaint', callerPhone: '13911113333', citizenName: '钱女士', occurredAt: '2025-10-09T09:30:00+08:00',
    addressText: '滨江路1号', parties: '临街商铺', situation: '滨江路1号临街商铺音箱外放，噪声扰民', demand: '请制止噪声',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const units = await s.api('admin', 'GET', '/api/v1/units?q=st-990102001&pageSize=50');
  const town = units.body.items.find((u: { code: string }) => u.code === 'st-990102001');
  const dispatched = await s.api('agent1', 'POST', `/api/v1/tickets/${created.body.id}/dispatch`, { version: created.body.version, handlingUnitId: town.id, overrideReason: '属地街道处理' });
  expect(dispatched.status, JSON.stringify(dispatched.body)).toBe(200);
  return dispatched.body.ticket as { id: string; number: string };
}

const taskCount = async (s: ConsoleServer) => Number((await s.t.ctx.database.db.selectFrom('grid_tasks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

/** A phone (390×844, touch) for the grid leader. */
async function openPhone(browser: Browser, baseUrl: string, user: string): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await openConsole(browser, baseUrl, { phone: true });
  await login(page, user);
  await page.waitForURL('**/grid');
  return { page, errors };
}

const rowOf = (page: Page, number: string) => page.getByTestId('work-order-table').locator('tr', { has: page.locator(`[data-ticket-number="${number}"]`) });

describeConsole('hand-down to a grid (browser)', (env) => {
  it('the town signs, hands the work order down to a grid with a note; the grid leader reports; the town sees the report live', async () => {
    const { s, browser } = env();
    const ticket = await dispatchToTown(s);
    const unit = await openConsole(browser, s.baseUrl);
    await login(unit.page, 'street1');
    await unit.page.waitForURL('**/unit');
    const row = rowOf(unit.page, ticket.number);
    await row.waitFor();

    // Not before it is signed for (签收).
    expect(await row.getByTestId('wo-hand-down').count()).toBe(0);
    await row.getByTestId('wo-acknowledge').click();
    await row.getByTestId('wo-hand-down').waitFor({ timeout: 10_000 });
    expect(await unresolvedElements(unit.page), 'every Element Plus tag is registered').toEqual([]);

    // The dialog: without a grid, nothing is sent.
    await row.getByTestId('wo-hand-down').click();
    const dialog = unit.page.getByTestId('hand-down-dialog');
    await dialog.waitFor();
    const before = await taskCount(s);
    await unit.page.getByTestId('hand-down-confirm').click();
    await dialog.getByText('必填').waitFor();
    expect(await taskCount(s)).toBe(before);

    // 滨江街道 › 滨江社区 › 滨江社区第一网格, level by level from the directory.
    await dialog.getByTestId('hand-down-grid').locator('.el-cascader').click();
    const popper = unit.page.locator('.hand-down-popper');
    await popper.getByText('滨江社区', { exact: true }).click();
    await popper.getByText('滨江社区第一网格', { exact: true }).click();
    await unit.page.getByTestId('hand-down-note').fill(NOTE);
    await screenshot(unit.page, 'grid-hand-down-dialog');
    await unit.page.getByTestId('hand-down-confirm').click();
    await dialog.waitFor({ state: 'hidden' });
    await row.getByTestId('wo-with-grid').waitFor({ timeout: 10_000 });
    expect(await row.getByTestId('wo-hand-down').count(), 'no second hand-down while the grid works').toBe(0);

    const tasks = await s.api('street1', 'GET', '/api/v1/grid-tasks');
    expect(tasks.body.items).toHaveLength(1);
    const task = tasks.body.items[0];
    const grid = await s.t.ctx.directory.findTerritoryByCode('demo', '990102001001001');
    expect(task).toMatchObject({ status: 'assigned', territoryId: grid!.id, note: NOTE, ticketId: ticket.id });
    expect(await taskCount(s)).toBe(before + 1);

    // The drawer shows the task, waiting for the grid.
    await row.locator(`[data-ticket-number="${ticket.number}"]`).click();
    const drawer = unit.page.getByTestId('work-order-drawer');
    const card = drawer.getByTestId(`grid-task-${task.id}`);
    await card.waitFor();
    expect(await card.getByTestId('grid-task-status').textContent()).toContain('已下派网格');
    expect(await card.textContent()).toContain(NOTE);
    expect(await drawer.getByTestId('drawer-hand-down').count()).toBe(0);

    // The grid leader, on a phone: 下派任务 → 报告结果.
    const leader = await openPhone(browser, s.baseUrl, 'gridlead1');
    await leader.page.locator('#tab-tasks').click();
    const mine = leader.page.getByTestId(`grid-task-${task.id}`);
    await mine.waitFor();
    expect(await mine.textContent()).toContain(NOTE);
    await mine.getByTestId('grid-task-report').click();
    await mine.getByTestId('grid-task-submit').click();
    await leader.page.getByText('请填写处理结果').waitFor();
    await mine.getByTestId('grid-task-result-input').fill(RESULT);
    await mine.getByTestId('grid-task-submit').click();
    await expect.poll(() => mine.getByTestId('grid-task-status').textContent(), { timeout: 10_000 }).toContain('网格已反馈');
    expect(await leader.page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await screenshot(leader.page, 'grid-hand-down-grid-reported');

    // The town's open drawer shows the report as it happens (gridtask.changed), and the row says so.
    await expect.poll(() => card.getByTestId('grid-task-result').count(), { timeout: 15_000 }).toBe(1);
    expect(await card.getByTestId('grid-task-result').textContent()).toContain(RESULT);
    expect(await card.getByTestId('grid-task-status').textContent()).toContain('网格已反馈');
    await screenshot(unit.page, 'grid-hand-down-unit-sees-report');
    await unit.page.keyboard.press('Escape');
    await row.getByTestId('wo-grid-reported').waitFor({ timeout: 10_000 });

    const stored = await s.api('street1', 'GET', '/api/v1/grid-tasks?status=reported');
    expect(stored.body.items.map((x: { id: string; result: string }) => [x.id, x.result])).toEqual([[task.id, RESULT]]);
    expect(unit.errors).toEqual([]);
    expect(leader.errors).toEqual([]);
  }, 180_000);

  it('shows the API\'s refusal in Chinese in the dialog, and hands nothing down', async () => {
    const { s, browser } = env();
    const ticket = await dispatchToTown(s);
    const [wo] = (await s.api('street1', 'GET', `/api/v1/work-orders?queue=all&ticketId=${ticket.id}`)).body.items;
    const signed = await s.api('street1', 'POST', `/api/v1/work-orders/${wo.id}/acknowledge`, { version: wo.version });
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    const unit = await openConsole(browser, s.baseUrl);
    await login(unit.page, 'street1');
    await unit.page.waitForURL('**/unit');
    const row = rowOf(unit.page, ticket.number);
    await row.getByTestId('wo-hand-down').click();
    const dialog = unit.page.getByTestId('hand-down-dialog');
    await dialog.getByTestId('hand-down-grid').locator('.el-cascader').click();
    const popper = unit.page.locator('.hand-down-popper');
    await popper.getByText('临江社区', { exact: true }).click();
    await popper.getByText('临江社区第一网格', { exact: true }).click();

    // Meanwhile the work order goes back to the center (退回): it is no longer the unit's to hand down.
    const returned = await s.api('street1', 'POST', `/api/v1/work-orders/${wo.id}/return`, { version: signed.body.version, reason: '属市级部门职责，退回中心' });
    expect(returned.status, JSON.stringify(returned.body)).toBe(200);
    const before = await taskCount(s);
    await unit.page.getByTestId('hand-down-confirm').click();
    await expect.poll(() => dialog.getByTestId('api-error').textContent(), { timeout: 10_000 }).toContain('请先签收该工单再下派网格（GRID_TASK_NOT_TAKEN）');
    await screenshot(unit.page, 'grid-hand-down-refused');
    expect(await taskCount(s)).toBe(before);
    expect(unit.errors).toEqual([]);
  }, 120_000);
});
