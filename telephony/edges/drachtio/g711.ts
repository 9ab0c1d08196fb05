/** G.711 (ITU-T) decoding to 16-bit linear PCM: the two codecs a call may use (payload types 0 and 8). */

function ulawToLinear(u: number): number {
  const x = ~u & 0xff;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return x & 0x80 ? -magnitude : magnitude;
}

function alawToLinear(a: number): number {
  const x = a ^ 0x55;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return x & 0x80 ? magnitude : -magnitude;
}

const ULAW = Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i));
const ALAW = Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i));

/** Decodes one RTP payload; `payloadType` 0 is μ-law (PCMU), 8 is A-law (PCMA). */
export function decodeG711(payloadType: 0 | 8, payload: Uint8Array): Int16Array {
  const table = payloadType === 0 ? ULAW : ALAW;
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]];
  return out;
}
