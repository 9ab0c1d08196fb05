import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, json, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { listAudit } from '../../audit';

/**
 * Each dispatch rule with a worked case from the demo city, through the HTTP API. The clock stands
 * at Thursday 2025-10-09 10:00 (China): three working days later is Monday 10-13, because Saturday
 * 10-11 is a make-up workday (调休).
 */
let t: TestApp;
let agent: string;
let dispatcher: string;
const unitId = async (code: string) => (await t.ctx.directory.findUnitByCode('demo', code))!.id;
const plan = async (body: object) => {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/routing/plan', headers: { cookie: agent }, payload: body });
  expect(res.statusCode, res.body).toBe(200);
  return json(res);
};
const PLACE = '白龙南路88号'; // grid 990102001001001 of 滨江街道

beforeAll(async () => {
  t = await startTestApp();
  agent = await t.login('agent1');
  dispatcher = await t.login('dispatcher1');
});
afterAll(async () => t?.close());

describe(`the routing plan on the demo city (${testDialect})`, () => {
  it('(a) by function: 私搭乱建 goes to the street office by the responsibility list, with 自然资源和规划局 co-handling', async () => {
    const p = await plan({ text: '楼顶有人私搭乱建', categoryCode: '01030201', address: PLACE, type: 'report' });
    expect(p).toMatchObject({ rule: 'by_function', ruleZh: '按职能划分', action: 'dispatch', leadUnit: { code: 'st-990102001' }, coUnits: [{ code: 'dept-zrzyj' }] });
    expect(p.responsibility.itemCode).toBe('DEMO-01030201-01');
    expect(p.territory).toMatchObject({ status: 'resolved', source: 'address' });
    // 复杂事项: 5 working days from Thursday 10:00 → Friday 10-17 (10/11 is a make-up workday).
    expect(p.policy.code).toBe('complex');
    expect(p.deadlines.reply).toBe('2025-10-15T10:00:00+08:00');
    expect(p.explanation.map((e: { zh: string }) => e.zh).join('\n')).toContain('按责任清单 DEMO-01030201-01');
  });

  it('(a) situation keywords pick the more specific item: 无照卖菜 is for 市场监管, plain 摆摊 for 城管', async () => {
    expect((await plan({ text: '小区门口有人摆摊卖菜，无照经营', categoryCode: '01020201', address: PLACE })).leadUnit.code).toBe('dept-scjgj');
    expect((await plan({ text: '路上有人摆摊', categoryCode: '01020201', address: PLACE })).leadUnit.code).toBe('dept-cgj-zfdd');
  });

  it('(b) first responder: where 市场监管 and 城管 share the function, the unit the citizen asked first leads', async () => {
    const p = await plan({ text: '小区门口有人摆摊卖菜，无照经营', categoryCode: '01020201', address: PLACE, firstAskedUnitId: await unitId('dept-cgj-zfdd') });
    expect(p).toMatchObject({ rule: 'first_responder', leadUnit: { code: 'dept-cgj-zfdd' }, coUnits: [{ code: 'dept-scjgj' }] });
  });

  it('(c) territory fallback: no function fits → the street office of the place', async () => {
    const p = await plan({ text: '咨询党组织关系转接', categoryCode: '0201', address: PLACE, type: 'consultation' });
    expect(p).toMatchObject({ rule: 'territory_fallback', leadUnit: { code: 'st-990102001' } });
  });

  it('(d) a burst water main goes straight to the water company, on site within 1 hour', async () => {
    const p = await plan({ text: '水管爆了，路面冒水', categoryCode: '01021603', address: PLACE, urgency: 'emergency' });
    expect(p).toMatchObject({ rule: 'urgent', leadUnit: { code: 'util-water' }, policy: { code: 'utility-onsite' } });
    expect(p.deadlines.onSite).toBe('2025-10-09T11:00:00+08:00');
  });

  it('(e) a consultation the knowledge base answers is answered on the spot, with the article', async () => {
    const p = await plan({ text: '社保卡丢了怎么补办', type: 'consultation' });
    expect(p).toMatchObject({ rule: 'answer_on_spot', action: 'answer_on_spot', leadUnit: null });
    expect(p.knowledgeArticleId).toMatch(/^[0-9A-Z]{26}$/);
    expect(p.explanation.map((e: { zh: string }) => e.zh).join('\n')).toContain('知识库可直接答复：「社保卡丢失了怎么补办？」');
  });

  it('(e) answering on the spot from the article records the use against it (outdated answers can be traced)', async () => {
    const p = await plan({ text: '社保卡丢了怎么补办', type: 'consultation' });
    const created = json(await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie: agent }, payload: { channel: 'phone', type: 'consultation', callerPhone: '13900001111', situation: '社保卡丢了', demand: '怎么补办' } }));
    const answered = await t.app.inject({
      method: 'POST', url: `/api/v1/tickets/${created.id}/transitions`, headers: { cookie: agent },
      payload: { action: 'answer_on_spot', version: created.version, answer: '携带身份证到社保服务大厅挂失补办', knowledgeArticleId: p.knowledgeArticleId },
    });
    expect(json(answered).status).toBe('answered');
    let usages: { ticketId: string }[] = [];
    for (let i = 0; i < 50 && !usages.length; i++) {
      usages = await t.ctx.knowledge.usagesOf(p.knowledgeArticleId, { cityId: 'demo' });
      if (!usages.length) await new Promise((r) => setTimeout(r, 20));
    }
    expect(usages.map((u) => u.ticketId)).toContain(created.id);
  });

  it('serves the category tree for the picker and resolves addresses as the agent types', async () => {
    const top = json(await t.app.inject({ method: 'GET', url: '/api/v1/categories?level=1', headers: { cookie: agent } }));
    expect(top).toHaveLength(16);
    const water = json(await t.app.inject({ method: 'GET', url: '/api/v1/categories?parentCode=010216', headers: { cookie: agent } }));
    expect(water.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['突发停水', '供水管道爆裂']));
    const found = json(await t.app.inject({ method: 'GET', url: `/api/v1/categories?q=${encodeURIComponent('井盖')}`, headers: { cookie: agent } }));
    expect(found.some((c: { code: string }) => c.code === 'B01001')).toBe(true); // 供水井盖, GB/T code kept
    const place = json(await t.app.inject({ method: 'POST', url: '/api/v1/routing/resolve-address', headers: { cookie: agent }, payload: { address: '白龙南路88号楼下' } }));
    expect(place).toMatchObject({ status: 'resolved', source: 'address', territory: { level: 'grid' } });
    const nowhere = json(await t.app.inject({ method: 'POST', url: '/api/v1/routing/resolve-address', headers: { cookie: agent }, payload: { address: '火星基地三号' } }));
    expect(nowhere).toMatchObject({ status: 'unresolved', territory: null });
  });

  it('a QR report files the ticket under its building\'s grid; a clear address is resolved at registration, an unclear one is not guessed', async () => {
    const grid = (await t.ctx.directory.findTerritoryByCode('demo', '990102001001001'))!;
    const post = (payload: object) => t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie: agent }, payload: { channel: 'qr', type: 'report', situation: '楼道堆放杂物', ...payload } });
    expect(json(await post({ buildingCode: 'QR-990102001001-0001' })).territoryId).toBe(grid.id);
    const unknown = await post({ buildingCode: 'QR-NOPE' });
    expect(unknown.statusCode).toBe(400);
    expect(json(unknown)).toMatchObject({ code: 'BUILDING_NOT_FOUND', details: { field: 'buildingCode' } });
    expect(json(await post({ channel: 'sms', addressText: '白龙南路88号楼下' })).territoryId).toBe(grid.id);
    expect(json(await post({ channel: 'sms', addressText: '火星基地三号' })).territoryId).toBeNull();
  });

  it('says what is missing instead of guessing, and reports an unresolved address as such', async () => {
    const p = await plan({ text: '', address: '火星基地三号' });
    expect(p).toMatchObject({ rule: 'undetermined', action: 'manual', leadUnit: null, category: null });
    expect(p.missing).toEqual(['category', 'territory']);
    expect(p.territory.status).toBe('unresolved');
  });

  it('refuses a category or territory that does not exist', async () => {
    const a = await t.app.inject({ method: 'POST', url: '/api/v1/routing/plan', headers: { cookie: agent }, payload: { text: 'x', categoryCode: 'NOPE' } });
    expect(json(a)).toMatchObject({ code: 'CATEGORY_NOT_FOUND', details: { field: 'categoryCode' } });
    const b = await t.app.inject({ method: 'POST', url: '/api/v1/routing/plan', headers: { cookie: agent }, payload: { text: 'x', territoryId: 'NOPE' } });
    expect(json(b).code).toBe('TERRITORY_NOT_FOUND');
    const unit = await t.login('water1');
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/routing/plan', headers: { cookie: unit }, payload: { text: 'x' } })).statusCode).toBe(403);
  });

  describe('dispatching by the plan', () => {
    const register = async (extra: object = {}) => {
      const territory = (await t.ctx.directory.findTerritoryByCode('demo', '990102001001001'))!;
      const res = await t.app.inject({
        method: 'POST', url: '/api/v1/tickets', headers: { cookie: agent },
        payload: {
          channel: 'phone', type: 'complaint', callerPhone: '13800138000', occurredAt: '2025-10-09T09:00:00+08:00',
          addressText: PLACE, territoryId: territory.id, parties: '来电人；摊贩', situation: '小区门口有人摆摊卖菜，无照经营', demand: '请取缔',
          categoryId: await listCategoryId('01020201'),
          ...extra,
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      return json(res);
    };
    const listCategoryId = async (code: string) => (await t.ctx.database.db.selectFrom('categories').select('id').where('city_id', '=', 'demo').where('code', '=', code).executeTakeFirstOrThrow()).id;
    const dispatch = (id: string, body: object) => t.app.inject({ method: 'POST', url: `/api/v1/tickets/${id}/dispatch`, headers: { cookie: dispatcher }, payload: body });

    it('dispatches to the plan\'s unit and records the rule and the responsibility-list version on the ticket', async () => {
      const ticket = await register();
      const res = await dispatch(ticket.id, { version: ticket.version });
      expect(res.statusCode, res.body).toBe(200);
      const body = json(res);
      expect(body.overridden).toBe(false);
      expect(body.ticket).toMatchObject({ status: 'dispatched', routingRule: 'by_function', handlingUnitId: await unitId('dept-scjgj'), plannedUnitId: await unitId('dept-scjgj') });
      expect(body.ticket.responsibilityVersionId).toBe(body.plan.responsibility.versionId);
    });

    it('an override needs a reason; with one, the plan\'s unit and the reason stay in the ticket and its audit trail', async () => {
      const ticket = await register();
      const other = await unitId('st-990102001');
      const refused = await dispatch(ticket.id, { version: ticket.version, handlingUnitId: other });
      expect(refused.statusCode).toBe(400);
      expect(json(refused)).toMatchObject({ code: 'OVERRIDE_REASON_REQUIRED', details: { field: 'overrideReason' } });
      const ok = json(await dispatch(ticket.id, { version: ticket.version, handlingUnitId: other, overrideReason: '系街道统一整治的早市' }));
      expect(ok.overridden).toBe(true);
      expect(ok.ticket).toMatchObject({ handlingUnitId: other, plannedUnitId: await unitId('dept-scjgj') });
      const trail = await listAudit(t.ctx.database.db, 'ticket', ticket.id);
      expect(trail.at(-1)).toMatchObject({ action: 'ticket.dispatch', reason: '系街道统一整治的早市' });
    });

    it('(b) the unit already handling the same problem at the same place leads a new report of it', async () => {
      const first = await register();
      json(await dispatch(first.id, { version: first.version, handlingUnitId: await unitId('dept-cgj-zfdd'), overrideReason: '城管已在现场' }));
      const p = await plan({ text: '小区门口有人摆摊卖菜，无照经营', categoryCode: '01020201', territoryId: (await t.ctx.directory.findTerritoryByCode('demo', '990102001001001'))!.id });
      expect(p).toMatchObject({ rule: 'first_responder', leadUnit: { code: 'dept-cgj-zfdd' } });
      expect(p.explanation.some((e: { en: string }) => e.en.includes('already handling'))).toBe(true);
    });

    it('dispatches only the plan the person confirmed: a plan that changed since is answered 409 PLAN_CHANGED with the new plan, nothing written', async () => {
      const ticket = await register();
      const territoryId = (await t.ctx.directory.findTerritoryByCode('demo', '990102001001001'))!.id;
      // What the screen showed before the category was chosen: another plan than the one at dispatch.
      const shown = await plan({ text: '小区门口有人摆摊卖菜，无照经营\n请取缔', territoryId });
      const refused = await dispatch(ticket.id, { version: ticket.version, planFingerprint: shown.fingerprint });
      expect(refused.statusCode, refused.body).toBe(409);
      const changed = json(refused);
      expect(changed.code).toBe('PLAN_CHANGED');
      // The plan of the ticket as saved (with its category), which is what would have gone out.
      const atDispatch = await plan({ text: '小区门口有人摆摊卖菜，无照经营\n请取缔', territoryId, categoryCode: '01020201', type: 'complaint', urgency: 'normal' });
      expect(changed.details.plan.fingerprint).toBe(atDispatch.fingerprint);
      expect(changed.details.plan.leadUnit.id).not.toBe(shown.leadUnit?.id);
      expect((await t.ctx.database.db.selectFrom('tickets').select(['status', 'version']).where('id', '=', ticket.id).executeTakeFirstOrThrow())).toMatchObject({ status: 'accepted', version: ticket.version });
      // Confirmed: the new plan goes out as shown.
      const ok = await dispatch(ticket.id, { version: ticket.version, planFingerprint: changed.details.plan.fingerprint });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(json(ok).ticket.handlingUnitId).toBe(atDispatch.leadUnit.id);
      expect(json(ok).plan.fingerprint).toBe(changed.details.plan.fingerprint);
    });

    it('keeps on the ticket the category the classifier routed it by', async () => {
      const ticket = await register({ categoryId: null, situation: '楼下水管爆了，路面全是水，一直往外冒', demand: '请尽快抢修' });
      expect(ticket.categoryId).toBeNull();
      const res = await dispatch(ticket.id, { version: ticket.version });
      expect(res.statusCode, res.body).toBe(200);
      const body = json(res);
      expect(body.plan.category).toMatchObject({ source: 'classifier' });
      expect(body.ticket.categoryId).toBe(await listCategoryId(body.plan.category.code));
      const trail = await listAudit(t.ctx.database.db, 'ticket', ticket.id);
      expect(trail.at(-1)!.after).toMatchObject({ category_id: body.ticket.categoryId });
    });

    it('a stale version or a plan with no unit is refused without a change', async () => {
      const ticket = await register();
      expect(json(await dispatch(ticket.id, { version: ticket.version + 5 })).code).toBe('VERSION_CONFLICT');
      const bare = await register({ categoryId: null, territoryId: null, addressText: '火星基地' });
      expect(json(await dispatch(bare.id, { version: bare.version })).code).toBe('PLAN_UNDETERMINED');
      expect((await t.ctx.intake.getTicket((await t.ctx.identity.actorForSession(agent.split('=')[1]))!.actor, bare.id)).status).toBe('accepted');
    });
  });
});
