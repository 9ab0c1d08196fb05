/**
 * G.711 (ITU-T) μ-law (PCMU, RTP payload 0) and A-law (PCMA, payload 8): 8-bit samples to 16-bit
 * linear PCM and back, by table (the encode tables cover every 16-bit input, 64 KiB each).
 */

function ulawToLinear(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const sample = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -sample : sample;
}

const ULAW_CLIP = 32635;
function linearToUlaw(pcm: number): number {
  let sign = 0;
  if (pcm < 0) {
    pcm = -pcm;
    sign = 0x80;
  }
  if (pcm > ULAW_CLIP) pcm = ULAW_CLIP;
  pcm += 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (pcm >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function alawToLinear(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
function linearToAlaw(pcm: number): number {
  pcm >>= 3;
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let seg = 0;
  while (seg < 8 && pcm > ALAW_SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
  return aval ^ mask;
}

const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  ULAW_DECODE[i] = ulawToLinear(i);
  ALAW_DECODE[i] = alawToLinear(i);
}
const ULAW_ENCODE = new Uint8Array(65536);
const ALAW_ENCODE = new Uint8Array(65536);
for (let i = -32768; i < 32768; i++) {
  ULAW_ENCODE[i & 0xffff] = linearToUlaw(i);
  ALAW_ENCODE[i & 0xffff] = linearToAlaw(i);
}

export type G711Law = 'PCMU' | 'PCMA';

/** 8-bit G.711 samples → 16-bit linear PCM. */
export function decodeG711(law: G711Law, bytes: Uint8Array): Int16Array {
  const table = law === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
  return out;
}

/** 16-bit linear PCM → 8-bit G.711 samples. */
export function encodeG711(law: G711Law, pcm: Int16Array): Buffer {
  const table = law === 'PCMU' ? ULAW_ENCODE : ALAW_ENCODE;
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = table[pcm[i] & 0xffff];
  return out;
}

/** Re-encodes G.711 bytes from one law to the other (the relay between legs that chose differently). */
export function transcodeG711(from: G711Law, to: G711Law, bytes: Uint8Array): Buffer {
  if (from === to) return Buffer.from(bytes);
  return encodeG711(to, decodeG711(from, bytes));
}

/** The RTP payload type of each law (RFC 3551 static assignments). */
export const G711_PAYLOAD_TYPE: Record<G711Law, number> = { PCMU: 0, PCMA: 8 };
