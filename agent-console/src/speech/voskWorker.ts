/**
 * vosk-browser's recognizer worker (WebAssembly Kaldi), started from our own origin
 * (/speech-worker/vosk-worker.js, served by app/speech-browser.ts with a policy of its own) instead
 * of the package's blob: URL, so the console page keeps its CSP without 'unsafe-eval'. This speaks
 * the worker's message protocol (vosk-browser's ClientMessage / ServerMessage) directly.
 */
import type { ClientMessage, RecognizerMessage, ServerMessage } from 'vosk-browser/dist/interfaces';

export const VOSK_WORKER_URL = '/speech-worker/vosk-worker.js';

export interface VoskRecognizer {
  readonly id: string;
  acceptWaveformFloat(samples: Float32Array, sampleRate: number): void;
  retrieveFinalResult(): void;
  remove(): void;
}

export interface VoskModel {
  recognizer(sampleRate: number, onMessage: (m: RecognizerMessage) => void): VoskRecognizer;
  terminate(): void;
}

let nextId = 0;

/** Starts the worker and loads the model at `modelUrl`; rejects with the worker's own error (e.g. "HTTP error! status: 404"). */
export function loadVoskModel(modelUrl: string, workerUrl = VOSK_WORKER_URL): Promise<VoskModel> {
  const worker = new Worker(workerUrl);
  const recognizers = new Map<string, (m: RecognizerMessage) => void>();
  const post = (m: ClientMessage, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
  const model: VoskModel = {
    recognizer(sampleRate, onMessage) {
      const id = `r${++nextId}`;
      recognizers.set(id, onMessage);
      post({ action: 'create', recognizerId: id, sampleRate });
      post({ action: 'set', recognizerId: id, key: 'words', value: true });
      return {
        id,
        acceptWaveformFloat: (data, rate) => post({ action: 'audioChunk', recognizerId: id, data, sampleRate: rate }, [data.buffer]),
        retrieveFinalResult: () => post({ action: 'retrieveFinalResult', recognizerId: id }),
        remove: () => {
          post({ action: 'remove', recognizerId: id });
          // Its last answer (the final result) may still come: keep listening a moment.
          setTimeout(() => recognizers.delete(id), 5000);
        },
      };
    },
    terminate() {
      post({ action: 'terminate' });
      setTimeout(() => worker.terminate(), 1000);
    },
  };
  const ready = new Promise<VoskModel>((resolve, reject) => {
    let loaded = false;
    worker.onmessage = (ev: MessageEvent<ServerMessage | undefined>) => {
      const m = ev.data;
      if (!m) return;
      if ('recognizerId' in m && m.recognizerId) {
        recognizers.get(m.recognizerId)?.(m as RecognizerMessage);
        return;
      }
      if (m.event === 'load') {
        loaded = true;
        if (m.result) resolve(model);
        else reject(new Error('the model did not load'));
      } else if (m.event === 'error' && !loaded) {
        worker.terminate();
        reject(new Error(m.error));
      }
    };
    worker.onerror = (ev) => {
      if (loaded) return;
      worker.terminate();
      reject(new Error(ev.message || 'the recognizer worker could not start'));
    };
  });
  post({ action: 'load', modelUrl });
  return ready;
}
