/**
 * Open311 GeoReport v2 (issue #12 item 6): every response holds the fields the specification
 * requires, in JSON and in XML; a posted request becomes a ticket through intake (channel open311,
 * the client's key as registrar, the place resolved through the gazetteer), is read back with its
 * status and handling unit, and never shows the citizen's phone, name or email; confidential
 * tickets do not exist here; bad requests get the spec's error list and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { startTestApp, json, rowCounts, countRows, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { FINAL_STATUSES, TicketStatus } from '../../intake';
import { requestStatusOf } from '../../open311';

/** The GeoReport v2 field lists (http://wiki.open311.org/GeoReport_v2), written out here on purpose. */
const SPEC = {
  discovery: ['changeset', 'contact', 'key_service', 'endpoints'],
  endpoint: ['specification', 'url', 'changeset', 'type', 'formats'],
  service: ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group'],
  serviceDefinition: ['service_code', 'attributes'],
  attribute: ['variable', 'code', 'datatype', 'required', 'datatype_description', 'order', 'description'],
  attributeValue: ['key', 'name'],
  postResponse: ['service_request_id', 'service_notice', 'account_id'],
  token: ['service_request_id', 'token'],
  request: [
    'service_request_id', 'status', 'status_notes', 'service_name', 'service_code', 'description', 'agency_responsible',
    'service_notice', 'requested_datetime', 'updated_datetime', 'expected_datetime', 'address', 'address_id', 'zipcode',
    'lat', 'long', 'media_url',
  ],
  error: ['code', 'description'],
  serviceTypes: ['realtime', 'batch', 'blackbox'],
  datatypes: ['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'],
  statuses: ['open', 'closed'],
} as const;

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/;
const xmlParser = new XMLParser({
  parseTagValue: false,
  isArray: (name) => ['service', 'request', 'attribute', 'value', 'error', 'endpoint', 'format'].includes(name),
});
const hasFields = (o: Record<string, unknown>, fields: readonly string[]) => {
  for (const f of fields) expect(o, `field ${f}`).toHaveProperty(f);
};

let t: TestApp;
let admin: string;
let agent: string;
let key: string;
let keyId: string;
let otherKey: string;
let waterUnitId: string;

const PHONE = '13912345678';
const EMAIL = 'zhang.san@example.cn';

async function issueKey(payload: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: { cookie: admin }, payload });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string; key: string };
}
const get = (url: string, k: string | null = key) => t.app.inject({ method: 'GET', url: `/open311/v2/${url}`, headers: k ? { 'x-api-key': k } : {} });
const postForm = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: `/open311/v2/${url}`, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });
const xmlOf = (body: string) => {
  expect(body.startsWith('<?xml')).toBe(true);
  return xmlParser.parse(body);
};
const open311Rows = () => countRows(t, 'open311_requests');

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login('admin');
  agent = await t.login('agent1');
  waterUnitId = (await t.ctx.directory.findUnitByCode('demo', 'util-water'))!.id;
  const k = await issueKey({ name: '随手拍 APP', role: 'agent', scopes: ['open311'] });
  key = k.key;
  keyId = k.id;
  otherKey = (await issueKey({ name: '另一个应用', role: 'agent', scopes: ['open311'] })).key;
}, 120_000);
afterAll(async () => t?.close());

describe(`Open311 GeoReport v2 on ${testDialect}`, () => {
  it('open and closed follow the ticket: closed exactly when intake calls the ticket final', () => {
    for (const s of Object.values(TicketStatus)) expect(requestStatusOf(s)).toBe(FINAL_STATUSES.has(s) ? 'closed' : 'open');
  });

  it('discovery lists the v2 endpoint with both formats (JSON and XML)', async () => {
    const j = await get('discovery.json', null);
    expect(j.statusCode).toBe(200);
    expect(j.headers['content-type']).toContain('application/json');
    // The product's security headers reach this interface too.
    expect(j.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
    const d = json(j);
    hasFields(d, SPEC.discovery);
    hasFields(d.endpoints[0], SPEC.endpoint);
    expect(d.endpoints[0].specification).toBe('http://wiki.open311.org/GeoReport_v2');
    expect(d.endpoints[0].formats).toEqual(expect.arrayContaining(['application/json', 'text/xml']));
    const x = await get('discovery.xml', null);
    expect(x.headers['content-type']).toContain('text/xml');
    const doc = xmlOf(x.body).discovery;
    hasFields(doc, SPEC.discovery);
    hasFields(doc.endpoints.endpoint[0], SPEC.endpoint);
    expect(doc.endpoints.endpoint[0].formats.format).toEqual(expect.arrayContaining(['application/json', 'text/xml']));
  });

  it('services are the leaves of the category tree, each with the spec\'s fields, in JSON and XML', async () => {
    const res = await get('services.json', null);
    expect(res.statusCode).toBe(200);
    const services = json(res) as Record<string, unknown>[];
    expect(services.length).toBeGreaterThan(10);
    for (const s of services) {
      hasFields(s, SPEC.service);
      expect(SPEC.serviceTypes).toContain(s.type);
      expect(typeof s.metadata).toBe('boolean');
    }
    const codes = services.map((s) => s.service_code);
    // 01020201 占道经营 is a leaf (level 4); 01, 0102 and 010202 城管执法 are its ancestors, not services.
    expect(codes).toContain('01020201');
    for (const ancestor of ['01', '0102', '010202']) expect(codes).not.toContain(ancestor);
    const cg = services.find((s) => s.service_code === '01020201')!;
    expect(cg).toMatchObject({ service_name: '占道经营', group: '城乡建设', description: '城乡建设 / 城市建设和市政管理 / 城管执法 / 占道经营' });
    expect(cg.keywords).toContain('占道');

    const x = xmlOf((await get('services.xml', null)).body);
    expect(x.services.service).toHaveLength(services.length);
    for (const s of x.services.service) hasFields(s, SPEC.service);
  });

  it('a service definition gives its attributes with their values, in JSON and XML', async () => {
    const d = json(await get('services/01020201.json', null));
    hasFields(d, SPEC.serviceDefinition);
    expect(d.service_code).toBe('01020201');
    expect(d.attributes.length).toBeGreaterThan(0);
    for (const a of d.attributes) {
      hasFields(a, SPEC.attribute);
      expect(SPEC.datatypes).toContain(a.datatype);
      for (const v of a.values) hasFields(v, SPEC.attributeValue);
    }
    const x = xmlOf((await get('services/01020201.xml', null)).body).service_definition;
    hasFields(x, SPEC.serviceDefinition);
    for (const a of x.attributes.attribute) {
      hasFields(a, SPEC.attribute);
      for (const v of a.values.value) hasFields(v, SPEC.attributeValue);
    }
  });

  it('posting a request (form-encoded, api_key in the body) registers a ticket through intake: channel open311, the key as registrar, the place from the gazetteer', async () => {
    const res = await postForm('requests.json', {
      api_key: key, service_code: '01020201', address_string: '白龙南路88号', description: '白龙南路88号门口有流动摊贩占道经营，影响通行',
      email: EMAIL, phone: PHONE, first_name: '三', last_name: '张', device_id: 'dev-1', account_id: 'acct-9', 'attribute[request_type]': 'complaint',
      media_url: 'https://img.example.cn/p/1.jpg',
    });
    expect(res.statusCode, res.body).toBe(201);
    const [created] = json(res);
    hasFields(created, SPEC.postResponse);
    expect(created.token).toEqual(expect.any(String));
    expect(created.account_id).toBe('acct-9');

    const ticket = await t.ctx.database.db.selectFrom('tickets').selectAll().where('number', '=', created.service_request_id).executeTakeFirstOrThrow();
    const territory = await t.ctx.directory.findTerritoryByCode('demo', '990102001001001');
    expect(ticket).toMatchObject({ channel: 'open311', type: 'complaint', created_by: keyId, caller_phone: PHONE, citizen_name: '张三', territory_id: territory!.id, status: 'accepted' });
    const row = await t.ctx.database.db.selectFrom('open311_requests').selectAll().where('ticket_id', '=', ticket.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ token: created.token, api_key_id: keyId, client_name: '随手拍 APP', email: EMAIL, service_code: '01020201', device_id: 'dev-1' });
    const audit = await t.ctx.database.db.selectFrom('audit_events').select(['action', 'actor_id']).where('entity_id', 'in', [ticket.id, row.token]).execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['open311.request_created', 'ticket.created']);
    expect(audit.every((a) => a.actor_id === keyId)).toBe(true);

    // Read back: the spec's fields, in JSON and XML; the citizen's phone, name and email never appear.
    for (const format of ['json', 'xml'] as const) {
      const one = await get(`requests/${created.service_request_id}.${format}`);
      expect(one.statusCode, one.body).toBe(200);
      expect(one.body).not.toContain(PHONE);
      expect(one.body).not.toContain(EMAIL);
      expect(one.body).not.toContain('张三');
      const r = format === 'json' ? json(one)[0] : xmlOf(one.body).service_requests.request[0];
      hasFields(r, SPEC.request);
      expect(r).toMatchObject({ service_request_id: created.service_request_id, status: 'open', service_code: '01020201', service_name: '占道经营', address: '白龙南路88号', media_url: 'https://img.example.cn/p/1.jpg' });
      expect(r.requested_datetime).toMatch(ISO_WITH_ZONE);
      expect(r.updated_datetime).toMatch(ISO_WITH_ZONE);
    }
    // The token answers its own client with the request id, and nobody else.
    for (const format of ['json', 'xml'] as const) {
      const tok = await get(`tokens/${created.token}.${format}`);
      expect(tok.statusCode, tok.body).toBe(200);
      const r = format === 'json' ? json(tok)[0] : xmlOf(tok.body).service_requests.request[0];
      hasFields(r, SPEC.token);
      expect(r).toMatchObject({ service_request_id: created.service_request_id, token: created.token });
    }
    expect((await get(`tokens/${created.token}.json`, otherKey)).statusCode).toBe(404);
  });

  it('a JSON body and a lat/long place work too; XML answers the creation in XML', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/open311/v2/requests.xml', headers: { 'x-api-key': key },
      payload: { service_code: '01020801', lat: 35.004, long: 115.008, description: '小区暖气不热' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const r = xmlOf(res.body).service_requests.request[0];
    hasFields(r, SPEC.postResponse);
    const ticket = await t.ctx.database.db.selectFrom('tickets').selectAll().where('number', '=', String(r.service_request_id)).executeTakeFirstOrThrow();
    expect(ticket.territory_id).not.toBeNull();
    expect(Number(ticket.lat)).toBeCloseTo(35.004);
  });

  it('lists requests with the handling unit as agency_responsible, filters by status and service, and never lists a confidential ticket', async () => {
    const create = async (payload: Record<string, unknown>) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie: agent }, payload: { channel: 'phone', type: 'help', callerPhone: '13700001111', citizenName: '李四', ...payload } });
      expect(res.statusCode, res.body).toBe(201);
      return json(res);
    };
    const water = await create({ situation: '家里停水三天', handlingUnitId: waterUnitId });
    const secret = await create({ situation: '举报某单位违规排污（保密）', confidential: true });
    const wrong = await create({ situation: '误登记' });
    const cancel = await t.app.inject({ method: 'POST', url: `/api/v1/tickets/${wrong.id}/transitions`, headers: { cookie: await t.login('dispatcher1') }, payload: { action: 'cancel', version: wrong.version, reason: '误登记' } });
    expect(cancel.statusCode, cancel.body).toBe(200);

    for (const format of ['json', 'xml'] as const) {
      const res = await get(`requests.${format}`);
      expect(res.statusCode, res.body).toBe(200);
      const list = (format === 'json' ? json(res) : xmlOf(res.body).service_requests.request) as Record<string, unknown>[];
      for (const r of list) hasFields(r, SPEC.request);
      const ids = list.map((r) => String(r.service_request_id));
      expect(ids).toContain(water.number);
      expect(ids).not.toContain(secret.number);
      expect(list.find((r) => String(r.service_request_id) === water.number)).toMatchObject({ agency_responsible: '演示市自来水有限公司', status: 'open' });
      expect(list.find((r) => String(r.service_request_id) === wrong.number)).toMatchObject({ status: 'closed' });
      expect(res.body).not.toContain('13700001111');
      expect(res.body).not.toContain('李四');
    }
    const closed = json(await get('requests.json?status=closed')) as { service_request_id: string }[];
    expect(closed.map((r) => r.service_request_id)).toEqual([wrong.number]);
    const heating = json(await get('requests.json?service_code=01020801')) as { service_code: string }[];
    expect(heating.length).toBeGreaterThan(0);
    expect(heating.every((r) => r.service_code === '01020801')).toBe(true);
    // Confidential: not by id, not in an id list.
    expect((await get(`requests/${secret.number}.json`)).statusCode).toBe(404);
    expect(json(await get(`requests.json?service_request_id=${secret.number},${water.number}`)).map((r: { service_request_id: string }) => r.service_request_id)).toEqual([water.number]);
  });

  it('a retried post with the same Idempotency-Key returns the first request and registers one ticket', async () => {
    const fields = { api_key: key, service_code: '01020201', address_string: '湖滨大道10号', description: '重复提交测试' };
    const first = json(await postForm('requests.json', fields, { 'idempotency-key': 'app-req-42' }))[0];
    const tickets = await countRows(t, 'tickets');
    const rows = await open311Rows();
    const again = await postForm('requests.json', fields, { 'idempotency-key': 'app-req-42' });
    expect(again.statusCode, again.body).toBe(201);
    expect(json(again)[0]).toMatchObject({ service_request_id: first.service_request_id, token: first.token });
    expect(await countRows(t, 'tickets')).toBe(tickets);
    expect(await open311Rows()).toBe(rows);
  });

  it('an open311 key opens nothing under /api (its agent role does not reach tickets, numbers or the live feed)', async () => {
    for (const url of ['/api/v1/tickets', '/api/v1/citizens/lookup?phone=13912345678', '/api/v1/work-orders']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
      expect(res.statusCode, url).toBe(403);
      expect(json(res).code).toBe('API_KEY_SCOPE');
    }
    const post = await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { 'x-api-key': key }, payload: { channel: 'open311', type: 'help' } });
    expect(post.statusCode).toBe(403);
  });

  it('a unit-role key reads only its unit\'s requests (the same data scope as the console)', async () => {
    const unitKey = (await issueKey({ name: '水务 APP', role: 'unit_handler', unitId: waterUnitId, scopes: ['open311'] })).key;
    const list = json(await get('requests.json', unitKey)) as { agency_responsible: string | null }[];
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((r) => r.agency_responsible === '演示市自来水有限公司')).toBe(true);
  });
});

describe(`Open311 bad requests on ${testDialect}: the spec's error list, nothing written`, () => {
  const errorsOf = (res: { body: string; headers: Record<string, unknown> }, format: 'json' | 'xml') => {
    const list = format === 'json' ? JSON.parse(res.body) : xmlOf(res.body).errors.error;
    expect(Array.isArray(list)).toBe(true);
    expect(list.length).toBeGreaterThan(0);
    for (const e of list) {
      hasFields(e, SPEC.error);
      expect(Number(e.code)).toBeGreaterThanOrEqual(400);
    }
    return list as { code: number | string; description: string }[];
  };

  it.each(['json', 'xml'] as const)('refuses in %s: no key, a key without the scope, a revoked key, bad fields, unknown services and places', async (format) => {
    const noScope = (await issueKey({ name: 'reader', role: 'agent', scopes: ['tickets:read'] })).key;
    const revoked = await issueKey({ name: 'old app', role: 'agent', scopes: ['open311'] });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${revoked.id}`, headers: { cookie: admin } })).statusCode).toBe(200);
    const before = { ...(await rowCounts(t)), open311: await open311Rows() };
    const ok = { service_code: '01020201', address_string: '白龙南路88号', description: '测试' };
    const cases: [Awaited<ReturnType<typeof get>>, number, string][] = [
      [await postForm(`requests.${format}`, ok), 401, 'API_KEY_REQUIRED'],
      [await postForm(`requests.${format}`, { ...ok, api_key: noScope }), 403, 'API_KEY_SCOPE'],
      [await postForm(`requests.${format}`, { ...ok, api_key: revoked.key }), 401, 'API_KEY_INVALID'],
      [await get(`requests.${format}`, null), 401, 'API_KEY_REQUIRED'],
      [await get(`requests.${format}`, noScope), 403, 'API_KEY_SCOPE'],
      [await postForm(`requests.${format}`, { api_key: key, address_string: '白龙南路88号' }), 400, 'service_code'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, service_code: '999999' }), 404, 'SERVICE_NOT_FOUND'],
      [await postForm(`requests.${format}`, { api_key: key, service_code: '01020201', description: '没有位置' }), 400, 'LOCATION_REQUIRED'],
      [await postForm(`requests.${format}`, { api_key: key, service_code: '01020201', lat: '35.0' }), 400, 'COORDINATES_INCOMPLETE'],
      [await postForm(`requests.${format}`, { api_key: key, service_code: '01020201', lat: 'north', long: '115' }), 400, 'lat'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, email: 'not-an-email' }), 400, 'email'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, media_url: 'javascript:alert(1)' }), 400, 'media_url'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, phone: '12' }), 400, 'PHONE_INVALID'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, 'attribute[request_type]': 'bribe' }), 400, 'ATTRIBUTE_INVALID'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, 'attribute[colour]': 'red' }), 400, 'ATTRIBUTE_UNKNOWN'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, address_id: 'QR-FORGED-0001' }), 400, 'BUILDING_NOT_FOUND'],
      [await postForm(`requests.${format}`, { ...ok, api_key: key, jurisdiction_id: 'elsewhere' }), 400, 'JURISDICTION_MISMATCH'],
      [await get(`services/999999.${format}`, null), 404, 'SERVICE_NOT_FOUND'],
      [await get(`requests/000000.${format}`), 404, 'REQUEST_NOT_FOUND'],
      [await get(`tokens/01JUNKTOKEN.${format}`), 404, 'TOKEN_NOT_FOUND'],
      [await get(`requests.${format}?start_date=yesterday`), 400, 'start_date'],
      [await get(`requests.${format}?status=pending`), 400, 'status'],
      [await get(`nothing-here.${format}`, null), 404, 'NOT_FOUND'],
      [await get(`services.${format}?jurisdiction_id=atlantis`, null), 404, 'JURISDICTION_NOT_FOUND'],
    ];
    for (const [res, status, mention] of cases) {
      expect(res.statusCode, `${mention}: ${res.body}`).toBe(status);
      expect(String(res.headers['content-type'])).toContain(format === 'json' ? 'application/json' : 'text/xml');
      const errors = errorsOf(res, format);
      expect(Number(errors[0].code)).toBe(status);
      expect(errors.map((e) => e.description).join(' ')).toContain(mention);
    }
    expect({ ...(await rowCounts(t)), open311: await open311Rows() }).toEqual(before);
  });

  it('an unsupported format and a malformed body get the error list too, and nothing internal leaks', async () => {
    const csv = await get('services.csv', null);
    expect(csv.statusCode).toBe(400);
    expect(errorsOf(csv, 'json')[0].description).toContain('FORMAT_UNSUPPORTED');
    const broken = await t.app.inject({ method: 'POST', url: '/open311/v2/requests.xml', headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: '{"service_code":' });
    expect(broken.statusCode).toBe(400);
    const e = errorsOf(broken, 'xml');
    expect(e[0].description).not.toMatch(/at .*\.ts|SyntaxError|Unexpected/);
    const wrongType = await t.app.inject({ method: 'POST', url: '/open311/v2/requests.json', headers: { 'x-api-key': key, 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(wrongType.statusCode).toBe(415);
    errorsOf(wrongType, 'json');
  });
});
