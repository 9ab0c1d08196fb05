/**
 * One burst, one incident (热点事件): a burst of calls crosses the thresholds of its four groups (its
 * level-2 and level-3 categories × its community and street) and those four warnings become one
 * incident, headlined by the most specific (环境卫生 × 滨江社区) with the other three as its related
 * levels; each leader's bell rings once for it; a rise of its level rings once more; the list shows
 * one row; two unrelated bursts — another problem in the same community, and another street — stay
 * separate incidents; the incident turns into one proactive ticket. On the real app (tickets
 * registered through intake, the bell is the work-order outbox) with a fixed clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app';
import { FixedClock } from '../../core';
import { getCategory } from '../../routing';
import { groupsOf, incidentToJoin, moreSpecific, overlaps } from '../../reports';
import { countOf, hotspotIds, register, type HotspotIds } from './hotspots-fixtures';

const NOW = new Date('2025-10-09T02:00:00Z'); // Thursday 10:00 in China
const DAY = '2025-10-09';
const GRID = '990102001001001'; // 滨江社区第一网格, under 滨江社区 (990102001001), under 滨江街道 (990102001)
const OTHER_STREET_GRID = '990102002001001'; // 望湖社区第一网格, another street
let t: TestApp;
let ids: HotspotIds;

/**
 * Registers tickets through intake (each from its own number) and evaluates what they touched, as
 * the app does after the commit (debounced: `flush` evaluates what is pending now). Returns the
 * warnings of the burst's four groups ('category:territory' → level).
 */
async function burst(categoryCode: string, grid: string, tickets: number, prefix: number) {
  for (let i = 0; i < tickets; i++) await register(t, ids, { category: categoryCode, grid, phone: `139${prefix}${String(i).padStart(6, '0')}` });
  await t.ctx.hotspots.flush();
  const [cats, ters] = [(await getCategory(db(), ids.category[categoryCode]))!.path, ids.territoryPath[grid]].map((p) => p.split('/').filter(Boolean));
  const rows = await db().selectFrom('hotspot_warnings').selectAll().where('day', '=', DAY).where('category_id', 'in', cats.slice(1, 3)).where('territory_id', 'in', ters.slice(1, 3)).execute();
  return Object.fromEntries(rows.map((w) => [`${w.category_id === cats[2] ? 'L3' : 'L2'}:${w.territory_level}`, Number(w.level)]));
}

const db = () => t.ctx.database.db;
const incidents = () => db().selectFrom('hotspot_incidents').selectAll().where('day', '=', DAY).orderBy('raised_at').orderBy('id').execute();
const warningsOf = (incidentId: string) => db().selectFrom('hotspot_warnings').selectAll().where('incident_id', '=', incidentId).execute();
/** The bell: hotspot notices per recipient (user id → levels told, in order). */
async function bell(incidentId: string) {
  const rows = await db().selectFrom('notification_outbox').select(['recipient_id', 'payload', 'created_at']).where('event', '=', 'hotspot.raised').orderBy('created_at').orderBy('id').execute();
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const p = JSON.parse(r.payload);
    if (p.incidentId === incidentId) out.set(r.recipient_id, [...(out.get(r.recipient_id) ?? []), p.levelCode]);
  }
  return out;
}
async function api(username: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(username) }, payload: payload as never });
}

beforeAll(async () => {
  t = await startTestApp({ clock: new FixedClock(NOW) });
  ids = await hotspotIds(t);
});

afterAll(async () => {
  await t?.close();
});

describe('which warnings tell of one burst (pure rules)', () => {
  const g = (cat: string, ter: string) => ({ categoryPath: cat, territoryPath: ter });
  it('overlap: both paths on one line; specificity: the deeper category, then the smaller territory', () => {
    expect(overlaps(g('/a/b/c/', '/d/s/m/'), g('/a/b/', '/d/s/'))).toBe(true);
    expect(overlaps(g('/a/b/c/', '/d/s/'), g('/a/b/', '/d/s/m/'))).toBe(true);
    expect(overlaps(g('/a/b/c/', '/d/s/m/'), g('/a/b/x/', '/d/s/m/'))).toBe(false); // another problem, same place
    expect(overlaps(g('/a/b/c/', '/d/s/m/'), g('/a/b/c/', '/d/s/n/'))).toBe(false); // same problem, another community
    expect(moreSpecific({ categoryLevel: 3, territoryLevel: 'street' }, { categoryLevel: 2, territoryLevel: 'community' })).toBeGreaterThan(0);
    expect(moreSpecific({ categoryLevel: 3, territoryLevel: 'community' }, { categoryLevel: 3, territoryLevel: 'street' })).toBeGreaterThan(0);
    const older = { id: 'b', raisedAt: '2025-10-09 01:00:00.000', headlineTickets: 6, headline: g('/a/b/c/', '/d/s/m/') };
    const newer = { id: 'a', raisedAt: '2025-10-09 01:05:00.000', headlineTickets: 6, headline: g('/a/b/x/', '/d/s/m/') };
    expect(incidentToJoin(g('/a/b/', '/d/s/'), [newer, older])).toBe(older); // overlaps both headlines, as big: the older
    expect(incidentToJoin(g('/a/b/', '/d/s/'), [{ ...newer, headlineTickets: 20 }, older])?.id).toBe('a'); // the bigger burst
    expect(incidentToJoin(g('/a/b/x/', '/d/s/'), [newer, older])).toBe(newer);
    expect(incidentToJoin(g('/a/y/', '/d/s/'), [newer, older])).toBeUndefined();
    expect(groupsOf('/a/b/c/', '/d/s/m/g/')).toHaveLength(4);
  });
});

describe('one burst, one incident', () => {
  let incidentId: string;
  const recipients = () => ['supervisor1', 'townlead1', 'secretary1', 'gridlead1'].map((u) => ids.user[u]);

  it('a burst crossing at all four levels is one incident, headlined by the most specific, and one notice per recipient', async () => {
    const levels = await burst('010214', GRID, 5, 10); // 5 tickets from 5 callers, no history: blue at each group
    expect(levels).toEqual({ 'L2:street': 1, 'L2:community': 1, 'L3:street': 1, 'L3:community': 1 });
    expect(await countOf(t, ids.category['0102'], ids.territory['990102001'], DAY)).toEqual({ tickets: 5, callers: 5 });
    const all = await incidents();
    expect(all).toHaveLength(1);
    incidentId = all[0].id;
    expect(all[0]).toMatchObject({ level: 1, status: 'open', category_id: ids.category['010214'], territory_id: ids.territory['990102001001'] });
    expect((await warningsOf(incidentId)).length).toBe(4);

    const told = await bell(incidentId);
    expect([...told.keys()].sort()).toEqual(recipients().sort());
    for (const [user, levels] of told) expect({ user, levels }).toEqual({ user, levels: ['blue'] });
    const notice = await db().selectFrom('notification_outbox').select('payload').where('event', '=', 'hotspot.raised').where('recipient_id', '=', ids.user.gridlead1).executeTakeFirstOrThrow();
    // Told when the incident opened under its headline (the broader levels joined it after).
    expect(JSON.parse(notice.payload)).toMatchObject({ title: `蓝色预警（一般）：滨江社区「环境卫生」诉求集中（${DAY}）`, incidentId, levelCode: 'blue' });

    // The console's list: one row, its related levels listed, the most specific first.
    const list = json(await api('supervisor1', 'GET', `/hotspots?fromDay=${DAY}&toDay=${DAY}`));
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ id: incidentId, levelCode: 'blue', territoryName: '滨江社区', categoryName: '环境卫生', title: `滨江社区「环境卫生」诉求集中（${DAY}）` });
    expect(list.items[0].related.map((r: any) => r.label)).toEqual(['滨江街道「环境卫生」', '滨江社区「城市建设和市政管理」', '滨江街道「城市建设和市政管理」']);
    // Every state change in the trail: the opening and the three joins.
    const trail = json(await api('supervisor1', 'GET', `/hotspots/${incidentId}`)).trail.map((e: any) => e.action);
    expect(trail.filter((a: string) => a.startsWith('hotspot.incident.'))).toEqual(['hotspot.incident.opened', 'hotspot.incident.joined', 'hotspot.incident.joined', 'hotspot.incident.joined']);
    expect(trail.filter((a: string) => a === 'hotspot.raised')).toHaveLength(4);
    // Evaluating again (the sweep, a repeat) raises and rings nothing.
    expect(await t.ctx.hotspots.sweep(NOW)).toEqual([]);
    expect(await t.ctx.hotspots.evaluate('demo', [{ cityId: 'demo', categoryId: ids.category['010214'], territoryId: ids.territory['990102001001'] }], NOW)).toEqual([]);
    expect([...(await bell(incidentId)).values()].flat()).toHaveLength(4);
  });

  it('a rise of the level (蓝→黄) updates the incident, opens it again after an acknowledgement, and rings once more', async () => {
    const before = (await incidents())[0];
    const ack = await api('townlead1', 'POST', `/hotspots/${incidentId}/acknowledge`, { version: Number(before.version), note: '已安排环卫所排查' });
    expect(ack.statusCode).toBe(200);
    expect(json(ack)).toMatchObject({ status: 'acknowledged', related: expect.any(Array) });
    expect((await warningsOf(incidentId)).every((w) => w.status === 'acknowledged')).toBe(true);

    const levels = await burst('010214', GRID, 5, 11); // 10 tickets from 10 callers: yellow at each group
    expect(levels).toEqual({ 'L2:street': 2, 'L2:community': 2, 'L3:street': 2, 'L3:community': 2 });
    const all = await incidents();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id: incidentId, level: 2, status: 'open' });
    expect((await warningsOf(incidentId)).every((w) => w.status === 'open')).toBe(true);
    const told = await bell(incidentId);
    expect([...told.keys()].sort()).toEqual(recipients().sort());
    for (const [user, levels] of told) expect({ user, levels }).toEqual({ user, levels: ['blue', 'yellow'] });
    const trail = json(await api('supervisor1', 'GET', `/hotspots/${incidentId}`)).trail.map((e: any) => e.action).filter((a: string) => a.startsWith('hotspot.incident.'));
    expect(trail.slice(-1)).toEqual(['hotspot.incident.raised']);
  });

  it('two unrelated bursts stay two: another problem in the same community, and the same problem in another street', async () => {
    const first = (await incidents())[0];
    const told = await bell(incidentId);

    // 公园管理 in 滨江社区: its own two groups cross blue; the level-2 groups it shares are already yellow (15 tickets).
    expect(await burst('010207', GRID, 5, 12)).toEqual({ 'L2:street': 2, 'L2:community': 2, 'L3:street': 1, 'L3:community': 1 });
    // 环境卫生 in 望湖社区, another street.
    expect(await burst('010214', OTHER_STREET_GRID, 5, 13)).toEqual({ 'L2:street': 1, 'L2:community': 1, 'L3:street': 1, 'L3:community': 1 });

    const all = await incidents();
    expect(all).toHaveLength(3);
    const [park, wanghu] = [all.find((i) => i.category_id === ids.category['010207'])!, all.find((i) => i.territory_id === ids.territory['990102002001'])!];
    expect((await warningsOf(park.id)).map((w) => w.territory_id).sort()).toEqual([ids.territory['990102001'], ids.territory['990102001001']].sort());
    expect(await warningsOf(wanghu.id)).toHaveLength(4);
    // The first is untouched: same version, same warnings, no new notice.
    expect((await incidents()).find((i) => i.id === incidentId)).toMatchObject({ version: first.version, level: 2 });
    expect(await warningsOf(incidentId)).toHaveLength(4);
    expect(await bell(incidentId)).toEqual(told);
    // Each new incident rang its own recipients once; the other street's leaders were not told of 滨江's.
    expect([...(await bell(park.id)).values()].every((levels) => levels.length === 1)).toBe(true);
    expect((await bell(wanghu.id)).has(ids.user.townlead1)).toBe(false);
    expect((await bell(wanghu.id)).get(ids.user.supervisor1)).toEqual(['blue']);

    const list = json(await api('supervisor1', 'GET', `/hotspots?fromDay=${DAY}&toDay=${DAY}`)).items;
    expect(list.map((i: any) => i.id).sort()).toEqual(all.map((i) => i.id).sort());
    // A filter on a related level's category finds the incident (城市建设和市政管理 is a related level of two of them).
    const byL2 = json(await api('supervisor1', 'GET', `/hotspots?fromDay=${DAY}&categoryId=${ids.category['0102']}`)).items.map((i: any) => i.id);
    expect(byL2.sort()).toEqual([incidentId, wanghu.id].sort());
  });

  it('turns the incident into one proactive ticket linked to the tickets behind all its levels; handling is the incident\'s', async () => {
    const r = await api('secretary1', 'POST', `/hotspots/${incidentId}/convert`);
    expect(r.statusCode, r.body).toBe(200);
    const body = json(r);
    expect(body.warning).toMatchObject({ id: incidentId, status: 'converted', proactiveTicketId: body.ticket.id });
    // The incident's tickets: 10 of 环境卫生 and 5 of 公园管理 counted in its broader levels, once each.
    expect(body.linkedTickets).toBe(15);
    expect((await warningsOf(incidentId)).every((w) => w.status === 'converted' && w.proactive_ticket_id === body.ticket.id)).toBe(true);
    expect(json(await api('supervisor1', 'POST', `/hotspots/${incidentId}/convert`)).ticket).toEqual(body.ticket);
    const ticket = await t.ctx.intake.getTicket({ kind: 'user', id: ids.user.supervisor1, name: 'supervisor1', role: 'supervisor', cityId: 'demo', unitId: null, territoryId: null, territoryPath: null }, body.ticket.id);
    expect(ticket).toMatchObject({ channel: 'proactive', categoryId: ids.category['010214'], territoryId: ids.territory['990102001001'], title: '【主动治理】滨江社区环境卫生问题集中' });
    expect(ticket.situation).toContain('同一事件的关联层级：滨江街道「环境卫生」');
  });
});
