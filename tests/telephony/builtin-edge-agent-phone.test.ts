/**
 * The built-in edge as a B2BUA between a sipp caller and baresip agent phones on loopback: the phones
 * register with digest auth (credentials from sip_endpoints on the test database), the caller is
 * answered and offered to a phone, the phone answers and plays a tone WAV, and the recording holds the
 * caller on the left and the agent on the right. Also: the agent hanging up, a phone that rings out,
 * an agent who is not registered.
 *
 * baresip writes its eth0 address into its SDP while it sends from 127.0.0.1, exactly what a phone
 * behind NAT does; the edge therefore runs with `rtpLatch` (symmetric RTP), as a NATed site would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createBuiltinSipEdge, createSipEndpointsService, type EdgeEvent, type SipEdge } from '../../telephony';
import { monoWav, readStereoWav, rms } from '../../telephony/edges/builtin/wav';
import { systemActor } from '../../core';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { baresipCommand, freeRtpRange, freeTcpPort, freeUdpPort, runSipp, sipPeersMissing, startBaresip, type Baresip } from '../helpers/sip-peers';
import { until } from '../helpers/until';

const missing = sipPeersMissing();
const REALM = 'hotline.test';

describe.skipIf(missing)('built-in SIP edge bridging a sipp caller to baresip agent phones', () => {
  let database: TestDatabase;
  let edge: SipEdge & { sipPort: number };
  let dir: string;
  const phones: Baresip[] = [];
  let controlPort = 0;
  const events: EdgeEvent[] = [];
  const ringTimeoutMs: Record<string, number> = { agent1: 5000, agent2: 1500, nobody: 1000 };

  const ofCall = (callId: string) => events.filter((e) => 'callId' in e && e.callId === callId);
  const offeredTo = (username: string) => events.filter((e): e is Extract<EdgeEvent, { type: 'call.offered' }> => e.type === 'call.offered' && e.call.dialledNumber === username);
  const ended = (callId: string) => until(() => ofCall(callId).find((e) => e.type === 'call.ended'), `call.ended of ${callId}`, 20_000);

  beforeAll(async () => {
    database = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'edge-baresip-'));
    const endpoints = createSipEndpointsService({ db: database.db });
    const ctx = { actor: systemActor('city-test') };
    await endpoints.setPassword(ctx, { cityId: 'city-test', username: 'agent1', password: 'agent1-secret', realm: REALM });
    await endpoints.setPassword(ctx, { cityId: 'city-test', username: 'agent2', password: 'agent2-secret', realm: REALM });

    const tone = Int16Array.from({ length: 8000 * 30 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    writeFileSync(join(dir, 'agent-voice.wav'), monoWav(tone));

    edge = createBuiltinSipEdge({
      host: '127.0.0.1', port: 0, realm: REALM, credentials: endpoints.credentials, logger: pino({ level: 'warn' }),
      recordingsDir: join(dir, 'rec'), rtpPorts: await freeRtpRange(400), rtpLatch: true,
    }) as never;
    // The controller: answer, then offer the call to the phone named by the dialled number (sipp -s).
    await edge.start((e) => {
      events.push(e);
      if (e.type !== 'call.offered') return;
      const id = e.call.callId;
      const username = e.call.dialledNumber;
      void edge.answer(id).then(() => edge.offerToAgent(id, { username }, { ringTimeoutMs: ringTimeoutMs[username] ?? 5000, callerDisplay: e.call.callerNumber }));
    });
    const registrar = `127.0.0.1:${edge.sipPort}`;
    controlPort = await freeTcpPort();
    const rtp1 = await freeRtpRange(40);
    const rtp2 = await freeRtpRange(40);
    phones.push(startBaresip({ username: 'agent1', password: 'agent1-secret', registrar, wavFile: join(dir, 'agent-voice.wav'), sipPort: await freeUdpPort(), rtpRange: rtp1, controlPort }));
    phones.push(startBaresip({ username: 'agent2', password: 'agent2-secret', registrar, wavFile: join(dir, 'agent-voice.wav'), sipPort: await freeUdpPort(), rtpRange: rtp2, answerMode: 'manual' }));
    await until(async () => (await edge.registrations()).length === 2, 'both phones registered', 15_000);
  });

  afterAll(async () => {
    await edge?.stop();
    await Promise.all(phones.map((p) => p.stop()));
    await database?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers the phones with digest auth against sip_endpoints', async () => {
    const regs = await edge.registrations();
    expect(regs.map((r) => r.username).sort()).toEqual(['agent1', 'agent2']);
    expect(events.filter((e) => e.type === 'endpoint.registered').map((e) => (e as { username: string }).username).sort()).toEqual(['agent1', 'agent2']);
  });

  it('bridges the caller to the answering phone and records both: caller left, agent right', async () => {
    const r = await runSipp({ scenario: { builtin: 'uac_pcap' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'agent1'] }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const [offer] = offeredTo('agent1');
    const callId = offer.call.callId;
    expect((await ended(callId))).toMatchObject({ cause: 'caller_hangup' });
    const types = ofCall(callId).map((e) => e.type);
    expect(types.filter((t) => t === 'call.ended')).toHaveLength(1);
    expect(types.indexOf('call.answered')).toBeLessThan(types.indexOf('agent.answered'));
    expect(types.indexOf('agent.answered')).toBeLessThan(types.indexOf('call.ended'));
    const ready = await until(() => ofCall(callId).find((e) => e.type === 'recording.ready'), 'recording.ready');
    if (ready.type !== 'recording.ready') throw new Error('unreachable');
    const wav = readStereoWav(readFileSync(ready.file.path));
    expect(wav.left.length).toBe(wav.right.length);
    expect(rms(wav.left)).toBeGreaterThan(300); // the pcap's speech
    expect(rms(wav.right)).toBeGreaterThan(300); // baresip's tone
  });

  it('ends the whole call as agent_hangup when the agent hangs up (the caller gets a BYE)', async () => {
    const sipp = runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'agent1', '-d', '15000'], timeoutSeconds: 25 });
    const offer = await until(() => offeredTo('agent1')[1], 'the second call to agent1');
    const callId = offer.call.callId;
    await until(() => ofCall(callId).find((e) => e.type === 'agent.answered'), 'agent.answered');
    await baresipCommand(controlPort, 'hangup');
    expect(await ended(callId)).toMatchObject({ cause: 'agent_hangup' });
    // sipp's uac scenario did not expect our BYE during its pause: it answers 200 and counts the call failed.
    await sipp.done;
    expect(ofCall(callId).filter((e) => e.type === 'call.ended')).toHaveLength(1);
    expect((await edge.health()).activeCalls).toBe(0);
  });

  it('reports a phone that rings out as no_answer after the ring timeout, and the call goes on', async () => {
    const sipp = runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'agent2', '-d', '4000'] });
    const offer = await until(() => offeredTo('agent2')[0], 'the call to agent2');
    const callId = offer.call.callId;
    const failed = await until(() => ofCall(callId).find((e) => e.type === 'agent.failed'), 'agent.failed', 10_000);
    expect(failed).toMatchObject({ reason: 'no_answer' });
    expect(ofCall(callId).some((e) => e.type === 'agent.ringing')).toBe(true);
    expect(ofCall(callId).some((e) => e.type === 'call.ended')).toBe(false);
    const r = await sipp.done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    expect(await ended(callId)).toMatchObject({ cause: 'caller_hangup' });
  });

  it('reports an agent with no registered phone as unreachable', async () => {
    const sipp = runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'nobody', '-d', '500'] });
    const offer = await until(() => offeredTo('nobody')[0], 'the call to nobody');
    expect(await until(() => ofCall(offer.call.callId).find((e) => e.type === 'agent.failed'), 'agent.failed')).toMatchObject({ reason: 'unreachable', sipStatus: null });
    await sipp.done;
  });
});
