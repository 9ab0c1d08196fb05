import Fastify, { type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, type Actor, type Role } from '../../core';
import { importCityFromDir } from '../../app/city-preset';
import { listCategories } from '../../routing';
import { createResponsibilityService, responsibilityRoutes, RESPONSIBILITY_CSV_COLUMNS } from '../../routing/responsibility';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let app: FastifyInstance;

/** The actor the stub auth hook puts on the request, from test headers; none without them. */
const as = (role: Role, user = `u-${role}`, cityId = 'demo') => ({ 'x-test-role': role, 'x-test-user': user, 'x-test-city': cityId });

const csv = [
  RESPONSIBILITY_CSV_COLUMNS.join(','),
  'W-1,01021601,,city,util-water,dept-swj,抢修,1小时内到场,96116,《城市供水条例》',
  'W-2,01021601,高层|二次供水,city,util-water,dept-zjj,排查二次供水,2小时内到场,96116,',
  'W-3,01021401,小区|楼下,street,,dept-cgj-hwzx,街道组织清运,24小时内,,',
].join('\n');

beforeAll(async () => {
  w = await demoWorld();
  await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
  const responsibility = createResponsibilityService({ db: w.db, dialect: w.database.dialect, clock: w.clock, directory: w.directory, categories: (cityId) => listCategories(w.db, cityId) });
  app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    const role = request.headers['x-test-role'];
    request.actor = typeof role === 'string'
      ? ({ kind: 'user', id: String(request.headers['x-test-user']), name: 'tester', role: role as Role, cityId: String(request.headers['x-test-city']), unitId: null, territoryId: null, territoryPath: null } satisfies Actor)
      : null;
  });
  app.setErrorHandler((err, _request, reply) => {
    if (isAppError(err)) return reply.code(err.status).send({ code: err.code, message: err.message, message_zh: err.messageZh, details: err.details });
    if (hasZodFastifySchemaValidationErrors(err)) return reply.code(400).send({ code: 'VALIDATION_FAILED', message: err.message, message_zh: '请求参数不正确' });
    return reply.code(500).send({ code: 'INTERNAL_ERROR', message: (err as Error).message, message_zh: '系统内部错误' });
  });
  await app.register(responsibilityRoutes, { prefix: '/api/v1', responsibility });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await w?.database.dispose();
});

const call = async (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: unknown, contentType?: string) => {
  const res = await app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
    payload: payload as never,
  });
  const type = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, body: type.includes('json') ? res.json() : res.body, headers: res.headers };
};

describe(`/responsibility routes on ${testDialect}`, () => {
  let draftId: string;

  it('POST /responsibility/versions: a CSV body (text/csv) or JSON {csv, note} makes a draft', async () => {
    const text = await call('POST', '/responsibility/versions?note=%E4%BE%9B%E6%B0%B4', as('dispatcher'), csv, 'text/csv; charset=utf-8');
    expect(text.status).toBe(201);
    expect(text.body).toMatchObject({ status: 'draft', state: 'draft', itemCount: 3, note: '供水', createdBy: 'u-dispatcher' });
    draftId = text.body.id;
    const json = await call('POST', '/responsibility/versions', as('admin'), { csv, note: 'JSON' });
    expect(json).toMatchObject({ status: 201, body: { note: 'JSON', itemCount: 3, sourceHash: text.body.sourceHash } });
  });

  it('POST a broken CSV: 422 with every problem and its line; agents may not import', async () => {
    const broken = csv.replace('W-2,01021601', 'W-1,0000').replace('street,,', 'street,dept-cgj,');
    const res = await call('POST', '/responsibility/versions', as('supervisor'), broken, 'text/csv');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RESPONSIBILITY_CSV_INVALID');
    expect(res.body.details.problems.map((p: { line: number; field: string }) => [p.line, p.field])).toEqual([
      [3, 'item_code'],
      [3, 'category_code'],
      [4, 'lead_unit_code'],
    ]);
    expect((await call('POST', '/responsibility/versions', as('agent'), csv, 'text/csv')).body).toMatchObject({ code: 'ROLE_FORBIDDEN' });
    expect((await call('POST', '/responsibility/versions', {}, csv, 'text/csv')).status).toBe(401);
    expect((await call('POST', '/responsibility/versions', as('admin'), { note: 'no csv' })).status).toBe(400);
  });

  it('propose → approve (another person, effective from a date) → versions list and detail', async () => {
    expect((await call('POST', `/responsibility/versions/${draftId}/propose`, as('dispatcher'))).body).toMatchObject({ status: 'proposed', proposedBy: 'u-dispatcher' });
    const own = await call('POST', `/responsibility/versions/${draftId}/approve`, as('dispatcher'), { effectiveFrom: '2025-11-01' });
    expect(own).toMatchObject({ status: 403, body: { code: 'FOUR_EYES' } });
    expect((await call('POST', `/responsibility/versions/${draftId}/approve`, as('supervisor'), { effectiveFrom: 'next week' })).status).toBe(400);
    expect((await call('POST', `/responsibility/versions/${draftId}/approve`, as('supervisor'), { effectiveFrom: '2025-02-30' })).body).toMatchObject({ code: 'DATE_INVALID' });
    const ok = await call('POST', `/responsibility/versions/${draftId}/approve`, as('supervisor'), { effectiveFrom: '2025-11-01' });
    expect(ok).toMatchObject({ status: 200, body: { status: 'approved', state: 'scheduled', effectiveFrom: '2025-11-01T00:00:00+08:00', decidedBy: 'u-supervisor' } });
    const list = await call('GET', '/responsibility/versions', as('unit_handler'));
    expect(list.body.items.find((v: { id: string }) => v.id === draftId)).toMatchObject({ state: 'scheduled' });
    const page = await call('GET', `/responsibility/versions/${draftId}?page=2&pageSize=2`, as('grid_member'));
    expect(page).toMatchObject({ status: 200, body: { total: 3, page: 2, pageSize: 2, version: { id: draftId }, items: [{ itemCode: 'W-3', actingLevel: 'street', leadUnit: null, seq: 3 }] } });
    const filtered = await call('GET', `/responsibility/versions/${draftId}?categoryCode=01021601`, as('agent'));
    expect(filtered.body.items.map((i: { itemCode: string }) => i.itemCode)).toEqual(['W-1', 'W-2']);
    expect((await call('GET', `/responsibility/versions/${draftId}`, as('admin', 'u-x', 'elsewhere'))).status).toBe(404);
    expect((await call('GET', '/responsibility/versions/nope', as('admin'))).body).toMatchObject({ code: 'RESPONSIBILITY_VERSION_NOT_FOUND' });
  });

  it('POST /reject needs a reason; a rejected version stays rejected', async () => {
    const other = (await call('POST', '/responsibility/versions', as('dispatcher'), { csv })).body.id;
    expect((await call('POST', `/responsibility/versions/${other}/reject`, as('supervisor'), {})).status).toBe(400);
    const res = await call('POST', `/responsibility/versions/${other}/reject`, as('supervisor'), { reason: '重复导入' });
    expect(res.body).toMatchObject({ status: 'rejected', rejectReason: '重复导入' });
    expect((await call('POST', `/responsibility/versions/${other}/propose`, as('dispatcher'))).status).toBe(409);
  });

  it('GET /export.csv: the version as a CSV download', async () => {
    const res = await call('GET', `/responsibility/versions/${draftId}/export.csv`, as('agent'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="responsibility-demo-v\d+\.csv"$/);
    const body = String(res.body);
    expect(body.startsWith('\uFEFF' + RESPONSIBILITY_CSV_COLUMNS.join(','))).toBe(true);
    expect(body).toContain('W-2,01021601,高层|二次供水,city,util-water,dept-zjj,排查二次供水,2小时内到场,96116,');
    // Importing the export gives the same items.
    expect((await call('POST', '/responsibility/versions', as('admin'), body, 'text/csv')).body.sourceHash).toBe((await call('GET', `/responsibility/versions/${draftId}`, as('admin'))).body.version.sourceHash);
  });

  it('GET /match: the items for a category and text in the version in force at `at`', async () => {
    const grid = (await w.directory.findTerritoryByCode('demo', '990102002001001'))!.id; // 望湖社区第一网格, 望湖街道
    const q = (s: string) => encodeURIComponent(s);
    const before = await call('GET', `/responsibility/match?categoryCode=01021601&text=${q('高层二次供水没水')}&at=2025-10-31T12:00:00%2B08:00`, as('agent'));
    expect(before.status).toBe(200);
    expect(before.body.versionId).not.toBe(draftId);
    const res = await call('GET', `/responsibility/match?categoryCode=01021601&text=${q('高层二次供水没水')}&at=2025-11-02`, as('agent'));
    expect(res.body).toMatchObject({ versionId: draftId, categoryCode: '01021601', at: '2025-11-02T00:00:00+08:00' });
    expect(res.body.items.map((i: { itemCode: string }) => i.itemCode)).toEqual(['W-2', 'W-1']);
    expect(res.body.items[0]).toMatchObject({ rank: 1, why: { category: 'exact', keywordsHit: ['高层', '二次供水'] }, actingUnit: { code: 'util-water' }, coHandlingUnits: [{ code: 'dept-zjj' }] });
    const street = await call('GET', `/responsibility/match?categoryCode=01021401&text=${q('小区垃圾没人收')}&territoryId=${grid}&versionId=${draftId}`, as('dispatcher'));
    expect(street.body.items[0]).toMatchObject({ itemCode: 'W-3', actingUnit: { code: 'st-990102002', name: '望湖街道办事处' } });
    expect((await call('GET', '/responsibility/match', as('agent'))).status).toBe(400);
    expect((await call('GET', `/responsibility/match?categoryCode=01021601&at=${q('tomorrow')}`, as('agent'))).status).toBe(400);
  });
});
