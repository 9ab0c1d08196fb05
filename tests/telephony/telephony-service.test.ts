/**
 * Telephony above the edge on the real app and database (SQLite or MariaDB per TEST_DATABASE), with
 * a test double of the SIP edge: the call record (话单) at each step, the screen pop on the agent's
 * console, the ticket link, crash recovery (node_restart), callback requests, who may hear a
 * recording (confidential and unit scope), the retention job, the metrics on hand-made calls, and
 * bad input refused with clear errors.
 */
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock, systemActor } from '../../core';
import { computeHa1, createTelephonyService, type EdgeEvent } from '../../telephony';
import { startTestApp, type TestApp } from '../helpers/app';
import { until } from '../helpers/until';
import { SIX } from '../helpers/matrix';
import { demoIds, listen, LiveClient, type DemoIds } from '../live/live-client';
import { FakeEdge } from './fake-edge';

const CALLER = '13912345678';
const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
const edge = new FakeEdge();
let t: TestApp;
let base: string;
let ids: DemoIds;
let admin: string;
const clients: LiveClient[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'telephony-test-'));

const api = async (method: 'GET' | 'POST' | 'PUT', url: string, user: string, payload?: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(user), ...headers }, payload });
const record = (callId: string) => t.ctx.database.db.selectFrom('telephony_call_records').selectAll().where('edge_call_id', '=', callId).executeTakeFirst();
const emit = (e: EdgeEvent) => edge.emit(e);
const now = () => clock.now();

/** A call that reaches the hotline and is answered by it (queued). */
async function incoming(callId: string, dialled = '12345', caller = CALLER) {
  emit({ type: 'call.offered', call: { callId, callerNumber: caller, callerName: null, dialledNumber: dialled, source: '127.0.0.1:5060', codec: 'PCMU', at: now() } });
  await until(() => edge.of('answer', callId).length, `answer ${callId}`);
  emit({ type: 'call.answered', callId, at: now() });
  await until(async () => (await record(callId))?.queued_at, `queued ${callId}`);
}

async function ticket(o: { callId?: string; unit?: string; confidential?: boolean; title?: string; phone?: string; urgency?: string }) {
  const res = await api('POST', '/tickets', 'agent1', {
    channel: 'phone', type: 'help', title: o.title ?? '来电工单', ...SIX, callerPhone: o.phone ?? CALLER, urgency: o.urgency ?? 'normal', territoryId: ids.territory['990102001001001'],
    handlingUnitId: o.unit ?? ids.unit['util-water'], confidential: o.confidential ?? false, callId: o.callId ?? null,
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string };
}

function wavFile(name: string, bytes = 4000) {
  const p = join(tmp, name);
  const b = Buffer.alloc(44 + bytes);
  b.write('RIFF', 0);
  b.write('WAVE', 8);
  for (let i = 44; i < b.length; i++) b[i] = i % 251;
  writeFileSync(p, b);
  return p;
}

beforeAll(async () => {
  t = await startTestApp({ clock, telephony: { edge } });
  base = await listen(t.app);
  ids = await demoIds(t, ['agent1', 'agent2', 'admin', 'water1', 'power1', 'supervisor1']);
  admin = await t.login('admin');
  const set = await api('PUT', `/telephony/agents/${ids.user.agent1}`, 'admin', { phoneUsername: 'agent1', skills: ['general'] });
  expect(set.statusCode).toBe(200);
  const c = await LiveClient.ready(base, { cookie: await t.login('agent1') });
  clients.push(c);
  c.ws.send(JSON.stringify({ type: 'presence', status: 'available' }));
  await until(async () => (await t.ctx.live.listPresence(systemActor('demo'))).find((p) => p.userId === ids.user.agent1 && p.status === 'available'), 'agent1 available');
  await t.ctx.telephony.service.refreshAgents();
  emit({ type: 'endpoint.registered', username: 'agent1', contact: 'sip:agent1@127.0.0.1:5090', expiresAt: new Date(Date.now() + 3_600_000) });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

describe('a call answered by an agent', () => {
  it('is recorded when offered, pops on the agent console with line, queue and wait, is recorded answered and completed when it ends', async () => {
    await incoming('e1', '0536-12319');
    const offer = await until(() => edge.of('offerToAgent', 'e1')[0], 'offer to agent1');
    expect(offer).toMatchObject({ username: 'agent1', ringTimeoutMs: 15_000 });
    const pop = await clients[0]!.waitFor((m) => m.type === 'call.offered' && m.data.call.callId === 'e1', 'pop');
    expect(pop.data).toMatchObject({ lineName: '城建服务热线', queue: { skill: 'general', name: '综合', waitSeconds: 0 }, agentUserId: ids.user.agent1 });

    clock.set(new Date('2025-10-09T02:00:08Z'));
    emit({ type: 'agent.answered', callId: 'e1', legId: offer.legId, at: now() });
    const answered = await until(async () => { const r = await record('e1'); return r?.answered_at ? r : null; }, 'answered record');
    expect(answered).toMatchObject({ agent_user_id: ids.user.agent1, queue: 'general', line_number: '12319', ended_at: null, node_id: t.ctx.config.telephony.nodeId });
    await clients[0]!.waitFor((m) => m.type === 'call.answered' && m.data.callId === 'e1', 'call.answered on the console');

    // The agent registers the ticket with the call's id: the call is linked to it.
    const tk = await ticket({ callId: 'e1' });
    await until(async () => (await record('e1'))?.ticket_id === tk.id, 'ticket linked');

    clock.set(new Date('2025-10-09T02:03:08Z'));
    emit({ type: 'call.ended', callId: 'e1', cause: 'caller_hangup', sipStatus: null, at: now() });
    const ended = await until(async () => { const r = await record('e1'); return r?.ended_at ? r : null; }, 'ended record');
    expect(ended).toMatchObject({ outcome: 'answered', abandon_point: null, end_cause: 'caller_hangup', reoffers: 0 });
    const view = await api('GET', '/telephony/calls/e1', 'agent1');
    expect(view.json()).toMatchObject({
      callId: 'e1', outcome: 'answered', ticketId: tk.id, offeredAt: '2025-10-09T10:00:00+08:00', answeredAt: '2025-10-09T10:00:08+08:00', endedAt: '2025-10-09T10:03:08+08:00',
    });
    const audits = await t.ctx.database.db.selectFrom('audit_events').select('action').where('entity_id', '=', ended.id).execute();
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['telephony.call_offered', 'telephony.call_queued', 'telephony.call_offered_to_agent', 'telephony.call_answered', 'telephony.call_linked', 'telephony.call_ended']));
  });

  it('an agent may link a call to an existing ticket instead; another agent may not see the call', async () => {
    await incoming('e2');
    const offer = await until(() => edge.of('offerToAgent', 'e2')[0], 'offer e2');
    emit({ type: 'agent.answered', callId: 'e2', legId: offer.legId, at: now() });
    await until(async () => (await record('e2'))?.answered_at, 'e2 answered');
    const existing = await ticket({ title: '已有工单' });
    const res = await api('POST', '/telephony/calls/e2/ticket', 'agent1', { ticketId: existing.id });
    expect(res.statusCode).toBe(200);
    expect(res.json().ticketId).toBe(existing.id);
    expect((await api('POST', '/telephony/calls/e2/ticket', 'agent2', { ticketId: existing.id })).json().code).toBe('CALL_RECORD_NOT_FOUND');
    expect((await api('POST', '/telephony/calls/e2/ticket', 'agent1', { ticketId: 'no-such-ticket' })).statusCode).toBe(404);
  });

  it('a restart closes the records this node left open, an answered one as answered, with cause node_restart', async () => {
    // e2 is answered and still open: the node "dies" here; a new service on the same node id boots.
    const reborn = createTelephonyService({ db: t.ctx.database.db, ports: {} as never, edge: null, nodeId: t.ctx.config.telephony.nodeId, promptFile: () => '', clock });
    const closed = await reborn.closeDangling();
    expect(closed).toBeGreaterThanOrEqual(1);
    expect(await record('e2')).toMatchObject({ outcome: 'answered', end_cause: 'node_restart' });
    expect((await record('e2'))!.ended_at).not.toBeNull();
    // The old node's late end changes nothing.
    emit({ type: 'call.ended', callId: 'e2', cause: 'caller_hangup', sipStatus: null, at: now() });
    await t.ctx.telephony.service.idle();
    expect(await record('e2')).toMatchObject({ end_cause: 'node_restart' });
  });
});

describe('priority (优先接入)', () => {
  it('a repeat caller with an open urgent ticket gets priority 1, an emergency one 2, anyone else 0', async () => {
    await ticket({ phone: '13700000001', urgency: 'urgent', title: '紧急一' });
    await ticket({ phone: '13700000001', title: '普通二' });
    await ticket({ phone: '13700000002', urgency: 'emergency', title: '特急一' });
    await ticket({ phone: '13700000002', title: '普通二' });
    await ticket({ phone: '13700000003', urgency: 'urgent', title: '只来过一次' });
    for (const [callId, caller] of [['p1', '13700000001'], ['p2', '+86 137 0000 0002'], ['p3', '13700000003']] as const) {
      emit({ type: 'call.offered', call: { callId, callerNumber: caller, callerName: null, dialledNumber: '12345', source: '127.0.0.1:5060', codec: 'PCMU', at: now() } });
      await until(async () => record(callId), `record ${callId}`);
      emit({ type: 'call.ended', callId, cause: 'caller_cancelled', sipStatus: 487, at: now() });
    }
    expect((await record('p1'))!.priority).toBe(1);
    expect((await record('p2'))!.priority).toBe(2);
    expect((await record('p3'))!.priority).toBe(0); // urgent, but not a repeat caller
    await until(async () => (await record('p3'))?.ended_at, 'p3 ended');
    expect(await record('p3')).toMatchObject({ outcome: 'abandoned', abandon_point: 'ivr', end_cause: 'caller_cancelled' });
  });
});

describe('re-offer', () => {
  it('a missed ring puts the agent not-ready on the console and counts the re-offer', async () => {
    await incoming('e3');
    const offer = await until(() => edge.of('offerToAgent', 'e3')[0], 'offer e3');
    emit({ type: 'agent.failed', callId: 'e3', legId: offer.legId, reason: 'no_answer', sipStatus: 408, at: now() });
    await clients[0]!.waitFor((m) => m.type === 'telephony.agent_not_ready' && m.data.callId === 'e3', 'not-ready notice');
    emit({ type: 'call.ended', callId: 'e3', cause: 'caller_hangup', sipStatus: null, at: now() });
    const r = await until(async () => { const x = await record('e3'); return x?.ended_at ? x : null; }, 'e3 ended');
    expect(r).toMatchObject({ outcome: 'abandoned', abandon_point: 'queue', reoffers: 1 });
    // agent1 chooses 空闲 again: offered again.
    clock.set(new Date(now().getTime() + 1000));
    clients[0]!.ws.send(JSON.stringify({ type: 'presence', status: 'busy' }));
    clients[0]!.ws.send(JSON.stringify({ type: 'presence', status: 'available' }));
  });
});

describe('callback requests (留言回拨)', () => {
  it('with nobody of the queue logged in the caller is offered a callback; 1 leaves a request agents list, claim and complete', async () => {
    // Nobody holds the general skill now: the no-agent wait (0 s here) applies.
    expect((await api('PUT', `/telephony/agents/${ids.user.agent1}`, 'admin', { phoneUsername: 'agent1', skills: ['business_environment'] })).statusCode).toBe(200);
    expect((await api('PUT', '/telephony/queues/general', 'admin', { noAgentMaxWaitSeconds: 0 })).json()).toMatchObject({ skill: 'general', noAgentMaxWaitSeconds: 0, ringTimeoutSeconds: 15 });
    await incoming('e4');
    await until(() => edge.of('playPrompt', 'e4').find((c) => c.prompt.id === 'callback_offer'), 'callback offer');
    emit({ type: 'call.dtmf', callId: 'e4', digit: '1', at: now() });
    await until(() => edge.of('playPrompt', 'e4').find((c) => c.prompt.id === 'callback_confirmed'), 'confirmation');
    emit({ type: 'prompt.finished', callId: 'e4', promptId: 'callback_confirmed', at: now() });
    await until(() => edge.of('hangUp', 'e4')[0], 'hang up');
    emit({ type: 'call.ended', callId: 'e4', cause: 'system_hangup', sipStatus: null, at: now() });
    await until(async () => (await record('e4'))?.outcome === 'callback', 'outcome callback');

    const list = await api('GET', '/telephony/callbacks', 'agent2');
    const e4 = (await record('e4'))!.id;
    const cb = list.json().find((x: any) => x.callRecordId === e4);
    expect(cb).toMatchObject({ callerNumber: CALLER, queue: 'general', status: 'open' });
    expect((await api('POST', `/telephony/callbacks/${cb.id}/claim`, 'agent2')).json()).toMatchObject({ status: 'claimed', claimedBy: ids.user.agent2 });
    expect((await api('POST', `/telephony/callbacks/${cb.id}/claim`, 'agent1')).json().code).toBe('CALLBACK_STATE');
    expect((await api('POST', `/telephony/callbacks/${cb.id}/complete`, 'agent1', { note: 'x' })).json().code).toBe('CALLBACK_NOT_YOURS');
    expect((await api('POST', `/telephony/callbacks/${cb.id}/complete`, 'agent2', { note: '已回电，市民问题已登记' })).json()).toMatchObject({ status: 'done', note: '已回电，市民问题已登记' });
    expect((await api('GET', '/telephony/callbacks', 'agent2')).json().find((x: any) => x.id === cb.id)).toBeUndefined();
    expect((await api('GET', '/telephony/callbacks', 'water1')).statusCode).toBe(403);
    await api('PUT', `/telephony/agents/${ids.user.agent1}`, 'admin', { phoneUsername: 'agent1', skills: ['general'] });
  });
});

describe('recordings (录音)', () => {
  let open: { id: string };
  let secret: { id: string };
  let stored: string;

  beforeAll(async () => {
    open = await ticket({ title: '录音工单' });
    secret = await ticket({ title: '保密工单', confidential: true });
    for (const [callId, tk] of [['r1', open], ['r2', secret]] as const) {
      await incoming(callId);
      const offer = await until(() => edge.of('offerToAgent', callId)[0], `offer ${callId}`);
      emit({ type: 'agent.answered', callId, legId: offer.legId, at: now() });
      emit({ type: 'call.ended', callId, cause: 'agent_hangup', sipStatus: null, at: now() });
      await until(async () => (await record(callId))?.ended_at, `${callId} ended`);
      expect((await api('POST', `/telephony/calls/${callId}/ticket`, 'agent1', { ticketId: tk.id })).statusCode).toBe(200);
      const path = wavFile(`${callId}.wav`);
      if (callId === 'r1') stored = path;
      emit({ type: 'recording.ready', callId, file: { path, format: 'wav', sampleRate: 8000, channels: 2, durationMs: 1000, bytes: 4044 }, at: now() });
      await until(async () => t.ctx.database.db.selectFrom('telephony_recordings').select('id').where('call_record_id', '=', (await record(callId))!.id).executeTakeFirst(), `${callId} stored`);
    }
  });

  it('is stored with the attachments (the edge file removed) and plays for the center, with Range for seeking', async () => {
    expect(existsSync(stored)).toBe(false);
    const full = await api('GET', '/telephony/calls/r1/recording', 'supervisor1');
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toBe('audio/wav');
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.rawPayload.length).toBe(4044);
    const part = await api('GET', '/telephony/calls/r1/recording', 'agent1', undefined, { range: 'bytes=100-199' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe('bytes 100-199/4044');
    expect(part.rawPayload.equals(full.rawPayload.subarray(100, 200))).toBe(true);
    expect((await api('GET', '/telephony/calls/r1/recording', 'agent1', undefined, { range: 'bytes=5000-' })).statusCode).toBe(416);
    expect((await api('GET', '/telephony/calls/r1', 'agent1')).json().hasRecording).toBe(true);
  });

  it('a unit user hears its own ticket\'s call, never a confidential one, never another unit\'s', async () => {
    expect((await api('GET', '/telephony/calls/r1/recording', 'water1')).statusCode).toBe(200);
    const conf = await api('GET', '/telephony/calls/r2/recording', 'water1');
    expect(conf.statusCode).toBe(403);
    expect(conf.json().code).toBe('RECORDING_CONFIDENTIAL');
    expect((await api('GET', '/telephony/calls/r2/recording', 'supervisor1')).statusCode).toBe(200);
    expect((await api('GET', '/telephony/calls/r1/recording', 'power1')).statusCode).toBe(404);
    expect((await api('GET', '/telephony/calls/r1/recording', 'grid1')).statusCode).toBe(404);
  });

  it('the retention job deletes the files past their days and marks the rows; the call then says so', async () => {
    expect(await t.ctx.telephony.service.purgeExpiredRecordings()).toBe(0);
    const saved = now();
    clock.set(new Date(saved.getTime() + 181 * 86_400_000));
    try {
      expect(await t.ctx.telephony.service.purgeExpiredRecordings()).toBe(2);
      expect(await t.ctx.telephony.service.purgeExpiredRecordings()).toBe(0);
    } finally {
      clock.set(saved);
    }
    const res = await api('GET', '/telephony/calls/r1/recording', 'supervisor1');
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('RECORDING_EXPIRED');
    const rows = await t.ctx.database.db.selectFrom('telephony_recordings').select(['deleted_at', 'storage_key']).execute();
    expect(rows.filter((r) => r.deleted_at)).toHaveLength(2);
    expect(existsSync(join(t.ctx.config.attachments.dir, rows[0]!.storage_key))).toBe(false);
  });
});

describe('metrics (GB/T 33358)', () => {
  it('per queue and hour on a hand-made set of calls', async () => {
    const db = t.ctx.database.db;
    const row = (id: string, queue: string, offered: string, queuedS: number | null, answeredS: number | null, endedS: number, outcome: string) => {
      const at = (s: number) => new Date(new Date(offered).getTime() + s * 1000).toISOString().replace('T', ' ').slice(0, 19);
      return {
        id, city_id: 'demo', edge_call_id: `m-${id}`, edge: 'builtin', node_id: 'n', caller_number: CALLER, dialled_number: '12345', line_number: null, line_name: null,
        queue, priority: 0, agent_user_id: null, ticket_id: null, offered_at: at(0), queued_at: queuedS === null ? null : at(queuedS), agent_offered_at: null,
        answered_at: answeredS === null ? null : at(answeredS), ended_at: at(endedS), outcome, abandon_point: outcome === 'abandoned' ? 'queue' : null,
        reoffers: 0, overflowed_to: null, end_cause: 'caller_hangup', created_at: at(0), updated_at: at(0),
      };
    };
    // 2024-03-01 10:xx China time = 02:xx UTC. general: 4 calls in the 10:00 hour, 1 in the 11:00 hour; business: 1.
    await db.insertInto('telephony_call_records').values([
      row('m1', 'general', '2024-03-01T02:05:00Z', 2, 12, 132, 'answered'), // waits 10 s, talks 120 s
      row('m2', 'general', '2024-03-01T02:10:00Z', 2, 32, 92, 'answered'), // waits 30 s, talks 60 s
      row('m3', 'general', '2024-03-01T02:20:00Z', 2, null, 47, 'abandoned'), // gave up after 45 s
      row('m4', 'general', '2024-03-01T02:30:00Z', 2, null, 182, 'callback'), // 180 s, then a callback
      row('m5', 'general', '2024-03-01T03:15:00Z', 1, 6, 306, 'answered'), // waits 5 s, talks 300 s
      row('m6', 'business_environment', '2024-03-01T02:40:00Z', 1, 16, 76, 'answered'), // waits 15 s: within
    ]).execute();
    const res = await api('GET', '/telephony/metrics?from=2024-03-01T10:00:00%2B08:00&to=2024-03-01T12:00:00%2B08:00', 'supervisor1');
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m.hours).toEqual([
      { queue: 'business_environment', hour: '2024-03-01T10:00:00+08:00', offered: 1, answered: 1, answeredWithin15s: 1, serviceLevel: 1, abandoned: 0, abandonRate: 0, averageSpeedOfAnswerSeconds: 15, averageHandleSeconds: 60, longestWaitSeconds: 15 },
      { queue: 'general', hour: '2024-03-01T10:00:00+08:00', offered: 4, answered: 2, answeredWithin15s: 1, serviceLevel: 0.25, abandoned: 1, abandonRate: 0.25, averageSpeedOfAnswerSeconds: 20, averageHandleSeconds: 90, longestWaitSeconds: 180 },
      { queue: 'general', hour: '2024-03-01T11:00:00+08:00', offered: 1, answered: 1, answeredWithin15s: 1, serviceLevel: 1, abandoned: 0, abandonRate: 0, averageSpeedOfAnswerSeconds: 5, averageHandleSeconds: 300, longestWaitSeconds: 5 },
    ]);
    expect(m.totals.find((x: any) => x.queue === 'general')).toMatchObject({ hour: null, offered: 5, answered: 3, answeredWithin15s: 2, serviceLevel: 0.4, abandonRate: 0.2, averageSpeedOfAnswerSeconds: 15, averageHandleSeconds: 160, longestWaitSeconds: 180 });
    const one = await api('GET', '/telephony/metrics?from=2024-03-01T10:00:00%2B08:00&to=2024-03-01T12:00:00%2B08:00&queue=business_environment', 'supervisor1');
    expect(one.json().totals).toHaveLength(1);
  });
});

describe('bad input', () => {
  it('is refused with a stable code and a Chinese message', async () => {
    const cases: [Promise<any>, number, string][] = [
      [api('PUT', `/telephony/agents/${ids.user.agent2}`, 'admin', { phoneUsername: 'agent2', skills: ['no_such_queue'] }), 400, 'TELEPHONY_QUEUE_UNKNOWN'],
      [api('PUT', `/telephony/agents/${ids.user.water1}`, 'admin', { phoneUsername: 'water1', skills: ['general'] }), 400, 'AGENT_INVALID'],
      [api('PUT', `/telephony/agents/${ids.user.agent2}`, 'admin', { phoneUsername: 'agent1', skills: ['general'] }), 409, 'PHONE_TAKEN'],
      [api('PUT', `/telephony/agents/${ids.user.agent2}/phone-password`, 'admin', { password: 'secret-123' }), 409, 'AGENT_NO_PHONE'],
      [api('PUT', `/telephony/agents/${ids.user.agent1}/phone-password`, 'admin', { password: 'short' }), 400, 'SIP_PASSWORD_TOO_SHORT'],
      [api('PUT', `/telephony/agents/${ids.user.agent1}`, 'agent1', { phoneUsername: 'agent1', skills: ['general'] }), 403, 'ROLE_FORBIDDEN'],
      [api('PUT', '/telephony/queues/general', 'admin', { overflowTo: 'general' }), 400, 'OVERFLOW_TO_SELF'],
      [api('PUT', '/telephony/queues/general', 'admin', { overflowTo: 'nowhere' }), 400, 'TELEPHONY_QUEUE_UNKNOWN'],
      [api('GET', '/telephony/metrics?from=2024-03-01T10:00:00%2B08:00&to=2024-03-01T12:00:00%2B08:00&queue=nowhere', 'supervisor1'), 400, 'TELEPHONY_QUEUE_UNKNOWN'],
      [api('GET', '/telephony/metrics?from=2024-03-01T10:00:00%2B08:00&to=2024-01-01T12:00:00%2B08:00', 'supervisor1'), 400, 'PERIOD_INVALID'],
      [api('GET', '/telephony/metrics?from=2024-03-01T10:00:00%2B08:00&to=2024-03-01T12:00:00%2B08:00', 'water1'), 403, 'ROLE_FORBIDDEN'],
      [api('GET', '/telephony/calls/nope', 'supervisor1'), 404, 'CALL_RECORD_NOT_FOUND'],
      [api('POST', '/telephony/callbacks/nope/claim', 'agent1'), 404, 'CALLBACK_NOT_FOUND'],
    ];
    for (const [p, status, code] of cases) {
      const res = await p;
      expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
      expect(res.json().message_zh).toMatch(/[\u4e00-\u9fa5]/);
    }
  });

  it('a phone password is stored as HA1 only, for an agent with a phone', async () => {
    expect((await api('PUT', `/telephony/agents/${ids.user.agent1}/phone-password`, 'admin', { password: 'phone-pass-1' })).statusCode).toBe(204);
    const audit = await t.ctx.database.db.selectFrom('audit_events').select(['action', 'after']).where('action', 'like', 'sip_endpoint.%').execute();
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain('phone-pass-1');
    const row = await t.ctx.database.db.selectFrom('sip_endpoints').selectAll().where('username', '=', 'agent1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ ha1: computeHa1('agent1', 'hotline', 'phone-pass-1'), user_id: ids.user.agent1 });
  });
});
