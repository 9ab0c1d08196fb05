import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../core';
import { importCityFromDir, type ImportSummary } from '../../app/city-preset';
import { listAudit } from '../../audit';
import { hashPassword } from '../../identity';
import { listCategories } from '../../routing';
import { listPolicies } from '../../workorders';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoCopy, demoWorld, tableCounts } from './demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let first: ImportSummary;

beforeAll(async () => {
  w = await demoWorld();
  first = await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
});
afterAll(async () => w?.database.dispose());

describe(`the demo city on ${testDialect}`, () => {
  it('imports cleanly, with a summary of what it created', () => {
    expect(first).toMatchObject({
      cityId: 'demo',
      cityName: '演示市 (Demo City)',
      isDemo: true,
      city: 'created',
      territories: { created: 63, updated: 0, unchanged: 0 },
      units: { created: 41, updated: 0, unchanged: 0 },
      hotlineLines: { created: 10, updated: 0, unchanged: 0 },
      categories: { created: 1107, updated: 0, unchanged: 0, deactivated: 0 },
      policies: { created: 5, updated: 0, unchanged: 0, removed: 0 },
      users: { created: 16, kept: [] },
      responsibility: { outcome: 'created', versionNumber: 1, items: 79 },
      knowledge: { created: 32, updated: 0, unchanged: 0 },
      changed: true,
    });
  });

  it('holds the rows, with the settings and the demo mark', async () => {
    const counts = await tableCounts(w.db);
    expect(counts).toMatchObject({ cities: 1, territories: 63, units: 41, hotlineLines: 10, users: 16, categories: 1107, policies: 5 });
    const city = await w.directory.getCity('demo');
    expect(city.isDemo).toBe(true);
    expect(city.settings.timeLimitPreset).toBe('zhucheng');
    expect(city.settings.officeHours.seasons).toHaveLength(2);
    const levels = await Promise.all(['district', 'street', 'community', 'grid'].map(async (l) => (await w.directory.listTerritoriesAtLevel('demo', l as 'grid')).length));
    expect(levels).toEqual([3, 7, 17, 36]);
  });

  it('creates a user for every role, who can log in with the demo password', async () => {
    const users = await w.identity.listUsers('demo');
    expect(new Set(users.map((u) => u.role))).toEqual(
      new Set(['agent', 'dispatcher', 'unit_handler', 'unit_manager', 'grid_member', 'grid_leader', 'community_secretary', 'town_leader', 'supervisor', 'admin']),
    );
    const water1 = users.find((u) => u.username === 'water1')!;
    expect((await w.directory.getUnit(water1.unitId!))!.code).toBe('util-water');
    const grid1 = users.find((u) => u.username === 'grid1')!;
    expect((await w.directory.getTerritory(grid1.territoryId!))!.name).toBe('滨江社区第一网格');
    const { user } = await w.identity.login('water1', 'demo12345');
    expect(user.role).toBe('unit_handler');
  });

  it('stores categories and policies through their parts, with codes resolved', async () => {
    const cats = await listCategories(w.db, 'demo');
    const burst = cats.find((c) => c.code === '01021603')!;
    expect(burst).toMatchObject({ name: '供水管道爆裂', level: 4, utility: true, defaultType: 'help', defaultUrgency: 'emergency', policyCode: 'utility-onsite', keywords: ['水管爆了', '爆管', '管道漏水', '路面冒水', '水管破裂'] });
    const water = cats.find((c) => c.code === '010216')!;
    expect(water).toMatchObject({ name: '自来水供应', level: 3, utility: true });
    expect(burst.parentId).toBe(water.id);
    expect(burst.path.startsWith(water.path)).toBe(true);
    const policies = await listPolicies(w.db, 'demo');
    // The demo names the 诸城 preset in city.json and has no policies of its own: it follows the preset.
    expect(policies[0].code).toBe('emergency'); // highest priority first
    expect(policies.find((p) => p.code === 'utility-onsite')).toMatchObject({ match: { utility: true }, limits: { onSite: { amount: 1, unit: 'hours' } }, ladder: { reminderAt: 0.5 } });
    expect(policies.find((p) => p.code === 'general')).toMatchObject({ limits: { acknowledge: { amount: 2, unit: 'hours' }, reply: { amount: 3, unit: 'working_days' } } });
    expect(policies.find((p) => p.code === 'general')!.ladder).toBeUndefined();
  });

  it('writes an audit row for everything it created', async () => {
    const rows = await w.db.selectFrom('audit_events').select(['action']).execute();
    const byAction = rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.action]: (m[r.action] ?? 0) + 1 }), {});
    expect(byAction).toMatchObject({
      'city.created': 1, 'territory.created': 63, 'unit.created': 41, 'hotline_line.created': 10,
      'category.created': 1107, 'time_limit_policy.created': 5, 'user.created': 16, 'city.preset_imported': 1,
      'responsibility_version.preset_imported': 1, 'knowledge_article.preset_imported': 32,
    });
  });

  it('re-importing the same folder changes nothing and leaves no audit row', async () => {
    const before = await tableCounts(w.db);
    const again = await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
    expect(again).toMatchObject({
      city: 'unchanged',
      territories: { created: 0, updated: 0, unchanged: 63 },
      units: { created: 0, updated: 0, unchanged: 41 },
      hotlineLines: { created: 0, updated: 0, unchanged: 10 },
      categories: { created: 0, updated: 0, unchanged: 1107, deactivated: 0 },
      policies: { created: 0, updated: 0, unchanged: 5, removed: 0 },
      users: { created: 0 },
      responsibility: { outcome: 'unchanged', versionNumber: 1, items: 79 },
      knowledge: { created: 0, updated: 0, unchanged: 32 },
      changed: false,
    });
    expect(again.users.kept).toHaveLength(16);
    expect(await tableCounts(w.db)).toEqual(before);
  });

  it('never resets the password of a user who exists', async () => {
    const agent = (await w.identity.listUsers('demo')).find((u) => u.username === 'agent2')!;
    await w.db.updateTable('users').set({ password_hash: await hashPassword('changed2025x') }).where('id', '=', agent.id).execute();
    await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
    await expect(w.identity.login('agent2', 'changed2025x')).resolves.toMatchObject({ user: { username: 'agent2' } });
    await expect(w.identity.login('agent2', 'demo12345')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
  });

  it('an edited folder updates in place: renames, a move with its subtree, a removed category', async () => {
    const copy = await demoCopy();
    try {
      const edit = async (file: string, fn: (s: string) => string) => writeFile(join(copy.dir, file), fn(await readFile(join(copy.dir, file), 'utf8')));
      // 临江社区 moves from 滨江街道 to 望湖街道; its two grids must follow.
      await edit('territory.csv', (s) => s.replace('990102001002,临江社区,community,990102001', '990102001002,临江社区,community,990102002'));
      await edit('units.csv', (s) => s.replace('util-water,演示市自来水有限公司,', 'util-water,演示市供水集团有限公司,'));
      await edit('categories.csv', (s) => s.replace(/^S06010-01,.*\n/m, ''));
      await edit('hotline-lines.csv', (s) => s.replace('12319,城建服务热线', '12319,城市建设服务热线'));
      const linjiang = (await w.directory.findTerritoryByCode('demo', '990102001002'))!;
      const grid = (await w.directory.findTerritoryByCode('demo', '990102001002001'))!;
      expect(grid.path.startsWith(linjiang.path)).toBe(true);
      const pathBefore = await w.directory.territoryPathOf(grid.id); // cached now

      const summary = await importCityFromDir(w.deps, copy.dir, w.ctx);
      expect(summary).toMatchObject({
        territories: { created: 0, updated: 1, unchanged: 62 },
        units: { created: 0, updated: 1, unchanged: 40 },
        hotlineLines: { updated: 1 },
        categories: { created: 0, updated: 0, deactivated: 1 },
        changed: true,
      });

      const wanghu = (await w.directory.findTerritoryByCode('demo', '990102002'))!;
      const moved = (await w.directory.getTerritory(linjiang.id))!;
      expect(moved.id).toBe(linjiang.id);
      expect(moved.parentId).toBe(wanghu.id);
      expect(moved.path).toBe(`${wanghu.path}${linjiang.id}/`);
      const gridPath = await w.directory.territoryPathOf(grid.id);
      expect(gridPath).not.toBe(pathBefore); // the import dropped the cache
      expect(gridPath).toBe(`${moved.path}${grid.id}/`);
      expect((await w.directory.territoryAncestors(grid.id)).map((t) => t.name)).toEqual(['湖滨区', '望湖街道', '临江社区']);

      const water = (await w.directory.findUnitByCode('demo', 'util-water'))!;
      expect(water.name).toBe('演示市供水集团有限公司');
      const trail = await listAudit(w.db, 'unit', water.id);
      expect(trail.map((a) => a.action)).toEqual(['unit.created', 'unit.updated']);
      expect(trail[1]).toMatchObject({ before: { name: '演示市自来水有限公司' }, after: { name: '演示市供水集团有限公司' } });
      const territoryTrail = await listAudit(w.db, 'territory', linjiang.id);
      expect(territoryTrail[1]).toMatchObject({ action: 'territory.updated', after: { parentId: wanghu.id, descendantsMoved: 2 } });

      const all = await listCategories(w.db, 'demo', { includeInactive: true });
      expect(all.find((c) => c.code === 'S06010-01')!.active).toBe(false);
      expect((await listCategories(w.db, 'demo')).some((c) => c.code === 'S06010-01')).toBe(false);
      expect((await w.directory.lineByNumber('demo', '12319'))!.name).toBe('城市建设服务热线');

      // And back: the original folder restores names, place and category, ids unchanged.
      const back = await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
      expect(back).toMatchObject({ territories: { updated: 1 }, units: { updated: 1 }, categories: { updated: 1, created: 0 } });
      expect((await w.directory.getTerritory(linjiang.id))!.path).toBe(linjiang.path);
      expect((await listCategories(w.db, 'demo')).some((c) => c.code === 'S06010-01')).toBe(true);
    } finally {
      await copy.done();
    }
  });
});

describe(`a username of another city on ${testDialect}`, () => {
  it('stops the whole import: nothing of the second city is written', async () => {
    const copy = await demoCopy();
    try {
      await writeFile(join(copy.dir, 'city.json'), (await readFile(join(copy.dir, 'city.json'), 'utf8')).replace('"id": "demo"', '"id": "demo-two"'));
      const before = await tableCounts(w.db);
      const err = await importCityFromDir(w.deps, copy.dir, w.ctx).catch((e) => e);
      expect(isAppError(err) && err.code).toBe('PRESET_CONFLICT');
      expect(err.details.problems).toHaveLength(16);
      expect(err.details.problems[0]).toMatchObject({ file: 'users.csv', line: 2, field: 'username' });
      expect(await tableCounts(w.db)).toEqual(before);
      expect(await w.directory.cityExists('demo-two')).toBe(false);
    } finally {
      await copy.done();
    }
  });
});
