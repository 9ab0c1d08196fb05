/**
 * The drachtio edge's media side against a REAL rtpengine (Debian's, user-space): the caller is
 * anchored and answered before any agent exists, an agent leg is bridged later, RTP crosses
 * rtpengine both ways, DTMF comes back through rtpengine's DTMF log, and the pcap recording becomes
 * a stereo WAV with the caller on the left.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORK_TAG, RtpengineMedia, forkAnswerOf, listenForDtmf, type DtmfReport } from '../../../telephony/edges/drachtio/rtpengine-media';
import { pcapToStereoWav } from '../../../telephony/edges/drachtio/pcap-to-wav';
import { audioPort } from '../../../telephony/edges/drachtio/sdp';
import { rtpPeer, startRtpengine, ulawSilence, ulawTone, type RunningRtpengine } from '../../helpers/rtpengine';
import { until } from '../../helpers/until';
import { readWav } from './wav';

const sdpOf = (port: number, pts = [0, 8, 101]) =>
  ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendrecv', ''].join('\r\n');

let rtp: RunningRtpengine;
let media: RtpengineMedia;
let out: string;

beforeAll(async () => {
  rtp = await startRtpengine();
  media = new RtpengineMedia({ host: '127.0.0.1', port: rtp.ngPort });
  out = mkdtempSync(join(tmpdir(), 'hotline-wav-'));
});
afterAll(async () => {
  media?.close();
  await rtp?.stop();
  rmSync(out, { recursive: true, force: true });
});

describe('rtpengine media for a hotline call', () => {
  it('answers the caller before an agent exists, bridges the agent later, and records both directions as a stereo WAV', async () => {
    const caller = await rtpPeer();
    const agent = await rtpPeer();
    const callId = `t-${Date.now()}`;
    const digits: DtmfReport[] = [];
    const dtmf = await listenForDtmf({ host: '127.0.0.1', port: rtp.dtmfPort }, (d) => digits.push(d));
    try {
      const anchored = await media.anchorCaller(callId, sdpOf(caller.port), { record: true });
      expect(anchored.callerFacingPort).toBe(audioPort(anchored.sdpForCaller));
      expect(anchored.sdpForCaller).not.toContain('0.0.0.0');
      expect(anchored.sdpForAgent).toMatch(/m=audio \d+ RTP\/AVP 0 8 101/);

      // Queueing: the caller speaks, nobody is bridged yet; a DTMF digit is pressed (IVR).
      await caller.sendTo(anchored.callerFacingPort, ulawTone(10));
      await caller.sendDtmf(anchored.callerFacingPort, 7);
      const digit = await until(() => digits.find((d) => d.callId === callId), 'the DTMF log from rtpengine');
      expect(digit).toMatchObject({ digit: '7', fromTag: 'caller' });

      // The agent phone answers with its own SDP: media now flows both ways through rtpengine.
      await media.bridgeAgent(callId, sdpOf(agent.port, [0, 101]));
      const agentFacingPort = audioPort(anchored.sdpForAgent)!;
      await Promise.all([caller.sendTo(anchored.callerFacingPort, ulawTone(50)), agent.sendTo(agentFacingPort, ulawSilence(50))]);
      await until(() => agent.received.length >= 40 && caller.received.length >= 40, 'RTP across rtpengine both ways');

      await media.delete(callId);
      const pcap = await until(() => readdirSync(join(rtp.recordingDir, 'pcaps')).find((f) => f.startsWith(`${callId}-`)), 'the pcap');
      const rec = await pcapToStereoWav(join(rtp.recordingDir, 'pcaps', pcap), join(out, `${callId}.wav`), { callerFacingPort: anchored.callerFacingPort });
      expect(rec).toMatchObject({ format: 'wav', channels: 2, sampleRate: 8000 });
      expect(rec.durationMs).toBeGreaterThan(1000);
      const wav = readWav(rec.path);
      expect(wav.channels).toBe(2);
      // The caller's tone is on the left; the agent sent digital silence, on the right.
      expect(wav.rms[0]).toBeGreaterThan(1000);
      expect(wav.rms[1]).toBeLessThan(50);
    } finally {
      caller.close();
      agent.close();
      await dtmf.close();
    }
  });

  it('plays a prompt to the caller and reports its length', async () => {
    const caller = await rtpPeer();
    const callId = `p-${Date.now()}`;
    const { writeFileSync } = await import('node:fs');
    const file = join(out, 'prompt.wav');
    const samples = 4000;
    const wav = Buffer.alloc(44 + samples * 2);
    wav.write('RIFF', 0); wav.writeUInt32LE(36 + samples * 2, 4); wav.write('WAVE', 8); wav.write('fmt ', 12);
    wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22); wav.writeUInt32LE(8000, 24); wav.writeUInt32LE(16000, 28);
    wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34); wav.write('data', 36); wav.writeUInt32LE(samples * 2, 40);
    for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
    writeFileSync(file, wav);
    try {
      const anchored = await media.anchorCaller(callId, sdpOf(caller.port), { record: false });
      // rtpengine learns where to send once the caller's RTP arrives (symmetric RTP / latching).
      await caller.sendTo(anchored.callerFacingPort, ulawSilence(3));
      const duration = await media.play(callId, file, false);
      expect(duration).toBe(500);
      await until(() => caller.received.length >= 20, 'the prompt as RTP to the caller');
      await media.stop(callId);
    } finally {
      await media.delete(callId);
      caller.close();
    }
  });

  it('forks a party’s RTP to another address with a media subscription that outlives the bridge and a caller re-INVITE, in the party’s own codec, until unsubscribed', async () => {
    const caller = await rtpPeer();
    const agent = await rtpPeer();
    const sink = await rtpPeer(); // stands in for the app's receiver port
    const callId = `f-${Date.now()}`;
    try {
      const anchored = await media.anchorCaller(callId, sdpOf(caller.port, [8, 0, 101]), { record: false });
      let source: { address: string; port: number } | null = null;
      await media.fork(callId, 'caller', async (s) => {
        source = s;
        return { address: '127.0.0.1', port: sink.port };
      });
      expect(source).toMatchObject({ address: '127.0.0.1', port: expect.any(Number) });
      expect(await media.subscribersOf(callId)).toContain(FORK_TAG.caller);
      await caller.sendTo(anchored.callerFacingPort, ulawTone(5), { payloadType: 8 });
      await until(() => sink.received.length >= 5, 'the fork before any agent');
      await media.bridgeAgent(callId, sdpOf(agent.port, [0, 101]));
      const moved = await rtpPeer(); // the caller's media moves (SBC failover): re-INVITE
      await media.reofferFromCaller(callId, sdpOf(moved.port, [8, 0, 101]).replace('o=- 1 1', 'o=- 1 2'), sdpOf(agent.port, [0, 101]));
      await moved.sendTo(anchored.callerFacingPort, ulawTone(5), { payloadType: 8 });
      await until(() => sink.received.length >= 10, 'the fork after the bridge and the re-INVITE');
      // The caller's codec passed through (PCMA, payload type 8).
      expect(new Set(sink.received.map((p) => p[1] & 0x7f))).toEqual(new Set([8]));
      await media.unfork(callId, 'caller');
      expect(await media.subscribersOf(callId)).not.toContain(FORK_TAG.caller);
      await media.unfork(callId, 'caller'); // twice: nothing to stop, no error
      moved.close();
    } finally {
      await media.delete(callId);
      caller.close();
      agent.close();
      sink.close();
    }
    expect(await media.subscribersOf(callId)).toBeNull();
  });

  it('is refused by rtpengine 10.5 when the fork’s answer leaves out an offered payload type: the answer repeats them all', async () => {
    const caller = await rtpPeer();
    const callId = `r-${Date.now()}`;
    try {
      await media.anchorCaller(callId, sdpOf(caller.port), { record: false });
      const offer = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0 8 101',
        'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendonly', 'a=rtcp:40001', ''].join('\r\n');
      const answer = forkAnswerOf(offer, { address: '127.0.0.2', port: 5004 });
      expect(answer).toMatch(/^c=IN IP4 127\.0\.0\.2\r$/m);
      expect(answer).toMatch(/^m=audio 5004 RTP\/AVP 0 8 101\r$/m);
      expect(answer).toMatch(/a=recvonly\r\n$/);
      expect(answer).not.toMatch(/a=(sendonly|rtcp:)/);
      // The answer as forkAnswerOf makes it is taken.
      await media.fork(callId, 'caller', async () => ({ address: '127.0.0.1', port: 5004 }));
      expect(await media.subscribersOf(callId)).toContain(FORK_TAG.caller);
      // Without telephone-event, 10.5 says "Failed to process subscription answer": why forkAnswerOf keeps every type.
      const { Client } = await import('rtpengine-client');
      const c = new Client({ timeout: 3000 });
      try {
        const t = { host: '127.0.0.1', port: rtp.ngPort };
        const req = await c.subscribeRequest(t, { 'call-id': callId, 'from-tag': 'caller', 'to-tag': 'probe' });
        const without = forkAnswerOf(req.sdp!, { address: '127.0.0.1', port: 5006 }).replace(/ 101\r\n/, '\r\n').replace(/a=(rtpmap|fmtp):101[^\r]*\r\n/g, '');
        expect(await c.subscribeAnswer(t, { 'call-id': callId, 'to-tag': 'probe', sdp: without })).toMatchObject({ result: 'error', 'error-reason': 'Failed to process subscription answer' });
      } finally {
        c.close();
      }
    } finally {
      await media.delete(callId);
      caller.close();
    }
  });

  it('refuses to bridge a call rtpengine does not know', async () => {
    await expect(media.bridgeAgent('no-such-call', sdpOf(4000))).rejects.toThrow(/rtpengine answer failed/);
  });
});

describe('rtpengine with separate carrier and agent networks', () => {
  it('hands the caller the carrier-side address and the agent phones the agent-side address, and still relays between them', async () => {
    const split = await startRtpengine({ interfaces: ['carrier/127.0.0.1', 'agents/127.0.0.2'] });
    const m = new RtpengineMedia({ host: '127.0.0.1', port: split.ngPort, interfaces: { caller: 'carrier', agent: 'agents' } });
    const caller = await rtpPeer();
    const agent = await rtpPeer();
    const callId = `i-${Date.now()}`;
    try {
      const anchored = await m.anchorCaller(callId, sdpOf(caller.port), { record: false });
      expect(anchored.sdpForCaller).toMatch(/^c=IN IP4 127\.0\.0\.1\r?$/m);
      expect(anchored.sdpForAgent).toMatch(/^c=IN IP4 127\.0\.0\.2\r?$/m);
      await m.bridgeAgent(callId, sdpOf(agent.port, [0, 101]));
      await caller.sendTo(anchored.callerFacingPort, ulawTone(20));
      await until(() => agent.received.length >= 10, 'the caller’s RTP at the agent phone');
    } finally {
      await m.delete(callId);
      m.close();
      caller.close();
      agent.close();
      await split.stop();
    }
  });
});
