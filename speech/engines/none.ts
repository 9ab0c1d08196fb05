/**
 * The `none` engine: no transcript, said plainly. It never opens a stream (the service does not feed
 * it), and its health tells the console why the transcript panel is empty. Never a fake transcript.
 */
import { AppError } from '../../core';
import type { SpeechEngine } from '../ports';

export const NO_SPEECH_ENGINE = {
  code: 'SPEECH_ENGINE_NONE',
  zh: '本系统未配置语音转写（SPEECH_ENGINE=none），通话没有实时转写',
  en: 'no speech engine is configured (SPEECH_ENGINE=none): calls are not transcribed',
} as const;

export function createNoSpeechEngine(): SpeechEngine {
  return {
    kind: 'none',
    async open() {
      throw new AppError(NO_SPEECH_ENGINE.code, 503, NO_SPEECH_ENGINE.en, NO_SPEECH_ENGINE.zh);
    },
    async health() {
      return { engine: 'none', ok: false, detail: { ...NO_SPEECH_ENGINE } };
    },
    async close() {},
  };
}

/**
 * An engine that cannot run on this server as built: `open` and `health` say why (e.g. the `browser`
 * engine's server piece, speech/engines/browser.ts, not installed in this build).
 */
export function createUnavailableSpeechEngine(kind: SpeechEngine['kind'], detail: { code: string; zh: string; en: string }): SpeechEngine {
  return {
    kind,
    async open() {
      throw new AppError(detail.code, 503, detail.en, detail.zh);
    },
    async health() {
      return { engine: kind, ok: false, detail };
    },
    async close() {},
  };
}
