/**
 * Call events from the telephony gateway (来电事件): who may post them, the pop-up on the right
 * agent's console with the dialled line and the caller's history (来电弹屏), the live transcript,
 * repeats stored once, and who may read a call afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { createTicket, demoIds, listen, LiveClient, publishMarker, type DemoIds } from '../live/live-client';

const CALLER = '13812345678';
let t: TestApp;
let base: string;
let ids: DemoIds;
let gatewayKey: string;
const clients: LiveClient[] = [];

async function connect(username: string) {
  const c = await LiveClient.ready(base, { cookie: await t.login(username) });
  clients.push(c);
  return c;
}

function post(body: unknown, auth: { apiKey?: string; cookie?: string } = { apiKey: gatewayKey }) {
  const headers: Record<string, string> = {};
  if (auth.apiKey) headers['x-api-key'] = auth.apiKey;
  if (auth.cookie) headers.cookie = auth.cookie;
  return t.app.inject({ method: 'POST', url: '/api/v1/calls/events', headers, payload: body as object });
}

async function settle(...cs: LiveClient[]) {
  const m = await publishMarker(t, Object.values(ids.user));
  await Promise.all(cs.map((c) => c.waitFor((x) => x.seq === m.seq, `marker ${m.seq}`)));
}

beforeAll(async () => {
  t = await startTestApp();
  base = await listen(t.app);
  ids = await demoIds(t, ['agent1', 'agent2', 'supervisor1', 'water1', 'admin']);
  const res = await t.app.inject({
    method: 'POST', url: '/api/v1/api-keys', headers: { cookie: await t.login('admin') }, payload: { name: 'telephony gateway', role: 'agent', scopes: ['calls:write'] },
  });
  gatewayKey = res.json().key;
  // The caller's history: two tickets this month, both still open.
  await createTicket(t, { unitId: ids.unit['util-water'], territoryId: ids.territory['990102001001001'], phone: CALLER, title: '停水' });
  await createTicket(t, { unitId: ids.unit['util-water'], territoryId: ids.territory['990102001001001'], phone: CALLER, title: '又停水' });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

describe('the pop-up (来电弹屏)', () => {
  let agent1: LiveClient, agent2: LiveClient, supervisor: LiveClient, water: LiveClient;

  beforeAll(async () => {
    [agent1, agent2, supervisor, water] = await Promise.all(['agent1', 'agent2', 'supervisor1', 'water1'].map(connect));
  });

  it('reaches the agent offered the call, with the merged line and the caller history, and nobody else', async () => {
    const res = await post({ type: 'offered', callId: 'sip-0001', callerPhone: '+86 138 1234 5678', dialledNumber: '0536-12319', agentUsername: 'agent1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ duplicate: false, call: { callId: 'sip-0001', callerPhone: CALLER, lineName: '城建服务热线', line: { number: '12319' }, agentUserId: ids.user.agent1 } });

    const pop = await agent1.waitFor((m) => m.type === 'call.offered', 'call.offered');
    expect(pop.data).toMatchObject({
      call: { callId: 'sip-0001', callerPhone: CALLER, dialledNumber: '0536-12319' },
      line: { number: '12319', name: '城建服务热线' },
      lineName: '城建服务热线',
      agentUserId: ids.user.agent1,
      history: { repeatCaller: true, openTickets: 2 },
    });
    expect(pop.data.history.tickets.map((x: any) => x.title)).toEqual(expect.arrayContaining(['停水', '又停水']));
    expect(pop.data.history.tickets[0]).toMatchObject({ status: 'accepted', statusZh: expect.any(String), handlingUnitId: ids.unit['util-water'] });

    await settle(agent1, agent2, supervisor, water);
    expect(agent1.eventsOf('call.offered')).toHaveLength(1);
    for (const other of [agent2, supervisor, water]) {
      expect(other.eventsOf('call.offered')).toEqual([]);
      expect(other.frames.join('\n')).not.toContain(CALLER);
    }
  });

  it('a repeat of the same offer is stored once and pops up once', async () => {
    const res = await post({ type: 'offered', callId: 'sip-0001', callerPhone: CALLER, dialledNumber: '12319', agentUsername: 'agent1' });
    expect(res.json()).toMatchObject({ duplicate: true });
    await settle(agent1);
    expect(agent1.eventsOf('call.offered')).toHaveLength(1);
    const rows = await t.ctx.database.db.selectFrom('calls').selectAll().where('call_id', '=', 'sip-0001').execute();
    expect(rows).toHaveLength(1);
  });

  it('streams the transcript to the agent; final segments are stored once, in order', async () => {
    const seg = (seq: number, text: string, speaker = 'caller', final = true) => post({ type: 'transcript', callId: 'sip-0001', seq, text, final, speaker });
    expect((await post({ type: 'answered', callId: 'sip-0001', at: '2025-10-09T10:00:00+08:00' })).json()).toMatchObject({ duplicate: false });
    expect((await post({ type: 'answered', callId: 'sip-0001' })).json()).toMatchObject({ duplicate: true });
    expect((await seg(1, '我家停水了', 'caller', false)).json().duplicate).toBe(false);
    expect((await seg(1, '我家停水了。')).json().duplicate).toBe(false);
    expect((await seg(3, '好的，马上为您登记。', 'agent')).json().duplicate).toBe(false);
    expect((await seg(2, '滨江路1号，已经两天了。')).json().duplicate).toBe(false);
    const repeat = await seg(3, '好的，马上为您登记。', 'agent');
    expect(repeat.json()).toMatchObject({ duplicate: true });
    expect(repeat.json().call.transcript).toBe('来电人：我家停水了。\n来电人：滨江路1号，已经两天了。\n话务员：好的，马上为您登记。');
    expect(repeat.json().call.segments.map((s: any) => s.seq)).toEqual([1, 2, 3]);

    const ended = await post({ type: 'ended', callId: 'sip-0001', at: '2025-10-09T10:03:05+08:00' });
    expect(ended.json()).toMatchObject({ duplicate: false, call: { answeredAt: '2025-10-09T10:00:00+08:00', endedAt: '2025-10-09T10:03:05+08:00' } });
    expect((await post({ type: 'ended', callId: 'sip-0001' })).json().duplicate).toBe(true);

    const end = await agent1.waitFor((m) => m.type === 'call.ended', 'call.ended');
    expect(end.data).toMatchObject({ callId: 'sip-0001', talkSeconds: 185 });
    const transcript = agent1.eventsOf('call.transcript').map((m) => [m.data.seq, m.data.final, m.data.speaker]);
    expect(transcript).toEqual([[1, false, 'caller'], [1, true, 'caller'], [3, true, 'agent'], [2, true, 'caller']]);
    expect(agent1.eventsOf('call.answered')).toHaveLength(1);
    await settle(agent1, agent2);
    expect(agent2.events.filter((m) => m.type.startsWith('call.'))).toEqual([]);
  });

  it('re-offers an unanswered call to another agent and withdraws it from the first', async () => {
    await post({ type: 'offered', callId: 'sip-0002', callerPhone: '13900001111', dialledNumber: '12345', agentId: ids.user.agent1 });
    const again = await post({ type: 'offered', callId: 'sip-0002', callerPhone: '13900001111', dialledNumber: '12345', agentUsername: 'agent2' });
    expect(again.json()).toMatchObject({ duplicate: false, call: { agentUserId: ids.user.agent2, lineName: '12345政务服务便民热线', line: null } });
    const pop = await agent2.waitFor((m) => m.type === 'call.offered' && m.data.call.callId === 'sip-0002', 'the re-offer');
    expect(pop.data.history).toMatchObject({ citizen: null, tickets: [], openTickets: 0, repeatCaller: false });
    await agent1.waitFor((m) => m.type === 'call.withdrawn' && m.data.callId === 'sip-0002', 'the withdrawal');
    const late = await post({ type: 'offered', callId: 'sip-0001', callerPhone: CALLER, dialledNumber: '12345', agentUsername: 'agent2' });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('CALL_ALREADY_ANSWERED');
  });

  it('a call nobody was offered yet goes to the supervisors; a withheld number has no history', async () => {
    const res = await post({ type: 'offered', callId: 'sip-0003', callerPhone: '', dialledNumber: '12345' });
    expect(res.json().call).toMatchObject({ callerPhone: null, agentUserId: null });
    const queued = await supervisor.waitFor((m) => m.type === 'call.offered' && m.data.call.callId === 'sip-0003', 'the queued call');
    expect(queued.data.history).toBeNull();
    await settle(agent1, agent2);
    expect(agent1.eventsOf('call.offered').some((m) => m.data.call.callId === 'sip-0003')).toBe(false);
  });
});

describe('who may post and read calls', () => {
  it('refuses an agent, an anonymous caller and malformed events', async () => {
    const asAgent = await post({ type: 'answered', callId: 'sip-0001' }, { cookie: await t.login('agent1') });
    expect(asAgent.statusCode).toBe(403);
    expect(asAgent.json().code).toBe('ROLE_FORBIDDEN');
    expect((await post({ type: 'answered', callId: 'sip-0001' }, {})).statusCode).toBe(401);
    const bad = await post({ type: 'transcript', callId: 'sip-0001', seq: -1, text: 'x', final: true, speaker: 'robot' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
    expect((await post({ type: 'offered', callId: 'x', callerPhone: CALLER, dialledNumber: '12345', agentId: 'a', agentUsername: 'b' })).statusCode).toBe(400);
  });

  it('accepts an admin session too (the gateway in a demo)', async () => {
    const res = await post({ type: 'offered', callId: 'sip-admin', callerPhone: CALLER, dialledNumber: '12345' }, { cookie: await t.login('admin') });
    expect(res.statusCode).toBe(200);
  });

  it('names the problem with an unknown agent, a unit user as agent, and an unknown call', async () => {
    const unknown = await post({ type: 'offered', callId: 'sip-9', callerPhone: CALLER, dialledNumber: '12345', agentUsername: 'nobody' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'AGENT_NOT_FOUND', message_zh: '坐席 nobody 不存在' });
    const unit = await post({ type: 'offered', callId: 'sip-9', callerPhone: CALLER, dialledNumber: '12345', agentUsername: 'water1' });
    expect(unit.json().code).toBe('AGENT_INVALID');
    const missing = await post({ type: 'transcript', callId: 'sip-none', seq: 1, text: 'x', final: true, speaker: 'caller' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'CALL_NOT_FOUND', message_zh: '通话 sip-none 不存在' });
    expect(await t.ctx.database.db.selectFrom('calls').select('id').where('call_id', '=', 'sip-9').execute()).toEqual([]);
  });

  it('lets the agent read their own call, not another agent\'s, and no unit at all', async () => {
    const get = async (user: string, id: string) => t.app.inject({ method: 'GET', url: `/api/v1/calls/${id}`, headers: { cookie: await t.login(user) } });
    const own = await get('agent1', 'sip-0001');
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ callId: 'sip-0001', lineName: '城建服务热线', transcript: expect.stringContaining('我家停水了') });
    expect((await get('agent2', 'sip-0001')).json().code).toBe('CALL_NOT_FOUND');
    expect((await get('supervisor1', 'sip-0001')).statusCode).toBe(200);
    const unit = await get('water1', 'sip-0001');
    expect(unit.statusCode).toBe(403);
    expect((await get('agent1', 'sip-unknown')).statusCode).toBe(404);
  });
});
