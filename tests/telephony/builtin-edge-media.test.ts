/**
 * Media rules of the built-in edge with real sockets: RTP from a stranger is dropped and counted (and
 * a latching leg takes the first source, once); prompts play to the caller as paced RTP and report
 * when they finish; a caller who sends no RTP is hung up with media_timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createBuiltinSipEdge, ensureDefaultPrompts, type EdgeEvent, type SipEdge } from '../../telephony';
import { PortPool, RtpLeg } from '../../telephony/edges/builtin/rtp-leg';
import { buildRtp, parseRtp } from '../../telephony/edges/builtin/rtp';
import { encodeG711 } from '../../telephony/edges/builtin/g711';
import { readMonoWavFile, readStereoWav, rms } from '../../telephony/edges/builtin/wav';
import { freeRtpRange, runSipp, sipPeersMissing } from '../helpers/sip-peers';
import { until } from '../helpers/until';

async function udp(): Promise<Socket & { port: number }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return Object.assign(s, { port: s.address().port });
}
const voice = (seq: number) => buildRtp({ payloadType: 0, marker: false, sequence: seq, timestamp: seq * 160, ssrc: 42, payload: encodeG711('PCMU', new Int16Array(160).fill(4000)) });

describe('RTP legs accept only their peer', () => {
  it('drops and counts packets from an unexpected address; takes the peer SDP named', async () => {
    const pool = new PortPool(await freeRtpRange(20), '127.0.0.1');
    const peer = await udp();
    const stranger = await udp();
    const heard: number[] = [];
    const { socket, port } = await pool.bind();
    const leg = new RtpLeg(socket, port, pool, 'PCMU', 101, { address: '127.0.0.1', port: peer.port }, false, {
      onAudio: (pcm) => heard.push(pcm.length), onDtmf: () => undefined, onUnexpectedSource: () => undefined,
    });
    stranger.send(voice(1), port, '127.0.0.1');
    stranger.send(voice(2), port, '127.0.0.1');
    peer.send(voice(3), port, '127.0.0.1');
    await until(() => heard.length === 1 && leg.droppedFromUnexpectedSource === 2, 'one packet heard, two dropped');
    leg.close();
    peer.close();
    stranger.close();
  });

  it('with latch, takes the first source (the NAT address), then refuses any other', async () => {
    const pool = new PortPool(await freeRtpRange(20), '127.0.0.1');
    const natted = await udp();
    const stranger = await udp();
    const heard: number[] = [];
    const { socket, port } = await pool.bind();
    const leg = new RtpLeg(socket, port, pool, 'PCMU', null, { address: '10.9.9.9', port: 4000 }, true, {
      onAudio: (pcm) => heard.push(pcm.length), onDtmf: () => undefined, onUnexpectedSource: () => undefined,
    });
    natted.send(voice(1), port, '127.0.0.1');
    await until(() => heard.length === 1, 'the latched packet');
    stranger.send(voice(2), port, '127.0.0.1');
    await until(() => leg.droppedFromUnexpectedSource === 1, 'the stranger dropped');
    // Our audio now goes back to the latched address, not to the SDP's.
    const back = new Promise<Buffer>((r) => natted.once('message', (m) => r(m)));
    leg.sendAudio(new Int16Array(160));
    expect(parseRtp(await back)).toMatchObject({ payloadType: 0, ssrc: expect.any(Number) });
    leg.close();
    natted.close();
    stranger.close();
  });
});

describe.skipIf(sipPeersMissing())('prompts and media timeout through the edge', () => {
  let edge: SipEdge & { sipPort: number };
  let dir: string;
  let prompts: ReturnType<typeof ensureDefaultPrompts>;
  const events: EdgeEvent[] = [];
  const ofCall = (callId: string) => events.filter((e) => 'callId' in e && e.callId === callId);
  const offered = (n: string) => events.filter((e): e is Extract<EdgeEvent, { type: 'call.offered' }> => e.type === 'call.offered' && e.call.dialledNumber === n);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-media-'));
    prompts = ensureDefaultPrompts(join(dir, 'prompts'));
    edge = createBuiltinSipEdge({
      host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }), recordingsDir: join(dir, 'rec'), rtpPorts: await freeRtpRange(100),
      mediaTimeoutMs: 1500, credentials: { ha1: async () => null },
    }) as never;
    await edge.start((e) => {
      events.push(e);
      if (e.type !== 'call.offered') return;
      const id = e.call.callId;
      void edge.answer(id).then(() => (e.call.dialledNumber === 'prompt' ? edge.playPrompt(id, { id: 'welcome', file: prompts.welcome }) : undefined));
    });
  });

  afterAll(async () => {
    await edge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays a prompt to the caller (recorded on the hotline channel) and reports prompt.finished once', async () => {
    // uac_pcap keeps RTP flowing from the caller, so the media timeout does not end this call.
    const r = await runSipp({ scenario: { builtin: 'uac_pcap' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'prompt'] }).done;
    expect(r.successful, r.output.slice(-1500)).toBe(1);
    const callId = offered('prompt')[0].call.callId;
    const ready = await until(() => ofCall(callId).find((e) => e.type === 'recording.ready'), 'recording.ready');
    expect(ofCall(callId).filter((e) => e.type === 'prompt.finished')).toEqual([expect.objectContaining({ promptId: 'welcome' })]);
    if (ready.type !== 'recording.ready') throw new Error('unreachable');
    const { right } = readStereoWav(readFileSync(ready.file.path));
    const promptLength = readMonoWavFile(prompts.welcome).length;
    expect(rms(right.subarray(0, promptLength))).toBeGreaterThan(1000);
    expect(rms(right.subarray(promptLength + 1600))).toBe(0); // nothing after it: no agent on this call
  });

  it('refuses an unreadable prompt with an AppError and keeps the call', async () => {
    const sipp = runSipp({ scenario: { builtin: 'uac_pcap' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'bad-prompt'] });
    const callId = (await until(() => offered('bad-prompt')[0], 'the call')).call.callId;
    await until(() => ofCall(callId).find((e) => e.type === 'call.answered'), 'answered');
    await expect(edge.playPrompt(callId, { id: 'x', file: join(dir, 'missing.wav') })).rejects.toMatchObject({ code: 'PROMPT_UNREADABLE' });
    await sipp.done;
    expect(ofCall(callId).find((e) => e.type === 'call.ended')).toMatchObject({ cause: 'caller_hangup' });
  });

  it('hangs up a caller who sends no RTP with media_timeout', async () => {
    // sipp's plain uac sends no RTP at all and waits 10 s before its BYE.
    const sipp = runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${edge.sipPort}`, args: ['-s', 'silent', '-d', '10000'] });
    const callId = (await until(() => offered('silent')[0], 'the call')).call.callId;
    const endedEvent = await until(() => ofCall(callId).find((e) => e.type === 'call.ended'), 'call.ended', 8000);
    expect(endedEvent).toMatchObject({ cause: 'media_timeout' });
    sipp.child.kill('SIGTERM');
    await sipp.done;
  });
});
