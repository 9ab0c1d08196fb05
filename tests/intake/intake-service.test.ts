import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase, testDialect, type TestDatabase } from '../helpers/db';
import { createIntakeService, type IntakeService, type NewTicket } from '../../intake';
import { listAudit } from '../../audit';
import { FixedClock, Role, type Actor, type AppError, type CommandContext } from '../../core';

let database: TestDatabase;
let intake: IntakeService;
const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));

const TERRITORIES: Record<string, { id: string; cityId: string; name: string; level: string; path: string }> = {
  d1: { id: 'd1', cityId: 'c1', name: '美兰区', level: 'district', path: '/d1/' },
  s1: { id: 's1', cityId: 'c1', name: '白龙街道', level: 'street', path: '/d1/s1/' },
  s2: { id: 's2', cityId: 'c1', name: '海府街道', level: 'street', path: '/d1/s2/' },
  other: { id: 'other', cityId: 'c2', name: '别市', level: 'district', path: '/other/' },
};
const UNITS: Record<string, { id: string; cityId: string; name: string; active: boolean }> = {
  water: { id: 'water', cityId: 'c1', name: '自来水公司', active: true },
  power: { id: 'power', cityId: 'c1', name: '供电公司', active: true },
  closed: { id: 'closed', cityId: 'c1', name: '已撤并单位', active: false },
};

const mk = (role: Actor['role'], extra: Partial<Actor> = {}): Actor => ({
  kind: 'user', id: `${role}-id`, name: role, role, cityId: 'c1', unitId: null, territoryId: null, territoryPath: null, ...extra,
});
const agent = mk(Role.agent);
const dispatcher = mk(Role.dispatcher);
const waterHandler = mk(Role.unitHandler, { id: 'w1', unitId: 'water' });
const powerHandler = mk(Role.unitHandler, { id: 'p1', unitId: 'power' });
const gridS1 = mk(Role.gridMember, { id: 'g1', territoryId: 's1', territoryPath: '/d1/s1/' });
const ctx = (actor: Actor, idempotencyKey?: string): CommandContext => ({ actor, requestId: 'r', idempotencyKey });

const complete: NewTicket = {
  channel: 'phone', type: 'help', urgency: 'urgent', callerPhone: '138 0013 8000', citizenName: '王女士',
  occurredAt: '2025-10-09T09:30:00+08:00', addressText: '美兰区白龙南路88号3栋', territoryId: 's1',
  parties: '来电人及3栋住户', situation: '3栋楼下水管爆裂，路面积水', demand: '尽快派人抢修', handlingUnitId: 'water',
};

const errCode = async (p: Promise<unknown>) => p.then(() => 'OK', (e: AppError) => e.code);
const countTickets = async () => Number((await database.db.selectFrom('tickets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

beforeAll(async () => {
  database = await freshDatabase();
  intake = createIntakeService({
    db: database.db, dialect: database.dialect, clock,
    lookups: {
      territory: async (id) => TERRITORIES[id] ?? null,
      unit: async (id) => UNITS[id] ?? null,
      category: async () => null,
    },
  });
});
afterAll(async () => database?.dispose());
beforeEach(() => clock.set(new Date('2025-10-09T02:00:00Z')));

describe(`intake on ${testDialect}`, () => {
  it('registers a ticket with a readable number, the citizen and an audit row', async () => {
    const t = await intake.createTicket(ctx(agent), complete);
    expect(t.number).toMatch(/^20251009\d{6}$/);
    expect(t.status).toBe('accepted');
    expect(t.callerPhone).toBe('13800138000');
    expect(t.missingElements).toEqual([]);
    expect(t.occurredAt).toBe('2025-10-09T09:30:00+08:00');
    const trail = await listAudit(database.db, 'ticket', t.id);
    expect(trail.map((e) => e.action)).toEqual(['ticket.created']);
    expect((trail[0].after as Record<string, unknown>).number).toBe(t.number);
    expect(trail[0].actorRole).toBe('agent');
  });

  it('numbers tickets uniquely and in order under concurrency, restarting each China day', async () => {
    clock.set(new Date('2025-10-10T15:59:00Z')); // 23:59 in China
    const made = await Promise.all(Array.from({ length: 20 }, () => intake.createTicket(ctx(agent), { channel: 'sms', type: 'consultation' })));
    const seqs = made.map((t) => Number(t.number.slice(8))).sort((a, b) => a - b);
    expect(made.every((t) => t.number.startsWith('20251010'))).toBe(true);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    clock.set(new Date('2025-10-10T16:00:00Z')); // midnight in China
    expect((await intake.createTicket(ctx(agent), { channel: 'sms', type: 'consultation' })).number).toBe('20251011000001');
  });

  it('takes numbers in blocks (批量取号): two nodes never share a number, each counts through its own block, a failed registration burns one', async () => {
    const node = () => createIntakeService({
      db: database.db, dialect: database.dialect, clock, numberBlockSize: 5,
      lookups: { territory: async (id) => TERRITORIES[id] ?? null, unit: async (id) => UNITS[id] ?? null, category: async () => null },
    });
    const [a, b] = [node(), node()];
    clock.set(new Date('2025-10-12T02:00:00Z'));
    const consult = { channel: 'sms', type: 'consultation' } as const;
    const first = await a.createTicket(ctx(agent), consult);
    const second = await b.createTicket(ctx(agent), consult);
    // Node a took 1–5, node b 6–10.
    expect([first.number, second.number]).toEqual(['20251012000001', '20251012000006']);
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).createTicket(ctx(agent), consult)));
    const all = [first, second, ...made].map((t) => Number(t.number.slice(8)));
    expect(new Set(all).size).toBe(26);
    // Every block a node took is used up before it takes the next, so at most one block per node is part-used.
    const max = Math.max(...all);
    expect(max).toBeLessThanOrEqual(26 + 2 * 4);
    // A registration refused inside its transaction (a reused idempotency key with another body)
    // burns the number it took: a fresh node's next ticket skips it.
    const c = node();
    const key = 'block-burn-1';
    const x = await c.createTicket(ctx(agent, key), consult);
    expect(await errCode(c.createTicket(ctx(agent, key), { ...consult, title: '另一个请求' }))).toBe('IDEMPOTENCY_KEY_REUSED');
    const y = await c.createTicket(ctx(agent), consult);
    expect(Number(y.number.slice(8))).toBe(Number(x.number.slice(8)) + 2);
  });

  it('a retried create with the same idempotency key returns the first ticket and writes nothing more', async () => {
    const before = await countTickets();
    const a = await intake.createTicket(ctx(agent, 'call-42-ticket'), complete);
    const b = await intake.createTicket(ctx(agent, 'call-42-ticket'), complete);
    expect(b.id).toBe(a.id);
    expect(await countTickets()).toBe(before + 1);
    expect(await errCode(intake.createTicket(ctx(agent, 'call-42-ticket'), { ...complete, demand: '别的' }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countTickets()).toBe(before + 1);
  });

  it('refuses bad input and changes nothing', async () => {
    const before = await countTickets();
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, callerPhone: '12345678' }))).toBe('PHONE_INVALID');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, territoryId: 'nowhere' }))).toBe('TERRITORY_NOT_FOUND');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, territoryId: 'other' }))).toBe('TERRITORY_NOT_FOUND');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, handlingUnitId: 'ghost' }))).toBe('UNIT_NOT_FOUND');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, handlingUnitId: 'closed' }))).toBe('UNIT_INACTIVE');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, categoryId: 'ghost' }))).toBe('CATEGORY_NOT_FOUND');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, occurredAt: '2025-10-10T09:30:00+08:00' }))).toBe('DATE_IN_FUTURE');
    expect(await errCode(intake.createTicket(ctx(agent), { ...complete, lat: 20.0 }))).toBe('COORDINATES_INCOMPLETE');
    expect(await errCode(intake.createTicket(ctx(waterHandler), complete))).toBe('ROLE_FORBIDDEN');
    expect(await countTickets()).toBe(before);
  });

  it('one of two concurrent edits of the same version wins; the other gets VERSION_CONFLICT', async () => {
    const t = await intake.createTicket(ctx(agent), complete);
    const results = await Promise.allSettled([
      intake.updateElements(ctx(agent), t.id, t.version, { demand: '要求A' }),
      intake.updateElements(ctx(dispatcher), t.id, t.version, { demand: '要求B' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as AppError).code).toBe('VERSION_CONFLICT');
    const now = await intake.getTicket(agent, t.id);
    expect(now.version).toBe(2);
    const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ demand: string }>).value.demand;
    expect(now.demand).toBe(winner);
    const trail = await listAudit(database.db, 'ticket', t.id);
    expect(trail.map((e) => e.action)).toEqual(['ticket.created', 'ticket.updated']);
    expect(trail[1].before).toEqual({ demand: '尽快派人抢修' });
    expect(trail[1].after).toEqual({ demand: winner });
  });

  it('runs the closed loop with an audit row per step and refuses stale versions', async () => {
    let t = await intake.createTicket(ctx(agent), complete);
    t = await intake.transition(ctx(agent), t.id, t.version, { action: 'dispatch' });
    expect(t.status).toBe('dispatched');
    expect(await errCode(intake.transition(ctx(waterHandler), t.id, t.version - 1, { action: 'acknowledge' }))).toBe('VERSION_CONFLICT');
    expect(await errCode(intake.transition(ctx(powerHandler), t.id, t.version, { action: 'acknowledge' }))).toBe('TICKET_NOT_FOUND');
    t = await intake.transition(ctx(waterHandler), t.id, t.version, { action: 'acknowledge' });
    t = await intake.transition(ctx(waterHandler), t.id, t.version, { action: 'reply', result: '已更换爆裂管段，恢复供水' });
    t = await intake.transition(ctx(dispatcher), t.id, t.version, { action: 'approve_reply' });
    t = await intake.transition(ctx(agent), t.id, t.version, { action: 'start_callback' });
    t = await intake.transition(ctx(agent), t.id, t.version, { action: 'record_satisfaction', satisfaction: 'unsatisfied', comment: '仍有渗水' });
    expect(t.status).toBe('dispatched');
    expect(t.round).toBe(2);
    expect(t.result).toBeNull();
    t = await intake.transition(ctx(waterHandler), t.id, t.version, { action: 'acknowledge' });
    t = await intake.transition(ctx(waterHandler), t.id, t.version, { action: 'reply', result: '二次维修完成' });
    t = await intake.transition(ctx(dispatcher), t.id, t.version, { action: 'approve_reply' });
    t = await intake.transition(ctx(agent), t.id, t.version, { action: 'start_callback' });
    t = await intake.transition(ctx(agent), t.id, t.version, { action: 'record_satisfaction', satisfaction: 'satisfied' });
    expect(t.status).toBe('closed');
    expect(t.closedAt).not.toBeNull();
    const trail = await listAudit(database.db, 'ticket', t.id);
    expect(trail.map((e) => e.action)).toEqual([
      'ticket.created', 'ticket.dispatch', 'ticket.acknowledge', 'ticket.reply', 'ticket.approve_reply', 'ticket.start_callback',
      'ticket.record_satisfaction', 'ticket.acknowledge', 'ticket.reply', 'ticket.approve_reply', 'ticket.start_callback', 'ticket.record_satisfaction',
    ]);
    expect(trail[6].before).toMatchObject({ status: 'callback', round: 1, result: '已更换爆裂管段，恢复供水' });
    expect(trail[6].after).toMatchObject({ status: 'dispatched', round: 2, result: null });
  });

  it('a retried transition with the same key is answered once', async () => {
    let t = await intake.createTicket(ctx(agent), complete);
    const a = await intake.transition(ctx(agent, 'k-dispatch'), t.id, t.version, { action: 'dispatch' });
    const b = await intake.transition(ctx(agent, 'k-dispatch'), t.id, t.version, { action: 'dispatch' });
    expect(b.version).toBe(a.version);
    const trail = await listAudit(database.db, 'ticket', t.id);
    expect(trail.filter((e) => e.action === 'ticket.dispatch')).toHaveLength(1);
  });

  it('return → re-dispatch to another unit, which then owns the ticket', async () => {
    let t = await intake.createTicket(ctx(agent), complete);
    t = await intake.transition(ctx(agent), t.id, t.version, { action: 'dispatch' });
    t = await intake.transition(ctx(waterHandler), t.id, t.version, { action: 'return_to_center', reason: '系供电线路问题' });
    expect(t.status).toBe('returned');
    expect(await errCode(intake.getTicket(waterHandler, t.id))).toBe('OK');
    t = await intake.transition(ctx(dispatcher), t.id, t.version, { action: 'redispatch', handlingUnitId: 'power', reason: '改派供电公司' });
    expect(t.handlingUnitId).toBe('power');
    expect(await errCode(intake.getTicket(waterHandler, t.id))).toBe('TICKET_NOT_FOUND');
    expect((await intake.getTicket(powerHandler, t.id)).status).toBe('dispatched');
    const trail = await listAudit(database.db, 'ticket', t.id);
    expect(trail.at(-1)).toMatchObject({ action: 'ticket.redispatch', reason: '改派供电公司', before: { status: 'returned', handling_unit_id: 'water' }, after: { status: 'dispatched', handling_unit_id: 'power' } });
  });

  it('merges a duplicate into an open ticket and links them', async () => {
    const main = await intake.createTicket(ctx(agent), complete);
    const dup = await intake.createTicket(ctx(agent), { ...complete, callerPhone: '13900139000' });
    const merged = await intake.transition(ctx(agent), dup.id, dup.version, { action: 'merge', intoTicketId: main.id, reason: '同一水管爆裂' });
    expect(merged.status).toBe('merged');
    expect(merged.mergedIntoId).toBe(main.id);
    expect(await intake.linksOf(agent, main.id)).toEqual([expect.objectContaining({ ticketId: dup.id, kind: 'merged', direction: 'incoming' })]);
    const closed = await intake.createTicket(ctx(agent), complete);
    await intake.transition(ctx(dispatcher), closed.id, closed.version, { action: 'cancel', reason: '测试' });
    const third = await intake.createTicket(ctx(agent), complete);
    expect(await errCode(intake.transition(ctx(agent), third.id, third.version, { action: 'merge', intoTicketId: closed.id }))).toBe('MERGE_TARGET_FINAL');
  });

  it('scopes: a unit sees its own tickets, a grid member its area, phones masked, confidential citizens hidden', async () => {
    const mine = await intake.createTicket(ctx(agent), { ...complete, confidential: true });
    const elsewhere = await intake.createTicket(ctx(agent), { ...complete, territoryId: 's2', handlingUnitId: 'power' });
    const unitList = await intake.listTickets(waterHandler, {}, 1, 200);
    expect(unitList.items.every((t) => t.handlingUnitId === 'water')).toBe(true);
    expect(unitList.items.some((t) => t.id === elsewhere.id)).toBe(false);
    const seen = await intake.getTicket(waterHandler, mine.id);
    expect(seen.citizenHidden).toBe(true);
    expect(seen.callerPhone).toBeNull();
    expect(seen.citizenName).toBeNull();
    const open = await intake.createTicket(ctx(agent), complete);
    expect((await intake.getTicket(waterHandler, open.id)).callerPhone).toBe('138****8000');
    expect((await intake.getTicket(agent, mine.id)).callerPhone).toBe('13800138000');
    const gridList = await intake.listTickets(gridS1, {}, 1, 200);
    expect(gridList.items.some((t) => t.id === mine.id)).toBe(true);
    expect(gridList.items.some((t) => t.id === elsewhere.id)).toBe(false);
    expect(await errCode(intake.getTicket(gridS1, elsewhere.id))).toBe('TICKET_NOT_FOUND');
    expect(await errCode(intake.listTickets(waterHandler, { callerPhone: '13800138000' }))).toBe('SCOPE_FORBIDDEN');
    const unitAudit = await intake.auditOf(waterHandler, mine.id);
    expect(JSON.stringify(unitAudit)).not.toContain('13800138000');
    expect(JSON.stringify(unitAudit)).not.toContain('王女士');
  });

  it('gives caller history and flags repeat callers', async () => {
    const r = await intake.lookupCitizen(agent, '+86 138-0013-8000');
    expect(r.citizen?.name).toBe('王女士');
    expect(r.tickets.length).toBeGreaterThan(2);
    expect(r.repeatCaller).toBe(true);
    expect(r.openTickets).toBeGreaterThan(0);
    expect((await intake.lookupCitizen(agent, '13700000000')).citizen).toBeNull();
    expect(await errCode(intake.lookupCitizen(waterHandler, '13800138000'))).toBe('ROLE_FORBIDDEN');
    expect(await errCode(intake.lookupCitizen(agent, 'abc'))).toBe('PHONE_INVALID');
  });

  it('a citizen marked confidential makes later tickets confidential', async () => {
    const t = await intake.createTicket(ctx(agent), { ...complete, callerPhone: '13511112222' });
    await intake.setCitizenConfidential(ctx(agent), t.citizenId!, true);
    const next = await intake.createTicket(ctx(agent), { ...complete, callerPhone: '13511112222' });
    expect(next.confidential).toBe(true);
    expect((await listAudit(database.db, 'citizen', t.citizenId!)).map((e) => e.action)).toEqual(['citizen.confidentiality_set']);
  });

  it('refuses edits in final states', async () => {
    const t = await intake.createTicket(ctx(agent), complete);
    const c = await intake.transition(ctx(dispatcher), t.id, t.version, { action: 'cancel', reason: '误登记' });
    expect(await errCode(intake.updateElements(ctx(agent), t.id, c.version, { demand: 'x' }))).toBe('TICKET_NOT_EDITABLE');
    expect(await errCode(intake.updateElements(ctx(waterHandler), t.id, c.version, { demand: 'x' }))).toBe('ROLE_FORBIDDEN');
  });

  it('offers open tickets about the same problem at the same place, and the caller\'s own, as duplicates', async () => {
    const first = await intake.createTicket(ctx(agent), { ...complete, callerPhone: '13622223333', situation: '白龙南路88号3栋楼下自来水管爆裂，水漫到路面', demand: '请自来水公司尽快抢修' });
    const other = await intake.createTicket(ctx(agent), { ...complete, territoryId: 's2', callerPhone: '13622224444', situation: '海府路噪音扰民', demand: '请处理' });
    const r = await intake.findDuplicates(agent, { text: '88号3栋楼下水管爆了，路面全是水，快来修', territoryId: 's1', callerPhone: '13622223333' });
    // Earlier tests left other open burst-pipe tickets at the same place: they are candidates too.
    const hit = r.sameProblem.find((c) => c.ticket.id === first.id)!;
    expect(hit.reasons.map((x) => x.en)).toEqual(expect.arrayContaining(['same place', 'same caller']));
    expect(r.sameProblem.every((c, i) => i === 0 || c.score <= r.sameProblem[i - 1].score)).toBe(true);
    expect(r.sameProblem.some((c) => c.ticket.id === other.id)).toBe(false);
    expect(r.sameCaller.map((t) => t.id)).toContain(first.id);
    expect(await errCode(intake.findDuplicates(waterHandler, { text: 'x' }))).toBe('ROLE_FORBIDDEN');
  });

  it('calls two reports in one grid the same place only at the same house number (20号 is not 88号)', async () => {
    const at88 = await intake.createTicket(ctx(agent), { ...complete, callerPhone: '13622225555', addressText: '白龙南路88号', situation: '路灯不亮，晚上很黑', demand: '请修路灯' });
    const at20 = await intake.createTicket(ctx(agent), { ...complete, callerPhone: '13622226666', addressText: '白龙南路20号', situation: '路灯不亮，晚上很黑', demand: '请修路灯' });
    const reasonsOf = async (addressText: string) => {
      const r = await intake.findDuplicates(agent, { text: '路灯不亮，晚上很黑', territoryId: 's1', addressText });
      const en = (id: string) => r.sameProblem.find((c) => c.ticket.id === id)?.reasons.map((x) => x.en) ?? [];
      return { at88: en(at88.id), at20: en(at20.id) };
    };
    const asked88 = await reasonsOf('白龙南路88号院门口');
    expect(asked88.at88).toContain('same place');
    expect(asked88.at20).not.toContain('same place');
    expect(asked88.at20).toContain('same street');
    // Without a house number, the grid is all that is known: the same place.
    expect((await reasonsOf('白龙南路')).at20).toContain('same place');
  });
});
