/**
 * One warning per group, day and level, however many evaluate at once: the registration path and
 * the sweep of two nodes (two service instances, on MariaDB two connection pools) racing over the
 * same counts raise each level exactly once — one warning row, one audit row, one live event.
 * The counts are written with a hand-made history (1, 2, 3, 2 on the previous four Thursdays), so
 * the expected levels are those of the detection table: 10 tickets from 6 callers → yellow, then
 * 20 from 12 → red. A group with no history at all goes blue at 5 tickets from 3 callers. The four
 * warnings of one burst, raised by both nodes at once, make one incident (热点事件) and ring each
 * leader's bell once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { openDatabase, type Database } from '../../db';
import { FixedClock, newId } from '../../core';
import { getCategory } from '../../routing';
import { createHotspotService, type HotspotService } from '../../reports/hotspots';
import { createHotspotPorts } from '../../app/hotspots';
import { countOf, hotspotIds, type HotspotIds } from './hotspots-fixtures';

const NOW = new Date('2025-10-09T02:00:00Z'); // Thursday 10:00 in China
let t: TestApp;
let ids: HotspotIds;
let second: Database | null = null;
let nodeA: HotspotService;
let nodeB: HotspotService;

/** Counts synthetic tickets of a group directly (as registrations would, without their evaluation). */
async function seed(categoryCode: string, grid: string, at: string, tickets: number, callers: number, prefix: string) {
  await t.ctx.database.db.transaction().execute(async (trx) => {
    for (let i = 0; i < tickets; i++) {
      await nodeA.countCreatedWithin(trx, {
        id: newId(), city_id: 'demo', channel: 'phone', category_id: ids.category[categoryCode], territory_path: ids.territoryPath[grid],
        citizen_id: `${prefix}-caller-${i % callers}`, created_at: at,
      });
    }
  });
}

beforeAll(async () => {
  const clock = new FixedClock(NOW);
  t = await startTestApp({ clock });
  ids = await hotspotIds(t);
  const c = t.ctx;
  const wiring = { clock, directory: c.directory, identity: c.identity, intake: c.intake, live: c.live, workOrders: c.workOrders };
  nodeA = c.hotspots;
  // The second node: its own pool on MariaDB (real concurrent transactions); SQLite has one writer anyway.
  const db2 = c.database.dialect === 'mysql' ? (second = await openDatabase(t.database.url, { poolSize: 5 })) : c.database;
  nodeB = createHotspotService({ db: db2.db, dialect: db2.dialect, clock, ports: createHotspotPorts({ ...wiring, db: db2.db, dialect: db2.dialect }) });
});

afterAll(async () => {
  await second?.close();
  await t?.close();
});

async function raceEverything(group: { categoryId: string; territoryId: string }) {
  const g = [{ cityId: 'demo', ...group }];
  const results = await Promise.all([nodeA.evaluate('demo', g, NOW), nodeB.evaluate('demo', g, NOW), nodeA.sweep(NOW), nodeB.sweep(NOW), nodeB.evaluate('demo', g, NOW), nodeA.evaluate('demo', g, NOW)]);
  return results.flat().filter((w) => w.categoryId === group.categoryId && w.territoryId === group.territoryId);
}

async function trailOf(categoryId: string, territoryId: string) {
  const db = t.ctx.database.db;
  const rows = await db.selectFrom('hotspot_warnings').selectAll().where('category_id', '=', categoryId).where('territory_id', '=', territoryId).execute();
  const id = rows[0]?.id ?? '-';
  const audits = await db.selectFrom('audit_events').select('after').where('entity_id', '=', id).where('action', '=', 'hotspot.raised').orderBy('at').execute();
  const events = await db.selectFrom('live_events').select('data').where('type', '=', 'hotspot.raised').execute();
  const mine = events.map((e) => (typeof e.data === 'string' ? JSON.parse(e.data) : e.data)).filter((d: any) => d.warning.id === id);
  return { rows, audits: audits.length, events: mine.map((d: any) => d.warning.level) };
}

describe('two nodes and two paths evaluating the same group', () => {
  it('raise yellow once, then red once, over a hand-made history', async () => {
    const [cat, community] = [ids.category['010210'], ids.territory['990102002001']];
    for (const [day, n] of [['2025-10-02', 1], ['2025-09-25', 2], ['2025-09-18', 3], ['2025-09-11', 2]] as const) await seed('010210', '990102002001001', `${day} 01:30:00.000`, n, n, `h${day}`);
    await seed('010210', '990102002001001', '2025-10-09 01:30:00.000', 10, 6, 'today');
    expect(await countOf(t, cat, community, '2025-10-09')).toEqual({ tickets: 10, callers: 6 });
    expect(await countOf(t, cat, community, '2025-09-18')).toEqual({ tickets: 3, callers: 3 });

    const first = await raceEverything({ categoryId: cat, territoryId: community });
    expect(first.map((w) => w.levelCode)).toEqual(['yellow']);
    expect(first[0]).toMatchObject({ tickets: 10, callers: 6, baselineMean: 2 });
    let trail = await trailOf(cat, community);
    expect(trail.rows).toHaveLength(1);
    expect(trail.audits).toBe(1);
    expect(trail.events).toEqual([2]);

    await seed('010210', '990102002001001', '2025-10-09 01:40:00.000', 10, 10, 'later'); // 20 tickets, 16 callers
    const second = await raceEverything({ categoryId: cat, territoryId: community });
    expect(second.map((w) => w.levelCode)).toEqual(['red']);
    trail = await trailOf(cat, community);
    expect(trail.rows).toHaveLength(1);
    expect(Number(trail.rows[0].level)).toBe(3);
    expect(trail.audits).toBe(2);
    expect(trail.events).toEqual([2, 3]);

    // Nothing rises any more: nothing is raised again.
    expect(await raceEverything({ categoryId: cat, territoryId: community })).toEqual([]);
    expect((await trailOf(cat, community)).audits).toBe(2);
  });

  it('a group with no history goes blue at 5 tickets from 3 callers, not at 4', async () => {
    const [cat, community] = [ids.category['010206'], ids.territory['990102002001']];
    await seed('010206', '990102002001001', '2025-10-09 00:10:00.000', 4, 3, 'nohist');
    expect(await raceEverything({ categoryId: cat, territoryId: community })).toEqual([]);
    await seed('010206', '990102002001001', '2025-10-09 00:20:00.000', 1, 1, 'nohist2');
    expect((await raceEverything({ categoryId: cat, territoryId: community })).map((w) => w.levelCode)).toEqual(['blue']);
    expect((await trailOf(cat, community)).audits).toBe(1);
  });

  it('one burst raised by both nodes at once is one incident: four warnings, one opening, one notice per recipient', async () => {
    // 保障性住房 (011002, under 住房保障与房地产) in 望湖社区: a family of its own, no history.
    await seed('011002', '990102002001001', '2025-10-09 01:50:00.000', 6, 6, 'housing');
    const [l3, l2, community, street] = [ids.category['011002'], ids.category['0110'], ids.territory['990102002001'], ids.territory['990102002']];
    const groups = [[l2, street], [l2, community], [l3, street], [l3, community]].map(([categoryId, territoryId]) => ({ cityId: 'demo', categoryId, territoryId }));
    // Each node evaluates the groups in its own order (registration's, and the reverse), and both sweep.
    const raised = (await Promise.all([nodeA.evaluate('demo', groups, NOW), nodeB.evaluate('demo', [...groups].reverse(), NOW), nodeA.sweep(NOW), nodeB.sweep(NOW)])).flat()
      .filter((w) => w.categoryId === l2 || w.categoryId === l3);
    expect(raised.map((w) => w.levelCode)).toEqual(['blue', 'blue', 'blue', 'blue']);
    const db = t.ctx.database.db;
    const warnings = await db.selectFrom('hotspot_warnings').selectAll().where('category_id', 'in', [l2, l3]).where('day', '=', '2025-10-09').execute();
    expect(warnings).toHaveLength(4);
    const incidentIds = [...new Set(warnings.map((w) => w.incident_id))];
    expect(incidentIds).toHaveLength(1);
    const incident = (await db.selectFrom('hotspot_incidents').selectAll().where('id', '=', incidentIds[0]!).executeTakeFirstOrThrow());
    expect(incident).toMatchObject({ category_id: l3, territory_id: community, level: 1 });
    const audits = await db.selectFrom('audit_events').select('action').where('entity_id', '=', incident.id).execute();
    expect(audits.map((a) => a.action).sort()).toEqual(['hotspot.incident.joined', 'hotspot.incident.joined', 'hotspot.incident.joined', 'hotspot.incident.opened']);
    const notices = await db.selectFrom('notification_outbox').select(['recipient_id', 'payload']).where('event', '=', 'hotspot.raised').execute();
    const mine = notices.filter((n) => JSON.parse(n.payload).incidentId === incident.id).map((n) => n.recipient_id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.sort()).toEqual([...new Set(mine)].sort()); // once per recipient
  });

  it('reads categories the way counting does (the path holds the category itself)', async () => {
    const c = await getCategory(t.ctx.database.db, ids.category['010210']);
    expect(c!.path.split('/').filter(Boolean)).toEqual([ids.category['01'], ids.category['0102'], ids.category['010210']]);
  });
});
