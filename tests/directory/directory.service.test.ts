import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCityFromDir } from '../../app/city-preset';
import { testDialect } from '../helpers/db';
import { createDirectoryService } from '../../directory';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
const code = async (c: string) => (await w.directory.findTerritoryByCode('demo', c))!;

beforeAll(async () => {
  w = await demoWorld();
  await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
});
afterAll(async () => w?.database.dispose());

describe(`the directory service on ${testDialect}`, () => {
  it('gives the city, its settings and office hours', async () => {
    const city = await w.directory.getCity('demo');
    expect(city).toMatchObject({ id: 'demo', name: '演示市 (Demo City)', isDemo: true, settings: { timeLimitPreset: 'zhucheng', returnWindowHours: 24 } });
    expect(city.createdAt).toMatch(/\+08:00$/);
    const hours = await w.directory.cityOfficeHours('demo');
    expect(hours.seasons.find((s) => s.from === '05-01')!.periods).toEqual([['08:30', '12:00'], ['14:30', '18:00']]);
    expect((await w.directory.listCities()).map((c) => c.id)).toEqual(['demo']);
    await expect(w.directory.getCity('nowhere')).rejects.toMatchObject({ code: 'CITY_NOT_FOUND', status: 404 });
    await expect(w.directory.cityOfficeHours('nowhere')).rejects.toMatchObject({ code: 'CITY_NOT_FOUND' });
  });

  it('answers a city\'s settings inside another transaction once its cache time has passed (on SQLite\'s one connection it used to wait for that transaction for ever)', async () => {
    const directory = createDirectoryService({ db: w.database.db, dialect: w.database.dialect, cacheTtlMs: 1 });
    const first = await directory.citySettings('demo');
    await new Promise((r) => setTimeout(r, 5));
    const inside = await w.database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('cities').select('id').execute();
      return directory.cityOfficeHours('demo');
    });
    expect(inside).toEqual(first.officeHours);
  }, 20_000);

  it('territoryPathOf: the ids from the district down to itself, served from memory', async () => {
    const district = await code('990102');
    const street = await code('990102001');
    const community = await code('990102001001');
    const grid = await code('990102001001001');
    expect(await w.directory.territoryPathOf(grid.id)).toBe(`/${district.id}/${street.id}/${community.id}/${grid.id}/`);
    expect(await w.directory.territoryPathOf(district.id)).toBe(`/${district.id}/`);
    expect(await w.directory.territoryPathOf('no-such-id')).toBeNull();

    // Cached: the row going away does not reach a caller until the cache is dropped.
    const spare = await code('990121101201002');
    const path = await w.directory.territoryPathOf(spare.id);
    await w.db.updateTable('territories').set({ path: '/changed/' }).where('id', '=', spare.id).execute();
    expect(await w.directory.territoryPathOf(spare.id)).toBe(path);
    w.directory.forgetCached();
    expect(await w.directory.territoryPathOf(spare.id)).toBe('/changed/');
    await w.db.updateTable('territories').set({ path: path! }).where('id', '=', spare.id).execute();
    w.directory.forgetCached();
  });

  it('territoryAncestors: top down, without itself', async () => {
    const grid = await code('990121100201001');
    expect((await w.directory.territoryAncestors(grid.id)).map((t) => [t.level, t.name])).toEqual([
      ['district', '临河县'],
      ['street', '临河镇'],
      ['community', '王家庄村'],
    ]);
    expect(await w.directory.territoryAncestors((await code('990103')).id)).toEqual([]);
    await expect(w.directory.territoryAncestors('nope')).rejects.toMatchObject({ code: 'TERRITORY_NOT_FOUND', status: 404 });
  });

  it('listTerritoryChildren and territoryTree', async () => {
    expect((await w.directory.listTerritoryChildren('demo', null)).map((t) => t.name)).toEqual(['湖滨区', '青山区', '临河县']);
    const binjiang = await code('990102001');
    const communities = await w.directory.listTerritoryChildren('demo', binjiang.id);
    expect(communities.map((t) => t.name)).toEqual(['滨江社区', '临江社区', '柳岸社区']);
    expect(communities.every((c) => c.parentId === binjiang.id && c.level === 'community')).toBe(true);
    expect(await w.directory.listTerritoryChildren('demo', binjiang.id, 'grid')).toEqual([]);
    expect(await w.directory.listTerritoryChildren('elsewhere', null)).toEqual([]);

    const tree = await w.directory.territoryTree('demo');
    expect(tree.map((d) => d.name)).toEqual(['湖滨区', '青山区', '临河县']);
    const count = (nodes: typeof tree): number => nodes.reduce((n, t) => n + 1 + count(t.children), 0);
    expect(count(tree)).toBe(63);
    expect(tree[0].children[0].children[0].children.map((g) => g.name)).toEqual(['滨江社区第一网格', '滨江社区第二网格', '滨江社区第三网格']);
  });

  it('getTerritory and findTerritoryByCode stay within a city when asked', async () => {
    const t = await code('990103002');
    expect(await w.directory.getTerritory(t.id, 'demo')).toMatchObject({ name: '翠屏街道', level: 'street' });
    expect(await w.directory.getTerritory(t.id, 'other-city')).toBeNull();
    expect(await w.directory.getTerritory('nope')).toBeNull();
    expect(await w.directory.findTerritoryByCode('other-city', '990103002')).toBeNull();
  });

  it('listUnits by kind, text and page; getUnit; unitTree', async () => {
    const utilities = await w.directory.listUnits('demo', { kind: 'utility' });
    expect(utilities.total).toBe(5);
    expect(utilities.items.map((u) => u.code)).toEqual(['util-gas', 'util-heat', 'util-power', 'util-power-hb', 'util-water']);
    expect((await w.directory.listUnits('demo', { q: '街道办事处' })).total).toBe(5);
    expect((await w.directory.listUnits('demo', { q: 'dept-cgj' })).items.map((u) => u.name)).toEqual(['演示市城市管理局', '演示市环境卫生服务中心', '演示市城市管理综合执法大队']);
    expect((await w.directory.listUnits('demo', { q: '100%' })).total).toBe(0);
    const page2 = await w.directory.listUnits('demo', { page: 2, pageSize: 10 });
    expect(page2.total).toBe(41);
    expect(page2.items).toHaveLength(10);
    const all = await w.directory.listUnits('demo');
    expect(page2.items.map((u) => u.code)).toEqual(all.items.slice(10, 20).map((u) => u.code));

    const water = (await w.directory.findUnitByCode('demo', 'util-water'))!;
    expect(water).toMatchObject({ name: '演示市自来水有限公司', kind: 'utility', smsPhone: '13900000018', dutyPerson: '梁波', active: true });
    expect(await w.directory.getUnit(water.id, 'other-city')).toBeNull();
    const street = (await w.directory.findUnitByCode('demo', 'st-990102001'))!;
    expect(street.territoryId).toBe((await code('990102001')).id);

    const tree = await w.directory.unitTree('demo');
    const hubin = tree.find((u) => u.code === 'gov-990102')!;
    expect(hubin.children.map((u) => u.code)).toEqual(['st-990102001', 'st-990102002', 'st-990102003']);
    expect(hubin.children[0].children.map((u) => u.code)).toEqual(['cm-990102001001', 'cm-990102001002']);
  });

  it('lineByNumber: the merged line however the switch writes the number', async () => {
    expect((await w.directory.lineByNumber('demo', '12319'))!.name).toBe('城建服务热线');
    expect((await w.directory.lineByNumber('demo', '0536-12369'))!.name).toBe('环保举报热线');
    expect((await w.directory.lineByNumber('demo', '+86 536 96116'))!.name).toBe('供水服务热线');
    expect((await w.directory.lineByNumber('demo', '053112333'))!.mergedOn).toBe('2019-12-31');
    expect(await w.directory.lineByNumber('demo', '12345')).toBeNull();
    expect(await w.directory.lineByNumber('demo', '13800012319')).toBeNull(); // a mobile ending in 12319 is no line
    expect(await w.directory.lineByNumber('demo', '')).toBeNull();
    expect(await w.directory.lineByNumber('other-city', '12319')).toBeNull();
    expect((await w.directory.listHotlineLines('demo')).map((l) => l.number)).toEqual(['12315', '12319', '12320', '12328', '12333', '12358', '12369', '96116', '96177', '96188']);
  });
});
