import { readFileSync } from 'node:fs';

/** A PCM16 WAV's format and per-channel RMS (the test's "is this silence" measure). */
export function readWav(path: string): { channels: number; sampleRate: number; frames: number; rms: number[] } {
  const b = readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV');
  const channels = b.readUInt16LE(22);
  const sampleRate = b.readUInt32LE(24);
  const dataLen = b.readUInt32LE(40);
  const frames = dataLen / (2 * channels);
  const sums = new Array(channels).fill(0);
  for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) sums[c] += b.readInt16LE(44 + (i * channels + c) * 2) ** 2;
  return { channels, sampleRate, frames, rms: sums.map((s) => Math.sqrt(s / Math.max(1, frames))) };
}
