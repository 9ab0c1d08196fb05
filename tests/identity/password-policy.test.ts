/**
 * The password policy (ASVS 4.0 V2.1.1–V2.1.9): 12–128 characters of any script, no composition
 * rules, not the username nor containing it, not a common password; applied to user creation, an
 * admin's reset and the user's own change, with a stable code and zh+en messages, nothing written
 * when refused. Preset imports (users.csv): 8+ characters; below the policy the account must
 * change its password at first login, except in a demo city.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordProblem, PASSWORD_MAX_LENGTH } from '../../identity';
import { importCityFromDir } from '../../app/city-preset';
import { systemActor } from '../../core';
import { startTestApp, json, rowCounts, DEMO_PASSWORD, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';

describe('the password policy as a rule', () => {
  it('12 characters is the least, counted in code points: 12 汉字 pass, 11 letters do not', () => {
    expect(passwordProblem('tklmprsvwxz', 'agent1')?.code).toBe('PASSWORD_TOO_SHORT');
    expect(passwordProblem('tklmprsvwxzq', 'agent1')).toBeNull();
    expect(passwordProblem('接诉即办群众满意十二个字', 'agent1')).toBeNull();
    // 11 emoji are 22 UTF-16 units but 11 characters.
    expect(passwordProblem('🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒', 'agent1')?.code).toBe('PASSWORD_TOO_SHORT');
  });

  it('no composition rules: all lowercase letters, all digits of no pattern, spaces are fine; up to 128', () => {
    expect(passwordProblem('correct horse battery staple', 'agent1')).toBeNull();
    expect(passwordProblem('839104726351', 'agent1')).toBeNull();
    expect(passwordProblem('x'.repeat(64), 'agent1')).toBeNull();
    expect(passwordProblem('長'.repeat(PASSWORD_MAX_LENGTH), 'agent1')).toBeNull();
    expect(passwordProblem('長'.repeat(PASSWORD_MAX_LENGTH + 1), 'agent1')?.code).toBe('PASSWORD_TOO_LONG');
  });

  it('the username, in any case, inside the password is refused; a two-letter username only when it is the whole password', () => {
    expect(passwordProblem('dispatcher1-2025', 'dispatcher1')?.code).toBe('PASSWORD_CONTAINS_USERNAME');
    expect(passwordProblem('MY-DISPATCHER1-pw', 'dispatcher1')?.code).toBe('PASSWORD_CONTAINS_USERNAME');
    expect(passwordProblem('million-dollar-li', 'li')).toBeNull();
  });

  it('a common password from the shipped list is refused, whatever its case', () => {
    for (const p of ['password1234', 'QWERTY123456', 'woaini1314520', '1qaz2wsx3edc4rfv', 'hotline12345']) {
      const problem = passwordProblem(p, 'agent1');
      expect(problem?.code, p).toBe('PASSWORD_TOO_COMMON');
      expect(problem?.messageZh).toContain('常见');
    }
  });
});

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
}, 120_000);
afterAll(async () => t?.close());

describe(`the policy at every door on ${testDialect}`, () => {
  const create = async (password: string, username = 'policy-user') =>
    t.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie: await t.login('admin') }, payload: { username, displayName: '策略', role: 'agent', password } });

  it('user creation: each refusal has its code and both languages, and writes nothing', async () => {
    await t.login('admin');
    const before = await rowCounts(t);
    for (const [password, code] of [['short-pass', 'PASSWORD_TOO_SHORT'], ['iloveyou1234', 'PASSWORD_TOO_COMMON'], ['policy-user-2025', 'PASSWORD_CONTAINS_USERNAME']] as const) {
      const res = await create(password);
      expect(res.statusCode, res.body).toBe(400);
      const body = json(res);
      expect(body.code).toBe(code);
      expect(body.message).toMatch(/password/);
      expect(body.message_zh).toMatch(/密码/);
      expect(body.details.field).toBe('password');
    }
    expect(await rowCounts(t)).toEqual(before);
    const ok = await create('晴川历历汉阳树-2025');
    expect(ok.statusCode, ok.body).toBe(201);
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'policy-user', password: '晴川历历汉阳树-2025' } });
    expect(login.statusCode).toBe(200);
    expect(json(login).user.passwordChangeRequired).toBe(false);
  });

  it("an admin's reset: held to the policy, nothing written when refused", async () => {
    const admin = await t.login('admin');
    const users = json(await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: { cookie: admin } })) as { id: string; username: string }[];
    const agent2 = users.find((u) => u.username === 'agent2')!;
    const before = await rowCounts(t);
    const res = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${agent2.id}/password`, headers: { cookie: admin }, payload: { password: 'qwertyuiop123' } });
    expect(res.statusCode).toBe(400);
    expect(json(res).code).toBe('PASSWORD_TOO_COMMON');
    expect(await rowCounts(t)).toEqual(before);
    const hash = await t.ctx.database.db.selectFrom('users').select('password_hash').where('id', '=', agent2.id).executeTakeFirstOrThrow();
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent2', password: DEMO_PASSWORD } })).statusCode).toBe(200);
    expect((await t.ctx.database.db.selectFrom('users').select('password_hash').where('id', '=', agent2.id).executeTakeFirstOrThrow()).password_hash).toBe(hash.password_hash);
  });

  it("the user's own change: the new password is held to the policy", async () => {
    const cookie = await t.login('water1');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie }, payload: { currentPassword: DEMO_PASSWORD, newPassword: 'water1-is-me-2025' } });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ code: 'PASSWORD_CONTAINS_USERNAME', message_zh: '密码不能包含用户名' });
  });
});

describe(`city presets (users.csv) on ${testDialect}`, () => {
  let dir: string;
  beforeAll(async () => {
    // The demo city's folder as another, real city: not a demo, usernames of its own.
    dir = await mkdtemp(join(tmpdir(), 'hotline-preset-'));
    await cp('cities/demo', dir, { recursive: true });
    const city = JSON.parse(await readFile(join(dir, 'city.json'), 'utf8'));
    await writeFile(join(dir, 'city.json'), JSON.stringify({ ...city, id: 'realcity', name: '实市', isDemo: false }));
    const users = (await readFile(join(dir, 'users.csv'), 'utf8')).trim().split('\n');
    const rows = users.slice(1).map((l) => `rc-${l}`);
    // One user of the city already has a password that passes the policy.
    rows[1] = rows[1].replace(/,demo12345$/, ',城市热线-接诉即办-2025');
    await writeFile(join(dir, 'users.csv'), [users[0], ...rows].join('\n') + '\n');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('the demo city keeps its published password: its users log in and work at once', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'agent1', password: DEMO_PASSWORD } });
    expect(json(res).user.passwordChangeRequired).toBe(false);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/tickets', headers: { cookie: `hotline_session=${res.cookies[0].value}` } })).statusCode).toBe(200);
  });

  it('another city: a preset password below the policy imports, and must be changed at first login before anything else', async () => {
    const summary = await importCityFromDir(t.ctx, dir, { actor: systemActor('realcity', 'test') });
    expect(summary.users.created).toBeGreaterThan(2);
    const flags = await t.ctx.database.db.selectFrom('users').select(['username', 'password_change_required']).where('city_id', '=', 'realcity').execute();
    const required = new Map(flags.map((f) => [f.username, Number(f.password_change_required)]));
    expect(required.get('rc-admin')).toBe(1);
    expect(required.get('rc-agent1')).toBe(0);

    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'rc-admin', password: DEMO_PASSWORD } });
    expect(login.statusCode, login.body).toBe(200);
    expect(json(login).user.passwordChangeRequired).toBe(true);
    const cookie = `hotline_session=${login.cookies[0].value}`;
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
    expect(json(me).passwordChangeRequired).toBe(true);
    const before = await rowCounts(t);
    for (const req of [{ method: 'GET' as const, url: '/api/v1/tickets' }, { method: 'GET' as const, url: '/api/v1/users' }, { method: 'POST' as const, url: '/api/v1/tickets', payload: { channel: 'phone', type: 'help', situation: '强制改密前' } }]) {
      const res = await t.app.inject({ ...req, headers: { cookie } });
      expect(res.statusCode, req.url).toBe(403);
      expect(json(res)).toMatchObject({ code: 'PASSWORD_CHANGE_REQUIRED', message_zh: '请先修改密码' });
    }
    expect(await rowCounts(t)).toEqual(before);

    const changed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie }, payload: { currentPassword: DEMO_PASSWORD, newPassword: '海上生明月-天涯共此时也' } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: { cookie } })).statusCode).toBe(200);
    expect(json(await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } })).passwordChangeRequired).toBe(false);
  });

  it('an imported password under 8 characters is still refused, and nothing is imported', async () => {
    const users = await readFile(join(dir, 'users.csv'), 'utf8');
    await writeFile(join(dir, 'users.csv'), users.replace(/^(rc-agent2,.*),demo12345$/m, '$1,short'));
    const err = await importCityFromDir(t.ctx, dir, { actor: systemActor('realcity', 'test') }).catch((e) => e);
    expect(err.code).toBe('PRESET_INVALID');
    expect(JSON.stringify(err.details.problems)).toContain('an imported password needs at least 8 characters');
  });
});
