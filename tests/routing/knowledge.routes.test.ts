import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, type Actor, type Role } from '../../core';
import { importCityFromDir } from '../../app/city-preset';
import { listCategories } from '../../routing';
import { createKnowledgeService, importKnowledgeIn, knowledgeRoutes, type KnowledgeService } from '../../routing/knowledge';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let app: FastifyInstance;
let knowledge: KnowledgeService;
let ids: Map<string, string>;

/** The actor the stub auth hook puts on the request, from test headers; none without them. */
const as = (role: Role, user = `u-${role}`, unitId = '', cityId = 'demo') => ({ 'x-test-role': role, 'x-test-user': user, 'x-test-unit': unitId, 'x-test-city': cityId });

beforeAll(async () => {
  w = await demoWorld();
  await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
  knowledge = createKnowledgeService({ db: w.db, dialect: w.database.dialect, clock: w.clock, directory: w.directory, categories: (cityId) => listCategories(w.db, cityId) });
  const { items: units } = await w.directory.listUnits('demo');
  const json = await readFile(join(DEMO_DIR, 'knowledge.json'), 'utf8');
  ids = (await w.db.transaction().execute((trx) => importKnowledgeIn(trx, w.ctx, { cityId: 'demo', json, units, now: w.clock.now(), dialect: w.database.dialect }))).idsByCode;
  knowledge.invalidate('demo');
  app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    const h = request.headers;
    request.actor = typeof h['x-test-role'] === 'string'
      ? ({ kind: 'user', id: String(h['x-test-user']), name: 'tester', role: h['x-test-role'] as Role, cityId: String(h['x-test-city']), unitId: h['x-test-unit'] ? String(h['x-test-unit']) : null, territoryId: null, territoryPath: null } satisfies Actor)
      : null;
  });
  app.setErrorHandler((err, _request, reply) => {
    if (isAppError(err)) return reply.code(err.status).send({ code: err.code, message: err.message, message_zh: err.messageZh, details: err.details });
    if (hasZodFastifySchemaValidationErrors(err)) return reply.code(400).send({ code: 'VALIDATION_FAILED', message: err.message, message_zh: '请求参数不正确' });
    return reply.code(500).send({ code: 'INTERNAL_ERROR', message: (err as Error).message, message_zh: '系统内部错误' });
  });
  await app.register(knowledgeRoutes, { prefix: '/api/v1', knowledge });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await w?.database.dispose();
});

const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown) => {
  const res = await app.inject({ method, url: `/api/v1${url}`, headers, payload: payload as never });
  return { status: res.statusCode, body: res.body ? res.json() : null };
};
const q = encodeURIComponent;

describe(`/knowledge routes on ${testDialect}`, () => {
  let id: string;

  it('GET /knowledge/search and /knowledge/best: what an agent uses during a call', async () => {
    const res = await call('GET', `/knowledge/search?q=${q('孩子刚出生怎么上户口')}&limit=3`, as('agent'));
    expect(res.status).toBe(200);
    expect(res.body.items[0]).toMatchObject({ articleId: ids.get('kb-xsr-lh'), question: '新生儿怎么落户（上户口）？', categoryCode: '13040101' });
    expect(res.body.items.length).toBeLessThanOrEqual(3);
    const all = await call('GET', `/knowledge/search?q=${q('收费标准')}&limit=20`, as('grid_member'));
    expect(all.body.items.map((h: { articleId: string }) => h.articleId)).toEqual(expect.arrayContaining([ids.get('kb-rf-bz'), ids.get('kb-wyf-bz')]));
    const filtered = await call('GET', `/knowledge/search?q=${q('收费标准')}&categoryCode=010208`, as('grid_member'));
    expect(filtered.body.items.map((h: { articleId: string }) => h.articleId)).toEqual([ids.get('kb-rf-bz')]);
    const best = await call('GET', `/knowledge/best?q=${q('我社保卡丢了怎么补办')}&categoryCode=15020101`, as('agent'));
    expect(best.body.answer).toMatchObject({ articleId: ids.get('kb-sbk-bb'), confident: true });
    expect((await call('GET', `/knowledge/best?q=${q('你好')}`, as('agent'))).body).toEqual({ answer: null });
    expect((await call('GET', '/knowledge/search?q=', as('agent'))).status).toBe(400);
    expect((await call('GET', `/knowledge/search?q=x`, {})).status).toBe(401);
  });

  it('POST → PATCH → submit → review: a unit writes, the center reviews', async () => {
    const water = (await w.directory.findUnitByCode('demo', 'util-water'))!.id;
    const writer = as('unit_handler', 'u-water1', water);
    const created = await call('POST', '/knowledge/articles', writer, {
      question: '水表冻裂了怎么办？',
      answer: '请关闭表前阀门，拨打96116报修，供水企业更换水表（人为损坏的按成本收费）。（演示数据）',
      categoryCode: '010216',
      keywords: ['水表', '冻裂', '冻坏'],
      validFrom: '2025-10-01',
      validTo: '2026-10-01',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'draft', ownerUnitId: water, pending: { status: 'draft', validFrom: '2025-10-01T00:00:00+08:00', validTo: '2026-10-01T23:59:59+08:00' } });
    id = created.body.id;
    expect((await call('POST', '/knowledge/articles', as('grid_member'), { question: 'q', answer: 'a' })).status).toBe(403);
    expect((await call('POST', '/knowledge/articles', writer, { question: 'q', answer: 'a', validFrom: 'soon' })).status).toBe(400);
    expect((await call('PATCH', `/knowledge/articles/${id}`, writer, { keywords: ['水表'] })).status).toBe(400); // version required
    const patched = await call('PATCH', `/knowledge/articles/${id}`, writer, { version: created.body.version, keywords: ['水表', '冻裂', '水表坏了'], validTo: null });
    expect(patched.body).toMatchObject({ version: 2, pending: { keywords: ['水表', '冻裂', '水表坏了'], validTo: null } });
    expect((await call('PATCH', `/knowledge/articles/${id}`, writer, { version: 1, answer: 'stale' })).body).toMatchObject({ code: 'KNOWLEDGE_ARTICLE_CHANGED' });
    expect((await call('POST', `/knowledge/articles/${id}/submit`, writer)).body).toMatchObject({ pending: { status: 'in_review' } });
    const listed = await call('GET', '/knowledge/articles?state=in_review', as('dispatcher'));
    expect(listed.body.items.map((a: { id: string }) => a.id)).toEqual([id]);
    expect((await call('POST', `/knowledge/articles/${id}/review`, writer, { decision: 'approve' })).status).toBe(403);
    expect((await call('POST', `/knowledge/articles/${id}/review`, as('supervisor'), { decision: 'reject' })).status).toBe(400);
    const rejected = await call('POST', `/knowledge/articles/${id}/review`, as('supervisor'), { decision: 'reject', reason: '请写明收费标准' });
    expect(rejected.body.pending).toMatchObject({ status: 'draft', rejectReason: '请写明收费标准' });
    await call('PATCH', `/knowledge/articles/${id}`, writer, { version: rejected.body.version, answer: '请关闭表前阀门，拨打96116报修；人为损坏的按水表成本价收费。（演示数据）' });
    await call('POST', `/knowledge/articles/${id}/submit`, writer);
    const approved = await call('POST', `/knowledge/articles/${id}/review`, as('dispatcher'), { decision: 'approve', note: '可以' });
    expect(approved).toMatchObject({ status: 200, body: { status: 'published', inForce: true, published: { number: 1, reviewedBy: 'u-dispatcher' } } });
    expect((await call('GET', `/knowledge/search?q=${q('水表冻坏了')}`, as('agent'))).body.items[0].articleId).toBe(id);
    const revisions = await call('GET', `/knowledge/articles/${id}/revisions`, as('agent'));
    expect(revisions.body.items.map((r: { number: number; status: string }) => [r.number, r.status])).toEqual([[1, 'published']]);
    expect((await call('GET', `/knowledge/articles/${id}`, as('admin', 'u-x', '', 'elsewhere'))).status).toBe(404);
  });

  it('usages: record on a ticket, list them; archive hides the article; delete a draft', async () => {
    const used = await call('POST', `/knowledge/articles/${id}/usages`, as('agent', 'u-agent1'), { ticketId: 'T-100' });
    expect(used).toMatchObject({ status: 201, body: { ticketId: 'T-100', revisionNumber: 1, usedBy: 'u-agent1', current: true } });
    expect((await call('POST', `/knowledge/articles/${id}/usages`, as('grid_member'), { ticketId: 'T-101' })).status).toBe(403);
    const usages = await call('GET', `/knowledge/articles/${id}/usages`, as('supervisor'));
    expect(usages.body.items.map((u: { ticketId: string }) => u.ticketId)).toEqual(['T-100']);
    const archived = await call('POST', `/knowledge/articles/${id}/archive`, as('supervisor'), { reason: '已过时' });
    expect(archived.body).toMatchObject({ status: 'archived', archiveReason: '已过时' });
    expect((await call('GET', `/knowledge/search?q=${q('水表冻坏了')}`, as('agent'))).body.items.map((h: { articleId: string }) => h.articleId)).not.toContain(id);
    expect((await call('POST', `/knowledge/articles/${id}/usages`, as('agent'), { ticketId: 'T-102' })).body).toMatchObject({ code: 'KNOWLEDGE_NOT_PUBLISHED' });

    const draft = await call('POST', '/knowledge/articles', as('agent'), { question: '临时草稿', answer: '删除我' });
    expect((await call('DELETE', `/knowledge/articles/${draft.body.id}`, as('agent', 'u-agent2'))).status).toBe(204);
    expect((await call('GET', `/knowledge/articles/${draft.body.id}`, as('agent'))).status).toBe(404);
    expect((await call('DELETE', `/knowledge/articles/${ids.get('kb-ts-tz')}`, as('admin'))).body).toMatchObject({ code: 'KNOWLEDGE_ARTICLE_PUBLISHED' });
  });

  it('GET /knowledge/articles: pages, filters by owner; the grid sees published articles only', async () => {
    const page = await call('GET', '/knowledge/articles?pageSize=5&page=2', as('agent'));
    expect(page.body).toMatchObject({ page: 2, pageSize: 5 });
    expect(page.body.items).toHaveLength(5);
    const center = await call('GET', '/knowledge/articles?ownerUnitId=center&pageSize=100', as('dispatcher'));
    expect(center.body.items.length).toBeGreaterThan(0);
    expect(center.body.items.every((a: { ownerUnitId: string | null }) => a.ownerUnitId === null)).toBe(true);
    const grid = await call('GET', '/knowledge/articles?pageSize=200', as('grid_member'));
    expect(grid.body.items.every((a: { status: string; pending: unknown }) => a.status === 'published' && a.pending === null)).toBe(true);
    expect(grid.body.total).toBe(ids.size);
  });
});
