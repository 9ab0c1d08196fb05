/**
 * Found by the load driver under kill -9 and overload (docs/reliability.md): a client whose request
 * timed out retries it with the same Idempotency-Key while the first try is still running on the
 * server. Both pass the "key already answered?" check; the first commits; the retry then failed on
 * what the first changed (409 VERSION_CONFLICT, "changed by someone else") instead of answering with
 * the first try's result. Now every twin answers the one result, and the change is made once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
}, 180_000);
afterAll(async () => t?.close());

const SIX = { occurredAt: '2025-10-08T09:00:00+08:00', addressText: '滨江路1号', parties: '居民', situation: '整栋楼停水', demand: '尽快恢复供水' };

async function post(user: string, url: string, payload: object, key?: string) {
  const res = await t.app.inject({ method: 'POST', url: `/api/v1${url}`, payload, headers: { cookie: await t.login(user), ...(key ? { 'idempotency-key': key } : {}) } });
  return { status: res.statusCode, body: res.json() as any };
}

const TWINS = 8;

describe('the same request sent again while its first try is still running', () => {
  it('a ticket transition: every twin answers the first result, the ticket changes once', async () => {
    const created = await post('agent1', '/tickets', { channel: 'phone', type: 'consultation', title: '公积金咨询', ...SIX }, 'twin-create-0');
    expect(created.status).toBe(201);
    const answers = await Promise.all(Array.from({ length: TWINS }, () =>
      post('agent1', `/tickets/${created.body.id}/transitions`, { action: 'answer_on_spot', version: created.body.version, answer: '已当场答复' }, 'twin-answer')));
    expect(answers.map((a) => `${a.status} ${a.body.code ?? a.body.status}`)).toEqual(Array(TWINS).fill('200 answered'));
    expect(new Set(answers.map((a) => a.body.version)).size).toBe(1);
    const audit = (await t.app.inject({ method: 'GET', url: `/api/v1/tickets/${created.body.id}/audit`, headers: { cookie: await t.login('agent1') } })).json() as any[];
    expect(audit.filter((a) => a.action === 'ticket.answer_on_spot')).toHaveLength(1);
  });

  it('a ticket registration: one ticket, every twin gets its id', async () => {
    const answers = await Promise.all(Array.from({ length: TWINS }, () =>
      post('agent1', '/tickets', { channel: 'phone', type: 'help', title: '孪生请求', ...SIX, callerPhone: '13811119999' }, 'twin-create-1')));
    expect(answers.map((a) => a.status)).toEqual(Array(TWINS).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const rows = await t.ctx.database.db.selectFrom('tickets').select('id').where('title', '=', '孪生请求').execute();
    expect(rows).toHaveLength(1);
  });

  it('a work-order command: acknowledged once, every twin answers the same version', async () => {
    const created = await post('agent1', '/tickets', { channel: 'phone', type: 'help', title: '停水', ...SIX }, 'twin-create-2');
    const water = (await t.ctx.directory.findUnitByCode('demo', 'util-water'))!.id;
    const d = await post('dispatcher1', `/tickets/${created.body.id}/dispatch`, { version: created.body.version, handlingUnitId: water, overrideReason: '测试' });
    expect(d.status).toBe(200);
    const list = (await t.app.inject({ method: 'GET', url: `/api/v1/work-orders?queue=all&ticketId=${created.body.id}`, headers: { cookie: await t.login('water1') } })).json() as any;
    const wo = list.items[0];
    const answers = await Promise.all(Array.from({ length: TWINS }, () => post('water1', `/work-orders/${wo.id}/acknowledge`, { version: wo.version }, 'twin-ack')));
    expect(answers.map((a) => `${a.status} ${a.body.code ?? a.body.status}`)).toEqual(Array(TWINS).fill('200 acknowledged'));
    const audit = await t.ctx.database.db.selectFrom('audit_events').select('id').where('entity_id', '=', wo.id).where('action', '=', 'workorder.acknowledged').execute();
    expect(audit).toHaveLength(1);
  });

  it('a different request under a used key is still refused', async () => {
    const r = await post('agent1', '/tickets', { channel: 'phone', type: 'help', title: '另一个请求', ...SIX }, 'twin-create-1');
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});
