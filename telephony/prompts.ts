/**
 * The prompts the ACD plays (提示音). A city records its own (TELEPHONY_PROMPTS_DIR with
 * queue.wav, callback_offer.wav, callback_confirmed.wav, goodbye.wav, 8 kHz mono); without them the
 * product writes tone placeholders so that a fresh install still behaves audibly right: a soft
 * repeating tone while waiting, two beeps for the callback offer, one long beep to confirm, a falling
 * tone to say goodbye.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PromptName } from './domain/acd';

const RATE = 8000;

function wav(samples: Int16Array): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(RATE, 24); h.writeUInt32LE(RATE * 2, 28);
  h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Tones: [frequency Hz (0 = silence), milliseconds]. */
function tones(parts: [number, number][]): Buffer {
  const total = parts.reduce((n, [, ms]) => n + (ms * RATE) / 1000, 0);
  const out = new Int16Array(total);
  let i = 0;
  for (const [f, ms] of parts) {
    const n = (ms * RATE) / 1000;
    for (let k = 0; k < n; k++) out[i++] = f ? Math.round(6000 * Math.sin((2 * Math.PI * f * k) / RATE)) : 0;
  }
  return wav(out);
}

const PLACEHOLDERS: Record<PromptName, [number, number][]> = {
  queue: [[440, 400], [0, 1600]],
  callback_offer: [[660, 300], [0, 200], [660, 300], [0, 1200]],
  callback_confirmed: [[880, 800], [0, 200]],
  goodbye: [[660, 250], [550, 250], [440, 400]],
};

/** The prompt files: the city's from `dir` when given, else placeholders written once under `fallbackDir`. */
export async function ensureDefaultPrompts(dir: string | null, fallbackDir: string): Promise<Record<PromptName, string>> {
  const names = Object.keys(PLACEHOLDERS) as PromptName[];
  if (dir) {
    const files = Object.fromEntries(names.map((n) => [n, join(dir, `${n}.wav`)])) as Record<PromptName, string>;
    for (const f of Object.values(files)) await access(f).catch(() => { throw new Error(`telephony prompt missing: ${f} (TELEPHONY_PROMPTS_DIR)`); });
    return files;
  }
  await mkdir(fallbackDir, { recursive: true });
  const files = {} as Record<PromptName, string>;
  for (const n of names) {
    files[n] = join(fallbackDir, `${n}.wav`);
    await writeFile(files[n], tones(PLACEHOLDERS[n]));
  }
  return files;
}
