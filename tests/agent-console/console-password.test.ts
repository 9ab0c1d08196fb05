/**
 * 修改密码 in a real browser: the user menu opens the dialog; a short new password is refused in
 * the dialog, a wrong current one by the server (its Chinese message shown); a good change ends
 * the user's other sessions and the new password logs in. An account whose password an admin
 * reset gets the dialog at once, without a way to close it, and the workspace after the change.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { describeConsole, login, openConsole, screenshot, type ConsoleServer } from './browser';

describeConsole('changing one\'s password in the console (browser)', (env) => {
  let s: ConsoleServer;
  let browser: Browser;
  beforeAll(() => ({ s, browser } = env()));
  const me = (cookie: string) => s.t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });

  it('user menu → 修改密码: checked in the dialog and by the server; the other sessions end; the new password logs in', async () => {
    const elsewhere = await s.t.login('agent2');
    expect((await me(elsewhere)).statusCode).toBe(200);
    const { context, page, errors } = await openConsole(browser, s.baseUrl);
    await login(page, 'agent2');
    await page.waitForURL('**/agent', { timeout: 20_000 });
    await page.getByTestId('current-user').click();
    await page.getByTestId('menu-change-password').click();
    const dialog = page.getByTestId('password-dialog');
    await dialog.waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('password-forced').count()).toBe(0);

    await page.getByTestId('password-current').fill('demo12345');
    await page.getByTestId('password-next').fill('too-short');
    await page.getByTestId('password-repeat').fill('too-short');
    await page.getByTestId('password-submit').click();
    await expect.poll(() => dialog.textContent()).toContain('新密码至少需要12个字符');

    await page.getByTestId('password-current').fill('not-my-password');
    await page.getByTestId('password-next').fill('白日依山尽-黄河入海流-欲穷千里目');
    await page.getByTestId('password-repeat').fill('白日依山尽-黄河入海流-欲穷千里目');
    await page.getByTestId('password-submit').click();
    await expect.poll(() => page.getByTestId('api-error').textContent(), { timeout: 10_000 }).toContain('当前密码不正确');
    await screenshot(page, 'password-dialog-wrong-current');

    await page.getByTestId('password-current').fill('demo12345');
    await page.getByTestId('password-submit').click();
    await expect.poll(() => page.locator('.el-message--success').textContent(), { timeout: 10_000 }).toContain('密码已修改');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect((await me(elsewhere)).statusCode).toBe(401);
    // This session goes on.
    expect(await page.getByTestId('current-user').textContent()).toContain('张敏');

    const again = await s.t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent2', password: '白日依山尽-黄河入海流-欲穷千里目' } });
    expect(again.statusCode).toBe(200);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('an account an admin reset must change its password first: the dialog opens by itself and cannot be closed', async () => {
    const admin = await s.t.login('admin');
    const users = (await s.t.app.inject({ method: 'GET', url: '/api/v1/users', headers: { cookie: admin } })).json() as { id: string; username: string }[];
    const id = users.find((u) => u.username === 'dispatcher1')!.id;
    const reset = await s.t.app.inject({ method: 'PUT', url: `/api/v1/users/${id}/password`, headers: { cookie: admin }, payload: { password: '管理员给的临时密码-123' } });
    expect(reset.statusCode, reset.body).toBe(200);

    const { context, page } = await openConsole(browser, s.baseUrl);
    await login(page, 'dispatcher1', '管理员给的临时密码-123');
    await page.getByTestId('password-forced').waitFor({ timeout: 15_000 });
    const dialog = page.getByTestId('password-dialog');
    expect(await dialog.locator('.el-dialog__headerbtn').count()).toBe(0);
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(true);
    await screenshot(page, 'password-dialog-forced');

    await page.getByTestId('password-current').fill('管理员给的临时密码-123');
    await page.getByTestId('password-next').fill('派单员自己的新密码-456');
    await page.getByTestId('password-repeat').fill('派单员自己的新密码-456');
    await page.getByTestId('password-submit').click();
    // The page reloads with full access: the workspace shows, without the dialog.
    await page.getByTestId('workspace-title').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('password-forced').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(async () => (await page.getByTestId('workspace-title').textContent())?.trim(), { timeout: 15_000 }).toBe('派单审核');
    await context.close();
  }, 120_000);
});
