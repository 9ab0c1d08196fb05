/**
 * Unique keys under concurrent requests: whatever the order in which two requests pass a service's
 * "does it exist?" check, the database's unique key decides, and the loser is told 409 with a
 * stable code, never 500. Each race sends N identical requests at once and checks: one success,
 * N-1 conflicts, no 500, exactly one row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { SIX } from '../helpers/matrix';
import { RESPONSIBILITY_CSV_COLUMNS } from '../../routing/responsibility';

const N = 20;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    beforeReady(app, ctx) {
      // A duplicate that no service translated: the central handler must still answer 409, hiding the SQL.
      app.post('/api/v1/__test/duplicate-user', async () => {
        const u = await ctx.database.db.selectFrom('users').selectAll().limit(1).executeTakeFirstOrThrow();
        await ctx.database.db.insertInto('users').values({ ...u, id: 'X'.repeat(26) }).execute();
        return { ok: true };
      });
    },
  });
});
afterAll(async () => t?.close());

async function api(user: string, method: 'POST' | 'GET' | 'PATCH', url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({ method, url: `/api/v1${url}`, payload: payload as never, headers: { cookie: await t.login(user), ...headers } });
}

const tally = (rs: LightMyRequestResponse[]) => {
  const out: Record<string, number> = {};
  for (const r of rs) {
    const key = `${r.statusCode}${r.statusCode >= 400 ? ` ${r.json().code}` : ''}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
};

describe(`unique keys under ${N} concurrent requests (${testDialect})`, () => {
  it('POST /users with one username: one 201, the rest 409 USERNAME_TAKEN, one row', async () => {
    await t.login('admin');
    const body = { username: 'race-user', displayName: '并发用户', role: 'agent', password: 'quiet-harbor-77' };
    const rs = await Promise.all(Array.from({ length: N }, () => api('admin', 'POST', '/users', body)));
    expect(tally(rs)).toEqual({ '201': 1, '409 USERNAME_TAKEN': N - 1 });
    const rows = await t.ctx.database.db.selectFrom('users').select('id').where('username', '=', 'race-user').execute();
    expect(rows).toHaveLength(1);
  });

  it('offering one ticket to the claim pool: one 201, the rest 409 ALREADY_IN_POOL, one pool row', async () => {
    await t.login('dispatcher1');
    const created = await api('agent1', 'POST', '/tickets', { channel: 'phone', type: 'help', ...SIX, callerPhone: '13800138001' });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    const rs = await Promise.all(Array.from({ length: N }, () => api('dispatcher1', 'POST', `/tickets/${id}/claim-pool`, { reason: '职责不清的疑难事项' })));
    expect(tally(rs)).toEqual({ '201': 1, '409 ALREADY_IN_POOL': N - 1 });
    const rows = await t.ctx.database.db.selectFrom('claim_pool').select('ticket_id').where('ticket_id', '=', id).execute();
    expect(rows).toHaveLength(1);
  });

  it('one Idempotency-Key sent N times at once: every answer is the first ticket, one row', async () => {
    await t.login('agent1');
    const body = { channel: 'phone', type: 'help', ...SIX, callerPhone: '13800138002' };
    const rs = await Promise.all(Array.from({ length: N }, () => api('agent1', 'POST', '/tickets', body, { 'idempotency-key': 'race-key-1' })));
    expect(rs.filter((r) => r.statusCode >= 500)).toEqual([]);
    expect(new Set(rs.map((r) => r.statusCode)).size).toBe(1);
    expect(new Set(rs.map((r) => r.json().id)).size).toBe(1);
    const rows = await t.ctx.database.db.selectFrom('idempotency_records').select('id').where('idem_key', '=', 'race-key-1').execute();
    expect(rows).toHaveLength(1);
  });

  it('one new caller phoning twice at once: one citizen row, no 500', async () => {
    const body = { channel: 'phone', type: 'help', ...SIX, callerPhone: '13800138003' };
    const rs = await Promise.all(Array.from({ length: N }, () => api('agent1', 'POST', '/tickets', body)));
    expect(tally(rs)).toEqual({ '201': N });
    const rows = await t.ctx.database.db.selectFrom('citizens').select('id').where('phone', '=', '13800138003').execute();
    expect(rows).toHaveLength(1);
  });

  it('one call offered N times at once: one calls row, no 500', async () => {
    await t.login('agent1');
    const rs = await Promise.all(Array.from({ length: N }, () => api('admin', 'POST', '/calls/events', { type: 'offered', callId: 'race-call-1', callerPhone: '13800138004', dialledNumber: '12345' })));
    expect(rs.filter((r) => r.statusCode >= 500).map((r) => r.body)).toEqual([]);
    const rows = await t.ctx.database.db.selectFrom('calls').select('id').where('call_id', '=', 'race-call-1').execute();
    expect(rows).toHaveLength(1);
  });

  it('one calendar year imported N times at once: no 500, one year row', async () => {
    const body = { year: 2031, source: '国务院办公厅通知', holidays: [{ name: '元旦', days: ['2031-01-01'] }] };
    const rs = await Promise.all(Array.from({ length: N }, () => api('admin', 'POST', '/calendar/years', body)));
    expect(rs.filter((r) => r.statusCode >= 500).map((r) => r.body)).toEqual([]);
    const rows = await t.ctx.database.db.selectFrom('calendar_years').select('year').where('year', '=', 2031).execute();
    expect(rows).toHaveLength(1);
  });

  it('N responsibility-list drafts at once: all 201, each with its own number', async () => {
    const csv = [RESPONSIBILITY_CSV_COLUMNS.join(','), 'W-1,01021601,,city,util-water,dept-swj,抢修,1小时内到场,96116,'].join('\n');
    await t.login('dispatcher1');
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => api('dispatcher1', 'POST', '/responsibility/versions', { csv, note: `race ${i}` })));
    expect(tally(rs)).toEqual({ '201': N });
    const created = rs.filter((r) => r.statusCode === 201).map((r) => r.json().number);
    expect(new Set(created).size).toBe(created.length);
  });

  it('one knowledge article edited N times at once from one version: one 200, the rest 409, no 500, one change', async () => {
    const created = await api('agent1', 'POST', '/knowledge/articles', { question: '并发编辑', answer: '第一版' });
    expect(created.statusCode).toBe(201);
    const { id, version } = created.json();
    const revisions = async () => (await t.ctx.database.db.selectFrom('knowledge_revisions').select('id').where('article_id', '=', id).execute()).length;
    const before = await revisions();
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => api('agent1', 'PATCH', `/knowledge/articles/${id}`, { version, answer: `第二版 ${i}` })));
    const statuses = tally(rs);
    expect(Object.keys(statuses).filter((k) => k.startsWith('5'))).toEqual([]);
    expect(statuses['200']).toBe(1);
    expect(rs.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 409)).toBe(true);
    // A draft is edited in place or as one new revision, never one per request.
    expect(await revisions()).toBeLessThanOrEqual(before + 1);
    const after = (await api('agent1', 'GET', `/knowledge/articles/${id}`)).json();
    expect(after.version).toBe(version + 1);
  });

  it('one link between two tickets asked N times at once: no 500, one link row', async () => {
    const mk = async (phone: string) => (await api('agent1', 'POST', '/tickets', { channel: 'phone', type: 'help', ...SIX, callerPhone: phone })).json().id;
    const [a, b] = [await mk('13800138020'), await mk('13800138021')];
    const rs = await Promise.all(Array.from({ length: N }, () => api('agent1', 'POST', `/tickets/${a}/links`, { ticketId: b, kind: 'related' })));
    expect(rs.filter((r) => r.statusCode >= 500).map((r) => r.body)).toEqual([]);
    const rows = await t.ctx.database.db.selectFrom('ticket_links').select('id').where('ticket_id', '=', a).where('linked_ticket_id', '=', b).execute();
    expect(rows).toHaveLength(1);
  });

  it('one ticket dispatched N times at once from one version: one 200, the rest 409, one work order', async () => {
    const unit = (await t.ctx.directory.findUnitByCode('demo', 'util-water'))!.id;
    const created = (await api('agent1', 'POST', '/tickets', { channel: 'phone', type: 'help', ...SIX, handlingUnitId: unit, callerPhone: '13800138022' })).json();
    await t.login('dispatcher1');
    const rs = await Promise.all(Array.from({ length: N }, () => api('dispatcher1', 'POST', `/tickets/${created.id}/transitions`, { action: 'dispatch', version: created.version })));
    const statuses = tally(rs);
    expect(Object.keys(statuses).filter((k) => k.startsWith('5'))).toEqual([]);
    expect(statuses['200']).toBe(1);
    const rows = await t.ctx.database.db.selectFrom('work_orders').select('id').where('ticket_id', '=', created.id).execute();
    expect(rows).toHaveLength(1);
  });

  it('a duplicate no service translated: 409 CONFLICT_DUPLICATE in both languages, no SQL text', async () => {
    const res = await api('admin', 'POST', '/__test/duplicate-user');
    expect(res.statusCode).toBe(409);
    const body = res.json();
    expect(body.code).toBe('CONFLICT_DUPLICATE');
    expect(body.message_zh).toMatch(/已存在/);
    expect(res.body).not.toMatch(/UNIQUE constraint|Duplicate entry|users\.|PRIMARY|sqlite|ER_DUP|race-user/i);
  });
});
