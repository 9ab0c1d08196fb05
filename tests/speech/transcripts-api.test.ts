/**
 * Transcripts through the real app (SQLite or MariaDB per TEST_DATABASE): segments the console's
 * browser engine posts (the offered agent only, stored once per call+party+seq+final, with party and
 * timing), transcript search by role (the center; a unit only its own, non-confidential tickets'
 * calls, spoken numbers masked), the engine's status in /healthz, and transcripts deleted with the
 * recording by the retention purge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../app/config';
import { newId, toDbTime } from '../../core';
import { startTestApp, json, type TestApp } from '../helpers/app';
import { createTicket, demoIds, type DemoIds } from '../live/live-client';

describe('speech: transcripts over HTTP', () => {
  let t: TestApp;
  let ids: DemoIds;
  const base = testConfig();
  const api = async (method: 'GET' | 'POST', url: string, user: string, payload?: object) =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: { cookie: await t.login(user) }, payload });
  const offer = async (callId: string, agent = 'agent1') => {
    const res = await api('POST', '/calls/events', 'admin', { type: 'offered', callId, callerPhone: '13800001111', dialledNumber: '12345', agentUsername: agent });
    expect(res.statusCode, res.body).toBe(200);
  };
  const seg = (party: 'caller' | 'agent', seq: number, text: string, startMs: number, endMs: number, final = true) => ({ party, seq, text, final, startMs, endMs, confidence: 0.9 });
  const segmentRows = async () => Number((await t.ctx.database.db.selectFrom('call_transcript_segments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  /** A call record (话单) linking the call to a ticket, as telephony writes it when the agent registers the ticket. */
  const linkCall = async (callId: string, ticketId: string) => {
    const at = toDbTime(new Date('2025-10-09T02:00:00Z'));
    const id = newId();
    await t.ctx.database.db.insertInto('telephony_call_records').values({
      id, city_id: 'demo', edge_call_id: callId, edge: 'builtin', node_id: 'test', caller_number: '13800001111', dialled_number: '12345',
      line_number: null, line_name: null, queue: 'general', priority: 0, agent_user_id: ids.user.agent1, ticket_id: ticketId, offered_at: at,
      queued_at: null, agent_offered_at: null, answered_at: at, ended_at: at, outcome: 'answered', abandon_point: null, reoffers: 0,
      overflowed_to: null, end_cause: 'caller_hangup', created_at: at, updated_at: at,
    }).execute();
    return id;
  };

  beforeAll(async () => {
    t = await startTestApp({ config: { speech: { ...base.speech, engine: 'browser' } } });
    ids = await demoIds(t, ['agent1', 'agent2']);
  });
  afterAll(async () => t?.close());

  it('stores the final segments the offered agent posts, with party, start/end ms and confidence; a repeat is stored once', async () => {
    await offer('call-post-1');
    const segments = [seg('caller', 0, '我家楼下的路灯坏了', 0, 2000), seg('agent', 0, '好的请问具体地址', 1500, 3000), seg('caller', 1, '在滨江', 3200, 3600, false)];
    const first = await api('POST', '/calls/call-post-1/transcript/segments', 'agent1', { segments });
    expect(first.statusCode, first.body).toBe(200);
    expect(json(first)).toEqual({ accepted: 3, duplicates: 0 });
    const again = await api('POST', '/calls/call-post-1/transcript/segments', 'agent1', { segments });
    expect(json(again)).toEqual({ accepted: 1, duplicates: 2 }); // the partial is pushed again, never stored
    const call = json(await api('GET', '/calls/call-post-1', 'agent1'));
    expect(call.segments).toHaveLength(2);
    expect(call.segments.find((s: any) => s.speaker === 'agent')).toMatchObject({ seq: 0, text: '好的请问具体地址', startMs: 1500, endMs: 3000, confidence: 0.9 });
    // Both parties' seq 0 are two segments, interleaved by when they were said.
    expect(call.transcript).toBe('来电人：我家楼下的路灯坏了\n话务员：好的请问具体地址');
  });

  it('refuses another agent (as if missing), other roles, bad timing and unknown calls, storing nothing', async () => {
    await offer('call-post-2');
    const before = await segmentRows();
    const body = { segments: [seg('caller', 0, '测试', 0, 500)] };
    expect((await api('POST', '/calls/call-post-2/transcript/segments', 'agent2', body)).json()).toMatchObject({ code: 'CALL_NOT_FOUND' });
    expect((await api('POST', '/calls/call-post-2/transcript/segments', 'supervisor1', body)).statusCode).toBe(403);
    const bad = await api('POST', '/calls/call-post-2/transcript/segments', 'agent1', { segments: [seg('caller', 0, '测试', 900, 500)] });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).code).toBe('SEGMENT_TIMING_INVALID');
    expect((await api('POST', '/calls/no-such-call/transcript/segments', 'agent1', body)).statusCode).toBe(404);
    expect((await api('POST', '/calls/call-post-2/transcript/segments', 'agent1', { segments: [{ ...seg('caller', 0, 'x', 0, 1), extra: 1 }] })).statusCode).toBe(400);
    expect(await segmentRows()).toBe(before);
  });

  it('searches by words: the center sees all, a unit only its own non-confidential tickets\' calls with spoken numbers masked', async () => {
    const water = ids.unit['util-water'];
    const power = ids.unit['util-power'];
    const territoryId = ids.territory['990102001001001'];
    const own = await createTicket(t, { unitId: water, territoryId, title: '路灯' });
    const secret = await createTicket(t, { unitId: water, territoryId, title: '路灯', confidential: true });
    const other = await createTicket(t, { unitId: power, territoryId, title: '路灯' });
    const calls = [
      ['call-s-own', own.id, '我的电话是13812345678，小区门口路灯坏了'],
      ['call-s-secret', secret.id, '举报一下路灯维修的人收钱'],
      ['call-s-other', other.id, '路灯一直闪烁'],
    ] as const;
    for (const [callId, ticketId, text] of calls) {
      await offer(callId);
      await linkCall(callId, ticketId);
      expect((await api('POST', `/calls/${callId}/transcript/segments`, 'agent1', { segments: [seg('caller', 0, text, 1000, 4000)] })).statusCode).toBe(200);
    }
    const center = json(await api('GET', `/transcripts/search?q=${encodeURIComponent('路灯')}`, 'supervisor1'));
    const byCall = new Map(center.map((h: any) => [h.callId, h]));
    for (const [callId] of calls) expect(byCall.has(callId), callId).toBe(true);
    expect(byCall.get('call-s-own')).toMatchObject({ ticketId: own.id, ticketNumber: own.number, party: 'caller', startMs: 1000 });
    expect((byCall.get('call-s-own') as any).snippet).toBe('我的电话是13812345678，小区门口【路灯】坏了');

    const unit = json(await api('GET', `/transcripts/search?q=${encodeURIComponent('路灯')}`, 'water1'));
    expect(unit.map((h: any) => h.callId)).toEqual(['call-s-own']);
    expect(unit[0].snippet).toBe('我的电话是138******78，小区门口【路灯】坏了');
    expect(unit[0].ticketNumber).toBe(own.number);

    // Every word must be there: 路灯 + 闪烁 finds one call.
    const two = json(await api('GET', `/transcripts/search?q=${encodeURIComponent('路灯闪烁')}`, 'supervisor1'));
    expect(two.map((h: any) => h.callId)).toEqual(['call-s-other']);
    // An agent searches the calls offered to them.
    expect(json(await api('GET', `/transcripts/search?q=${encodeURIComponent('路灯')}`, 'agent2'))).toEqual([]);
    expect((await api('GET', `/transcripts/search?q=${encodeURIComponent('路灯')}`, 'grid1')).statusCode).toBe(403);
    const short = await api('GET', `/transcripts/search?q=${encodeURIComponent('的')}`, 'supervisor1');
    expect(short.statusCode).toBe(400);
    expect(json(short).code).toBe('SEARCH_QUERY_TOO_SHORT');
  });

  it('plans the routing from what the caller said while the form is still empty (classifier and address)', async () => {
    await offer('call-plan');
    const said = [seg('caller', 0, '滨江街道这边的路灯坏了好几天了', 0, 3000), seg('agent', 0, '您好请讲', 0, 800), seg('caller', 1, '晚上很黑走路不安全', 3500, 6000)];
    expect((await api('POST', '/calls/call-plan/transcript/segments', 'agent1', { segments: said })).statusCode).toBe(200);
    const empty = json(await api('POST', '/routing/plan', 'agent1', { text: '' }));
    const fromCall = await api('POST', '/routing/plan', 'agent1', { text: '', callId: 'call-plan' });
    expect(fromCall.statusCode, fromCall.body).toBe(200);
    const plan = json(fromCall);
    expect(empty.suggestions).toEqual([]);
    expect(plan.suggestions.length).toBeGreaterThan(0);
    expect(plan.suggestions.flatMap((x: any) => x.words).some((w: string) => w.includes('路灯'))).toBe(true);
    expect(plan.territory.source).toBe('address');
    expect(empty.territory.source).toBe('none');
    // Once the agent typed, the form wins; another agent's call is not theirs to read.
    const typed = json(await api('POST', '/routing/plan', 'agent1', { text: '噪音扰民', callId: 'call-plan' }));
    expect(typed.suggestions.flatMap((x: any) => x.words).some((w: string) => w.includes('路灯'))).toBe(false);
    expect((await api('POST', '/routing/plan', 'agent2', { text: '', callId: 'call-plan' })).statusCode).toBe(404);
  });

  it('says in /healthz and /speech/status which engine runs and why there is no transcript', async () => {
    const health = json(await t.app.inject({ method: 'GET', url: '/healthz' }));
    expect(health.speech).toMatchObject({ engine: 'browser', ok: false, detail: { code: 'SPEECH_BROWSER_MODEL_DIR_UNSET' } });
    const status = json(await api('GET', '/speech/status', 'agent1'));
    expect(status).toMatchObject({ engine: 'browser', ok: false, stats: { activeStreams: 0 } });
    expect(status.detail.zh).toContain('SPEECH_BROWSER_MODEL_DIR');
  });

  it('deletes a call\'s transcript with its recording when the retention purge removes it (audited)', async () => {
    await offer('call-retention');
    const recordId = await linkCall('call-retention', (await createTicket(t, { unitId: ids.unit['util-water'], territoryId: ids.territory['990102001001001'] })).id);
    await api('POST', '/calls/call-retention/transcript/segments', 'agent1', { segments: [seg('caller', 0, '保留期限测试', 0, 800)] });
    await t.ctx.database.db.insertInto('telephony_recordings').values({
      id: newId(), city_id: 'demo', call_record_id: recordId, storage_key: `recordings/none-${recordId}.wav`, content_type: 'audio/wav', bytes: 44, duration_ms: 800,
      stored_at: '2025-01-01 00:00:00', expires_at: '2025-02-01 00:00:00', deleted_at: null,
    }).execute();
    await t.ctx.telephony.service.purgeExpiredRecordings((c) => t.ctx.speech.recordingDeleted(c));
    const call = json(await api('GET', '/calls/call-retention', 'agent1'));
    expect(call.segments).toEqual([]);
    expect(call.transcript).toBeNull();
    const audit = await t.ctx.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'call.transcript_deleted').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0].reason).toBe('retention');
  });
});
