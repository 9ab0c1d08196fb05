import { open, readFile, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { RecordingFile } from '../../ports';
import { decodeG711 } from './g711';

/**
 * rtpengine's pcap recording (`--recording-method=pcap`) → a stereo WAV, caller left, agent right.
 *
 * rtpengine writes every RTP packet it receives for the call into one pcap (link type RAW/IPv4 by
 * default, or Ethernet with `--recording-format=eth`), as a fake IPv4/UDP packet whose destination
 * is the rtpengine port the packet arrived on. The edge knows which rtpengine port faces the caller
 * (it handed that port to the caller in its 200 OK), so the direction of each packet is its
 * destination port: to the caller-facing port = the caller speaking; anything else = the agent.
 *
 * Placement uses the RTP timestamp (per SSRC) relative to the call's first packet's capture time,
 * so that lost packets leave silence instead of shifting the rest of the channel earlier, and a
 * leg that starts later (the agent, after queueing) starts at the right place.
 */

const SAMPLE_RATE = 8000;
const LITTLE_ENDIAN = endianness() === 'LE';
/** A stream further away than this from its expected place (clock jump, SSRC change) is re-anchored on capture time. */
const MAX_TS_DRIFT_SAMPLES = SAMPLE_RATE * 2;

export interface PcapToWavOptions {
  /** The rtpengine port the caller sends to (the port in the SDP answered to the caller). */
  callerFacingPort: number;
}

interface Packet { atUs: number; dstPort: number; payloadType: number; ssrc: number; timestamp: number; payload: Uint8Array }

/** Reads the RTP packets of an rtpengine pcap (RAW IPv4 or Ethernet link types). */
export function readRtpFromPcap(buf: Buffer): Packet[] {
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
  const nanos = (le ? magic : buf.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  const out: Packet[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const start = off + 16;
    off = start + incl;
    if (off > buf.length) break; // a truncated last record (the file was still being written)
    let ip = start;
    if (linkType === 1) {
      if (buf.readUInt16BE(start + 12) !== 0x0800) continue; // Ethernet, not IPv4
      ip = start + 14;
    } else if (linkType !== 101 && linkType !== 228) continue;
    if (buf[ip] >> 4 !== 4 || buf[ip + 9] !== 17) continue; // IPv4 UDP only
    const udp = ip + (buf[ip] & 0x0f) * 4;
    const rtp = udp + 8;
    if (rtp + 12 > off || buf[rtp] >> 6 !== 2) continue; // not RTP version 2
    const cc = buf[rtp] & 0x0f;
    const ext = (buf[rtp] & 0x10) !== 0;
    let payloadStart = rtp + 12 + cc * 4;
    if (ext && payloadStart + 4 <= off) payloadStart += 4 + buf.readUInt16BE(payloadStart + 2) * 4;
    let payloadEnd = off;
    if (buf[rtp] & 0x20) payloadEnd -= buf[off - 1]; // padding
    if (payloadStart > payloadEnd) continue;
    out.push({
      atUs: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac),
      dstPort: buf.readUInt16BE(udp + 2),
      payloadType: buf[rtp + 1] & 0x7f,
      ssrc: buf.readUInt32BE(rtp + 8),
      timestamp: buf.readUInt32BE(rtp + 4),
      payload: buf.subarray(payloadStart, payloadEnd),
    });
  }
  return out;
}

/** Writes the stereo WAV and returns what the recording index needs to know about it. */
export async function pcapToStereoWav(pcapPath: string, wavPath: string, opts: PcapToWavOptions): Promise<RecordingFile> {
  const packets = readRtpFromPcap(await readFile(pcapPath)).filter((p) => p.payloadType === 0 || p.payloadType === 8);
  const startUs = packets.reduce((min, p) => Math.min(min, p.atUs), packets.length ? Infinity : 0);
  // Per stream (direction + SSRC): the sample offset of its RTP timestamp 0, anchored at its first packet.
  const anchors = new Map<string, { base: number; firstTs: number }>();
  // First the place of every packet, then one pass decoding straight into the output: a long call
  // holds its pcap and its PCM once, not a decoded copy of every packet besides.
  const placed: { channel: 0 | 1; at: number; packet: Packet }[] = [];
  let total = 0;
  for (const p of packets) {
    const channel: 0 | 1 = p.dstPort === opts.callerFacingPort ? 0 : 1;
    const key = `${channel}:${p.ssrc}`;
    const byClock = Math.round(((p.atUs - startUs) * SAMPLE_RATE) / 1e6);
    let a = anchors.get(key);
    if (!a) { a = { base: byClock, firstTs: p.timestamp }; anchors.set(key, a); }
    let at = a.base + ((p.timestamp - a.firstTs) >>> 0);
    if (Math.abs(at - byClock) > MAX_TS_DRIFT_SAMPLES) { a.base = byClock; a.firstTs = p.timestamp; at = byClock; }
    placed.push({ channel, at, packet: p });
    total = Math.max(total, at + p.payload.length);
  }
  const pcm = Buffer.alloc(total * 4);
  // Interleaved samples written through a typed view (WAV is little-endian, as every platform Node runs on here).
  const frames = LITTLE_ENDIAN ? new Int16Array(pcm.buffer, pcm.byteOffset, total * 2) : null;
  for (const { channel, at, packet } of placed) {
    const samples = decodeG711(packet.payloadType as 0 | 8, packet.payload);
    if (frames) for (let i = 0; i < samples.length; i++) frames[(at + i) * 2 + channel] = samples[i];
    else for (let i = 0; i < samples.length; i++) pcm.writeInt16LE(samples[i], (at + i) * 4 + channel * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  const fh = await open(wavPath, 'w');
  try {
    await fh.write(header);
    await fh.write(pcm);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { path: wavPath, format: 'wav', sampleRate: SAMPLE_RATE, channels: 2, durationMs: Math.round((total * 1000) / SAMPLE_RATE), bytes: (await stat(wavPath)).size };
}
