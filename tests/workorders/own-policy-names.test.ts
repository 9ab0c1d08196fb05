/**
 * The time-limit text names the city's own rules (时限规则): the demo city follows 诸城's preset, and
 * its plan said 「一般事项：…（诸城）」, another city's name, in the agent's plan and deadline text.
 * The product's presets name each policy without the city they were taken from, and the policies a
 * city imported from them before are renamed (migration 0012). SQLite, and MariaDB with
 * TEST_DATABASE=mysql.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeLimitPresetPath } from '../../app/city-preset';
import { newId } from '../../core';
import { listPolicies } from '../../workorders';
import { up, down } from '../../db/migrations/0012-own-policy-names';
import { startTestApp, json, type TestApp } from '../helpers/app';

const PRESET_CITIES = /诸城|海口|寿光/;

describe("the city's own time-limit policy names", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  }, 60_000);
  afterAll(async () => t?.close());

  it.each(['zhucheng', 'haikou', 'shouguang'])('the %s preset names no city in its policies', async (preset) => {
    const policies = JSON.parse(await readFile(timeLimitPresetPath(preset), 'utf8')) as { name: string }[];
    for (const p of policies) expect(p.name).not.toMatch(PRESET_CITIES);
  });

  it("the demo city's plan and deadline text name its own rule, not 诸城", async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/api/v1/routing/plan', headers: { cookie: await t.login('agent1') },
      payload: { text: '楼顶有人私搭乱建', categoryCode: '01030201', address: '白龙南路88号', type: 'report' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const plan = json(res);
    expect(plan.policy).toEqual({ code: 'complex', name: '复杂事项：2小时内签收，5个工作日内办结反馈' });
    const text = plan.explanation.map((e: { zh: string }) => e.zh).join('\n');
    expect(text).toContain('时限规则「复杂事项：2小时内签收，5个工作日内办结反馈」');
    expect(JSON.stringify(plan)).not.toMatch(PRESET_CITIES);
  });

  it('renames the policies a city imported from a preset before, and leaves its own wording alone', async () => {
    const db = t.ctx.database.db;
    const row = (code: string, name: string) => ({
      id: newId(), city_id: 'elsewhere', code, name, priority: 0, ticket_type: null, urgency: null, category_code: null, utility: null, limits: '{}', ladder: null,
    });
    await db.insertInto('time_limit_policies').values([
      row('general', '一般事项：2小时内签收，3个工作日内办结反馈（诸城）'),
      row('emergency', '紧急突发：即时派单，1小时内签收并到场（寿光，到场时限为本系统默认）'),
      row('own', '本市自定：诸城路段占道24小时内处理'),
    ]).execute();
    await up(db);
    const names = async () => (await listPolicies(db, 'elsewhere')).map((p) => p.name).sort();
    expect(await names()).toEqual(['一般事项：2小时内签收，3个工作日内办结反馈', '本市自定：诸城路段占道24小时内处理', '紧急突发：即时派单，1小时内签收并到场（到场时限为本系统默认）'].sort());
    await down(db);
    expect(await names()).toContain('一般事项：2小时内签收，3个工作日内办结反馈（诸城）');
    await up(db);
    await db.deleteFrom('time_limit_policies').where('city_id', '=', 'elsewhere').execute();
  });
});
