/**
 * Two checks made once for every route rather than per field: a date must fall in 2000-01-01 …
 * 2100-12-31 (year 0000 made MariaDB answer 500 and SQLite store nonsense), and text must be
 * well-formed UTF-16 (a lone surrogate in a call id was stored on `offered` and a 500 on
 * `answered`). Each refusal is a 400 with a stable code, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowCounts, startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { SIX } from '../helpers/matrix';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // Logged in first: a login writes a session and an audit row, which would blur "nothing written".
  for (const user of ['agent1', 'admin']) await t.login(user);
});
afterAll(async () => t?.close());

async function api(user: string, method: 'POST' | 'GET', url: string, payload?: unknown) {
  return t.app.inject({ method, url: `/api/v1${url}`, payload: payload as never, headers: { cookie: await t.login(user) } });
}
const count = async (table: 'calls' | 'knowledge_articles') =>
  Number((await t.ctx.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe(`dates outside 2000–2100 are refused everywhere (${testDialect})`, () => {
  const ticket = (occurredAt: string) => ({ channel: 'phone', type: 'help', ...SIX, occurredAt, callerPhone: '13800138010' });

  for (const occurredAt of ['0000-01-01T00:00:00+08:00', '1999-12-31T23:59:59+08:00', '2101-01-01T00:00:00+08:00', '9999-12-31T00:00:00Z']) {
    it(`occurredAt ${occurredAt}: 400 VALIDATION_FAILED naming occurredAt, nothing written`, async () => {
      const before = await rowCounts(t);
      const res = await api('agent1', 'POST', '/tickets', ticket(occurredAt));
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(res.json().details.fields.map((f: { field: string }) => f.field)).toContain('occurredAt');
      expect(await rowCounts(t)).toEqual(before);
    });
  }

  it('the edges of the range are accepted: 2000-01-01 and 2100-12-31 (the latter refused only as in the future)', async () => {
    expect((await api('agent1', 'POST', '/tickets', ticket('2000-01-01T00:00:00+08:00'))).statusCode).toBe(201);
    const late = await api('agent1', 'POST', '/tickets', ticket('2100-12-31T23:59:59+08:00'));
    expect(late.statusCode).toBe(400);
    expect(late.json().code).toBe('DATE_IN_FUTURE');
  });

  for (const validFrom of ['0000-01-01', '2101-01-01', '0000-01-01T00:00:00+08:00']) {
    it(`knowledge validFrom ${validFrom}: 400 DATE_INVALID, no article`, async () => {
      const before = await count('knowledge_articles');
      const res = await api('agent1', 'POST', '/knowledge/articles', { question: '年份测试', answer: '年份测试', validFrom });
      expect(res.statusCode).toBe(400);
      expect(['DATE_INVALID', 'VALIDATION_FAILED']).toContain(res.json().code);
      expect(await count('knowledge_articles')).toBe(before);
    });
  }

  it('a call event at year 0000: 400, no call', async () => {
    const before = await count('calls');
    const res = await api('admin', 'POST', '/calls/events', { type: 'offered', callId: 'year-zero', callerPhone: '13800138011', dialledNumber: '12345', at: '0000-01-01T00:00:00Z' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
    expect(await count('calls')).toBe(before);
  });

  it('a query-string date in 2101 (ticket search): 400', async () => {
    const res = await api('agent1', 'GET', `/tickets?createdFrom=${encodeURIComponent('2101-01-01T00:00:00+08:00')}`);
    expect(res.statusCode).toBe(400);
  });
});

describe(`ill-formed UTF-16 is refused in every string (${testDialect})`, () => {
  const lone = 'call-\ud800-x';

  for (const type of ['offered', 'answered'] as const) {
    it(`a lone surrogate in callId on ${type}: 400 TEXT_MALFORMED naming callId, no call`, async () => {
      const before = await count('calls');
      const body = type === 'offered' ? { type, callId: lone, callerPhone: '13800138012', dialledNumber: '12345' } : { type, callId: lone };
      const res = await api('admin', 'POST', '/calls/events', body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'TEXT_MALFORMED', details: { in: 'body', field: 'callId' } });
      expect(res.json().message_zh).toMatch(/无效字符/);
      expect(await count('calls')).toBe(before);
    });
  }

  it('a lone low surrogate deep in a ticket body, and in a key: 400 TEXT_MALFORMED, nothing written', async () => {
    const before = await rowCounts(t);
    const deep = await api('agent1', 'POST', '/tickets', { channel: 'phone', type: 'help', ...SIX, parties: 'x\udc00y' });
    expect(deep.json()).toMatchObject({ code: 'TEXT_MALFORMED', details: { field: 'parties' } });
    const key = await api('agent1', 'POST', '/tickets', { channel: 'phone', type: 'help', ...SIX, ['\ud83d']: 1 });
    expect(key.statusCode).toBe(400);
    expect(key.json().code).toBe('TEXT_MALFORMED');
    expect(await rowCounts(t)).toEqual(before);
  });

  it('a well-formed pair (an emoji) is text like any other', async () => {
    const res = await api('agent1', 'POST', '/tickets', { channel: 'phone', type: 'help', ...SIX, situation: '整栋楼停水 😞' });
    expect(res.statusCode).toBe(201);
  });
});
