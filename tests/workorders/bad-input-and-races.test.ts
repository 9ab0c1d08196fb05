/**
 * Work orders refusing bad input, stale versions and races cleanly (SQLite or MariaDB per
 * TEST_DATABASE): each case checks the status, the stable error code, the Chinese message, the field
 * the details name, and that nothing changed — the work order's version and status, its ticket's, and
 * the row counts of the work-order tables (work orders, milestones, outbox, audit, callbacks, ...).
 * Then idempotency keys on the unit's commands, and attachments end to end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, countRows } from '../helpers/app';
import { testDialect } from '../helpers/db';
import { startScenario, THURSDAY_10AM, type Scenario } from './helpers';

// ---------------------------------------------------------------------------------------------
// The app: the demo city on a fixed clock, small attachments, no background sweep (each test sweeps
// when it needs to, so that nothing fires between the counts before and after a request).

const MAX_ATTACHMENT_BYTES = 4096;
let s: Scenario;
let attachmentsDir: string;

beforeAll(async () => {
  attachmentsDir = await mkdtemp(join(tmpdir(), 'hotline-wo-bad-input-'));
  s = await startScenario(THURSDAY_10AM, {
    attachments: { dir: attachmentsDir, maxBytes: MAX_ATTACHMENT_BYTES, s3: null },
    sweepIntervalSeconds: 3600,
  });
}, 60_000);
afterAll(async () => {
  await s?.t.close();
  if (attachmentsDir) await rm(attachmentsDir, { recursive: true, force: true });
});

const reset = () => s.clock.set(THURSDAY_10AM);

/** Unit code → a handler of that unit among the demo users. */
const HANDLER: Record<string, string> = { 'dept-cgj': 'chengguan1', 'util-water': 'water1' };

// ---------------------------------------------------------------------------------------------
// Requests (raw, for bodies that are not JSON and for binary answers)

const cookies = new Map<string, string>();
async function cookieOf(user: string, fresh: boolean) {
  if (!fresh && cookies.has(user)) return cookies.get(user)!;
  const res = await s.t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: user, password: DEMO_PASSWORD } });
  if (res.statusCode !== 200) throw new Error(`login ${user}: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  cookies.set(user, cookie);
  return cookie;
}

/** Sends as a user; a session that expired (the clock moved) is renewed. */
async function send(user: string, opts: InjectOptions & { url: string }): Promise<LightMyRequestResponse> {
  const go = async (fresh: boolean) =>
    s.t.app.inject({ ...opts, url: `/api/v1${opts.url}`, headers: { ...(opts.headers ?? {}), cookie: await cookieOf(user, fresh) } });
  const res = await go(false);
  return res.statusCode === 401 ? go(true) : res;
}

/** A session that will not need renewing during the next request (a login writes an audit row). */
async function warm(user: string) {
  const res = await send(user, { method: 'GET', url: '/auth/me' });
  if (res.statusCode !== 200) throw new Error(`warm ${user}: ${res.statusCode}`);
}

const post = (url: string, payload: unknown, headers: Record<string, string> = {}): InjectOptions & { url: string } => ({ method: 'POST', url, payload: payload as never, headers });
const get = (url: string): InjectOptions & { url: string } => ({ method: 'GET', url });

// ---------------------------------------------------------------------------------------------
// What "nothing changed" means

const COUNTED = [
  'work_orders', 'work_order_milestones', 'notification_outbox', 'audit_events', 'callbacks',
  'supervision_orders', 'work_order_notes', 'work_order_attachments', 'claim_pool', 'idempotency_records', 'tickets', 'sms_messages',
] as const;

async function rowCounts(): Promise<Record<(typeof COUNTED)[number], number>> {
  const out = {} as Record<(typeof COUNTED)[number], number>;
  for (const table of COUNTED) out[table] = await countRows(s.t, table);
  return out;
}

/** The counts, and the state of one work order and its ticket (version, status, milestone statuses). */
async function snapshot(workOrderId?: string) {
  const db = s.t.ctx.database.db;
  const counts = await rowCounts();
  if (!workOrderId) return { counts };
  const w = await db.selectFrom('work_orders').select(['version', 'status', 'ticket_id']).where('id', '=', workOrderId).executeTakeFirstOrThrow();
  const t = await db.selectFrom('tickets').select(['version', 'status']).where('id', '=', w.ticket_id).executeTakeFirstOrThrow();
  const milestones = await db.selectFrom('work_order_milestones').select(['clock', 'step', 'status']).where('work_order_id', '=', workOrderId).execute();
  return {
    counts,
    workOrder: { version: Number(w.version), status: w.status },
    ticket: { version: Number(t.version), status: t.status },
    milestones: milestones.map((m) => `${m.clock}.${m.step}=${m.status}`).sort(),
  };
}

/** Fires whatever is due now, so that the sweep has nothing left to write during a case. */
const settle = () => s.t.ctx.workOrders.sweep();

/** Every field the details name: validation fields or a domain error's field. */
function fieldsOf(details: any): string[] {
  if (!details || typeof details !== 'object') return [];
  return [...(details.fields ?? []).map((f: { field: string }) => f.field), ...(typeof details.field === 'string' ? [details.field] : [])];
}

interface Refusal {
  as: string;
  req: InjectOptions & { url: string };
  status: number;
  code: string;
  field?: string;
  /** The work order whose version, status, ticket and milestones must not change. */
  workOrderId?: string;
  details?: (details: any) => void;
}

async function expectRefused(c: Refusal) {
  await warm(c.as);
  await settle();
  const before = await snapshot(c.workOrderId);
  const res = await send(c.as, c.req);
  expect(res.statusCode, res.body.slice(0, 500)).toBe(c.status);
  const body = res.json();
  expect(body.code, JSON.stringify(body)).toBe(c.code);
  expect(typeof body.message).toBe('string');
  expect(body.message_zh, 'message_zh').toMatch(/\S/);
  expect(body.request_id).toBe(res.headers['x-request-id']);
  if (c.field) expect(fieldsOf(body.details), `details name ${c.field}: ${JSON.stringify(body.details)}`).toContain(c.field);
  c.details?.(body.details);
  expect(await snapshot(c.workOrderId), 'nothing changed').toEqual(before);
  return body;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a work order in each state, through the API as the unit and the center would

const REASON = '经核实不属于本单位职责';

async function dispatchedTo(unit = 'dept-cgj', extra?: Record<string, unknown>) {
  const { ticket, lead } = await s.dispatched(unit, { extra });
  return { ticket, wo: lead };
}
async function acknowledgedBy(unit = 'dept-cgj') {
  const { ticket, wo } = await dispatchedTo(unit);
  return { ticket, wo: await s.ok(HANDLER[unit], 'POST', `/work-orders/${wo.id}/acknowledge`, { version: wo.version }) };
}
async function returnedBy(unit = 'dept-cgj') {
  const { ticket, wo } = await dispatchedTo(unit);
  return { ticket, wo: await s.ok(HANDLER[unit], 'POST', `/work-orders/${wo.id}/return`, { version: wo.version, reason: REASON }) };
}
async function extensionRequestedBy(unit = 'dept-cgj') {
  const { ticket, wo } = await acknowledgedBy(unit);
  return {
    ticket,
    wo: await s.ok(HANDLER[unit], 'POST', `/work-orders/${wo.id}/extension-request`, { version: wo.version, reason: '需协调多部门', proposedDeadline: '2025-10-20T17:00:00+08:00' }),
  };
}
/** Replied, accepted and called back once (the SMS survey went out): the callback waits for a rating. */
async function beingCalledBack(unit = 'dept-cgj') {
  const { ticket, wo } = await acknowledgedBy(unit);
  await s.ok(HANDLER[unit], 'POST', `/work-orders/${wo.id}/reply`, { version: wo.version, result: '已处理完毕' });
  await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/reply-review`, { decision: 'accept' });
  await settle();
  const cb = (await s.ok('agent1', 'GET', '/callbacks?status=all')).items.find((c: any) => c.ticketId === ticket.id);
  expect(cb).toMatchObject({ status: 'surveying', attempts: 1 });
  return { ticket, wo, callback: cb };
}

// ---------------------------------------------------------------------------------------------

describe(`work orders: versions and races on ${testDialect}`, () => {
  it('acknowledge with a stale version → 409 VERSION_CONFLICT with the current version and status', async () => {
    reset();
    const { wo } = await acknowledgedBy();
    expect(wo).toMatchObject({ status: 'acknowledged', version: 2 });
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: 1 }), workOrderId: wo.id,
      status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d).toEqual({ currentVersion: 2, currentStatus: 'acknowledged' }),
    });
  });

  it('acknowledge with a version from the future → 409 VERSION_CONFLICT', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: 99 }), workOrderId: wo.id,
      status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d).toEqual({ currentVersion: 1, currentStatus: 'dispatched' }),
    });
  });

  it('reply with the version from before the acknowledgement → 409 VERSION_CONFLICT', async () => {
    reset();
    const { wo } = await acknowledgedBy();
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${wo.id}/reply`, { version: 1, result: '已处理' }), workOrderId: wo.id,
      status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d).toEqual({ currentVersion: 2, currentStatus: 'acknowledged' }),
    });
  });

  describe('two users of the unit acknowledge the same work order at once: exactly one wins', () => {
    const ROUNDS = 6;
    for (let round = 1; round <= ROUNDS; round++) {
      // Odd rounds: the lead (the ticket is acknowledged with it); even rounds: a co-handler (the work order alone).
      const role = round % 2 ? 'lead' : 'co-handler';
      it(`round ${round} (${role})`, async () => {
        reset();
        const { ticket, lead, co } = role === 'lead' ? await s.dispatched('dept-cgj') : await s.dispatched('dept-scjgj', { coUnitCodes: ['dept-cgj'] });
        const wo = role === 'lead' ? lead : co[0];
        expect(wo).toMatchObject({ unitId: await s.unitId('dept-cgj'), status: 'dispatched', version: 1 });
        await Promise.all([warm('chengguan1'), warm('chengguan_mgr')]);
        await settle();
        const before = await rowCounts();
        const results = await Promise.all(
          ['chengguan1', 'chengguan_mgr'].map((user) => send(user, post(`/work-orders/${wo.id}/acknowledge`, { version: 1 }))),
        );
        expect(results.map((r) => r.statusCode).sort(), results.map((r) => r.body).join('\n')).toEqual([200, 409]);
        const winner = results.find((r) => r.statusCode === 200)!.json();
        const loser = results.find((r) => r.statusCode === 409)!.json();
        expect(winner).toMatchObject({ id: wo.id, status: 'acknowledged', version: 2 });
        expect(loser, JSON.stringify(loser)).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2, currentStatus: 'acknowledged' } });
        expect(loser.message_zh).toMatch(/\S/);
        // Written once: one acknowledgement in the work order's trail (and the ticket's, for the lead).
        const db = s.t.ctx.database.db;
        const row = await db.selectFrom('work_orders').select(['version', 'status']).where('id', '=', wo.id).executeTakeFirstOrThrow();
        expect({ version: Number(row.version), status: row.status }).toEqual({ version: 2, status: 'acknowledged' });
        const woAudit = await db.selectFrom('audit_events').select('action').where('entity_id', '=', wo.id).where('action', 'like', 'workorder.acknowledged%').execute();
        expect(woAudit).toHaveLength(1);
        const ticketAudit = await db.selectFrom('audit_events').select('action').where('entity_id', '=', ticket.id).where('action', '=', 'ticket.acknowledge').execute();
        expect(ticketAudit).toHaveLength(role === 'lead' ? 1 : 0);
        const tk = await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`);
        expect(tk.status).toBe(role === 'lead' ? 'acknowledged' : 'dispatched');
        expect(await rowCounts()).toEqual({ ...before, audit_events: before.audit_events + (role === 'lead' ? 2 : 1) });
      });
    }
  });

  it('acknowledge a work order the center re-dispatched to another unit → 409 WORK_ORDER_STATE', async () => {
    reset();
    const { wo } = await returnedBy('dept-cgj');
    await s.ok('dispatcher1', 'POST', `/work-orders/${wo.id}/return-ruling`, { version: wo.version, decision: 'redispatch', handlingUnitId: await s.unitId('util-water'), reason: '改派自来水公司' });
    const old = await s.ok('chengguan1', 'GET', `/work-orders/${wo.id}`);
    expect(old.status).toBe('reassigned');
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: old.version }), workOrderId: wo.id,
      status: 409, code: 'WORK_ORDER_STATE', details: (d) => expect(d).toEqual({ status: 'reassigned', action: 'acknowledge', allowedFrom: ['dispatched'], version: old.version }),
    });
  });

  it('acknowledge a work order whose ticket was cancelled → 409 WORK_ORDER_STATE', async () => {
    reset();
    const { ticket, wo } = await dispatchedTo();
    await s.ok('dispatcher1', 'POST', `/tickets/${ticket.id}/transitions`, { action: 'cancel', version: ticket.version, reason: '重复登记' });
    const cancelled = await s.ok('chengguan1', 'GET', `/work-orders/${wo.id}`);
    expect(cancelled.status).toBe('cancelled');
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: cancelled.version }), workOrderId: wo.id,
      status: 409, code: 'WORK_ORDER_STATE', details: (d) => expect(d).toMatchObject({ status: 'cancelled', action: 'acknowledge', allowedFrom: ['dispatched'] }),
    });
  });

  it('acknowledge without a version, or with version 0 → 400 VALIDATION_FAILED (version)', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, {}), workOrderId: wo.id, status: 400, code: 'VALIDATION_FAILED', field: 'version' });
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: 0 }), workOrderId: wo.id, status: 400, code: 'VALIDATION_FAILED', field: 'version' });
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: '1' }), workOrderId: wo.id, status: 400, code: 'VALIDATION_FAILED', field: 'version' });
  });
});

describe(`work orders: replies on ${testDialect}`, () => {
  let acknowledged: { id: string; version: number };
  let dispatched: { id: string; version: number };
  beforeAll(async () => {
    reset();
    acknowledged = (await acknowledgedBy()).wo;
    dispatched = (await dispatchedTo()).wo;
  });

  it('reply without a result → 400 VALIDATION_FAILED (result)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${acknowledged.id}/reply`, { version: acknowledged.version }), workOrderId: acknowledged.id, status: 400, code: 'VALIDATION_FAILED', field: 'result' });
  });

  it('reply with a blank result → 400 FIELD_REQUIRED (result)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${acknowledged.id}/reply`, { version: acknowledged.version, result: ' \n\t ' }), workOrderId: acknowledged.id, status: 400, code: 'FIELD_REQUIRED', field: 'result' });
  });

  it('reply with a result over 10,000 characters → 400 VALIDATION_FAILED (result)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${acknowledged.id}/reply`, { version: acknowledged.version, result: '长'.repeat(10_001) }), workOrderId: acknowledged.id, status: 400, code: 'VALIDATION_FAILED', field: 'result' });
  });

  it('reply with a result that is not text → 400 VALIDATION_FAILED (result)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${acknowledged.id}/reply`, { version: acknowledged.version, result: 42 }), workOrderId: acknowledged.id, status: 400, code: 'VALIDATION_FAILED', field: 'result' });
  });

  it('reply before acknowledging → 409 WORK_ORDER_STATE', async () => {
    reset();
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${dispatched.id}/reply`, { version: dispatched.version, result: '已处理' }), workOrderId: dispatched.id,
      status: 409, code: 'WORK_ORDER_STATE', details: (d) => expect(d).toEqual({ status: 'dispatched', action: 'reply to', allowedFrom: ['acknowledged'], version: dispatched.version }),
    });
  });

  it('record arrival on site before acknowledging → 409 WORK_ORDER_STATE', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${dispatched.id}/on-site`, { version: dispatched.version }), workOrderId: dispatched.id, status: 409, code: 'WORK_ORDER_STATE' });
  });

  it('a blank progress note → 400 FIELD_REQUIRED (text)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${acknowledged.id}/notes`, { text: '   ' }), workOrderId: acknowledged.id, status: 400, code: 'FIELD_REQUIRED', field: 'text' });
  });
});

describe(`work orders: returns (退回) on ${testDialect}`, () => {
  it('return with a blank reason → 400 FIELD_REQUIRED (reason); without one → 400 VALIDATION_FAILED (reason)', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/return`, { version: wo.version, reason: '   ' }), workOrderId: wo.id, status: 400, code: 'FIELD_REQUIRED', field: 'reason' });
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/return`, { version: wo.version }), workOrderId: wo.id, status: 400, code: 'VALIDATION_FAILED', field: 'reason' });
  });

  it('return after the 24 h window → 409 RETURN_WINDOW_CLOSED', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await s.at('2025-10-10T02:01:00Z'); // Fri 10:01, 24 h 1 min after dispatch (the ladder fires now, not during the case)
    await expectRefused({
      as: 'chengguan1', req: post(`/work-orders/${wo.id}/return`, { version: wo.version, reason: REASON }), workOrderId: wo.id,
      status: 409, code: 'RETURN_WINDOW_CLOSED', details: (d) => expect(d).toEqual({ windowEndsAt: '2025-10-10T10:00:00+08:00' }),
    });
  });

  it('return of a co-handler\'s work order after the window → 409 RETURN_WINDOW_CLOSED', async () => {
    reset();
    const { co } = await s.dispatched('dept-scjgj', { coUnitCodes: ['dept-cgj'] });
    await s.at('2025-10-10T03:00:00Z');
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${co[0].id}/return`, { version: co[0].version, reason: REASON }), workOrderId: co[0].id, status: 409, code: 'RETURN_WINDOW_CLOSED' });
  });

  it('return of a work order already replied → 409 WORK_ORDER_STATE', async () => {
    reset();
    const { wo } = await acknowledgedBy();
    const replied = await s.ok('chengguan1', 'POST', `/work-orders/${wo.id}/reply`, { version: wo.version, result: '已处理' });
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/return`, { version: replied.version, reason: REASON }), workOrderId: wo.id, status: 409, code: 'WORK_ORDER_STATE', details: (d) => expect(d).toMatchObject({ status: 'replied', allowedFrom: ['dispatched', 'acknowledged'] }) });
  });

  describe('the center\'s ruling on a return', () => {
    let returned: { id: string; version: number; unitId: string };
    beforeAll(async () => {
      reset();
      returned = (await returnedBy()).wo;
    });
    const ruling = (extra: Record<string, unknown>) => post(`/work-orders/${returned.id}/return-ruling`, { version: returned.version, reason: '请改派', ...extra });

    it('redispatch without a unit → 400 FIELD_REQUIRED (handlingUnitId)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: ruling({ decision: 'redispatch' }), workOrderId: returned.id, status: 400, code: 'FIELD_REQUIRED', field: 'handlingUnitId' });
      await expectRefused({ as: 'dispatcher1', req: ruling({ decision: 'redispatch', handlingUnitId: null }), workOrderId: returned.id, status: 400, code: 'FIELD_REQUIRED', field: 'handlingUnitId' });
    });

    it('redispatch to a unit that does not exist → 400 UNIT_NOT_FOUND (handlingUnitId)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: ruling({ decision: 'redispatch', handlingUnitId: '01NOSUCHUNIT' }), workOrderId: returned.id, status: 400, code: 'UNIT_NOT_FOUND', field: 'handlingUnitId' });
    });

    it('redispatch to the same unit → 400 SAME_UNIT (handlingUnitId)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: ruling({ decision: 'redispatch', handlingUnitId: returned.unitId }), workOrderId: returned.id, status: 400, code: 'SAME_UNIT', field: 'handlingUnitId' });
    });

    it('a ruling with a blank reason → 400 FIELD_REQUIRED (reason)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: ruling({ decision: 'confirm', reason: '  ' }), workOrderId: returned.id, status: 400, code: 'FIELD_REQUIRED', field: 'reason' });
    });

    it('an unknown decision → 400 VALIDATION_FAILED (decision)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: ruling({ decision: 'ignore' }), workOrderId: returned.id, status: 400, code: 'VALIDATION_FAILED', field: 'decision' });
    });

    it('a ruling with a stale version → 409 VERSION_CONFLICT', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: post(`/work-orders/${returned.id}/return-ruling`, { version: returned.version - 1, decision: 'confirm', reason: '属于你单位职责' }), workOrderId: returned.id, status: 409, code: 'VERSION_CONFLICT', details: (d) => expect(d).toEqual({ currentVersion: returned.version, currentStatus: 'returned' }) });
    });

    it('审定 whose fresh acknowledgement clock ends where the old one did → 200, the steps planned once (not a 500)', async () => {
      // Counted from the same instant (or, with working-day limits, from the same stretch outside office hours).
      reset();
      const { wo } = await returnedBy();
      const before = (await s.ok('dispatcher1', 'GET', `/work-orders/${wo.id}/milestones`)).filter((m: any) => m.clock === 'acknowledge');
      const w = await s.ok('dispatcher1', 'POST', `/work-orders/${wo.id}/return-ruling`, { version: wo.version, decision: 'confirm', reason: '经审定属于你单位职责' });
      expect(w).toMatchObject({ status: 'dispatched', deadlines: { acknowledge: '2025-10-09T12:00:00+08:00' } });
      const after = (await s.ok('dispatcher1', 'GET', `/work-orders/${wo.id}/milestones`)).filter((m: any) => m.clock === 'acknowledge');
      expect(after.map((m: any) => `${m.step}@${m.deadline}=${m.status}`).sort()).toEqual(before.map((m: any) => `${m.step}@${m.deadline}=pending`).sort());
      // Only the new steps fire, once each.
      await s.at('2025-10-09T04:00:00Z');
      expect(await s.notices({ workOrderId: wo.id, event: 'workorder.overdue' })).toHaveLength(2);
    });

    it('a ruling on a work order that was not returned → 409 WORK_ORDER_STATE', async () => {
      reset();
      const { wo } = await dispatchedTo();
      await expectRefused({ as: 'dispatcher1', req: post(`/work-orders/${wo.id}/return-ruling`, { version: wo.version, decision: 'confirm', reason: '属于你单位职责' }), workOrderId: wo.id, status: 409, code: 'WORK_ORDER_STATE', details: (d) => expect(d).toMatchObject({ status: 'dispatched', allowedFrom: ['returned'] }) });
    });
  });
});

describe(`work orders: extensions (延期) on ${testDialect}`, () => {
  let acknowledged: { id: string; version: number };
  beforeAll(async () => {
    reset();
    acknowledged = (await acknowledgedBy()).wo;
  });
  const ask = (extra: Record<string, unknown>) => post(`/work-orders/${acknowledged.id}/extension-request`, { version: acknowledged.version, reason: '需协调多部门', ...extra });

  it('a ruling on a work order with no request → 409 WORK_ORDER_STATE', async () => {
    reset();
    await expectRefused({
      as: 'dispatcher1', req: post(`/work-orders/${acknowledged.id}/extension-ruling`, { version: acknowledged.version, decision: 'grant', newDeadline: '2025-10-20T17:00:00+08:00' }), workOrderId: acknowledged.id,
      status: 409, code: 'WORK_ORDER_STATE', details: (d) => expect(d).toMatchObject({ status: 'acknowledged', allowedFrom: ['extension_requested'] }),
    });
    await expectRefused({ as: 'dispatcher1', req: post(`/work-orders/${acknowledged.id}/extension-ruling`, { version: acknowledged.version, decision: 'refuse', reason: '不同意' }), workOrderId: acknowledged.id, status: 409, code: 'WORK_ORDER_STATE' });
  });

  it('a request into the past → 400 DEADLINE_IN_PAST (proposedDeadline)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: ask({ proposedDeadline: '2025-10-01T17:00:00+08:00' }), workOrderId: acknowledged.id, status: 400, code: 'DEADLINE_IN_PAST', field: 'proposedDeadline' });
  });

  it('a request for now exactly → 400 DEADLINE_IN_PAST (proposedDeadline)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: ask({ proposedDeadline: '2025-10-09T10:00:00+08:00' }), workOrderId: acknowledged.id, status: 400, code: 'DEADLINE_IN_PAST', field: 'proposedDeadline' });
  });

  it('a request without a time zone → 400 VALIDATION_FAILED (proposedDeadline)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: ask({ proposedDeadline: '2025-10-20T17:00:00' }), workOrderId: acknowledged.id, status: 400, code: 'VALIDATION_FAILED', field: 'proposedDeadline' });
    await expectRefused({ as: 'chengguan1', req: ask({ proposedDeadline: '2025-10-20' }), workOrderId: acknowledged.id, status: 400, code: 'VALIDATION_FAILED', field: 'proposedDeadline' });
  });

  it('a request into 2027 (no calendar loaded) → 422 CALENDAR_YEAR_MISSING', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: ask({ proposedDeadline: '2027-01-15T17:00:00+08:00' }), workOrderId: acknowledged.id, status: 422, code: 'CALENDAR_YEAR_MISSING', details: (d) => expect(d).toMatchObject({ year: 2027 }) });
  });

  it('a request earlier than the current deadline, or equal to it → 400 EXTENSION_NOT_LATER (proposedDeadline)', async () => {
    reset();
    const current = '2025-10-13T10:00:00+08:00';
    const wo = await s.ok('chengguan1', 'GET', `/work-orders/${acknowledged.id}`);
    expect(wo.deadlines.reply).toBe(current);
    for (const proposedDeadline of ['2025-10-10T17:00:00+08:00', current]) {
      await expectRefused({
        as: 'chengguan1', req: ask({ proposedDeadline }), workOrderId: acknowledged.id,
        status: 400, code: 'EXTENSION_NOT_LATER', field: 'proposedDeadline', details: (d) => expect(d.currentDeadline).toBe(current),
      });
    }
  });

  it('a request with a blank reason → 400 FIELD_REQUIRED (reason)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: ask({ reason: ' ', proposedDeadline: '2025-10-20T17:00:00+08:00' }), workOrderId: acknowledged.id, status: 400, code: 'FIELD_REQUIRED', field: 'reason' });
  });

  it('a request before acknowledging → 409 WORK_ORDER_STATE', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/extension-request`, { version: wo.version, reason: '需协调', proposedDeadline: '2025-10-20T17:00:00+08:00' }), workOrderId: wo.id, status: 409, code: 'WORK_ORDER_STATE' });
  });

  describe('the center\'s ruling on a request', () => {
    let requested: { id: string; version: number };
    beforeAll(async () => {
      reset();
      requested = (await extensionRequestedBy()).wo;
    });
    const rule = (extra: Record<string, unknown>) => post(`/work-orders/${requested.id}/extension-ruling`, { version: requested.version, ...extra });

    it('refuse without a reason → 400 FIELD_REQUIRED (reason)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: rule({ decision: 'refuse' }), workOrderId: requested.id, status: 400, code: 'FIELD_REQUIRED', field: 'reason' });
      await expectRefused({ as: 'dispatcher1', req: rule({ decision: 'refuse', reason: '   ' }), workOrderId: requested.id, status: 400, code: 'FIELD_REQUIRED', field: 'reason' });
    });

    it('grant to a new deadline in the past → 400 DEADLINE_IN_PAST naming newDeadline', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: rule({ decision: 'grant', newDeadline: '2025-10-01T17:00:00+08:00' }), workOrderId: requested.id, status: 400, code: 'DEADLINE_IN_PAST', field: 'newDeadline' });
    });

    it('grant to a new deadline in 2027 → 422 CALENDAR_YEAR_MISSING', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: rule({ decision: 'grant', newDeadline: '2027-03-01T17:00:00+08:00' }), workOrderId: requested.id, status: 422, code: 'CALENDAR_YEAR_MISSING' });
    });

    it('a new deadline without a time zone → 400 VALIDATION_FAILED (newDeadline)', async () => {
      reset();
      await expectRefused({ as: 'dispatcher1', req: rule({ decision: 'grant', newDeadline: '2025-10-22 17:00' }), workOrderId: requested.id, status: 400, code: 'VALIDATION_FAILED', field: 'newDeadline' });
    });
  });
});

describe(`callbacks and ratings on ${testDialect}`, () => {
  it('rating a ticket never replied to → 409 CALLBACK_NOT_OPEN', async () => {
    reset();
    const { ticket, wo } = await acknowledgedBy();
    await expectRefused({ as: 'agent1', req: post(`/tickets/${ticket.id}/rating`, { satisfaction: 'satisfied' }), workOrderId: wo.id, status: 409, code: 'CALLBACK_NOT_OPEN', details: (d) => expect(d).toEqual({ status: 'acknowledged' }) });
  });

  it('a callback result recorded twice → the second is 409 CALLBACK_NOT_OPEN', async () => {
    reset();
    const { ticket, wo, callback } = await beingCalledBack();
    const first = await s.ok('agent1', 'POST', `/callbacks/${callback.id}/result`, { satisfaction: 'satisfied' });
    expect(first).toMatchObject({ status: 'answered', satisfaction: 'satisfied' });
    expect((await s.ok('dispatcher1', 'GET', `/tickets/${ticket.id}`)).status).toBe('closed');
    await expectRefused({ as: 'agent1', req: post(`/callbacks/${callback.id}/result`, { satisfaction: 'unsatisfied', comment: '改主意了' }), workOrderId: wo.id, status: 409, code: 'CALLBACK_NOT_OPEN', details: (d) => expect(d).toEqual({ status: 'answered' }) });
    // The same through the ticket's rating.
    await expectRefused({ as: 'agent1', req: post(`/tickets/${ticket.id}/rating`, { satisfaction: 'unsatisfied' }), workOrderId: wo.id, status: 409, code: 'CALLBACK_NOT_OPEN' });
    expect((await s.ok('agent1', 'GET', '/callbacks?status=all')).items.find((c: any) => c.id === callback.id)).toMatchObject({ status: 'answered', satisfaction: 'satisfied' });
  });

  it('a satisfaction that does not exist, an attempt outcome that does not exist → 400 VALIDATION_FAILED', async () => {
    reset();
    const { wo, callback } = await beingCalledBack();
    await expectRefused({ as: 'agent1', req: post(`/callbacks/${callback.id}/result`, { satisfaction: 'very_satisfied' }), workOrderId: wo.id, status: 400, code: 'VALIDATION_FAILED', field: 'satisfaction' });
    await expectRefused({ as: 'agent1', req: post(`/callbacks/${callback.id}/attempts`, { outcome: 'busy' }), workOrderId: wo.id, status: 400, code: 'VALIDATION_FAILED', field: 'outcome' });
  });

  it('a callback that does not exist → 404 CALLBACK_NOT_FOUND', async () => {
    reset();
    await expectRefused({ as: 'agent1', req: post('/callbacks/01NOSUCHCALLBACK/result', { satisfaction: 'satisfied' }), status: 404, code: 'CALLBACK_NOT_FOUND' });
    await expectRefused({ as: 'agent1', req: post('/callbacks/01NOSUCHCALLBACK/attempts', { outcome: 'no_answer' }), status: 404, code: 'CALLBACK_NOT_FOUND' });
  });
});

describe(`unknown fields are named, never ignored, on ${testDialect}`, () => {
  const fx = {} as { dispatched: any; acknowledged: any; returned: any; requested: any; replied: any; calledBack: any; so: any; ticket: any };
  beforeAll(async () => {
    reset();
    fx.dispatched = await dispatchedTo();
    fx.acknowledged = await acknowledgedBy();
    fx.returned = await returnedBy();
    fx.requested = await extensionRequestedBy();
    fx.calledBack = await beingCalledBack();
    const a = await acknowledgedBy();
    await s.ok('chengguan1', 'POST', `/work-orders/${a.wo.id}/reply`, { version: a.wo.version, result: '已处理' });
    fx.replied = a;
    fx.so = await s.ok('supervisor1', 'POST', `/work-orders/${fx.dispatched.wo.id}/supervision-orders`, { reason: '请加快办理' });
    fx.ticket = await s.newTicket();
  });

  interface Unknown {
    name: string;
    as: string;
    url: () => string;
    body: () => Record<string, unknown>;
    field: string;
    workOrderId?: () => string;
  }
  const CASES: Unknown[] = [
    { name: 'acknowledge', as: 'chengguan1', url: () => `/work-orders/${fx.dispatched.wo.id}/acknowledge`, body: () => ({ version: fx.dispatched.wo.version, foo: 1 }), field: 'foo', workOrderId: () => fx.dispatched.wo.id },
    { name: 'on-site', as: 'chengguan1', url: () => `/work-orders/${fx.acknowledged.wo.id}/on-site`, body: () => ({ version: fx.acknowledged.wo.version, note: '到场', arrivedAt: '2025-10-09T10:00:00+08:00' }), field: 'arrivedAt', workOrderId: () => fx.acknowledged.wo.id },
    { name: 'notes', as: 'chengguan1', url: () => `/work-orders/${fx.acknowledged.wo.id}/notes`, body: () => ({ text: '进展', author: '别人' }), field: 'author', workOrderId: () => fx.acknowledged.wo.id },
    { name: 'reply', as: 'chengguan1', url: () => `/work-orders/${fx.acknowledged.wo.id}/reply`, body: () => ({ version: fx.acknowledged.wo.version, result: '已处理', satisfaction: 'satisfied' }), field: 'satisfaction', workOrderId: () => fx.acknowledged.wo.id },
    { name: 'extension-request', as: 'chengguan1', url: () => `/work-orders/${fx.acknowledged.wo.id}/extension-request`, body: () => ({ version: fx.acknowledged.wo.version, reason: '需协调', proposedDeadline: '2025-10-20T17:00:00+08:00', days: 5 }), field: 'days', workOrderId: () => fx.acknowledged.wo.id },
    { name: 'return', as: 'chengguan1', url: () => `/work-orders/${fx.dispatched.wo.id}/return`, body: () => ({ version: fx.dispatched.wo.version, reason: REASON, suggestedUnitId: 'x' }), field: 'suggestedUnitId', workOrderId: () => fx.dispatched.wo.id },
    { name: 'return-ruling (unitId for handlingUnitId)', as: 'dispatcher1', url: () => `/work-orders/${fx.returned.wo.id}/return-ruling`, body: () => ({ version: fx.returned.wo.version, decision: 'redispatch', unitId: 'x', reason: '改派' }), field: 'unitId', workOrderId: () => fx.returned.wo.id },
    { name: 'extension-ruling (deadline for newDeadline)', as: 'dispatcher1', url: () => `/work-orders/${fx.requested.wo.id}/extension-ruling`, body: () => ({ version: fx.requested.wo.version, decision: 'grant', deadline: '2025-10-20T17:00:00+08:00' }), field: 'deadline', workOrderId: () => fx.requested.wo.id },
    { name: 'supervision order', as: 'supervisor1', url: () => `/work-orders/${fx.dispatched.wo.id}/supervision-orders`, body: () => ({ reason: '督办', dueAt: '2025-10-10T17:00:00+08:00' }), field: 'dueAt', workOrderId: () => fx.dispatched.wo.id },
    { name: 'supervision answer', as: 'chengguan1', url: () => `/supervision-orders/${fx.so.id}/answer`, body: () => ({ answer: '已加快', status: 'answered' }), field: 'status' },
    { name: 'reply review', as: 'dispatcher1', url: () => `/tickets/${fx.replied.ticket.id}/reply-review`, body: () => ({ decision: 'accept', comment: '好' }), field: 'comment', workOrderId: () => fx.replied.wo.id },
    { name: 'claim-pool offer', as: 'dispatcher1', url: () => `/tickets/${fx.ticket.id}/claim-pool`, body: () => ({ reason: '疑难', unitIds: [] }), field: 'unitIds' },
    { name: 'callback result', as: 'agent1', url: () => `/callbacks/${fx.calledBack.callback.id}/result`, body: () => ({ satisfaction: 'satisfied', score: 5 }), field: 'score', workOrderId: () => fx.calledBack.wo.id },
    { name: 'callback attempt', as: 'agent1', url: () => `/callbacks/${fx.calledBack.callback.id}/attempts`, body: () => ({ outcome: 'no_answer', note: '无人接听' }), field: 'note', workOrderId: () => fx.calledBack.wo.id },
    { name: 'ticket rating', as: 'agent1', url: () => `/tickets/${fx.calledBack.ticket.id}/rating`, body: () => ({ satisfaction: 'satisfied', callerPhone: '13912345678' }), field: 'callerPhone', workOrderId: () => fx.calledBack.wo.id },
  ];
  for (const c of CASES) {
    it(`${c.name} with an unknown field → 400 VALIDATION_FAILED (${c.field})`, async () => {
      reset();
      const body = await expectRefused({ as: c.as, req: post(c.url(), c.body()), workOrderId: c.workOrderId?.(), status: 400, code: 'VALIDATION_FAILED', field: c.field });
      // Only the unknown key is named, and the Chinese message names it too.
      expect(fieldsOf(body.details)).toEqual([c.field]);
      expect(body.message_zh).toContain(c.field);
    });
  }

  it('two unknown fields are both named', async () => {
    reset();
    const body = await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${fx.dispatched.wo.id}/acknowledge`, { version: fx.dispatched.wo.version, foo: 1, bar: 2 }), workOrderId: fx.dispatched.wo.id, status: 400, code: 'VALIDATION_FAILED' });
    expect(fieldsOf(body.details).sort()).toEqual(['bar', 'foo']);
  });

  it('unknown query parameters of the supervision-order and callback lists → 400 VALIDATION_FAILED', async () => {
    reset();
    await expectRefused({ as: 'supervisor1', req: get('/supervision-orders?unitId=x'), status: 400, code: 'VALIDATION_FAILED', field: 'unitId' });
    await expectRefused({ as: 'agent1', req: get('/callbacks?ticketId=x'), status: 400, code: 'VALIDATION_FAILED', field: 'ticketId' });
    await expectRefused({ as: 'agent1', req: get('/work-orders?queue=later'), status: 400, code: 'VALIDATION_FAILED', field: 'queue' });
  });
});

describe(`idempotency keys on the unit's commands on ${testDialect}`, () => {
  /** Sends the same command twice with one key: one change, the same answer, nothing written the second time. */
  async function twice(user: string, url: string, payload: Record<string, unknown>, key: string, workOrderId: string) {
    await warm(user);
    await settle();
    const before = await snapshot(workOrderId);
    const first = await send(user, post(url, payload, { 'idempotency-key': key }));
    expect(first.statusCode, first.body).toBe(200);
    await settle();
    const afterFirst = await snapshot(workOrderId);
    expect(afterFirst.workOrder!.version).toBe(before.workOrder!.version + 1);
    expect(afterFirst.counts.idempotency_records).toBe(before.counts.idempotency_records + 1);
    const second = await send(user, post(url, payload, { 'idempotency-key': key }));
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toEqual(first.json());
    await settle();
    expect(await snapshot(workOrderId), 'the retry wrote nothing').toEqual(afterFirst);
    return first.json();
  }

  it('acknowledge twice with one key → one acknowledgement; the key with another version → 409 IDEMPOTENCY_KEY_REUSED', async () => {
    reset();
    const { ticket, wo } = await dispatchedTo();
    const first = await twice('chengguan1', `/work-orders/${wo.id}/acknowledge`, { version: wo.version }, 'wo-ack-1', wo.id);
    expect(first).toMatchObject({ status: 'acknowledged', version: 2 });
    const audit = await s.t.ctx.database.db.selectFrom('audit_events').select('action').where('entity_id', 'in', [wo.id, ticket.id]).where('action', 'in', ['workorder.acknowledged', 'ticket.acknowledge']).execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['ticket.acknowledge', 'workorder.acknowledged']);
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: 2 }, { 'idempotency-key': 'wo-ack-1' }), workOrderId: wo.id, status: 409, code: 'IDEMPOTENCY_KEY_REUSED', details: (d) => expect(d).toEqual({ key: 'wo-ack-1' }) });
  });

  it('reply twice with one key → one reply; the key with another result → 409 IDEMPOTENCY_KEY_REUSED', async () => {
    reset();
    const { ticket, wo } = await acknowledgedBy();
    const first = await twice('chengguan1', `/work-orders/${wo.id}/reply`, { version: wo.version, result: '已责令整改' }, 'wo-reply-1', wo.id);
    expect(first).toMatchObject({ status: 'replied', result: '已责令整改' });
    expect(await s.notices({ ticketId: ticket.id, event: 'ticket.reply_to_review' })).toHaveLength(1);
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/reply`, { version: wo.version, result: '另一个结果' }, { 'idempotency-key': 'wo-reply-1' }), workOrderId: wo.id, status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('return twice with one key → one return, one notice to the center; the key with another reason → 409 IDEMPOTENCY_KEY_REUSED', async () => {
    reset();
    const { wo } = await dispatchedTo();
    const first = await twice('chengguan1', `/work-orders/${wo.id}/return`, { version: wo.version, reason: REASON }, 'wo-return-1', wo.id);
    expect(first).toMatchObject({ status: 'returned', returnReason: REASON });
    expect(await s.notices({ workOrderId: wo.id, event: 'workorder.returned' })).toHaveLength(1);
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/return`, { version: wo.version, reason: '另一个原因' }, { 'idempotency-key': 'wo-return-1' }), workOrderId: wo.id, status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('a key used on one work order, sent for another → 409 IDEMPOTENCY_KEY_REUSED', async () => {
    reset();
    const a = await dispatchedTo();
    const b = await dispatchedTo();
    await s.ok('chengguan1', 'POST', `/work-orders/${a.wo.id}/acknowledge`, { version: 1 }, { 'idempotency-key': 'wo-ack-2' });
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${b.wo.id}/acknowledge`, { version: 1 }, { 'idempotency-key': 'wo-ack-2' }), workOrderId: b.wo.id, status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('a refused command does not use up its key: corrected, the same key goes through', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${wo.id}/acknowledge`, { version: 7 }, { 'idempotency-key': 'wo-ack-3' }), workOrderId: wo.id, status: 409, code: 'VERSION_CONFLICT' });
    const ok = await send('chengguan1', post(`/work-orders/${wo.id}/acknowledge`, { version: 1 }, { 'idempotency-key': 'wo-ack-3' }));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().status).toBe('acknowledged');
  });

  it('the same key from another user of the unit is that user\'s own key', async () => {
    reset();
    const { wo } = await dispatchedTo();
    await s.ok('chengguan1', 'POST', `/work-orders/${wo.id}/acknowledge`, { version: 1 }, { 'idempotency-key': 'wo-ack-4' });
    // chengguan_mgr's key is not chengguan1's: the command runs and meets the new version.
    await expectRefused({ as: 'chengguan_mgr', req: post(`/work-orders/${wo.id}/acknowledge`, { version: 1 }, { 'idempotency-key': 'wo-ack-4' }), workOrderId: wo.id, status: 409, code: 'VERSION_CONFLICT' });
  });

  it('the center\'s return ruling retried with its key → the same answer, one re-dispatch', async () => {
    reset();
    const { ticket, wo } = await returnedBy();
    const water = await s.unitId('util-water');
    const url = `/work-orders/${wo.id}/return-ruling`;
    const payload = { version: wo.version, decision: 'redispatch', handlingUnitId: water, reason: '改派自来水公司' };
    await warm('dispatcher1');
    const first = await send('dispatcher1', post(url, payload, { 'idempotency-key': 'wo-ruling-1' }));
    expect(first.statusCode, first.body).toBe(200);
    await settle();
    const after = await snapshot(wo.id);
    const second = await send('dispatcher1', post(url, payload, { 'idempotency-key': 'wo-ruling-1' }));
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(await snapshot(wo.id)).toEqual(after);
    expect((await s.workOrdersOf(ticket.id)).map((w: any) => `${w.unitId === water ? 'water' : 'cgj'}:${w.status}`)).toEqual(['cgj:reassigned', 'water:dispatched']);
  });

  it('the center\'s extension ruling retried with its key → the same answer, one grant', async () => {
    reset();
    const { wo } = await extensionRequestedBy();
    const url = `/work-orders/${wo.id}/extension-ruling`;
    const payload = { version: wo.version, decision: 'grant', reason: '同意延期' };
    await warm('dispatcher1');
    const first = await send('dispatcher1', post(url, payload, { 'idempotency-key': 'wo-ext-ruling-1' }));
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ status: 'acknowledged', extensionCount: 1, deadlines: { reply: '2025-10-20T17:00:00+08:00' } });
    await settle();
    const after = await snapshot(wo.id);
    const second = await send('dispatcher1', post(url, payload, { 'idempotency-key': 'wo-ext-ruling-1' }));
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(await snapshot(wo.id)).toEqual(after);
  });
});

// ---------------------------------------------------------------------------------------------
// Attachments

/** A multipart/form-data body built by hand: one file part (and optional text fields). */
function multipart(parts: { file?: { name?: string; fileName: string; contentType: string; body: Buffer }; fields?: Record<string, string> }) {
  const boundary = `----hotline-test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(parts.fields ?? {})) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  if (parts.file) {
    const f = parts.file;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name ?? 'file'}"; filename="${f.fileName}"\r\nContent-Type: ${f.contentType}\r\n\r\n`));
    chunks.push(f.body);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

const upload = (workOrderId: string, parts: Parameters<typeof multipart>[0], extraHeaders: Record<string, string> = {}): InjectOptions & { url: string } => {
  const { payload, headers } = multipart(parts);
  return { method: 'POST', url: `/work-orders/${workOrderId}/attachments`, payload, headers: { ...headers, ...extraHeaders } };
};

/** A small PNG-looking file with random bytes (not text: a byte-exact round trip is the point). */
const photo = (size = 1500) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(size - 8)]);

describe(`attachments on ${testDialect}`, () => {
  let cgj: { ticket: any; wo: any };
  beforeAll(async () => {
    reset();
    cgj = await acknowledgedBy();
  });

  it('a file type that is not accepted → 400 ATTACHMENT_TYPE (file)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: upload(cgj.wo.id, { file: { fileName: 'setup.exe', contentType: 'application/x-msdownload', body: Buffer.from('MZ\x90\x00') } }), workOrderId: cgj.wo.id, status: 400, code: 'ATTACHMENT_TYPE', field: 'file', details: (d) => expect(d.allowed).toContain('image/jpeg') });
    await expectRefused({ as: 'chengguan1', req: upload(cgj.wo.id, { file: { fileName: 'page.html', contentType: 'text/html', body: Buffer.from('<script>alert(1)</script>') } }), workOrderId: cgj.wo.id, status: 400, code: 'ATTACHMENT_TYPE', field: 'file' });
  });

  it('an empty file → 400 ATTACHMENT_EMPTY (file)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: upload(cgj.wo.id, { file: { fileName: 'empty.png', contentType: 'image/png', body: Buffer.alloc(0) } }), workOrderId: cgj.wo.id, status: 400, code: 'ATTACHMENT_EMPTY', field: 'file' });
  });

  it(`a file over the configured ${MAX_ATTACHMENT_BYTES} bytes → 413 ATTACHMENT_TOO_LARGE (file)`, async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: upload(cgj.wo.id, { file: { fileName: 'big.png', contentType: 'image/png', body: photo(MAX_ATTACHMENT_BYTES + 1) } }), workOrderId: cgj.wo.id, status: 413, code: 'ATTACHMENT_TOO_LARGE', field: 'file' });
    await expectRefused({ as: 'chengguan1', req: upload(cgj.wo.id, { file: { fileName: 'huge.png', contentType: 'image/png', body: photo(MAX_ATTACHMENT_BYTES * 10) } }), workOrderId: cgj.wo.id, status: 413, code: 'ATTACHMENT_TOO_LARGE', field: 'file' });
  });

  it('a JSON body instead of multipart → 400 MULTIPART_REQUIRED (file)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: post(`/work-orders/${cgj.wo.id}/attachments`, { file: 'aGVsbG8=' }), workOrderId: cgj.wo.id, status: 400, code: 'MULTIPART_REQUIRED', field: 'file' });
  });

  it('a multipart body without a file → 400 FIELD_REQUIRED (file)', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: upload(cgj.wo.id, { fields: { note: '忘了附件' } }), workOrderId: cgj.wo.id, status: 400, code: 'FIELD_REQUIRED', field: 'file' });
  });

  it('a malformed multipart body (wrong boundary, cut short, no boundary) → 400 MULTIPART_INVALID (file), not a 500', async () => {
    reset();
    const good = multipart({ file: { fileName: 'x.png', contentType: 'image/png', body: photo() } });
    const wrongBoundary = { method: 'POST' as const, url: `/work-orders/${cgj.wo.id}/attachments`, payload: good.payload, headers: { 'content-type': 'multipart/form-data; boundary=not-the-one' } };
    await expectRefused({ as: 'chengguan1', req: wrongBoundary, workOrderId: cgj.wo.id, status: 400, code: 'MULTIPART_INVALID', field: 'file' });
    const cut = { method: 'POST' as const, url: `/work-orders/${cgj.wo.id}/attachments`, payload: good.payload.subarray(0, good.payload.length - 200), headers: good.headers };
    await expectRefused({ as: 'chengguan1', req: cut, workOrderId: cgj.wo.id, status: 400, code: 'MULTIPART_INVALID', field: 'file' });
    const noBoundary = { method: 'POST' as const, url: `/work-orders/${cgj.wo.id}/attachments`, payload: good.payload, headers: { 'content-type': 'multipart/form-data' } };
    await expectRefused({ as: 'chengguan1', req: noBoundary, workOrderId: cgj.wo.id, status: 400, code: 'MULTIPART_INVALID', field: 'file' });
  });

  it('another unit uploading to the work order → 404 WORK_ORDER_NOT_FOUND', async () => {
    reset();
    await expectRefused({ as: 'water1', req: upload(cgj.wo.id, { file: { fileName: 'x.png', contentType: 'image/png', body: photo() } }), workOrderId: cgj.wo.id, status: 404, code: 'WORK_ORDER_NOT_FOUND' });
  });

  it('a valid upload: the download gives the same bytes, type and a file name; the sha256 matches; other units get 404', async () => {
    reset();
    const bytes = photo(MAX_ATTACHMENT_BYTES - 100);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await warm('chengguan1');
    const before = await snapshot(cgj.wo.id);
    const res = await send('chengguan1', upload(cgj.wo.id, { file: { fileName: '现场照片 1.png', contentType: 'image/png', body: bytes } }));
    expect(res.statusCode, res.body).toBe(201);
    const saved = res.json();
    expect(saved).toEqual({ id: expect.any(String), fileName: '现场照片 1.png', contentType: 'image/png', size: bytes.length, sha256 });
    const after = await snapshot(cgj.wo.id);
    expect(after.counts).toEqual({ ...before.counts, work_order_attachments: before.counts.work_order_attachments + 1, audit_events: before.counts.audit_events + 1 });
    expect(after.workOrder).toEqual(before.workOrder); // an attachment is not a change of state

    // The unit and the center download it, byte for byte.
    for (const user of ['chengguan1', 'chengguan_mgr', 'dispatcher1']) {
      const dl = await send(user, get(`/work-orders/${cgj.wo.id}/attachments/${saved.id}`));
      expect(dl.statusCode, `${user}: ${dl.body.slice(0, 200)}`).toBe(200);
      expect(dl.headers['content-type']).toBe('image/png');
      expect(dl.headers['content-disposition']).toBe(`attachment; filename*=UTF-8''${encodeURIComponent('现场照片 1.png')}`);
      expect(dl.headers['x-content-type-options']).toBe('nosniff');
      expect(dl.rawPayload.equals(bytes)).toBe(true);
      expect(createHash('sha256').update(dl.rawPayload).digest('hex')).toBe(sha256);
    }
    // The work order lists it; its trail records it.
    const detail = await s.ok('chengguan1', 'GET', `/work-orders/${cgj.wo.id}`);
    expect(detail.attachments).toEqual([expect.objectContaining({ id: saved.id, fileName: '现场照片 1.png', contentType: 'image/png', size: bytes.length, sha256 })]);
    expect(detail.history.map((h: any) => h.action)).toContain('workorder.attachment_added');

    // Another unit: the work order does not exist for it.
    await warm('water1');
    const before404 = await snapshot(cgj.wo.id);
    const foreign = await send('water1', get(`/work-orders/${cgj.wo.id}/attachments/${saved.id}`));
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'WORK_ORDER_NOT_FOUND', message_zh: expect.stringMatching(/\S/) });
    expect(foreign.rawPayload.includes(bytes.subarray(8, 40))).toBe(false);
    // Nor through one of its own work orders with the other unit's attachment id.
    const own = await dispatchedTo('util-water');
    await settle();
    const before404b = await snapshot(cgj.wo.id);
    const crossed = await send('water1', get(`/work-orders/${own.wo.id}/attachments/${saved.id}`));
    expect(crossed.statusCode).toBe(404);
    expect(crossed.json()).toMatchObject({ code: 'ATTACHMENT_NOT_FOUND', message_zh: expect.stringMatching(/\S/) });
    expect(await snapshot(cgj.wo.id)).toEqual(before404b);
    expect(before404.workOrder).toEqual(before404b.workOrder);
    // Grid roles cannot download either.
    const grid = await send('grid1', get(`/work-orders/${cgj.wo.id}/attachments/${saved.id}`));
    expect(grid.statusCode).toBe(404);
    expect(grid.json().code).toBe('WORK_ORDER_NOT_FOUND');
  });

  it('an upload retried with its Idempotency-Key → the first attachment, not a second one', async () => {
    reset();
    const bytes = photo(800);
    const parts = { file: { fileName: 'retry.png', contentType: 'image/png', body: bytes } };
    await warm('chengguan1');
    const first = await send('chengguan1', upload(cgj.wo.id, parts, { 'idempotency-key': 'wo-upload-1' }));
    expect(first.statusCode, first.body).toBe(201);
    const after = await snapshot(cgj.wo.id);
    const second = await send('chengguan1', upload(cgj.wo.id, parts, { 'idempotency-key': 'wo-upload-1' }));
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(await snapshot(cgj.wo.id), 'the retry wrote no row').toEqual(after);
    const dl = await send('chengguan1', get(`/work-orders/${cgj.wo.id}/attachments/${second.json().id}`));
    expect(dl.statusCode).toBe(200);
    expect(dl.rawPayload.equals(bytes)).toBe(true);
  });

  it('an attachment id that does not exist → 404 ATTACHMENT_NOT_FOUND', async () => {
    reset();
    await expectRefused({ as: 'chengguan1', req: get(`/work-orders/${cgj.wo.id}/attachments/01NOSUCHATTACHMENT`), workOrderId: cgj.wo.id, status: 404, code: 'ATTACHMENT_NOT_FOUND' });
  });
});
