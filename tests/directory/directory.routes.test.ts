import Fastify, { type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, type Actor, type Role } from '../../core';
import { directoryRoutes } from '../../directory';
import { importCityFromDir } from '../../app/city-preset';
import { testDialect } from '../helpers/db';
import { DEMO_DIR, demoWorld } from '../city-preset/demo-fixture';

let w: Awaited<ReturnType<typeof demoWorld>>;
let app: FastifyInstance;

/** The actor the stub auth hook puts on the request: from test headers, none without them. */
const as = (role: Role, cityId = 'demo') => ({ 'x-test-role': role, 'x-test-city': cityId });

beforeAll(async () => {
  w = await demoWorld();
  await importCityFromDir(w.deps, DEMO_DIR, w.ctx);
  app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    const role = request.headers['x-test-role'];
    request.actor = typeof role === 'string'
      ? ({ kind: 'user', id: 'u1', name: 'tester', role: role as Role, cityId: String(request.headers['x-test-city']), unitId: null, territoryId: null, territoryPath: null } satisfies Actor)
      : null;
  });
  app.setErrorHandler((err, _request, reply) => {
    if (isAppError(err)) return reply.code(err.status).send({ code: err.code, message: err.message, message_zh: err.messageZh, details: err.details });
    if (hasZodFastifySchemaValidationErrors(err)) return reply.code(400).send({ code: 'VALIDATION_FAILED', message: err.message, message_zh: '请求参数不正确' });
    return reply.code(500).send({ code: 'INTERNAL_ERROR', message: (err as Error).message, message_zh: '系统内部错误' });
  });
  await app.register(directoryRoutes, { prefix: '/api/v1', directory: w.directory });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await w?.database.dispose();
});

const get = async (url: string, headers: Record<string, string> = as('agent')) => {
  const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers });
  return { status: res.statusCode, body: res.json() };
};
const territoryId = async (code: string) => (await w.directory.findTerritoryByCode('demo', code))!.id;

describe(`directory routes on ${testDialect}`, () => {
  it('GET /cities/current: the actor\'s city with its settings', async () => {
    const { status, body } = await get('/cities/current', as('grid_member'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 'demo', name: '演示市 (Demo City)', isDemo: true, settings: { timeLimitPreset: 'zhucheng', returnWindowHours: 24 } });
    expect(body.settings.officeHours.seasons).toHaveLength(2);
  });

  it('needs a logged-in actor (401), and shows nothing of another city (404)', async () => {
    expect(await get('/cities/current', {})).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED', message_zh: '请先登录' } });
    expect(await get('/cities/current', as('admin', 'elsewhere'))).toMatchObject({ status: 404, body: { code: 'CITY_NOT_FOUND' } });
    const street = await territoryId('990102001');
    expect(await get(`/territories/${street}`, as('admin', 'elsewhere'))).toMatchObject({ status: 404, body: { code: 'TERRITORY_NOT_FOUND' } });
    expect((await get('/territories', as('admin', 'elsewhere'))).body.items).toEqual([]);
  });

  it('GET /territories: districts, children of a parent, a whole level', async () => {
    const districts = await get('/territories');
    expect(districts.status).toBe(200);
    expect(districts.body.items.map((t: { name: string }) => t.name)).toEqual(['湖滨区', '青山区', '临河县']);
    const town = await territoryId('990121100');
    const villages = await get(`/territories?parentId=${town}`, as('town_leader'));
    expect(villages.body.items.map((t: { code: string }) => t.code)).toEqual(['990121100001', '990121100201', '990121100202']);
    expect((await get('/territories?level=grid')).body.items).toHaveLength(36);
    expect((await get(`/territories?parentId=${town}&level=grid`)).body.items).toEqual([]);
    expect(await get('/territories?parentId=nope')).toMatchObject({ status: 404, body: { code: 'TERRITORY_NOT_FOUND' } });
    expect(await get('/territories?level=province')).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('GET /territories/:id: the territory with its ancestors, district first', async () => {
    const grid = await territoryId('990103002002003');
    const { status, body } = await get(`/territories/${grid}`, as('grid_member'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: grid, code: '990103002002003', name: '锦绣社区第三网格', level: 'grid' });
    expect(body.ancestors.map((t: { name: string }) => t.name)).toEqual(['青山区', '翠屏街道', '锦绣社区']);
    expect(body.path).toBe(`/${body.ancestors.map((t: { id: string }) => t.id).join('/')}/${grid}/`);
    expect((await get('/territories/nope')).status).toBe(404);
  });

  it('GET /units: by kind and text, paged', async () => {
    const page = await get('/units?pageSize=15&page=3', as('unit_handler'));
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 41, page: 3, pageSize: 15 });
    expect(page.body.items).toHaveLength(11);
    const companies = await get('/units?kind=company');
    expect(companies.body.items.map((u: { code: string }) => u.code)).toEqual(['co-bus', 'co-cable', 'co-mobile', 'co-taxi', 'co-telecom']);
    const water = await get(`/units?q=${encodeURIComponent('自来水')}`);
    expect(water.body).toMatchObject({ total: 1, page: 1, pageSize: 20, items: [{ code: 'util-water', kind: 'utility', smsPhone: '13900000018', dutyPerson: '梁波', dutyPhone: '13800000018', active: true }] });
    expect((await get('/units?kind=spaceship')).status).toBe(400);
    expect((await get('/units?pageSize=1000')).status).toBe(400);
  });

  it('GET /units/:id: one unit; 404 for an unknown id or another city', async () => {
    const unit = (await w.directory.findUnitByCode('demo', 'st-990102002'))!;
    const { status, body } = await get(`/units/${unit.id}`, as('dispatcher'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ code: 'st-990102002', name: '望湖街道办事处', kind: 'street', territoryId: await territoryId('990102002') });
    expect(await get('/units/nope')).toMatchObject({ status: 404, body: { code: 'UNIT_NOT_FOUND', message_zh: expect.stringContaining('不存在') } });
    expect((await get(`/units/${unit.id}`, as('admin', 'elsewhere'))).status).toBe(404);
  });

  it('GET /hotline-lines: the numbers merged into 12345', async () => {
    const { status, body } = await get('/hotline-lines', as('supervisor'));
    expect(status).toBe(200);
    expect(body.items).toHaveLength(10);
    expect(body.items.find((l: { number: string }) => l.number === '12315')).toMatchObject({ name: '消费者投诉举报热线', mergedOn: '2019-12-31', cityId: 'demo' });
  });
});
