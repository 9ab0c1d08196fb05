/**
 * The drachtio edge (production SIP edge) with drachtio-server replaced by a request/response double
 * of drachtio-srf (no drachtio-server exists on this machine) and everything else real: a real
 * rtpengine anchors and records the media, real UDP sockets send G.711 RTP through it, a real Redis
 * shares registrations between two edges. tests/telephony/drachtio/drachtio-server.test.ts runs
 * the same edge against a real drachtio-server when one is configured.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../../core';
import { createDrachtioSipEdge, type DrachtioSipEdgeOptions, type EdgeEvent, type SipEdge } from '../../../telephony';
import { ha1Of, parseDigest } from '../../../telephony/edges/drachtio/digest';
import { audioPort } from '../../../telephony/edges/drachtio/sdp';
import { rtpPeer, startRtpengine, ulawSilence, ulawTone, type RunningRtpengine } from '../../helpers/rtpengine';
import { until } from '../../helpers/until';
import { FakeRequest, FakeSrf } from './srf-double';
import { readWav } from './wav';

const REALM = 'hotline.test';
const PASSWORDS: Record<string, string> = { '1001': 'agent-1001-secret', '1002': 'agent-1002-secret' };
const credentials = { ha1: async (u: string, realm: string) => (PASSWORDS[u] ? ha1Of(u, realm, PASSWORDS[u]) : null) };

const sdpOf = (port: number, pts = [0, 8, 101]) =>
  ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
    ...(pts.includes(18) ? ['a=rtpmap:18 G729/8000'] : []), 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');

let rtp: RunningRtpengine;
let work: string;
const running: { edge: SipEdge }[] = [];

beforeAll(async () => {
  rtp = await startRtpengine();
  work = mkdtempSync(join(tmpdir(), 'hotline-drachtio-edge-'));
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.edge.stop();
});
afterAll(async () => {
  await rtp?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function startEdge(over: Partial<DrachtioSipEdgeOptions> = {}, srf = new FakeSrf()) {
  const events: EdgeEvent[] = [];
  const edge = createDrachtioSipEdge({
    drachtio: { host: '127.0.0.1', port: 9022, secret: 'cymru' },
    rtpengine: { host: '127.0.0.1', port: rtp.ngPort },
    dtmfListen: { host: '127.0.0.1', port: rtp.dtmfPort },
    rtpengineRecordingDir: rtp.recordingDir,
    recordingsDir: join(work, 'wav'),
    realm: REALM,
    credentials,
    createSrf: () => srf,
    ...over,
  });
  await edge.start((e) => events.push(e));
  running.push({ edge });
  const of = <T extends EdgeEvent['type']>(type: T) => events.filter((e): e is Extract<EdgeEvent, { type: T }> => e.type === type);
  return { edge, srf, events, of };
}

function invite(callerPort: number, o: { pai?: string; from?: string; source?: string; pts?: number[]; dnis?: string } = {}) {
  const headers: Record<string, string> = {
    From: o.from ?? '"Zhang San" <sip:13800138000@carrier.example>;tag=abc',
    To: `<sip:${o.dnis ?? '12345'}@hotline.example>`,
    'Call-ID': `sip-${Math.random()}`,
  };
  if (o.pai) headers['P-Asserted-Identity'] = o.pai;
  return new FakeRequest('INVITE', `sip:${o.dnis ?? '12345'}@10.0.0.5:5060`, headers, sdpOf(callerPort, o.pts), o.source ?? '198.51.100.7');
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
function register(srf: FakeSrf, username: string, password: string | null, o: { expires?: number; contact?: string; source?: string; aor?: string } = {}) {
  const headers: Record<string, string> = {
    From: `<sip:${o.aor ?? username}@${REALM}>;tag=r1`, To: `<sip:${o.aor ?? username}@${REALM}>`, 'Call-ID': `reg-${username}`,
    Contact: `<${o.contact ?? `sip:${username}@192.168.1.50:5062`}>`, Expires: String(o.expires ?? 600),
  };
  const first = srf.deliver(new FakeRequest('REGISTER', `sip:${REALM}`, headers, '', o.source ?? '203.0.113.9', '40000'));
  return until(() => first.last, 'the REGISTER challenge').then(() => {
    if (password === null || first.last.status !== 401) return first;
    const ch = parseDigest(first.last.headers['WWW-Authenticate'])!;
    const cnonce = 'c0ffee';
    const ha1 = md5(`${username}:${ch.realm}:${password}`);
    const response = md5(`${ha1}:${ch.nonce}:00000001:${cnonce}:auth:${md5(`REGISTER:sip:${REALM}`)}`);
    headers.Authorization = `Digest username="${username}", realm="${ch.realm}", nonce="${ch.nonce}", uri="sip:${REALM}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`;
    return srf.deliver(new FakeRequest('REGISTER', `sip:${REALM}`, headers, '', o.source ?? '203.0.113.9', '40000'));
  });
}

describe('drachtio edge: inbound calls', () => {
  it('offers a call with ANI from P-Asserted-Identity and DNIS from the Request-URI, rings, answers with rtpengine media, and ends on the caller’s BYE', async () => {
    const { srf, edge, of } = await startEdge();
    const caller = await rtpPeer();
    const res = srf.deliver(invite(caller.port, { pai: '"Li Si" <sip:+8613900139000@carrier.example>', dnis: '12345' }));
    const [offered] = of('call.offered');
    expect(offered.call).toMatchObject({ callerNumber: '+8613900139000', callerName: 'Li Si', dialledNumber: '12345', source: '198.51.100.7:5060', codec: 'PCMU' });

    await edge.ring(offered.call.callId);
    expect(res.last.status).toBe(180);
    await edge.answer(offered.call.callId);
    await edge.answer(offered.call.callId); // idempotent
    expect(res.sent.filter((r) => r.status === 200)).toHaveLength(1);
    const ourSdp = res.last.body!;
    expect(audioPort(ourSdp)).not.toBe(caller.port); // rtpengine's port, not the caller's: media is anchored
    expect(of('call.answered')).toHaveLength(1);
    expect((await edge.health()).activeCalls).toBe(1);

    srf.uasDialogs[0].remoteBye();
    await until(() => of('call.ended').length, 'call.ended');
    expect(of('call.ended')).toEqual([expect.objectContaining({ callId: offered.call.callId, cause: 'caller_hangup', sipStatus: null })]);
    expect(srf.uasDialogs[0].destroyed).toBe(false); // the caller's BYE ended it: no BYE back
    expect((await edge.health()).activeCalls).toBe(0);
    caller.close();
  });

  it('takes ANI from From when there is no P-Asserted-Identity', async () => {
    const { srf, of } = await startEdge();
    srf.deliver(invite(4000, { from: '<sip:02512345678@gw.example>;tag=x' }));
    expect(of('call.offered')[0].call).toMatchObject({ callerNumber: '02512345678', callerName: null });
  });

  it('refuses an offer without G.711 with 488 naming PCMU and PCMA, and offers nothing', async () => {
    const { srf, events } = await startEdge();
    const res = srf.deliver(invite(4000, { pts: [18] }));
    expect(res.last.status).toBe(488);
    expect(res.last.headers.Warning).toMatch(/PCMU.*PCMA/);
    expect(res.last.body).toMatch(/m=audio 0 RTP\/AVP 0 8/);
    expect(events).toHaveLength(0);
  });

  it('answers an INVITE flood from one source with 503 and Retry-After, while other sources still get through', async () => {
    const { srf, of } = await startEdge({ inviteLimit: { perSecond: 1, burst: 3 } });
    const statuses = Array.from({ length: 6 }, () => srf.deliver(invite(4000, { source: '192.0.2.66' })).last?.status ?? null);
    expect(statuses.slice(0, 3)).toEqual([null, null, null]); // offered, waiting for the ACD
    const refused = srf.deliver(invite(4000, { source: '192.0.2.66' }));
    expect(statuses.slice(3)).toEqual([503, 503, 503]);
    expect(Number(refused.last.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    srf.deliver(invite(4000, { source: '192.0.2.77' }));
    expect(of('call.offered').map((e) => e.call.source.split(':')[0])).toEqual(['192.0.2.66', '192.0.2.66', '192.0.2.66', '192.0.2.77']);
  });

  it('reports a CANCEL before the answer as caller_cancelled, exactly once, and keeps commands on the ended call idempotent', async () => {
    const { srf, edge, of } = await startEdge();
    const req = invite(4000);
    srf.deliver(req);
    const { callId } = of('call.offered')[0].call;
    req.emit('cancel', {});
    req.emit('cancel', {});
    expect(of('call.ended')).toEqual([expect.objectContaining({ callId, cause: 'caller_cancelled', sipStatus: 487 })]);
    await edge.hangUp(callId, 'system_hangup');
    await expect(edge.answer(callId)).rejects.toMatchObject({ code: 'call_ended' });
    expect(of('call.ended')).toHaveLength(1);
  });

  it('rejects with the status and Retry-After the ACD chose', async () => {
    const { srf, edge, of } = await startEdge();
    const res = srf.deliver(invite(4000));
    const { callId } = of('call.offered')[0].call;
    await edge.reject(callId, 503, { retryAfterSeconds: 30 });
    expect(res.last).toMatchObject({ status: 503, headers: { 'Retry-After': '30' } });
    expect(of('call.ended')[0]).toMatchObject({ cause: 'rejected', sipStatus: 503 });
  });

  it('answers commands for an unknown call with a not-found AppError, and a BYE outside any dialog with 481', async () => {
    const { srf, edge } = await startEdge();
    const err = await edge.hangUp('nope', 'system_hangup').catch((e) => e);
    expect(isAppError(err) && err.code).toBe('call_not_found');
    const res = srf.deliver(new FakeRequest('BYE', 'sip:12345@10.0.0.5', { 'Call-ID': 'stray', From: '<sip:1@x>;tag=1', To: '<sip:2@y>;tag=2' }));
    expect(res.last.status).toBe(481);
  });

  it('ends the call when the caller hangs up after the answer, and turns the recording into a stereo WAV with the caller on the left', async () => {
    const { srf, edge, of } = await startEdge();
    const caller = await rtpPeer();
    const res = srf.deliver(invite(caller.port));
    const { callId } = of('call.offered')[0].call;
    await edge.answer(callId);
    await caller.sendTo(audioPort(res.last.body!)!, ulawTone(40));
    srf.uasDialogs[0].remoteBye();
    await until(() => of('call.ended').length, 'call.ended');
    expect(of('call.ended')[0]).toMatchObject({ callId, cause: 'caller_hangup' });
    const ready = await until(() => of('recording.ready')[0], 'recording.ready');
    const wav = readWav(ready.file.path);
    expect(wav.channels).toBe(2);
    expect(wav.rms[0]).toBeGreaterThan(1000);
    caller.close();
  });

  it('reports the caller’s DTMF (rtpengine’s DTMF log) as call.dtmf', async () => {
    const { srf, edge, of } = await startEdge();
    const caller = await rtpPeer();
    const res = srf.deliver(invite(caller.port));
    const { callId } = of('call.offered')[0].call;
    await edge.answer(callId);
    await caller.sendTo(audioPort(res.last.body!)!, ulawSilence(3));
    await caller.sendDtmf(audioPort(res.last.body!)!, 11);
    expect(await until(() => of('call.dtmf')[0], 'call.dtmf')).toMatchObject({ callId, digit: '#' });
    caller.close();
  });

  it('plays a prompt and reports prompt.finished; a prompt replaced or stopped reports nothing', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = join(work, 'short.wav');
    const n = 1600; // 200 ms
    const b = Buffer.alloc(44 + n * 2);
    b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20);
    b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24); b.writeUInt32LE(16000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40);
    writeFileSync(file, b);
    const { srf, edge, of } = await startEdge();
    const caller = await rtpPeer();
    const res = srf.deliver(invite(caller.port));
    const { callId } = of('call.offered')[0].call;
    await expect(edge.playPrompt(callId, { id: 'welcome', file })).rejects.toMatchObject({ code: 'call_not_answered' });
    await edge.answer(callId);
    await caller.sendTo(audioPort(res.last.body!)!, ulawSilence(2));
    await edge.playPrompt(callId, { id: 'first', file });
    await edge.playPrompt(callId, { id: 'second', file });
    expect(await until(() => of('prompt.finished')[0], 'prompt.finished')).toMatchObject({ callId, promptId: 'second' });
    await edge.playPrompt(callId, { id: 'third', file });
    await edge.stopPrompt(callId);
    await edge.hangUp(callId, 'system_hangup');
    expect(of('prompt.finished').map((e) => e.promptId)).toEqual(['second']);
    caller.close();
  });
});

describe('drachtio edge: REGISTER with digest auth', () => {
  it('challenges, accepts the right password against the stored HA1, refuses a wrong one, and unregisters', async () => {
    const { srf, edge, of } = await startEdge();
    const challenge = await register(srf, '1001', null);
    expect(challenge.last.status).toBe(401);
    expect(challenge.last.headers['WWW-Authenticate']).toMatch(/^Digest realm="hotline.test", nonce="[^"]+", algorithm=MD5, qop="auth"/);

    const ok = await register(srf, '1001', PASSWORDS['1001']);
    await until(() => ok.last, 'the 200');
    expect(ok.last.status).toBe(200);
    expect(of('endpoint.registered')[0]).toMatchObject({ username: '1001', contact: 'sip:1001@192.168.1.50:5062' });
    expect(await edge.registrations()).toEqual([expect.objectContaining({ username: '1001', contact: 'sip:1001@192.168.1.50:5062' })]);

    const wrong = await register(srf, '1002', 'guess');
    await until(() => wrong.last?.status !== 401 && wrong.last, 'the refusal');
    expect(wrong.last.status).toBe(403);
    const otherAor = await register(srf, '1001', PASSWORDS['1001'], { aor: '1002' });
    await until(() => otherAor.last?.status !== 401 && otherAor.last, 'the refusal');
    expect(otherAor.last.status).toBe(403);
    expect((await edge.registrations()).map((r) => r.username)).toEqual(['1001']);

    const tooShort = await register(srf, '1001', PASSWORDS['1001'], { expires: 10 });
    await until(() => tooShort.last?.status !== 401 && tooShort.last, 'the refusal');
    expect(tooShort.last).toMatchObject({ status: 423, headers: { 'Min-Expires': '60' } });

    const off = await register(srf, '1001', PASSWORDS['1001'], { expires: 0 });
    await until(() => off.last?.status === 200, 'the un-REGISTER');
    expect(of('endpoint.unregistered')[0]).toMatchObject({ username: '1001' });
    expect(await edge.registrations()).toEqual([]);
  });

  it('shares registrations between app nodes through Redis', async () => {
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
    } catch {
      redis.disconnect();
      throw new Error('this test needs Redis at TEST_REDIS_URL or 127.0.0.1:6379');
    }
    const prefix = `test-drachtio-${process.pid}-${Date.now()}`;
    try {
      const a = await startEdge({ redis: { client: redis, prefix } });
      const b = await startEdge({ redis: { client: redis, prefix }, dtmfListen: null }, new FakeSrf());
      const ok = await register(a.srf, '1002', PASSWORDS['1002']);
      await until(() => ok.last?.status === 200, 'the 200');
      expect(await b.edge.registrations()).toEqual([expect.objectContaining({ username: '1002', contact: 'sip:1002@192.168.1.50:5062' })]);
      expect(await redis.pttl(`${prefix}:sip:reg:1002`)).toBeGreaterThan(500_000);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });
});

describe('drachtio edge: agent legs (B2BUA)', () => {
  async function answeredCallWithAgent() {
    const ctx = await startEdge();
    const ok = await register(ctx.srf, '1001', PASSWORDS['1001']);
    await until(() => ok.last?.status === 200, 'the agent phone registered');
    const caller = await rtpPeer();
    const res = ctx.srf.deliver(invite(caller.port));
    const { callId } = ctx.of('call.offered')[0].call;
    await ctx.edge.answer(callId);
    return { ...ctx, caller, callId, callerFacingPort: audioPort(res.last.body!)! };
  }

  it('rings the registered phone with rtpengine’s SDP, bridges it on answer so RTP flows both ways, and ends the call on the agent’s BYE', async () => {
    const { srf, edge, of, caller, callId, callerFacingPort } = await answeredCallWithAgent();
    const agentPhone = await rtpPeer();
    const legId = await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000, callerDisplay: '来电 138****8000' });
    const uac = srf.uacs[0];
    expect(uac.uri).toBe('sip:1001@192.168.1.50:5062');
    expect(uac.opts.proxy).toBe('sip:203.0.113.9:40000'); // where the REGISTER came from (NAT)
    expect(uac.opts.headers!.From).toMatch(/^"来电 138\*\*\*\*8000" <sip:13800138000@hotline.test>/);
    const agentFacingPort = audioPort(uac.opts.localSdp!)!;
    expect(agentFacingPort).not.toBe(callerFacingPort);

    uac.ring();
    expect(of('agent.ringing')).toEqual([expect.objectContaining({ callId, legId })]);
    const agentDialog = uac.answer(sdpOf(agentPhone.port, [0, 101]));
    await until(() => of('agent.answered').length, 'agent.answered');

    await Promise.all([caller.sendTo(callerFacingPort, ulawTone(30)), agentPhone.sendTo(agentFacingPort, ulawSilence(30))]);
    await until(() => agentPhone.received.length >= 20 && caller.received.length >= 20, 'RTP both ways through rtpengine');

    agentDialog.remoteBye();
    await until(() => of('call.ended').length, 'call.ended');
    expect(of('call.ended')[0]).toMatchObject({ callId, cause: 'agent_hangup' });
    const ready = await until(() => of('recording.ready')[0], 'recording.ready');
    const wav = readWav(ready.file.path);
    expect(wav.rms[0]).toBeGreaterThan(1000); // the caller's tone
    expect(wav.rms[1]).toBeLessThan(50); // the agent sent silence
    caller.close();
    agentPhone.close();
  });

  it('cancels a phone that rings too long (no_answer) and reports it once', async () => {
    const { srf, edge, of, callId, caller } = await answeredCallWithAgent();
    const legId = await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 200 });
    await until(() => of('agent.failed').length, 'agent.failed');
    expect(srf.uacs[0].req.cancelled).toBe(true);
    expect(of('agent.failed')).toEqual([expect.objectContaining({ legId, reason: 'no_answer' })]);
    caller.close();
  });

  it('reports busy, declined and unregistered agents with their reasons, and a cancelled offer as cancelled', async () => {
    const { srf, edge, of, callId, caller } = await answeredCallWithAgent();
    const busy = await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
    srf.uacs[0].fail(486);
    const declined = await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
    srf.uacs[1].fail(603);
    const unregistered = await edge.offerToAgent(callId, { username: '9999' }, { ringTimeoutMs: 10_000 });
    const cancelled = await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
    await edge.cancelAgentOffer(callId, cancelled);
    await until(() => of('agent.failed').length === 4, 'four failures');
    const byLeg = Object.fromEntries(of('agent.failed').map((e) => [e.legId, [e.reason, e.sipStatus]]));
    expect(byLeg).toEqual({ [busy]: ['busy', 486], [declined]: ['declined', 603], [unregistered]: ['unreachable', null], [cancelled]: ['cancelled', null] });
    expect(srf.uacs).toHaveLength(3); // nothing was sent for the phone that is not registered
    expect(srf.uacs[2].req.cancelled).toBe(true);
    caller.close();
  });

  it('follows a re-INVITE from the caller to a new media address, and one from the agent phone, keeping the bridge', async () => {
    const { srf, edge, of, caller, callId } = await answeredCallWithAgent();
    const agentPhone = await rtpPeer();
    await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
    const uac = srf.uacs[0];
    const agentDialog = uac.answer(sdpOf(agentPhone.port, [0, 101]));
    await until(() => of('agent.answered').length, 'agent.answered');
    const agentFacingPort = audioPort(uac.opts.localSdp!)!;

    // The carrier's SBC fails over: the caller's media now comes from (and goes to) another port.
    const movedCaller = await rtpPeer();
    const reinvite = srf.uasDialogs[0].remoteReinvite(sdpOf(movedCaller.port));
    await until(() => reinvite.last, 'the 200 to the re-INVITE');
    expect(reinvite.last.status).toBe(200);
    const newCallerFacingPort = audioPort(reinvite.last.body!)!;
    await agentPhone.sendTo(agentFacingPort, ulawTone(20));
    await until(() => movedCaller.received.length >= 10, 'the agent’s RTP at the caller’s new address');

    // The agent phone re-INVITEs (a new port, e.g. after a transfer of the handset).
    const movedAgent = await rtpPeer();
    const agentReinvite = agentDialog.remoteReinvite(sdpOf(movedAgent.port, [0, 101]));
    await until(() => agentReinvite.last, 'the 200 to the agent re-INVITE');
    expect(agentReinvite.last.status).toBe(200);
    expect(audioPort(agentReinvite.last.body!)).toBeGreaterThan(0);
    await movedCaller.sendTo(newCallerFacingPort, ulawTone(20));
    await until(() => movedAgent.received.length >= 10, 'the caller’s RTP at the agent’s new address');
    for (const p of [caller, agentPhone, movedCaller, movedAgent]) p.close();
  });

  it('bridges the first of two phones that answer and hangs up the second, reporting it cancelled', async () => {
    const { srf, edge, of, callId, caller } = await answeredCallWithAgent();
    const ok = await register(srf, '1002', PASSWORDS['1002'], { contact: 'sip:1002@192.168.1.51:5062' });
    await until(() => ok.last?.status === 200, 'the second phone registered');
    const first = await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
    const second = await edge.offerToAgent(callId, { username: '1002' }, { ringTimeoutMs: 10_000 });
    const d1 = srf.uacs[0].answer(sdpOf(5004));
    const d2 = srf.uacs[1].answer(sdpOf(5006));
    await until(() => of('agent.answered').length && of('agent.failed').length, 'one bridged, one refused');
    expect(of('agent.answered').map((e) => e.legId)).toEqual([first]);
    expect(of('agent.failed')).toEqual([expect.objectContaining({ legId: second, reason: 'cancelled' })]);
    expect([d1.destroyed, d2.destroyed]).toEqual([false, true]);
    caller.close();
  });

  it('hangs up both legs when the hotline ends a bridged call', async () => {
    const { srf, edge, of, callId, caller } = await answeredCallWithAgent();
    await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
    const agentDialog = srf.uacs[0].answer(sdpOf(5002));
    await until(() => of('agent.answered').length, 'agent.answered');
    await expect(edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'call_already_bridged' });
    await edge.hangUp(callId, 'system_hangup');
    expect(agentDialog.destroyed).toBe(true);
    expect(of('call.ended')[0]).toMatchObject({ cause: 'system_hangup' });
    caller.close();
  });
});

describe('drachtio edge: connection and health', () => {
  it('fails start with a clear error when drachtio-server refuses the secret', async () => {
    const edge = createDrachtioSipEdge({
      drachtio: { host: '127.0.0.1', port: 9022, secret: 'wrong' }, rtpengine: { host: '127.0.0.1', port: rtp.ngPort }, dtmfListen: null,
      rtpengineRecordingDir: null, recordingsDir: work, realm: REALM, credentials, createSrf: () => new FakeSrf(new Error('failed to authenticate to server')),
    });
    await expect(edge.start(() => {})).rejects.toThrow(/drachtio-server at 127.0.0.1:9022 refused the connection: failed to authenticate/);
    await edge.stop();
  });

  it('is healthy when connected to drachtio-server and rtpengine answers, and says which is missing otherwise', async () => {
    const srf = new FakeSrf();
    const { edge } = await startEdge({}, srf);
    expect(await edge.health()).toMatchObject({ edge: 'drachtio', ok: true, activeCalls: 0 });
    expect(srf.connectedWith).toEqual({ host: '127.0.0.1', port: 9022, secret: 'cymru' });
    srf.emit('close');
    const h = await edge.health();
    expect(h.ok).toBe(false);
    expect(h.detail).toMatch(/drachtio-server 127.0.0.1:9022 not connected/);
    const noRtp = await startEdge({ rtpengine: { host: '127.0.0.1', port: 9, timeoutMs: 300 }, dtmfListen: null });
    const h2 = await noRtp.edge.health();
    expect(h2.ok).toBe(false);
    expect(h2.detail).toMatch(/rtpengine 127.0.0.1:9 not answering/);
  });
});

describe('drachtio edge: a caller whose line dies', () => {
  it('ends the call with media_timeout when rtpengine drops it for lack of RTP (no BYE ever came)', async () => {
    const quick = await startRtpengine({ extraArgs: ['--timeout=2'] });
    try {
      const { srf, edge, of } = await startEdge({ rtpengine: { host: '127.0.0.1', port: quick.ngPort }, dtmfListen: null, rtpengineRecordingDir: null, mediaCheckIntervalMs: 200 });
      const caller = await rtpPeer();
      const res = srf.deliver(invite(caller.port));
      const { callId } = of('call.offered')[0].call;
      await edge.answer(callId);
      await caller.sendTo(audioPort(res.last.body!)!, ulawSilence(5));
      caller.close(); // the line dies: no more RTP, no BYE
      const ended = await until(() => of('call.ended')[0], 'call.ended after the media timeout', 15_000);
      expect(ended).toMatchObject({ callId, cause: 'media_timeout' });
      expect(srf.uasDialogs[0].destroyed).toBe(true); // a BYE toward the caller all the same
    } finally {
      for (const r of running.splice(0)) await r.edge.stop();
      await quick.stop();
    }
  }, 30_000);
});
