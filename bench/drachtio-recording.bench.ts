/**
 * The drachtio edge's recording step: rtpengine's pcap of a call (both directions, 20 ms G.711
 * frames) turned into the stereo WAV, against the least any conversion must do — read the pcap and
 * write a file of the WAV's size — in the same process. `minutes` is the call's length.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapToStereoWav } from '../telephony/edges/drachtio/pcap-to-wav';
import { fmt, timeIt, type BenchResult } from './harness';

/** A RAW-IPv4 pcap as rtpengine writes it: caller frames to port 40000, agent frames to 40002. */
function callPcap(minutes: number): Buffer {
  const frames = minutes * 60 * 50;
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(65535, 16); head.writeUInt32LE(101, 20);
  const recLen = 16 + 20 + 8 + 12 + 160;
  const out = Buffer.alloc(24 + frames * 2 * recLen);
  head.copy(out, 0);
  let off = 24;
  for (let i = 0; i < frames; i++) {
    for (const [dst, ssrc] of [[40000, 1], [40002, 2]]) {
      const us = 1_700_000_000_000_000 + i * 20_000;
      out.writeUInt32LE(Math.floor(us / 1e6), off); out.writeUInt32LE(us % 1e6, off + 4); out.writeUInt32LE(recLen - 16, off + 8); out.writeUInt32LE(recLen - 16, off + 12);
      const ip = off + 16;
      out[ip] = 0x45; out[ip + 9] = 17; out.writeUInt16BE(recLen - 16, ip + 2);
      out.writeUInt16BE(dst, ip + 20 + 2);
      const rtp = ip + 28;
      out[rtp] = 0x80; out[rtp + 1] = 0; out.writeUInt16BE(i & 0xffff, rtp + 2); out.writeUInt32BE(i * 160, rtp + 4); out.writeUInt32BE(ssrc, rtp + 8);
      out.fill(i % 2 ? 0x10 : 0x90, rtp + 12, rtp + 12 + 160);
      off += recLen;
    }
  }
  return out;
}

export async function benchDrachtioRecording(minutes = 30): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-pcap-'));
  try {
    const pcap = join(dir, 'call.pcap');
    writeFileSync(pcap, callPcap(minutes));
    await pcapToStereoWav(pcap, join(dir, 'warm.wav'), { callerFacingPort: 40000 }); // warm-up
    let bytes = 0;
    const convertMs = await timeIt(async () => { bytes = (await pcapToStereoWav(pcap, join(dir, 'call.wav'), { callerFacingPort: 40000 })).bytes; });
    const baselineMs = await timeIt(async () => { readFileSync(pcap); writeFileSync(join(dir, 'copy.wav'), Buffer.alloc(bytes)); });
    return {
      name: 'drachtio edge: pcap → stereo WAV',
      callMinutes: minutes,
      convertMs: fmt(convertMs),
      callMinutesPerSecond: fmt((minutes * 1000) / convertMs),
      baselineReadWriteMs: fmt(baselineMs),
      ratio: fmt(convertMs / baselineMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
