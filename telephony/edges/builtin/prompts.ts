/**
 * The default prompts (提示音): tones, not speech, generated as 8 kHz mono PCM16 WAV files so a fresh
 * install can play something. A city replaces them with its recorded Mandarin prompts (same names, any
 * 8 kHz mono PCM16/A-law/μ-law WAV) in the directory it configures (TELEPHONY_PROMPTS_DIR).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monoWav } from './wav';

export const DEFAULT_PROMPTS = {
  /** 欢迎语: "您好，欢迎致电12345…" */
  welcome: 'welcome.wav',
  /** 排队等待音乐 (looped while the caller waits). */
  queueMusic: 'queue-music.wav',
  /** 等待超时/回拨提示: "坐席繁忙，按1预约回拨…" */
  callbackOffer: 'callback-offer.wav',
  /** 结束语: "感谢您的来电，再见" */
  goodbye: 'goodbye.wav',
} as const;
export type DefaultPromptName = keyof typeof DEFAULT_PROMPTS;

/** The shipped tone prompts (telephony/prompts/), used when the city configures no directory of its own. */
export const SHIPPED_PROMPTS_DIR = fileURLToPath(new URL('../../prompts/', import.meta.url));

/** name → path of a prompt set in `dir` (files named as in {@link DEFAULT_PROMPTS}). */
export function promptFiles(dir: string = SHIPPED_PROMPTS_DIR): Record<DefaultPromptName, string> {
  return Object.fromEntries(Object.entries(DEFAULT_PROMPTS).map(([k, f]) => [k, join(dir, f)])) as Record<DefaultPromptName, string>;
}

const RATE = 8000;

/** Tone segments: [frequency Hz (0 = silence), duration ms]. */
function tones(segments: [number, number][], amplitude = 8000): Int16Array {
  const total = segments.reduce((n, [, ms]) => n + (ms * RATE) / 1000, 0);
  const out = new Int16Array(total);
  let i = 0;
  for (const [hz, ms] of segments) {
    const n = (ms * RATE) / 1000;
    for (let k = 0; k < n; k++, i++) {
      // 5 ms fade in/out so tones don't click.
      const fade = Math.min(1, k / 40, (n - k) / 40);
      out[i] = hz === 0 ? 0 : Math.round(amplitude * fade * Math.sin((2 * Math.PI * hz * k) / RATE));
    }
  }
  return out;
}

const SHAPES: Record<DefaultPromptName, () => Int16Array> = {
  welcome: () => tones([[660, 200], [0, 80], [880, 300], [0, 300]]),
  queueMusic: () => tones([[523, 400], [659, 400], [784, 400], [659, 400], [0, 400]], 5000),
  callbackOffer: () => tones([[880, 150], [0, 100], [880, 150], [0, 100], [880, 150], [0, 400]]),
  goodbye: () => tones([[880, 250], [0, 60], [660, 400], [0, 200]]),
};

/** Writes any missing default prompt into `dir`; returns name → path for all of them. */
export function ensureDefaultPrompts(dir: string): Record<DefaultPromptName, string> {
  mkdirSync(dir, { recursive: true });
  const paths = {} as Record<DefaultPromptName, string>;
  for (const name of Object.keys(DEFAULT_PROMPTS) as DefaultPromptName[]) {
    const path = join(dir, DEFAULT_PROMPTS[name]);
    if (!existsSync(path)) writeFileSync(path, monoWav(SHAPES[name]()));
    paths[name] = path;
  }
  return paths;
}
