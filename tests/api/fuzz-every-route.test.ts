/**
 * Bad input at volume (#14): every operation of the OpenAPI document, as the center (admin,
 * dispatcher), a unit (water1) and nobody, gets malformed and hostile requests — wrong types,
 * missing fields, arrays for objects, broken JSON, wrong content types, oversized bodies, junk and
 * injection strings in path and query parameters, XSS and SQL payloads in well-typed bodies.
 *
 * Proven: no answer is a 5xx, every error answer carries a code and both messages, and a request
 * whose shape is wrong writes nothing to any table. The operations come from the document itself,
 * so a route added later is fuzzed without touching this file.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScenario, type Scenario } from '../workorders/helpers';
import { until } from '../helpers/until';
import { LiveClient, listen } from '../live/live-client';

let s: Scenario;
let ids: Record<string, string>;
let operations: { method: string; path: string; op: any }[];
const USERS = ['admin', 'dispatcher1', 'water1', null] as const;

/** Tables that change without a request asking: sessions (logins), the live feed's own housekeeping. */
const BACKGROUND_TABLES = new Set(['sessions', 'kysely_migration', 'kysely_migration_lock']);

beforeAll(async () => {
  s = await startScenario();
  const { ticket, lead } = await s.dispatched('dept-cgj');
  ids = { tickets: ticket.id, 'work-orders': lead.id };
  // Logins are audited: log everyone in before counting rows.
  for (const user of USERS) if (user) await s.t.login(user);
  // The receipt and the unit's texts go out in the background: let them land before counting rows.
  await until(async () => {
    const open = await s.t.ctx.database.db.selectFrom('sms_messages').select('id').where('state', 'not in', ['delivered', 'failed', 'expired', 'suppressed']).execute();
    return open.length === 0;
  }, 'the scenario\'s texts delivered');
  const doc = (await s.t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
  operations = Object.entries<any>(doc.paths).flatMap(([path, ops]) =>
    Object.entries<any>(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}, 120_000);
afterAll(async () => s?.t.close());

/** Row counts of every table but the background ones. */
async function everyTableCount(): Promise<Record<string, number>> {
  const tables = (await s.t.ctx.database.db.introspection.getTables()).map((t) => t.name).filter((n) => !BACKGROUND_TABLES.has(n));
  const out: Record<string, number> = {};
  for (const name of tables) {
    const row = await s.t.ctx.database.db.selectFrom(name as 'tickets').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    out[name] = Number(row.n);
  }
  return out;
}

const HOSTILE_STRINGS = [
  "1' OR '1'='1' -- ",
  '<script>alert(1)</script><img src=x onerror=alert(1)>',
  '../../../../etc/passwd',
  '\u0000\u0001\u202e',
  '{{constructor.constructor("return process")()}}',
  'a'.repeat(5000),
];
const PATH_JUNK = ["1' OR '1'='1", '<script>', 'a'.repeat(600), '..%2F..%2Fetc%2Fpasswd', '%00', '-1', 'does-not-exist'];
const QUERY_JUNK = ['-1', '1e309', "' OR 1=1--", '<script>alert(1)</script>', 'a'.repeat(3000), '[object Object]', 'NaN', '2025-13-45T99:99:99Z'];

/** A value of the wrong type for a schema (never valid for it). */
function wrongType(schema: any): unknown {
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  switch (type) {
    case 'string': return { not: 'a string' };
    case 'number':
    case 'integer': return 'not-a-number';
    case 'boolean': return 'maybe';
    case 'array': return { not: 'an array' };
    case 'object': return 'not-an-object';
    default: return [[[{ not: 'anything' }]]];
  }
}

/** A well-typed value with hostile strings wherever text goes. */
function hostileValue(schema: any, depth = 0): unknown {
  if (!schema || depth > 4) return HOSTILE_STRINGS[0];
  const choice = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (choice) return hostileValue(choice, depth + 1);
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': return schema.format === 'date-time' ? '2025-10-09T10:00:00+08:00' : HOSTILE_STRINGS[(depth + 1) % HOSTILE_STRINGS.length];
    case 'number':
    case 'integer': return schema.minimum ?? 1;
    case 'boolean': return true;
    case 'array': return [hostileValue(schema.items, depth + 1)];
    case 'object': return Object.fromEntries(Object.entries<any>(schema.properties ?? {}).map(([k, v]) => [k, hostileValue(v, depth + 1)]));
    default: return HOSTILE_STRINGS[1];
  }
}

/** The path with each `{param}` filled: a real id where the collection is known, else the given junk. */
function fillPath(path: string, junk?: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string, offset: number) => {
    if (junk !== undefined) return encodeURIComponent(junk).replace(/%25/g, '%');
    const collection = path.slice(0, offset).split('/').filter(Boolean).pop() ?? '';
    return ids[collection] ?? `${name}-x`;
  });
}


async function send(user: string | null, method: string, url: string, body?: string, contentType?: string) {
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  const go = async (fresh: boolean) => {
    if (user) headers.cookie = fresh ? await freshLogin(user) : await s.t.login(user);
    return s.t.app.inject({ method: method as 'GET', url, payload: body, headers });
  };
  let res = await go(false);
  // A fuzzed logout ends the session: log in again and carry on.
  if (res.statusCode === 401 && user) res = await go(true);
  return res;
}

async function freshLogin(user: string): Promise<string> {
  const res = await s.t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: user, password: 'demo12345' } });
  return res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

function expectHandled(res: LightMyRequestResponse, what: string) {
  expect(res.statusCode, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode >= 400 && res.headers?.['content-type']?.toString().includes('json')) {
    const body = JSON.parse(res.body);
    expect(body, `${what}: an error names its code and says it in both languages`).toMatchObject({ code: expect.any(String), message: expect.any(String), message_zh: expect.any(String) });
  }
}

describe('every API operation under malformed and hostile input', () => {
  it('the document lists the operations (the fuzzer has something to do)', () => {
    expect(operations.length).toBeGreaterThan(90);
  });

  it('a body of the wrong shape (wrong types, missing fields, an array, broken JSON, text, 2 MB) is refused with a 4xx and writes nothing', async () => {
    let tried = 0;
    for (const { method, path, op } of operations.filter((o) => o.op.requestBody?.content?.['application/json'])) {
      const schema = op.requestBody.content['application/json'].schema ?? {};
      const props = Object.entries<any>(schema.properties ?? {});
      const bodies: [string, string, string][] = [
        ['array for an object', '[]', 'application/json'],
        ['broken JSON', '{"a":', 'application/json'],
        ['text/plain', 'hello', 'text/plain'],
        ['a 2 MB body', JSON.stringify({ text: 'x'.repeat(2 * 1024 * 1024) }), 'application/json'],
      ];
      if (props.length) bodies.push(['every field the wrong type', JSON.stringify(Object.fromEntries(props.map(([k, v]) => [k, wrongType(v)]))), 'application/json']);
      if (schema.required?.length) bodies.push(['required fields missing', '{}', 'application/json']);
      const before = await everyTableCount();
      for (const user of USERS) {
        for (const [label, body, type] of bodies) {
          const res = await send(user, method, fillPath(path), body, type);
          expectHandled(res, `${user ?? 'anonymous'} ${method} ${path} (${label})`);
          expect(res.statusCode, `${user ?? 'anonymous'} ${method} ${path} (${label}) must be refused`).toBeGreaterThanOrEqual(400);
          tried++;
        }
      }
      const after = await everyTableCount();
      const changed = Object.keys(after).filter((k) => after[k] !== before[k]).map((k) => `${k} ${before[k]}→${after[k]}`);
      expect(changed, `${method} ${path}: a refused request wrote something`).toEqual([]);
    }
    expect(tried).toBeGreaterThan(500);
  }, 600_000);

  it('junk in path parameters (injection, traversal, NUL, 600 characters) never gives a 5xx', async () => {
    for (const { method, path } of operations.filter((o) => o.path.includes('{'))) {
      for (const junk of PATH_JUNK) {
        for (const user of ['admin', 'water1']) {
          const res = await send(user, method, fillPath(path, junk), method === 'GET' || method === 'DELETE' ? undefined : '{}', method === 'GET' || method === 'DELETE' ? undefined : 'application/json');
          expectHandled(res, `${user} ${method} ${path} with ${JSON.stringify(junk.slice(0, 20))}`);
        }
      }
    }
  }, 600_000);

  it('junk in query parameters (negative, huge, injection, XSS, 3000 characters, repeated) never gives a 5xx', async () => {
    for (const { method, path, op } of operations.filter((o) => o.method === 'GET' && (o.op.parameters ?? []).some((p: any) => p.in === 'query'))) {
      const names = op.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name as string);
      for (const name of names) {
        for (const junk of QUERY_JUNK) {
          const res = await send('admin', method, `${fillPath(path)}?${name}=${encodeURIComponent(junk)}`);
          expectHandled(res, `GET ${path}?${name}=${junk.slice(0, 20)}`);
        }
        const repeated = await send('dispatcher1', method, `${fillPath(path)}?${name}=1&${name}=2&${name}[x]=3`);
        expectHandled(repeated, `GET ${path} with ${name} repeated`);
      }
    }
  }, 600_000);

  it('well-typed bodies full of XSS and SQL payloads never give a 5xx and are never answered as HTML', async () => {
    for (const { method, path, op } of operations.filter((o) => o.op.requestBody?.content?.['application/json'])) {
      const body = JSON.stringify(hostileValue(op.requestBody.content['application/json'].schema ?? { type: 'object' }));
      for (const user of ['admin', 'dispatcher1', 'water1']) {
        const res = await send(user, method, fillPath(path), body, 'application/json');
        expectHandled(res, `${user} ${method} ${path} (hostile strings)`);
        // A JSON answer is never HTML: a payload echoed back cannot run in a browser.
        if (res.body) expect(String(res.headers['content-type'] ?? ''), `${method} ${path}`).not.toContain('text/html');
      }
    }
  }, 600_000);
});

describe('the live WebSocket protocol under malformed and hostile frames', () => {
  it('every bad frame gets MESSAGE_INVALID or a defined close; the server keeps serving the same and other consoles', async () => {
    const base = await listen(s.t.app);
    const frames: (string | Buffer)[] = [
      'not json', '', 'null', '[]', '42', '"resume"', '{"type":', '{"type":"resume"}', '{"type":"resume","after":-1}',
      '{"type":"resume","after":"1e309"}', '{"type":"resume","after":1.5}', '{"type":"presence","status":"<script>"}',
      '{"type":"presence"}', '{"type":"ping","extra":1}', '{"__proto__":{"type":"ping"}}', '{"constructor":{"prototype":{"admin":true}}}',
      JSON.stringify({ type: 'resume', after: 0, nested: JSON.parse('['.repeat(500) + ']'.repeat(500)) }),
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    ];
    const c = await LiveClient.ready(base, { cookie: await s.t.login('dispatcher1') });
    for (const f of frames) c.ws.send(f);
    await c.waitFor(() => c.messages.filter((m) => m.type === 'error' && m.code === 'MESSAGE_INVALID').length === frames.length, `${frames.length} MESSAGE_INVALID`);
    expect(c.closeCode).toBeNull();
    expect((globalThis as any).admin).toBeUndefined();
    // Still a working link: a ping gets its pong.
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong', 'pong after the bad frames');

    // A frame over the 64 KB limit closes that link with 1009 (message too big), and only that link.
    const big = await LiveClient.ready(base, { cookie: await s.t.login('admin') });
    big.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(100 * 1024) }));
    expect((await big.closed).code).toBe(1009);
    // A burst of 2,000 bad frames: answered or dropped, never a crash; the others are still served.
    const burst = await LiveClient.ready(base, { cookie: await s.t.login('water1') });
    for (let i = 0; i < 2000; i++) burst.ws.send(`{"type":"resume","after":"x${i}"}`);
    await c.waitFor(() => burst.closeCode !== null || burst.messages.filter((m) => m.code === 'MESSAGE_INVALID').length === 2000, 'the burst answered or the link closed', 30_000);
    if (burst.closeCode !== null) expect([1008, 1009, 4429]).toContain(burst.closeCode);
    c.send({ type: 'ping' });
    await c.waitFor((m) => m.type === 'pong' && c.messages.filter((x) => x.type === 'pong').length === 2, 'the first console still answered');
    const res = await s.t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: await s.t.login('dispatcher1') } });
    expect(res.statusCode).toBe(200);
    await Promise.all([c.close(), burst.close()]);
  }, 120_000);
});
