/**
 * The app-side media receiver (production: rtpengine forwards each party's RTP to it) with real UDP:
 * one port per party's stream, G.711 (PCMA and PCMU) decoded into the same media tap the built-in
 * edge feeds; duplicates, late packets, DTMF and a second sender are left out; closing ends the stream.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { createRtpMediaReceiver, type AudioStreamInfo, type MediaTap } from '../../speech';
import { buildRtp, encodeG711 } from '../../telephony';
import { until } from '../helpers/until';

describe('RTP media receiver', () => {
  it('decodes forwarded G.711 per party into the tap, in order, once', async () => {
    const started: AudioStreamInfo[] = [];
    const frames: { callId: string; party: string; pcm: Int16Array }[] = [];
    const ended: string[] = [];
    const tap: MediaTap = {
      streamStarted: (i) => void started.push(i),
      frame: (callId, party, pcm) => void frames.push({ callId, party, pcm }),
      streamEnded: (callId, party) => void ended.push(`${callId}/${party}`),
    };
    const rx = createRtpMediaReceiver({ tap, host: '127.0.0.1' });
    const caller = await rx.open({ callId: 'c1', party: 'caller', sampleRate: 8000, language: 'zh-CN' });
    const agent = await rx.open({ callId: 'c1', party: 'agent', sampleRate: 8000, language: 'zh-CN', offsetMs: 4000 });
    expect(caller.port).not.toBe(agent.port);
    expect(started.map((s) => s.party)).toEqual(['caller', 'agent']);
    expect(started[1].offsetMs).toBe(4000);

    const tone = (k: number) => Int16Array.from({ length: 160 }, (_, i) => Math.round(5000 * Math.sin((2 * Math.PI * 300 * (k * 160 + i)) / 8000)));
    const packet = (law: 'PCMA' | 'PCMU', seq: number, pcm: Int16Array, pt = law === 'PCMA' ? 8 : 0) =>
      buildRtp({ payloadType: pt, marker: false, sequence: seq, timestamp: seq * 160, ssrc: 42, payload: encodeG711(law, pcm) });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const send = (buf: Buffer, port: number) => new Promise<void>((r) => sock.send(buf, port, '127.0.0.1', () => r()));
    for (let k = 0; k < 3; k++) await send(packet('PCMA', 100 + k, tone(k)), caller.port);
    await send(packet('PCMA', 101, tone(1)), caller.port); // a duplicate
    await send(packet('PCMA', 99, tone(0)), caller.port); // late
    await send(buildRtp({ payloadType: 101, marker: false, sequence: 103, timestamp: 0, ssrc: 42, payload: Buffer.from([1, 0x80, 0, 160]) }), caller.port); // DTMF
    await send(packet('PCMU', 7, tone(0)), agent.port);
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => stranger.send(packet('PCMA', 104, tone(4)), caller.port, '127.0.0.1', () => r()));
    await until(() => frames.length >= 4 && rx.stats.packets >= 8, 'packets handled');
    expect(frames.map((f) => `${f.callId}/${f.party}`)).toEqual(['c1/caller', 'c1/caller', 'c1/caller', 'c1/agent']);
    expect(rx.stats).toMatchObject({ decoded: 4, duplicates: 2, other: 1, strangers: 1 });
    // G.711 is lossy: the decoded tone is within a few percent of what was sent.
    const sent = tone(1);
    const got = frames[1].pcm;
    let err = 0;
    for (let i = 0; i < 160; i++) err = Math.max(err, Math.abs(got[i] - sent[i]));
    expect(err).toBeLessThan(300);

    rx.close('c1', 'caller');
    await rx.stop();
    expect(ended).toEqual(['c1/caller', 'c1/agent']);
    sock.close();
    stranger.close();
  });
});
