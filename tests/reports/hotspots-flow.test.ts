/**
 * Hotspot warnings end to end on the real server: counts kept in the registration's transaction
 * (and nothing from a rolled-back one), distinct callers, corrections on recategorisation, move,
 * merge and cancellation; a realistic burst from real citizen messages raising blue, yellow and red
 * once each, as one incident (热点事件) with the broader levels it drove; who receives them live (the
 * territory's leaders and grid leaders, not another grid's); the API's scopes, masking and bad
 * input; conversion to one proactive ticket however often asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestApp, type TestApp } from '../helpers/app';
import { until } from '../helpers/until';
import { listen, LiveClient, publishMarker } from '../live/live-client';
import { actorOf, countOf, hotspotIds, register, rubbishMessages, type HotspotIds } from './hotspots-fixtures';

const DAY = '2025-10-09'; // the test clock: 2025-10-09T10:00 China time
let t: TestApp;
let ids: HotspotIds;
let base: string;
const clients: LiveClient[] = [];

async function connect(username: string) {
  const c = await LiveClient.ready(base, { cookie: await t.login(username) });
  clients.push(c);
  return c;
}

async function api(username: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(username) }, payload: payload as never });
}

beforeAll(async () => {
  t = await startTestApp();
  base = await listen(t.app);
  ids = await hotspotIds(t);
  // Another community's grid leader (望湖社区第一网格): must never hear of 滨江社区's warnings.
  await t.ctx.identity.createUser({ actor: actorOf(t, ids, 'admin1', 'admin') }, {
    cityId: 'demo', username: 'gridlead2', displayName: '网格长 王磊', role: 'grid_leader', password: 'wanghu-grid-leader-2', territoryId: ids.territory['990102002001001'],
  });
  // Logged in once with its own password (a new account must meet the policy); later logins reuse the session.
  await t.login('gridlead2', 'wanghu-grid-leader-2');
  ids = await hotspotIds(t);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

describe('counts in the registration\'s transaction', () => {
  it('a ticket counts at its level-2 and level-3 categories × its street and community; a rolled-back one counts nothing', async () => {
    const [l3, l2, community, street] = [ids.category['010201'], ids.category['0102'], ids.territory['990102001001'], ids.territory['990102001']];
    const before = { l3c: await countOf(t, l3, community, DAY), l2s: await countOf(t, l2, street, DAY) };
    await register(t, ids, { category: '010201', grid: '990102001001001', phone: '13900000001' });
    expect(await countOf(t, l3, community, DAY)).toEqual({ tickets: before.l3c.tickets + 1, callers: before.l3c.callers + 1 });
    expect(await countOf(t, l3, street, DAY)).toEqual({ tickets: 1, callers: 1 });
    expect((await countOf(t, l2, street, DAY)).tickets).toBe(before.l2s.tickets + 1);
    // Not counted at the grid, nor at the first-level category.
    expect(await countOf(t, l3, ids.territory['990102001001001'], DAY)).toEqual({ tickets: 0, callers: 0 });
    expect(await countOf(t, ids.category['01'], community, DAY)).toEqual({ tickets: 0, callers: 0 });

    const off = t.ctx.intake.events.onWithin('ticket.created', async (_trx, e) => {
      if (e.ticket.title === '回滚') throw new Error('a later step of the registration failed');
    });
    try {
      await expect(register(t, ids, { category: '010201', grid: '990102001001001', phone: '13900000002', title: '回滚' })).rejects.toThrow('failed');
    } finally {
      off();
    }
    expect(await countOf(t, l3, community, DAY)).toEqual({ tickets: before.l3c.tickets + 1, callers: before.l3c.callers + 1 });
    // One caller at the community and one at the street: the rolled-back caller left no row.
    const callers = await t.ctx.database.db.selectFrom('hotspot_callers').select('territory_id').where('category_id', '=', l3).execute();
    expect(callers.map((c) => c.territory_id).sort()).toEqual([community, street].sort());
  });

  it('counts distinct callers: one number calling three times is one caller; tickets without a number are one each', async () => {
    const [l3, community] = [ids.category['010203'], ids.territory['990102001001']];
    for (let i = 0; i < 3; i++) await register(t, ids, { category: '010203', grid: '990102001001001', phone: '13900000011' });
    expect(await countOf(t, l3, community, DAY)).toEqual({ tickets: 3, callers: 1 });
    await register(t, ids, { category: '010203', grid: '990102001001002', phone: '13900000012' });
    await register(t, ids, { category: '010203', grid: '990102001001002', phone: null });
    await register(t, ids, { category: '010203', grid: '990102001001002', phone: null });
    expect(await countOf(t, l3, community, DAY)).toEqual({ tickets: 6, callers: 4 });
  });

  it('a recategorised or moved ticket moves its count; a merged duplicate counts where its target counts; a cancelled one nowhere', async () => {
    const c = (code: string) => ids.category[code];
    const [binjiang, wanghu] = [ids.territory['990102001001'], ids.territory['990102002001']];
    const agent = { actor: actorOf(t, ids, 'agent1', 'agent') };
    const a = await register(t, ids, { category: '010204', grid: '990102001001001', phone: '13900000021' });
    const b = await register(t, ids, { category: '010204', grid: '990102001001001', phone: '13900000021' });
    expect(await countOf(t, c('010204'), binjiang, DAY)).toEqual({ tickets: 2, callers: 1 });

    // Recategorised (城市公共设施 → 公园管理): one ticket moves, the caller stays counted where one ticket remains.
    await t.ctx.intake.updateElements(agent, a.id, a.version, { categoryId: c('010207') });
    expect(await countOf(t, c('010204'), binjiang, DAY)).toEqual({ tickets: 1, callers: 1 });
    expect(await countOf(t, c('010207'), binjiang, DAY)).toEqual({ tickets: 1, callers: 1 });
    // Moved to 望湖社区: gone from 滨江社区 (the caller with it), counted at 望湖社区 and its street.
    const a2 = await t.ctx.intake.getTicket(agent.actor, a.id);
    await t.ctx.intake.updateElements(agent, a.id, a2.version, { territoryId: ids.territory['990102002001001'] });
    expect(await countOf(t, c('010207'), binjiang, DAY)).toEqual({ tickets: 0, callers: 0 });
    expect(await countOf(t, c('010207'), wanghu, DAY)).toEqual({ tickets: 1, callers: 1 });
    expect(await countOf(t, c('010207'), ids.territory['990102002'], DAY)).toEqual({ tickets: 1, callers: 1 });

    // Merged as a duplicate into b: the request now counts where b counts (城市公共设施, 滨江社区).
    const a3 = await t.ctx.intake.getTicket(agent.actor, a.id);
    await t.ctx.intake.transition(agent, a.id, a3.version, { action: 'merge', intoTicketId: b.id });
    expect(await countOf(t, c('010207'), wanghu, DAY)).toEqual({ tickets: 0, callers: 0 });
    expect(await countOf(t, c('010204'), binjiang, DAY)).toEqual({ tickets: 2, callers: 1 });

    // Cancelled (registered by mistake): out of the counts.
    const d = await register(t, ids, { category: '010204', grid: '990102001001001', phone: '13900000022' });
    expect(await countOf(t, c('010204'), binjiang, DAY)).toEqual({ tickets: 3, callers: 2 });
    await t.ctx.intake.transition({ actor: actorOf(t, ids, 'dispatcher1', 'dispatcher') }, d.id, d.version, { action: 'cancel', reason: '重复登记' });
    expect(await countOf(t, c('010204'), binjiang, DAY)).toEqual({ tickets: 2, callers: 1 });
  });
});

describe('a burst of real complaints about rubbish in 滨江社区', () => {
  // Real wording when ../shared/data is on the machine; the same burst in plain words otherwise.
  const burst = rubbishMessages(20) ?? Array.from({ length: 20 }, (_, i) => ({ user: `u${i}`, subject: '小区垃圾无人清运', text: `垃圾桶满溢多日无人清运（第${i + 1}位来电人）` }));
  let warningId: string; // the warning of 环境卫生 × 滨江社区
  let incidentId: string; // the incident it heads

  it('raises blue at 5 tickets, yellow at 10 and red at 20, each once, live to the matching leaders only', async () => {
    const [cat, community] = [ids.category['010214'], ids.territory['990102001001']];
    const watchers = await Promise.all(['supervisor1', 'gridlead1', 'secretary1', 'townlead1', 'gridlead2', 'agent1'].map(connect));
    const [supervisor, gridLead, secretary, townLead, otherGridLead, agent] = watchers;
    const ofGroup = (c: LiveClient) => c.eventsOf('hotspot.raised').filter((e) => e.data.warning.categoryId === cat && e.data.warning.territoryId === community);
    const levelNow = async () => Number((await t.ctx.database.db.selectFrom('hotspot_warnings').select('level').where('category_id', '=', cat).where('territory_id', '=', community).executeTakeFirst())?.level ?? 0);
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const m = burst![i];
        await register(t, ids, { category: '010214', grid: i % 2 ? '990102001001001' : '990102001001002', phone: `1390001${String(i).padStart(4, '0')}`, title: m.subject, situation: m.text, confidential: i === 3 });
      }
    };
    await send(0, 4);
    expect(await levelNow()).toBe(0); // 4 tickets: below every minimum
    await send(4, 5);
    await until(async () => (await levelNow()) === 1, 'blue');
    await send(5, 10);
    await until(async () => (await levelNow()) === 2, 'yellow');
    await send(10, 20);
    await until(async () => (await levelNow()) === 3, 'red');
    expect(await countOf(t, cat, community, DAY)).toEqual({ tickets: 20, callers: 20 });

    for (const c of [supervisor, gridLead, secretary, townLead]) {
      await c.waitFor(() => ofGroup(c).length === 3, 'three raises');
      expect(ofGroup(c).map((e) => e.data.warning.levelCode)).toEqual(['blue', 'yellow', 'red']);
    }
    const red = ofGroup(gridLead)[2].data.warning;
    expect(red).toMatchObject({ level: 3, levelZh: '红色预警（严重）', territoryName: '滨江社区', categoryName: '环境卫生', day: DAY, tickets: 20, callers: 20, status: 'open' });
    warningId = red.id;
    incidentId = ofGroup(gridLead)[2].data.incident.id;
    await t.ctx.hotspots.flush(); // the broader levels of the same evaluation are raised after the headline, each in its own transaction
    // One incident for the burst: its headline is this warning, and the broader levels the burst drove to red are its related levels.
    const incident = json(await api('supervisor1', 'GET', `/hotspots/${incidentId}`)).warning;
    expect(incident).toMatchObject({ headlineWarningId: warningId, level: 3, territoryName: '滨江社区', categoryName: '环境卫生' });
    expect(incident.related.map((x: any) => `${x.label}${x.levelCode}`).sort()).toEqual(['滨江社区「城市建设和市政管理」red', '滨江街道「环境卫生」red', '滨江街道「城市建设和市政管理」red'].sort());
    // The bell (通知, the work-order outbox) of each matching leader tells of each level of the incident once; another grid's leader and a seat get none.
    const bell = async (u: string) => json(await api(u, 'GET', '/notifications?limit=200')).items.filter((n: any) => n.event === 'hotspot.raised' && n.payload.incidentId === incidentId);
    for (const u of ['supervisor1', 'gridlead1', 'secretary1', 'townlead1']) {
      const notices = await bell(u);
      expect({ u, levels: notices.map((n: any) => n.payload.levelCode).sort() }).toEqual({ u, levels: ['blue', 'red', 'yellow'] });
      expect(notices.every((n: any) => n.read === false && n.recipient.kind === 'user')).toBe(true);
    }
    expect((await bell('gridlead1')).find((n: any) => n.payload.levelCode === 'red').payload.title).toBe('红色预警（严重）：滨江社区「环境卫生」诉求集中（' + DAY + '）');
    expect(await bell('gridlead2')).toEqual([]);
    expect(await bell('agent1')).toEqual([]);
    // Another community's grid leader and a seat hear nothing of it.
    const m = await publishMarker(t, [ids.user.gridlead2, ids.user.agent1]);
    await otherGridLead.waitFor((x) => x.seq === m.seq, 'marker');
    await agent.waitFor((x) => x.seq === m.seq, 'marker');
    expect(otherGridLead.eventsOf('hotspot.raised')).toEqual([]);
    expect(agent.eventsOf('hotspot.raised')).toEqual([]);
    // The street's warning of the same category reaches the street's leader but not the community secretary of another community.
    expect(townLead.eventsOf('hotspot.raised').some((e) => e.data.warning.territoryId === ids.territory['990102001'])).toBe(true);

    // The sweep finds nothing new to raise, and repeats raise nothing either.
    const audits = async () => Number((await t.ctx.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('entity_id', '=', warningId).where('action', '=', 'hotspot.raised').executeTakeFirstOrThrow()).n);
    expect(await audits()).toBe(3);
    expect((await t.ctx.hotspots.sweep()).filter((w) => w.id === warningId)).toEqual([]);
    await t.ctx.hotspots.evaluate('demo', [{ cityId: 'demo', categoryId: cat, territoryId: community }]);
    expect(await audits()).toBe(3);
  });

  it('lists by scope: the city for supervisors, the territory for its leaders, nothing for another grid; units and grid members refused', async () => {
    const listed = async (u: string) => json(await api(u, 'GET', `/hotspots?fromDay=${DAY}&toDay=${DAY}&minLevel=3`)).items.map((w: any) => w.id);
    expect(await listed('supervisor1')).toContain(incidentId);
    expect(await listed('gridlead1')).toContain(incidentId);
    expect(await listed('secretary1')).toContain(incidentId);
    expect(await listed('townlead1')).toContain(incidentId);
    expect(await listed('gridlead2')).not.toContain(incidentId);
    for (const u of ['water1', 'grid1']) {
      const r = await api(u, 'GET', '/hotspots');
      expect(r.statusCode).toBe(403);
      expect(json(r)).toMatchObject({ code: 'ROLE_FORBIDDEN' });
    }
    const other = await api('gridlead2', 'GET', `/hotspots/${incidentId}`);
    expect(other.statusCode).toBe(404);
    expect(json(other)).toMatchObject({ code: 'HOTSPOT_NOT_FOUND', message_zh: expect.stringContaining('不存在') });
  });

  it('shows the tickets behind it (of all its levels): full to the center, masked and without the confidential one to a grid leader', async () => {
    // The burst's 20 and the others counted in its broader levels that day, once each.
    const members = await t.ctx.database.db.selectFrom('hotspot_warnings').select(['category_id', 'territory_id']).where('incident_id', '=', incidentId).execute();
    const behind = new Set<string>();
    for (const m of members) {
      for (const r of await t.ctx.database.db.selectFrom('hotspot_ticket_groups').select('ticket_id').where('category_id', '=', m.category_id).where('territory_id', '=', m.territory_id).where('day', '=', DAY).execute()) behind.add(r.ticket_id);
    }
    expect(behind.size).toBeGreaterThan(20);
    const center = json(await api('supervisor1', 'GET', `/hotspots/${incidentId}`));
    expect(center.tickets.map((x: any) => x.id).sort()).toEqual([...behind].sort());
    expect(center.tickets.filter((x: any) => x.confidential)).toHaveLength(1);
    expect(center.tickets.find((x: any) => x.callerPhone?.startsWith('1390001')).callerPhone).toMatch(/^1390001\d{4}$/);
    expect(center.now).toEqual({ tickets: 20, callers: 20 });
    const grid = json(await api('gridlead1', 'GET', `/hotspots/${incidentId}`));
    // gridlead1 holds 第一网格: those of 第二网格 are not theirs to read, nor is the confidential one.
    expect(grid.tickets.every((x: any) => !x.confidential)).toBe(true);
    expect(grid.tickets.length + grid.hiddenTickets).toBe(behind.size);
    expect(grid.tickets.length).toBeGreaterThan(0);
    for (const x of grid.tickets) expect(x.callerPhone ?? '').not.toMatch(/^1390001\d{4}$/);
  });

  it('refuses bad input with clear errors', async () => {
    const bad = async (u: string, method: 'GET' | 'POST', url: string, body: unknown, status: number, code: string) => {
      const r = await api(u, method, url, body);
      expect(r.statusCode, url).toBe(status);
      expect(json(r).code).toBe(code);
    };
    await bad('supervisor1', 'GET', '/hotspots?fromDay=2025-10-09&toDay=2025-10-01', undefined, 400, 'PERIOD_INVALID');
    const r = await api('supervisor1', 'GET', '/hotspots?fromDay=2025-02-30');
    expect(r.statusCode).toBe(400);
    await bad('supervisor1', 'GET', '/hotspots/nope', undefined, 404, 'HOTSPOT_NOT_FOUND');
    await bad('supervisor1', 'POST', `/hotspots/${incidentId}/acknowledge`, { version: 99 }, 409, 'VERSION_CONFLICT');
    await bad('supervisor1', 'POST', `/hotspots/${incidentId}/dismiss`, { version: 1, reason: '  ' }, 400, 'REASON_REQUIRED');
    await bad('gridlead2', 'POST', `/hotspots/${incidentId}/convert`, undefined, 404, 'HOTSPOT_NOT_FOUND');
    // A warning's own id is not an incident's (one of the broader levels here).
    await bad('supervisor1', 'GET', `/hotspots/${warningId === incidentId ? 'nope' : warningId}`, undefined, 404, 'HOTSPOT_NOT_FOUND');
  });

  it('turns into one proactive ticket linked to the tickets behind it, however often and by whoever asks', async () => {
    const [cat, community] = [ids.category['010214'], ids.territory['990102001001']];
    const first = await api('supervisor1', 'POST', `/hotspots/${incidentId}/convert`);
    expect(first.statusCode).toBe(200);
    const a = json(first);
    expect(a).toMatchObject({ warning: { status: 'converted', proactiveTicketId: a.ticket.id }, linkedTickets: expect.any(Number) });
    expect(a.linkedTickets).toBeGreaterThan(20);
    const again = json(await api('townlead1', 'POST', `/hotspots/${incidentId}/convert`));
    expect(again.ticket).toEqual(a.ticket);
    const ticket = await t.ctx.intake.getTicket(actorOf(t, ids, 'supervisor1', 'supervisor'), a.ticket.id);
    expect(ticket).toMatchObject({ channel: 'proactive', categoryId: cat, territoryId: community, urgency: 'urgent' });
    expect(ticket.title).toBe('【主动治理】滨江社区环境卫生问题集中');
    expect((await t.ctx.intake.linksOf(actorOf(t, ids, 'supervisor1', 'supervisor'), a.ticket.id)).length).toBeGreaterThanOrEqual(20);
    // The hotline's own ticket is not citizens' demand: the counts did not move.
    expect(await countOf(t, cat, community, DAY)).toEqual({ tickets: 20, callers: 20 });
    const n = await t.ctx.database.db.selectFrom('tickets').select((eb) => eb.fn.countAll().as('n')).where('channel', '=', 'proactive').executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(1);
    const ack = await api('supervisor1', 'POST', `/hotspots/${incidentId}/acknowledge`, { version: a.warning.version });
    expect(ack.statusCode).toBe(409);
    expect(json(ack).code).toBe('HOTSPOT_NOT_OPEN');
    const trail = json(await api('supervisor1', 'GET', `/hotspots/${incidentId}`)).trail.map((e: any) => e.action);
    expect(trail[0]).toBe('hotspot.raised');
    expect(trail.filter((x: string) => x === 'hotspot.incident.opened')).toHaveLength(1);
    expect(trail.at(-1)).toBe('hotspot.converted');
    // Its warnings mirror the incident's handling.
    const statuses = await t.ctx.database.db.selectFrom('hotspot_warnings').select('status').where('incident_id', '=', incidentId).execute();
    expect(new Set(statuses.map((x) => x.status))).toEqual(new Set(['converted']));
  });
});

describe('acknowledge and dismiss', () => {
  it('a leader acknowledges an incident of their territory, audited and told live; a dismissal needs a reason', async () => {
    // The incident of 居民服务设施 (010203) in 滨江社区, raised by the counting tests above (6 tickets from 4 callers).
    const list = json(await api('townlead1', 'GET', `/hotspots?status=open&categoryId=${ids.category['010203']}`)).items;
    const earlier = list.find((w: any) => w.categoryId === ids.category['010203'] && w.territoryId === ids.territory['990102001001']);
    expect(earlier).toBeTruthy();
    const gridLead = await connect('gridlead1');
    const r = await api('townlead1', 'POST', `/hotspots/${earlier.id}/acknowledge`, { version: earlier.version, note: '已安排排查' });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({ id: earlier.id, status: 'acknowledged', statusZh: '已知悉', note: '已安排排查', handledBy: ids.user.townlead1 });
    await gridLead.waitFor((m) => m.type === 'hotspot.updated' && m.data.incident.id === earlier.id, 'the acknowledgement live');
    const trail = json(await api('supervisor1', 'GET', `/hotspots/${earlier.id}`)).trail;
    expect(trail.at(-1)).toMatchObject({ action: 'hotspot.acknowledged', actorRole: 'town_leader', reason: '已安排排查' });
    // Its broader levels (城市建设和市政管理) went with the bigger burst of rubbish when they rose: it holds its own two now.
    // Whether one had joined it first (then left, recorded as hotspot.incident.left) depends on the
    // order the flush evaluated the day's groups, which differs between runs on MariaDB: the end state
    // is what is asserted — its related levels are its own street level only.
    expect(trail.filter((e: any) => e.action === 'hotspot.incident.left').length).toBeLessThanOrEqual(2);
    expect(json(r).related.map((x: any) => x.label)).toEqual(['滨江街道「居民服务设施」']);
  });

  it('a supervisor dismisses an incident with a reason; a dismissed incident cannot become a ticket', async () => {
    // A small burst of 公园管理 in 滨江社区: its own incident (the broader levels are already red, with the rubbish).
    for (let i = 0; i < 5; i++) await register(t, ids, { category: '010207', grid: '990102001001001', phone: `1390002${String(i).padStart(4, '0')}` });
    await t.ctx.hotspots.flush();
    const list = json(await api('supervisor1', 'GET', `/hotspots?status=open&categoryId=${ids.category['010207']}`)).items;
    const w = list.find((x: any) => x.territoryId === ids.territory['990102001001']);
    expect(w).toMatchObject({ categoryName: '公园管理', levelCode: 'blue', related: [expect.objectContaining({ label: '滨江街道「公园管理」' })] });
    const r = await api('supervisor1', 'POST', `/hotspots/${w.id}/dismiss`, { version: w.version, reason: '公园活动引起，已知晓' });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({ status: 'dismissed', statusZh: '已排除', note: '公园活动引起，已知晓' });
    const c = await api('supervisor1', 'POST', `/hotspots/${w.id}/convert`);
    expect(c.statusCode).toBe(409);
    expect(json(c).code).toBe('HOTSPOT_DISMISSED');
    const audit = await t.ctx.database.db.selectFrom('audit_events').select(['action', 'reason', 'actor_role']).where('entity_id', '=', w.id).where('action', '=', 'hotspot.dismissed').execute();
    expect(audit).toEqual([{ action: 'hotspot.dismissed', reason: '公园活动引起，已知晓', actor_role: 'supervisor' }]);
  });
});
