/**
 * The drachtio edge's media fork (媒体分流) for live transcripts, against a REAL rtpengine (Debian's
 * 10.5, user-space) and the real app-side RTP receiver: rtpengine's media subscriptions (`subscribe
 * request` / `subscribe answer`) send a copy of each party's RTP to its own receiver port, so the
 * speaker is known. The frames go to the real speech service running the real AWS Transcribe SDK
 * against the local HTTP/2 event-stream endpoint (tests/speech/transcribe-endpoint.ts), and its
 * segments come back with the right party. drachtio-server is the request/response double (none
 * runs here); the caller and the agent phone are real UDP sockets sending G.711 RTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../../calls';
import { createAwsSpeechEngine, createRtpMediaReceiver, createSpeechService, type MediaTap, type Party, type SpeechServiceDeps } from '../../../speech';
import { createDrachtioSipEdge, encodeG711, type EdgeEvent, type SipEdge } from '../../../telephony';
import { createHash } from 'node:crypto';
import { ha1Of, parseDigest } from '../../../telephony/edges/drachtio/digest';
import { FORK_TAG, RtpengineMedia } from '../../../telephony/edges/drachtio/rtpengine-media';
import { audioPort } from '../../../telephony/edges/drachtio/sdp';
import { rtpPeer, startRtpengine, type RunningRtpengine } from '../../helpers/rtpengine';
import { until } from '../../helpers/until';
import { startTranscribeEndpoint, type TranscribeEndpoint } from '../../speech/transcribe-endpoint';
import { FakeRequest, FakeSrf } from './srf-double';

const REALM = 'hotline.test';
const credentials = { ha1: async (u: string, realm: string) => (u === '1001' ? ha1Of(u, realm, 'agent-1001-secret') : null) };

const sdpOf = (port: number, pts: number[]) =>
  ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendrecv', ''].join('\r\n');

/** `n` 20 ms frames of a 400 Hz tone in the given law: the caller loud, the agent quiet, so a frame tells whose it is. */
const tone = (law: 'PCMU' | 'PCMA', n: number, amplitude: number) => {
  let t = 0;
  return Array.from({ length: n }, () => encodeG711(law, Int16Array.from({ length: 160 }, () => Math.round(amplitude * Math.sin((2 * Math.PI * 400 * t++) / 8000)))));
};
const rms = (pcm: Int16Array) => Math.sqrt(pcm.reduce((a, x) => a + x * x, 0) / pcm.length);

/** The speech service's tap, seen on the way: what each party's stream got (the service gets the same). */
function watching(tap: MediaTap) {
  const seen = { started: [] as { party: Party; offsetMs?: number }[], ended: [] as Party[], frames: { caller: [] as number[], agent: [] as number[] } };
  const spy: MediaTap = {
    streamStarted(info) { seen.started.push({ party: info.party, offsetMs: info.offsetMs }); tap.streamStarted(info); },
    frame(callId, party, pcm) { seen.frames[party].push(rms(pcm)); tap.frame(callId, party, pcm); },
    streamEnded(callId, party) { seen.ended.push(party); tap.streamEnded(callId, party); },
  };
  return { seen, spy };
}

let rtp: RunningRtpengine;
let endpoint: TranscribeEndpoint;
let work: string;
const running: SipEdge[] = [];

beforeAll(async () => {
  rtp = await startRtpengine();
  endpoint = await startTranscribeEndpoint();
  work = mkdtempSync(join(tmpdir(), 'hotline-media-fork-'));
});
afterEach(async () => {
  for (const e of running.splice(0)) await e.stop();
});
afterAll(async () => {
  await rtp?.stop();
  await endpoint?.close();
  rmSync(work, { recursive: true, force: true });
});

async function bridgedCall() {
  const transcripts: Extract<CallEvent, { type: 'transcript' }>[] = [];
  const ports: SpeechServiceDeps['ports'] = {
    calls: {
      record: async (_ctx, e) => void transcripts.push(e),
      callFacts: async (_city, callId) => ({ callId, agentUserId: 'agent-1', endedAt: null }),
      searchSegments: async () => [],
    },
    ticketOfCall: async () => null,
    tokenize: (text) => [text],
  };
  const service = createSpeechService({
    engine: createAwsSpeechEngine({ region: 'cn-north-1', endpoint: endpoint.url, credentials: { accessKeyId: 'AKIDMEDIAFORK0001', secretAccessKey: 'media-fork-secret' } }),
    ports, cityId: async () => 'demo',
  });
  const { seen, spy } = watching(service.tap);
  const receivers: ReturnType<typeof createRtpMediaReceiver>[] = [];
  const srf = new FakeSrf();
  const events: EdgeEvent[] = [];
  const edge = createDrachtioSipEdge({
    drachtio: { host: '127.0.0.1', port: 9022, secret: 'cymru' },
    rtpengine: { host: '127.0.0.1', port: rtp.ngPort },
    dtmfListen: null, rtpengineRecordingDir: null, recordingsDir: join(work, 'wav'), realm: REALM, credentials,
    createSrf: () => srf,
    // As app/telephony-drachtio.ts builds it: the speech part's receiver over the tap.
    mediaFork: (tap) => {
      const r = createRtpMediaReceiver({ tap, host: '127.0.0.1' });
      receivers.push(r);
      return r;
    },
  });
  await edge.start((e) => events.push(e));
  running.push(edge);
  edge.setMediaTap!(spy);
  const of = <T extends EdgeEvent['type']>(type: T) => events.filter((e): e is Extract<EdgeEvent, { type: T }> => e.type === type);

  // The agent phone registers (digest auth, as the edge's own tests do).
  const reg = srf.deliver(new FakeRequest('REGISTER', `sip:${REALM}`, { From: `<sip:1001@${REALM}>;tag=r`, To: `<sip:1001@${REALM}>`, 'Call-ID': 'reg', Contact: '<sip:1001@192.168.1.50:5062>', Expires: '600' }, '', '203.0.113.9', '40000'));
  await until(() => reg.last, 'the challenge');
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const ch = parseDigest(reg.last.headers['WWW-Authenticate'])!;
  const response = md5(`${md5(`1001:${ch.realm}:agent-1001-secret`)}:${ch.nonce}:00000001:c0ffee:auth:${md5(`REGISTER:sip:${REALM}`)}`);
  const ok = srf.deliver(new FakeRequest('REGISTER', `sip:${REALM}`, {
    From: `<sip:1001@${REALM}>;tag=r`, To: `<sip:1001@${REALM}>`, 'Call-ID': 'reg', Contact: '<sip:1001@192.168.1.50:5062>', Expires: '600',
    Authorization: `Digest username="1001", realm="${ch.realm}", nonce="${ch.nonce}", uri="sip:${REALM}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`,
  }, '', '203.0.113.9', '40000'));
  await until(() => ok.last?.status === 200, 'the agent phone registered');

  // The caller offers PCMU, the agent phone answers PCMA: each fork carries its party's own codec.
  const caller = await rtpPeer();
  const agentPhone = await rtpPeer();
  const res = srf.deliver(new FakeRequest('INVITE', 'sip:12345@10.0.0.5', { From: '<sip:13800138000@carrier.example>;tag=a', To: '<sip:12345@hotline.example>', 'Call-ID': `c-${Math.random()}` }, sdpOf(caller.port, [0, 101])));
  const { callId } = of('call.offered')[0].call;
  await edge.answer(callId);
  const callerFacingPort = audioPort(res.last.body!)!;
  await until(() => seen.started.some((s) => s.party === 'caller'), "the caller's fork");

  await edge.offerToAgent(callId, { username: '1001' }, { ringTimeoutMs: 10_000 });
  const uac = srf.uacs[0];
  const agentFacingPort = audioPort(uac.opts.localSdp!)!;
  const agentDialog = uac.answer(sdpOf(agentPhone.port, [8, 101]));
  await until(() => of('agent.answered').length, 'agent.answered');
  await until(() => seen.started.some((s) => s.party === 'agent'), "the agent's fork");
  return { srf, edge, of, service, seen, transcripts, receivers, callId, caller, agentPhone, callerFacingPort, agentFacingPort, agentDialog };
}

describe('drachtio edge: the media fork to the app’s RTP receiver', () => {
  it('forks the caller’s and the agent’s RTP through rtpengine to their own receiver ports, decoded (PCMU and PCMA) to the right party’s PCM, and the speech service transcribes each party', async () => {
    const before = endpoint.requests.length;
    const c = await bridgedCall();
    try {
      // Both parties speak for over a second at once (the endpoint answers one segment per second of sound).
      await Promise.all([c.caller.sendTo(c.callerFacingPort, tone('PCMU', 75, 8000)), c.agentPhone.sendTo(c.agentFacingPort, tone('PCMA', 75, 1000), { payloadType: 8 })]);
      await until(() => c.seen.frames.caller.length >= 60 && c.seen.frames.agent.length >= 60, 'both parties’ frames at the tap');

      // The real media still flows between the parties: the fork is a copy, not a detour.
      await until(() => c.agentPhone.received.length >= 60 && c.caller.received.length >= 60, 'RTP both ways through rtpengine');
      // The right party's audio on each stream: the caller's loud tone (8000 peak → RMS ≈ 5657), the agent's quiet one (≈ 707).
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      expect(median(c.seen.frames.caller)).toBeGreaterThan(5000);
      expect(median(c.seen.frames.caller)).toBeLessThan(6500);
      expect(median(c.seen.frames.agent)).toBeGreaterThan(550);
      expect(median(c.seen.frames.agent)).toBeLessThan(900);
      // The agent joined at the bridge: its stream is placed after the caller's start on one time axis.
      expect(c.seen.started.find((s) => s.party === 'caller')!.offsetMs).toBe(0);
      expect(c.seen.started.find((s) => s.party === 'agent')!.offsetMs).toBeGreaterThanOrEqual(0);

      // The speech service opened one Transcribe stream per party and got a segment back for each.
      await until(() => endpoint.requests.length - before === 2, 'two Transcribe streams');
      const finals = () => c.transcripts.filter((t) => t.final);
      await until(() => new Set(finals().map((t) => t.speaker)).size === 2, 'a final segment of each party', 20_000);
      for (const t of finals()) expect(t.text).toMatch(/^第\d+段$/);
      const stats = c.receivers[0].stats;
      expect(stats.strangers).toBe(0);
      expect(stats.decoded).toBeGreaterThanOrEqual(120);
    } finally {
      c.caller.close();
      c.agentPhone.close();
      await c.service.close();
    }
  }, 60_000);

  it('stops both forks when the call ends: rtpengine unsubscribes them before the call is deleted, the tap’s streams end, and no more frames arrive', async () => {
    const c = await bridgedCall();
    try {
      await c.caller.sendTo(c.callerFacingPort, tone('PCMU', 10, 8000));
      await until(() => c.seen.frames.caller.length >= 5, "the caller's frames");
      const m = new RtpengineMedia({ host: '127.0.0.1', port: rtp.ngPort });
      try {
        expect((await m.subscribersOf(c.callId))!.filter((t) => t.startsWith('speech-')).sort()).toEqual([FORK_TAG.agent, FORK_TAG.caller]);
        c.agentDialog.remoteBye();
        await until(() => c.of('call.ended').length, 'call.ended');
        expect(c.seen.ended.sort()).toEqual(['agent', 'caller']);
        // rtpengine was told to unsubscribe each fork (its own log), then the call was deleted.
        const unsubscribes = rtp.log().split('\n').filter((l) => l.includes(`[${c.callId}]`) && l.includes("Received command 'unsubscribe'"));
        expect(unsubscribes).toHaveLength(2);
        expect(await m.subscribersOf(c.callId)).toBeNull();
      } finally {
        m.close();
      }
      const framesAtEnd = c.seen.frames.caller.length + c.seen.frames.agent.length;
      await c.caller.sendTo(c.callerFacingPort, tone('PCMU', 10, 8000));
      await c.agentPhone.sendTo(c.agentFacingPort, tone('PCMA', 10, 1000), { payloadType: 8 });
      expect(c.seen.frames.caller.length + c.seen.frames.agent.length).toBe(framesAtEnd);
    } finally {
      c.caller.close();
      c.agentPhone.close();
      await c.service.close();
    }
  }, 60_000);

  it('unsubscribes a live call’s forks when the tap is removed: the parties still hear each other, the receiver gets nothing more', async () => {
    const c = await bridgedCall();
    const m = new RtpengineMedia({ host: '127.0.0.1', port: rtp.ngPort });
    try {
      c.edge.setMediaTap!(null);
      await until(async () => ((await m.subscribersOf(c.callId)) ?? ['?']).every((t) => !t.startsWith('speech-')), 'the forks unsubscribed in rtpengine');
      await until(() => c.seen.ended.length === 2, 'the tap’s streams ended');
      const framesAtStop = c.seen.frames.caller.length;
      const heard = c.agentPhone.received.length;
      await c.caller.sendTo(c.callerFacingPort, tone('PCMU', 20, 8000));
      await until(() => c.agentPhone.received.length >= heard + 15, 'the caller still heard by the agent phone');
      expect(c.seen.frames.caller.length).toBe(framesAtStop);
    } finally {
      m.close();
      c.caller.close();
      c.agentPhone.close();
      await c.service.close();
    }
  }, 60_000);
});
