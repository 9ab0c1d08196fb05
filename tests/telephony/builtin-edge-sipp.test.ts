/**
 * The built-in SIP edge against sipp on loopback: calls in (answered, rejected, cancelled), real G.711
 * RTP recorded, DTMF, malformed and unknown-dialog requests, codecs we don't speak, REGISTER digest
 * auth, an INVITE flood, and silence ending a call. A tiny controller stands for the ACD: it answers
 * what is dialled to anything but `busy`, `cancel` and `flood`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { computeHa1, createBuiltinSipEdge, type EdgeEvent, type SipEdge } from '../../telephony';
import { readStereoWav, rms } from '../../telephony/edges/builtin/wav';
import { freeRtpRange, runSipp, sipPeersMissing } from '../helpers/sip-peers';
import { until } from '../helpers/until';

const missing = sipPeersMissing();
const scenario = (name: string) => ({ file: join(__dirname, 'scenarios', `${name}.xml`) });

describe.skipIf(missing)('built-in SIP edge with sipp', () => {
  let edge: SipEdge & { sipPort: number; stats: Record<string, number> };
  let dir: string;
  const events: EdgeEvent[] = [];
  const logs: { msg: string }[] = [];
  let target = '';

  const ofCall = (callId: string) => events.filter((e) => 'callId' in e && e.callId === callId);
  const offered = (dialled: string) => events.filter((e): e is Extract<EdgeEvent, { type: 'call.offered' }> => e.type === 'call.offered' && e.call.dialledNumber === dialled);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-sipp-'));
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    edge = createBuiltinSipEdge({
      host: '127.0.0.1', port: 0, realm: 'hotline.test', logger, recordingsDir: join(dir, 'rec'),
      rtpPorts: await freeRtpRange(400), mediaTimeoutMs: 30_000, inviteRatePerSecond: 5, inviteBurst: 8,
      credentials: { ha1: async (u, realm) => (u === 'agent9' ? computeHa1(u, realm, 'right-password') : null) },
    }) as never;
    await edge.start((e) => {
      events.push(e);
      if (e.type !== 'call.offered') return;
      const id = e.call.callId;
      const n = e.call.dialledNumber;
      if (n === 'busy') void edge.reject(id, 486);
      else if (n === 'flood') void edge.reject(id, 503, { retryAfterSeconds: 2 });
      else if (n === 'cancel') void edge.ring(id);
      else void edge.ring(id).then(() => edge.answer(id));
    });
    target = `127.0.0.1:${edge.sipPort}`;
  });

  afterAll(async () => {
    await edge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes a call from sipp -sn uac: offered with ANI and DNIS, answered, ended by the caller once', async () => {
    const r = await runSipp({ scenario: { builtin: 'uac' }, target, calls: 3, rate: 3 }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(3);
    const calls = offered('service');
    expect(calls).toHaveLength(3);
    for (const c of calls) {
      expect(c.call).toMatchObject({ callerNumber: 'sipp', codec: 'PCMU', source: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      await until(() => ofCall(c.call.callId).some((e) => e.type === 'call.ended'), 'call.ended');
      const seq = ofCall(c.call.callId).map((e) => e.type);
      expect(seq.filter((t) => t === 'call.ended')).toHaveLength(1);
      expect(seq.indexOf('call.answered')).toBeLessThan(seq.indexOf('call.ended'));
      expect(ofCall(c.call.callId).find((e) => e.type === 'call.ended')).toMatchObject({ cause: 'caller_hangup' });
    }
    expect((await edge.health()).activeCalls).toBe(0);
  });

  it('records real G.711 RTP from sipp -sn uac_pcap (left channel not silence) and reports its DTMF', async () => {
    const before = offered('service').length;
    const r = await runSipp({ scenario: { builtin: 'uac_pcap' }, target }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const call = offered('service')[before].call;
    const ready = await until(() => ofCall(call.callId).find((e) => e.type === 'recording.ready'), 'recording.ready');
    if (ready.type !== 'recording.ready') throw new Error('unreachable');
    expect(ready.file).toMatchObject({ format: 'wav', sampleRate: 8000, channels: 2 });
    const wav = readStereoWav(readFileSync(ready.file.path));
    expect(wav.left.length).toBe(wav.right.length);
    expect(ready.file.durationMs).toBeGreaterThan(5000); // the pcap holds about 8 s of speech
    expect(rms(wav.left)).toBeGreaterThan(300);
    // The pcap ends with RFC 4733 digit 1 (the uac_pcap scenario plays dtmf_2833_1.pcap).
    expect(ofCall(call.callId).filter((e) => e.type === 'call.dtmf').map((e) => (e as { digit: string }).digit)).toEqual(['1']);
  });

  it('reports CANCEL before answer as caller_cancelled (200 to the CANCEL, 487 to the INVITE)', async () => {
    const r = await runSipp({ scenario: scenario('cancel-before-answer'), target }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const [c] = offered('cancel');
    await until(() => ofCall(c.call.callId).find((e) => e.type === 'call.ended'), 'call.ended');
    expect(ofCall(c.call.callId).filter((e) => e.type === 'call.ended')).toEqual([expect.objectContaining({ cause: 'caller_cancelled', sipStatus: 487 })]);
  });

  it('rejects with 486 when told to (the caller ACKs), ending the call as rejected', async () => {
    const r = await runSipp({ scenario: scenario('busy-reject'), target }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const [c] = offered('busy');
    expect(ofCall(c.call.callId).filter((e) => e.type === 'call.ended')).toEqual([expect.objectContaining({ cause: 'rejected', sipStatus: 486 })]);
    await expect(edge.answer(c.call.callId)).rejects.toMatchObject({ code: 'CALL_NOT_FOUND' });
    await expect(edge.hangUp(c.call.callId, 'system_hangup')).resolves.toBeUndefined(); // idempotent once over
    await expect(edge.hangUp('no-such-call', 'system_hangup')).rejects.toMatchObject({ code: 'CALL_NOT_FOUND' });
  });

  it('refuses an offer without PCMU/PCMA with 488 and a Warning, offering no call', async () => {
    const before = events.filter((e) => e.type === 'call.offered').length;
    const r = await runSipp({ scenario: scenario('unknown-codec'), target }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    expect(events.filter((e) => e.type === 'call.offered')).toHaveLength(before);
    expect(logs.some((l) => l.msg.includes('no supported codec'))).toBe(true);
  });

  it('answers BYE and CANCEL for an unknown dialog with 481', async () => {
    const r = await runSipp({ scenario: scenario('unknown-dialog'), target }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    expect(edge.stats.unknownDialog).toBeGreaterThanOrEqual(2);
  });

  it('refuses a REGISTER with the wrong password (403, logged) and binds the contact with the right one', async () => {
    const seen: string[] = [];
    const r = await runSipp({ scenario: scenario('register-digest'), target, args: ['-s', 'agent9', '-au', 'agent9', '-ap', 'right-password'] }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    for (const e of events) if (e.type === 'endpoint.registered') seen.push(e.username);
    expect(seen).toEqual(['agent9']);
    expect(await edge.registrations()).toEqual([expect.objectContaining({ username: 'agent9', contact: expect.stringMatching(/^sip:agent9@127\.0\.0\.1:\d+$/) })]);
    expect(logs.some((l) => l.msg.includes('wrong credentials'))).toBe(true);
    expect((await edge.health()).registeredEndpoints).toBe(1);
  });

  it('drops a malformed datagram (logged) and a garbage request line gets no call', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.send(Buffer.from('INVITE this is not sip\r\n\r\n'), edge.sipPort, '127.0.0.1');
    s.send(Buffer.from('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n\r\n'), edge.sipPort, '127.0.0.1');
    const reply = new Promise<string>((resolve) => s.once('message', (m) => resolve(String(m))));
    // A request missing Call-ID/From/To/CSeq but with a Via gets a 400.
    expect((await reply).split('\r\n')[0]).toBe('SIP/2.0 400 Bad Request');
    await until(() => logs.filter((l) => l.msg.includes('malformed')).length >= 2, 'two malformed logs');
    s.close();
  });

  it('answers a flood from one source with 503 and Retry-After, and still takes calls afterwards', async () => {
    const r = await runSipp({ scenario: scenario('flood'), target, calls: 30, rate: 100 }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(30);
    // The bucket let its burst through (each then refused by the controller), the rest hit the guard.
    expect(offered('flood').length).toBeLessThan(30);
    expect(edge.stats.floodRejected).toBe(30 - offered('flood').length);
    expect(logs.some((l) => l.msg.includes('INVITE flood'))).toBe(true);
    await until(async () => (await runSipp({ scenario: { builtin: 'uac' }, target }).done).successful === 1, 'a call after the flood', 15_000);
  });
});
