/**
 * 网格呼叫 on phones (390×844, touch), in chromium: grid1 raises a call; it appears live in the grid
 * leader's inbox; the community secretary sends it back with a reason; grid1 reads the reason and
 * resubmits; the grid leader, the community secretary and the town leader approve in turn (the town
 * handles it itself), the town reports its result and grid1 rates it satisfied: closed. The page
 * never scrolls sideways.
 */
import { expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, START, unresolvedElements } from './browser';

/** A phone: 390×844, touch, Chinese, China time, the browser's clock at the server's. */
async function openPhone(browser: Browser, baseUrl: string, user: string): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await openConsole(browser, baseUrl, { phone: true });
  await login(page, user);
  await page.waitForURL('**/grid');
  await page.getByTestId('grid-calls').waitFor();
  return { page, errors };
}

const noSideScroll = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');

/** Opens a call from the inbox and does one thing in its full-screen view. */
async function fromInbox(page: Page, number: string) {
  await page.getByTestId('grid-call-tab-inbox').click();
  await page.getByTestId(`grid-call-${number}`).click();
  await page.getByTestId('grid-call-detail').waitFor();
}
async function expectStep(page: Page, stepZh: string) {
  await expect.poll(() => page.getByTestId('grid-call-step').textContent(), { timeout: 10_000 }).toContain(stepZh);
}
async function back(page: Page) {
  await page.getByTestId('grid-call-back').click();
  await page.getByTestId('grid-call-detail').waitFor({ state: 'hidden' });
}

describeConsole('grid call on a phone (browser)', (env) => {
  it('goes through each approval level and one send-back, and the caller closes it with a rating', async () => {
    const { s, browser } = env();
    const member = await openPhone(browser, s.baseUrl, 'grid1');
    const leader = await openPhone(browser, s.baseUrl, 'gridlead1');
    const secretary = await openPhone(browser, s.baseUrl, 'secretary1');
    const town = await openPhone(browser, s.baseUrl, 'townlead1');
    expect(await noSideScroll(member.page)).toBe(true);
    expect(await unresolvedElements(member.page), 'every Element Plus tag is registered').toEqual([]);

    // grid1 raises the call from the phone form.
    await member.page.getByTestId('grid-call-tab-new').click();
    await member.page.getByTestId('grid-call-title').fill('滨江路1号楼道堆放杂物');
    await member.page.getByTestId('grid-call-situation').fill('3单元楼道堆放纸箱和旧家具，存在消防隐患');
    await screenshot(member.page, 'grid-call-phone-form');
    await member.page.getByTestId('grid-call-submit').click();
    const card = member.page.locator('[data-testid^="grid-call-WG"]').first();
    await card.waitFor();
    const number = (await card.getAttribute('data-testid'))!.replace('grid-call-', '');
    const stored = await s.api('grid1', 'GET', '/api/v1/grid-calls?mine=true');
    expect(stored.body.items.map((c: any) => c.number)).toEqual([number]);

    // Live: the grid leader's open inbox shows it without a reload.
    await leader.page.getByTestId(`grid-call-${number}`).waitFor({ timeout: 15_000 });
    await fromInbox(leader.page, number);
    await leader.page.getByTestId('grid-call-approve').click();
    await expectStep(leader.page, '社区书记审批');
    await back(leader.page);

    // The community secretary sends it back: a reason is required.
    await secretary.page.getByTestId(`grid-call-${number}`).waitFor({ timeout: 15_000 });
    await fromInbox(secretary.page, number);
    await secretary.page.getByTestId('grid-call-send-back').click();
    await secretary.page.getByText('退回须填写原因').waitFor();
    await secretary.page.getByTestId('grid-call-text').fill('请补充具体楼层');
    await secretary.page.getByTestId('grid-call-send-back').click();
    await expect.poll(() => secretary.page.getByTestId('grid-call-status').textContent(), { timeout: 10_000 }).toContain('已退回');
    await back(secretary.page);

    // grid1 reads the reason and resubmits.
    await member.page.getByTestId('grid-call-tab-mine').click();
    await member.page.getByTestId(`grid-call-${number}`).click();
    await member.page.getByText('退回原因：请补充具体楼层').waitFor();
    expect(await noSideScroll(member.page)).toBe(true);
    await screenshot(member.page, 'grid-call-phone-sent-back');
    await member.page.getByTestId('grid-call-resubmit').click();
    await expectStep(member.page, '网格长审批');
    await back(member.page);

    // Each level again, in order: grid leader, community secretary, town leader (镇街自办).
    await fromInbox(leader.page, number);
    await leader.page.getByTestId('grid-call-approve').click();
    await expectStep(leader.page, '社区书记审批');
    await back(leader.page);
    await fromInbox(secretary.page, number);
    await secretary.page.getByTestId('grid-call-approve').click();
    await expectStep(secretary.page, '镇街审批');
    await back(secretary.page);
    await town.page.getByTestId(`grid-call-${number}`).waitFor({ timeout: 15_000 });
    await fromInbox(town.page, number);
    await town.page.getByTestId('grid-call-town').click();
    await expectStep(town.page, '镇街办理');
    await town.page.getByTestId('grid-call-text').fill('已协调物业清理楼道杂物');
    await town.page.getByTestId('grid-call-town-reply').click();
    await expectStep(town.page, '网格员评价');
    await screenshot(town.page, 'grid-call-phone-town');

    // grid1 checks and rates: satisfied closes it.
    await member.page.getByTestId(`grid-call-${number}`).waitFor({ timeout: 15_000 });
    await fromInbox(member.page, number);
    await member.page.getByText('办理结果：已协调物业清理楼道杂物').waitFor();
    await member.page.getByTestId('grid-call-satisfied').click();
    await expect.poll(() => member.page.getByTestId('grid-call-status').textContent(), { timeout: 10_000 }).toContain('已办结');
    const trail = await member.page.getByTestId('grid-call-trail').locator('li').count();
    expect(trail).toBe(9);
    await screenshot(member.page, 'grid-call-phone-closed');

    const final = await s.api('grid1', 'GET', `/api/v1/grid-calls/${stored.body.items[0].id}`);
    expect(final.body.call).toMatchObject({ status: 'closed', satisfaction: 'satisfied' });
    expect(final.body.trail.map((x: any) => x.action)).toEqual([
      'gridcall.raised', 'gridcall.approved', 'gridcall.sent_back', 'gridcall.resubmitted', 'gridcall.approved', 'gridcall.approved',
      'gridcall.town_accepted', 'gridcall.town_replied', 'gridcall.rated',
    ]);
    for (const p of [member, leader, secretary, town]) expect(p.errors).toEqual([]);
  }, 180_000);
});
