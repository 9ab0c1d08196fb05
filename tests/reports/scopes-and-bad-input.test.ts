/**
 * Who sees which figures, and the clear errors for bad questions: periods in the wrong order or
 * after today, unknown units, categories, territories, levels and KPIs; a unit asking for another
 * unit's figures; grid staff kept to their territory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, expectError, type Scenario } from '../workorders/helpers';

let s: Scenario;
let cgj: string, water: string;
beforeAll(async () => {
  s = await startScenario();
  cgj = await s.unitId('dept-cgj');
  water = await s.unitId('util-water');
  await s.dispatched('dept-cgj');
  await s.dispatched('util-water');
  await s.newTicket();
}, 60_000);
afterAll(async () => s?.t.close());

const get = (user: string, q: string) => s.api(user, 'GET', `/reports/${q}`);

describe('scopes', () => {
  it('the center sees every unit', async () => {
    const r = await s.ok('supervisor1', 'GET', '/reports/figures?period=day&from=2025-10-09&groupBy=unit');
    expect(r.groups.map((g: any) => g.key).sort()).toEqual(['', cgj, water].sort());
    expect(r.figures[0]).toMatchObject({ kpi: 'accepted', value: 3 });
  });

  it('a unit sees its own figures only, even when it groups by unit', async () => {
    const r = await s.ok('chengguan1', 'GET', '/reports/figures?period=day&from=2025-10-09&groupBy=unit');
    expect(r.groups.map((g: any) => g.key)).toEqual([cgj]);
    expect(r.figures[0]).toMatchObject({ kpi: 'accepted', value: 1 });
    const own = await s.ok('chengguan1', 'GET', `/reports/figures?period=day&from=2025-10-09&unitId=${cgj}`);
    expect(own.figures[0].value).toBe(1);
  });

  it('a unit asking for another unit\'s figures, rankings or tickets is refused', async () => {
    expectError(await get('chengguan1', `figures?period=day&from=2025-10-09&unitId=${water}`), 403, 'REPORT_SCOPE_FORBIDDEN');
    expectError(await get('chengguan1', `rankings?period=day&from=2025-10-09&unitId=${water}`), 403, 'REPORT_SCOPE_FORBIDDEN');
    expectError(await get('chengguan1', `drill?kpi=accepted&from=2025-10-09&to=2025-10-09&unitId=${water}`), 403, 'REPORT_SCOPE_FORBIDDEN');
  });

  it('a unit drilling into its numbers gets its own tickets only', async () => {
    const r = await s.ok('water1', 'GET', '/reports/drill?kpi=accepted&from=2025-10-09&to=2025-10-09');
    expect(r.total).toBe(1);
    expect(r.items.map((t: any) => t.handlingUnitId)).toEqual([water]);
  });

  it('grid staff see their territory only and no rankings', async () => {
    const r = await s.ok('grid1', 'GET', '/reports/figures?period=day&from=2025-10-09');
    expect(r.figures[0].kpi).toBe('accepted');
    // 青山区: not grid1's (滨江街道 in 湖滨区).
    const other = await s.t.ctx.database.db.selectFrom('territories').select('id').where('city_id', '=', 'demo').where('code', '=', '990103').executeTakeFirstOrThrow();
    expectError(await get('grid1', `figures?period=day&from=2025-10-09&territoryId=${other.id}`), 403, 'REPORT_SCOPE_FORBIDDEN');
    expectError(await get('grid1', 'rankings?period=day&from=2025-10-09'), 403, 'REPORT_SCOPE_FORBIDDEN');
  });
});

describe('bad input', () => {
  it('a custom period that ends before it starts', async () => {
    const r = await get('supervisor1', 'figures?period=custom&from=2025-10-09&to=2025-10-01');
    expectError(r, 400, 'PERIOD_ORDER');
    expect(r.body.message_zh).toContain('早于');
  });

  it('a period after today (no data yet), a date that does not exist, a custom period without its end', async () => {
    expectError(await get('supervisor1', 'figures?period=month&from=2025-11-01'), 400, 'PERIOD_IN_FUTURE');
    expectError(await get('supervisor1', 'figures?period=day&from=2025-02-30'), 400, 'PERIOD_INVALID');
    expectError(await get('supervisor1', 'figures?period=custom&from=2025-10-01'), 400, 'PERIOD_INVALID');
    expectError(await get('supervisor1', 'figures?period=custom&from=2020-01-01&to=2025-10-01'), 400, 'PERIOD_TOO_LONG');
    expectError(await get('supervisor1', 'figures?period=fortnight'), 400, 'VALIDATION_FAILED');
  });

  it('unknown units, categories, territories, levels and KPIs', async () => {
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&unitId=no-such-unit'), 404, 'UNIT_NOT_FOUND');
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&categoryId=no-such-category'), 404, 'CATEGORY_NOT_FOUND');
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&territoryId=no-such-place'), 404, 'TERRITORY_NOT_FOUND');
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&groupBy=category&level=7'), 400, 'LEVEL_INVALID');
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&groupBy=territory&level=planet'), 400, 'LEVEL_INVALID');
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&groupBy=unit&level=2'), 400, 'LEVEL_INVALID');
    expectError(await get('supervisor1', 'drill?kpi=happiness&from=2025-10-09&to=2025-10-09'), 400, 'KPI_UNKNOWN');
    expectError(await get('supervisor1', 'drill?kpi=accepted&part=denominator&from=2025-10-09&to=2025-10-09'), 400, 'DRILL_PART_INVALID');
  });

  it('a unit of another city is unknown here', async () => {
    const db = s.t.ctx.database.db;
    await db.insertInto('cities').values({ id: 'other', name: '他市', is_demo: 0, settings: '{}', created_at: '2025-01-01 00:00:00.000', updated_at: '2025-01-01 00:00:00.000' }).execute();
    const unit = await db.selectFrom('units').selectAll().where('id', '=', cgj).executeTakeFirstOrThrow();
    await db.insertInto('units').values({ ...unit, id: 'other-unit', city_id: 'other', code: 'other-unit' }).execute();
    expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09&unitId=other-unit'), 404, 'UNIT_NOT_FOUND');
  });

  it('invalid report settings of a city are named, not guessed', async () => {
    const db = s.t.ctx.database.db;
    const row = await db.selectFrom('cities').select('settings').where('id', '=', 'demo').executeTakeFirstOrThrow();
    await db.updateTable('cities').set({ settings: JSON.stringify({ ...JSON.parse(row.settings), reports: { ranking: { scheme: 'lottery' } } }) }).where('id', '=', 'demo').execute();
    s.t.ctx.directory.forgetCached();
    try {
      expectError(await get('supervisor1', 'figures?period=day&from=2025-10-09'), 400, 'REPORT_SETTINGS_INVALID');
    } finally {
      await db.updateTable('cities').set({ settings: row.settings }).where('id', '=', 'demo').execute();
      s.t.ctx.directory.forgetCached();
    }
  });

  it('filters narrow the figures: a category at any level, a territory, a channel', async () => {
    const cats = await s.ok('admin', 'GET', '/categories');
    const leaf = (Array.isArray(cats) ? cats : cats.items).find((c: any) => c.code === '04020302');
    const top = (Array.isArray(cats) ? cats : cats.items).find((c: any) => c.code === '04');
    for (const id of [leaf.id, top.id]) {
      const r = await s.ok('supervisor1', 'GET', `/reports/figures?period=day&from=2025-10-09&categoryId=${id}`);
      expect(r.figures[0].value).toBe(3);
    }
    const other = (Array.isArray(cats) ? cats : cats.items).find((c: any) => c.code === '01');
    expect((await s.ok('supervisor1', 'GET', `/reports/figures?period=day&from=2025-10-09&categoryId=${other.id}`)).figures[0].value).toBe(0);
    expect((await s.ok('supervisor1', 'GET', '/reports/figures?period=day&from=2025-10-09&channel=web')).figures[0].value).toBe(0);
    const byCat = await s.ok('supervisor1', 'GET', '/reports/figures?period=day&from=2025-10-09&groupBy=category&level=2');
    expect(byCat.groups.map((g: any) => [g.name, g.figures[0].value])).toEqual([[expect.any(String), 3]]);
    expect(byCat.level).toBe('2');
    // Two dimensions at once (a unit's figures in a category, by channel) read the full grain: same answers.
    const mixed = await s.ok('chengguan1', 'GET', `/reports/figures?period=day&from=2025-10-09&categoryId=${top.id}&groupBy=channel`);
    expect(mixed.groups.map((g: any) => [g.key, g.figures[0].value])).toEqual([['phone', 1]]);
  });
});
