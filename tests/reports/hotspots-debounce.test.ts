/**
 * Debounced evaluation (per group) raises exactly the warnings that evaluating after each commit
 * raises: two groups get the same tickets; one is evaluated at once after every registration, the
 * other through `evaluateSoon` (many calls, one evaluation at the flush or when the timer fires).
 * Same levels, basis and number of raises (audit rows); the figures a warning records are those
 * at its evaluation, so a debounced raise may record a few more tickets (those of its period).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { FixedClock, newId } from '../../core';
import { createHotspotService, type HotspotService } from '../../reports/hotspots';
import { createHotspotPorts } from '../../app/hotspots';
import { hotspotIds, type HotspotIds } from './hotspots-fixtures';

const NOW = new Date('2025-10-09T02:00:00Z'); // Thursday 10:00 in China
let t: TestApp;
let ids: HotspotIds;
let immediate: HotspotService;
let gathered: HotspotService; // flushes only when told (a long period)
let timed: HotspotService; // flushes on its own after 30 ms

const GRID = '990102002001001';
const COMMUNITY = '990102002001';

async function seed(categoryCode: string, tickets: number, callers: number, prefix: string) {
  await t.ctx.database.db.transaction().execute(async (trx) => {
    for (let i = 0; i < tickets; i++) {
      await immediate.countCreatedWithin(trx, {
        id: newId(), city_id: 'demo', channel: 'phone', category_id: ids.category[categoryCode], territory_path: ids.territoryPath[GRID],
        citizen_id: `${prefix}-caller-${i % callers}`, created_at: '2025-10-09 01:30:00.000',
      });
    }
  });
}

async function warningOf(categoryCode: string) {
  const db = t.ctx.database.db;
  const w = await db.selectFrom('hotspot_warnings').selectAll().where('category_id', '=', ids.category[categoryCode]).where('territory_id', '=', ids.territory[COMMUNITY]).executeTakeFirst();
  if (!w) return null;
  const raises = await db.selectFrom('audit_events').select('id').where('entity_id', '=', w.id).where('action', '=', 'hotspot.raised').execute();
  return { level: Number(w.level), tickets: Number(w.tickets), callers: Number(w.callers), basis: w.basis, baselineMean: Number(w.baseline_mean), raises: raises.length };
}

beforeAll(async () => {
  const clock = new FixedClock(NOW);
  t = await startTestApp({ clock });
  ids = await hotspotIds(t);
  const c = t.ctx;
  const ports = createHotspotPorts({ clock, directory: c.directory, identity: c.identity, intake: c.intake, live: c.live, db: c.database.db, dialect: c.database.dialect });
  immediate = createHotspotService({ db: c.database.db, dialect: c.database.dialect, clock, ports });
  gathered = createHotspotService({ db: c.database.db, dialect: c.database.dialect, clock, ports, debounceMs: 3_600_000 });
  timed = createHotspotService({ db: c.database.db, dialect: c.database.dialect, clock, ports, debounceMs: 30 });
});

afterAll(async () => {
  await gathered?.stop();
  await timed?.stop();
  await t?.close();
});

describe('hotspot evaluation debounced per group', () => {
  it('raises the same warnings as evaluating after every registration, each level once', async () => {
    const group = (code: string) => [{ cityId: 'demo', categoryId: ids.category[code], territoryId: ids.territory[COMMUNITY] }];
    // '010210' is evaluated at once after each registration; '010206' gets the same tickets, debounced.
    const steps: [number, number][] = [[4, 3], [1, 0], [5, 3], [10, 10]];
    let n = 0;
    let previous: Awaited<ReturnType<typeof warningOf>> = null;
    for (const [tickets, newCallers] of steps) {
      for (let i = 0; i < tickets; i++) {
        n++;
        const callers = Math.max(1, newCallers);
        await seed('010210', 1, callers, `s${n % callers}`);
        await seed('010206', 1, callers, `s${n % callers}`);
        await immediate.evaluate('demo', group('010210'));
        gathered.evaluateSoon('demo', group('010206'));
      }
      // Nothing is evaluated before the flush; then once, to the level the immediate path reached.
      const before = await warningOf('010206');
      await gathered.flush();
      const a = await warningOf('010210'), b = await warningOf('010206');
      expect(before).toEqual(previous);
      // The same warning: level, basis, baseline and number of raises. Its figures are those seen
      // when it was raised: the debounced raise saw the later count (at most one period later).
      const same = (w: typeof a) => w && { level: w.level, basis: w.basis, baselineMean: w.baselineMean, raises: w.raises };
      expect(same(b)).toEqual(same(a));
      if (a && b) {
        expect(b.tickets).toBeGreaterThanOrEqual(a.tickets);
        expect(b.tickets).toBeLessThanOrEqual(n);
      }
      previous = b;
    }
    const final = await warningOf('010206');
    expect(final).not.toBeNull();
    expect(final!.level).toBeGreaterThanOrEqual(2);
  });

  it('evaluates on its own after the period, once for many registrations', async () => {
    const group = [{ cityId: 'demo', categoryId: ids.category['010207'], territoryId: ids.territory[COMMUNITY] }];
    await seed('010207', 6, 4, 'timed');
    for (let i = 0; i < 20; i++) timed.evaluateSoon('demo', group);
    expect(await warningOf('010207')).toBeNull(); // not yet: gathered for 30 ms
    const until = Date.now() + 10_000;
    while (!(await warningOf('010207')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await warningOf('010207')).toMatchObject({ level: 1, tickets: 6, callers: 4, raises: 1 });
  });

  it('a stopped service evaluates nothing more (the sweep covers it)', async () => {
    const s = createHotspotService({ db: t.ctx.database.db, dialect: t.ctx.database.dialect, clock: new FixedClock(NOW), ports: createHotspotPorts({ clock: new FixedClock(NOW), directory: t.ctx.directory, identity: t.ctx.identity, intake: t.ctx.intake, live: t.ctx.live, db: t.ctx.database.db, dialect: t.ctx.database.dialect }), debounceMs: 10 });
    await seed('010214', 6, 4, 'stopped');
    s.evaluateSoon('demo', [{ cityId: 'demo', categoryId: ids.category['010214'], territoryId: ids.territory[COMMUNITY] }]);
    await s.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(await warningOf('010214')).toBeNull();
    expect((await t.ctx.hotspots.sweep()).some((w) => w.categoryId === ids.category['010214'] && w.territoryId === ids.territory[COMMUNITY])).toBe(true);
  });
});
