/**
 * rtpengine's pcap → stereo WAV: the Ethernet framing (rtpengine's `--recording-format=eth`, the
 * drachtio/rtpengine image's default) from a real rtpengine, and the placement rules on a pcap
 * written here packet by packet: lost packets stay silent in place, a leg that starts late starts
 * late, a half-written last record (rtpengine still writing) is ignored.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcapToStereoWav, readRtpFromPcap } from '../../../telephony/edges/drachtio/pcap-to-wav';
import { RtpengineMedia } from '../../../telephony/edges/drachtio/rtpengine-media';
import { audioPort } from '../../../telephony/edges/drachtio/sdp';
import { rtpPeer, startRtpengine, ulawTone } from '../../helpers/rtpengine';
import { until } from '../../helpers/until';
import { readWav } from './wav';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hotline-pcap-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sdpOf = (port: number) => ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');

/** A pcap (RAW IPv4 link type, as rtpengine writes by default) of RTP packets. */
function pcapOf(packets: { atMs: number; dstPort: number; seq: number; ts: number; ssrc: number; pt: number; payload: Buffer }[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(65535, 16); head.writeUInt32LE(101, 20);
  const recs = packets.map((p) => {
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80; rtp[1] = p.pt; rtp.writeUInt16BE(p.seq, 2); rtp.writeUInt32BE(p.ts, 4); rtp.writeUInt32BE(p.ssrc, 8);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(5000, 0); udp.writeUInt16BE(p.dstPort, 2); udp.writeUInt16BE(8 + 12 + p.payload.length, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45; ip[9] = 17; ip.writeUInt16BE(20 + udp.length + rtp.length + p.payload.length, 2);
    const body = Buffer.concat([ip, udp, rtp, p.payload]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(p.atMs / 1000), 0); rec.writeUInt32LE((p.atMs % 1000) * 1000, 4); rec.writeUInt32LE(body.length, 8); rec.writeUInt32LE(body.length, 12);
    return Buffer.concat([rec, body]);
  });
  return Buffer.concat([head, ...recs]);
}

describe('pcap → stereo WAV', () => {
  it('reads rtpengine’s Ethernet-framed pcap (recording-format=eth) from a real rtpengine', async () => {
    const rtp = await startRtpengine({ extraArgs: ['--recording-format=eth'] });
    const media = new RtpengineMedia({ host: '127.0.0.1', port: rtp.ngPort });
    const caller = await rtpPeer();
    const callId = `eth-${Date.now()}`;
    try {
      const anchored = await media.anchorCaller(callId, sdpOf(caller.port), { record: true });
      await caller.sendTo(anchored.callerFacingPort, ulawTone(25));
      await media.delete(callId);
      const pcap = await until(() => readdirSync(join(rtp.recordingDir, 'pcaps')).find((f) => f.startsWith(callId)), 'the pcap');
      expect(readFileSync(join(rtp.recordingDir, 'pcaps', pcap)).readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
      const rec = await pcapToStereoWav(join(rtp.recordingDir, 'pcaps', pcap), join(dir, 'eth.wav'), { callerFacingPort: anchored.callerFacingPort });
      expect(readWav(rec.path).rms[0]).toBeGreaterThan(1000);
      expect(audioPort(anchored.sdpForCaller)).toBe(anchored.callerFacingPort);
    } finally {
      media.close();
      caller.close();
      await rtp.stop();
    }
  });

  it('leaves lost packets silent in place, starts a late leg late, and ignores a half-written last record', async () => {
    const tone = ulawTone(1)[0];
    const packets = [];
    // Caller (to rtpengine's caller-facing port 40000): frames 0–9, frames 10–19 lost, frames 20–29.
    for (const i of [...Array(10).keys(), ...Array.from({ length: 10 }, (_, k) => 20 + k)]) {
      packets.push({ atMs: 1_000_000 + i * 20, dstPort: 40000, seq: i, ts: 1000 + i * 160, ssrc: 1, pt: 0, payload: tone });
    }
    // Agent (to the agent-facing port) joins 400 ms in: A-law silence (0xd5), then loud bytes (any G.711 payload decodes).
    for (let i = 0; i < 10; i++) packets.push({ atMs: 1_000_400 + i * 20, dstPort: 40002, seq: i, ts: 77_000 + i * 160, ssrc: 2, pt: 8, payload: i < 5 ? Buffer.alloc(160, 0xd5) : tone });
    packets.sort((a, b) => a.atMs - b.atMs);
    const file = join(dir, 'synthetic.pcap');
    const whole = pcapOf(packets);
    writeFileSync(file, Buffer.concat([whole, whole.subarray(24, 24 + 30)])); // + a truncated record
    expect(readRtpFromPcap(whole)).toHaveLength(30);

    const rec = await pcapToStereoWav(file, join(dir, 'synthetic.wav'), { callerFacingPort: 40000 });
    expect(rec.durationMs).toBe(600); // 30 frames of 20 ms from the first packet
    const b = readFileSync(rec.path);
    const left = (i: number) => b.readInt16LE(44 + i * 4);
    const right = (i: number) => b.readInt16LE(44 + i * 4 + 2);
    const energy = (ch: (i: number) => number, from: number, to: number) => { let e = 0; for (let i = from; i < to; i++) e += Math.abs(ch(i)); return e / (to - from); };
    expect(energy(left, 0, 1600)).toBeGreaterThan(1000); // frames 0–9
    expect(energy(left, 1600, 3200)).toBe(0); // the lost frames: silence in their place
    expect(energy(left, 3200, 4800)).toBeGreaterThan(1000); // frames 20–29 where they belong
    expect(energy(right, 0, 3200)).toBeLessThan(20); // nothing before the agent joined, then A-law silence
    expect(energy(right, 4000, 4800)).toBeGreaterThan(1000); // the agent's tone, 500 ms in
  });
});
