/**
 * The binary live frame of call audio (the browser speech engine; framing in speech/ports.ts):
 * `[u8 1][u8 party 0 caller / 1 agent][u8 n][u8 0][u32 LE first sample][callId n bytes][pad to even][PCM16LE]`.
 */
import type { Party } from '../api/speech';

export interface AudioFrame {
  callId: string;
  party: Party;
  firstSample: number;
  pcm: Int16Array;
}

const decoder = new TextDecoder();

export function decodeAudioFrame(buf: ArrayBuffer): AudioFrame | null {
  const b = new Uint8Array(buf);
  if (b.length < 8 || b[0] !== 1 || b[1] > 1) return null;
  const n = b[2];
  const head = 8 + n + (n % 2);
  if (b.length < head || (b.length - head) % 2) return null;
  const firstSample = new DataView(buf).getUint32(4, true);
  // Little-endian on every platform browsers run on: the PCM is read in place.
  return { callId: decoder.decode(b.subarray(8, 8 + n)), party: b[1] === 0 ? 'caller' : 'agent', firstSample, pcm: new Int16Array(buf, head) };
}

/** Vosk takes float samples in [-1, 1). */
export function toFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}
