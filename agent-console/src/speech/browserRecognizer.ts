/**
 * The browser speech engine's console side (浏览器端转写): vosk-browser recognises each party's
 * audio of the agent's call in its Web Worker (WebAssembly Kaldi), with the model the server serves
 * from SPEECH_BROWSER_MODEL_DIR, and the segments go back to the server (segmentOutbox). The audio
 * arrives as direct live messages: `call.audio.start`, binary frames (audioFrame.ts), `call.audio.end`.
 * The worker (~6 MB with its WebAssembly) is fetched only when this engine is used (voskWorker.ts).
 *
 * A missing or broken model is said plainly (stores/speech.ts); no line is ever invented.
 */
import type { RecognizerMessage } from 'vosk-browser/dist/interfaces';
import { speechApi, type Party, type SpeechDetail } from '../api/speech';
import { callsActions } from '../stores/calls';
import { speechActions } from '../stores/speech';
import { decodeAudioFrame, toFloat } from './audioFrame';
import { createSegmentOutbox } from './segmentOutbox';
import { loadVoskModel, type VoskModel as Model, type VoskRecognizer as KaldiRecognizer } from './voskWorker';

interface Stream {
  callId: string;
  party: Party;
  sampleRate: number;
  recognizer: KaldiRecognizer | null;
  /** Samples handed to the recognizer; the frames' own index tells how many were lost on the way. */
  fed: number;
  /** Samples lost before the recognizer saw them (dropped frames): added to its times. */
  lost: number;
  seq: number;
  lastEndMs: number;
  /** Frames that came before the model was ready (at most ~30 s), fed once it is. */
  early: { firstSample: number; pcm: Int16Array }[];
  earlySamples: number;
  ended: boolean;
}

const EARLY_LIMIT_S = 30;
const streams = new Map<string, Stream>();
const keyOf = (callId: string, party: Party) => `${callId}|${party}`;
export const segmentOutbox = createSegmentOutbox({
  onDropped: (callId, err) => console.warn(`transcript segments of ${callId} refused`, err),
});

let model: Model | null = null;
let modelPromise: Promise<Model | null> | null = null;
let failedAt = 0;

const problemOfWorker = (error: string, url: string): SpeechDetail =>
  /status: 404/.test(error)
    ? {
        code: 'SPEECH_BROWSER_MODEL_MISSING',
        zh: `未找到浏览器语音模型（${url}）：请在服务器的模型目录（SPEECH_BROWSER_MODEL_DIR）中放入模型文件`,
        en: `The browser speech model was not found (${url}): put the model archive in the server's model directory (SPEECH_BROWSER_MODEL_DIR)`,
      }
    : { code: 'SPEECH_BROWSER_MODEL_FAILED', zh: `浏览器语音模型加载失败（${url}）`, en: `The browser speech model failed to load (${url})` };

/** Loads the model once (again 30 s after a failure); null when it cannot be had. */
export function ensureModel(): Promise<Model | null> {
  if (model) return Promise.resolve(model);
  if (modelPromise) return modelPromise;
  if (failedAt && Date.now() - failedAt < 30_000) return Promise.resolve(null);
  modelPromise = (async () => {
    speechActions.recognizer('loading');
    let info;
    try {
      info = await speechApi.browserModel();
    } catch {
      speechActions.recognizer('failed', { code: 'SPEECH_BROWSER_MODEL_UNKNOWN', zh: '无法获取浏览器语音模型的配置', en: 'could not ask the server for the browser speech model' });
      return null;
    }
    if (!info.configured || !info.url) {
      speechActions.recognizer('failed', info.detail);
      return null;
    }
    const url = new URL(info.url, location.href).toString();
    try {
      const m = await loadVoskModel(url);
      speechActions.recognizer('ready');
      return m;
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      speechActions.recognizer('failed', problemOfWorker(error, info.url), error);
      return null;
    }
  })().then((m) => {
    model = m;
    modelPromise = null;
    if (!m) failedAt = Date.now();
    return m;
  });
  return modelPromise;
}

/** Vosk's Chinese models put spaces between words: none between two Chinese characters. */
const joinWords = (s: string) => s.replace(/(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])/g, '').trim();

function emit(s: Stream, text: string, final: boolean, startMs: number, endMs: number, confidence: number | null) {
  const seg = { party: s.party, seq: s.seq, text, final, startMs: Math.max(0, Math.round(startMs)), endMs: Math.max(0, Math.round(endMs)), confidence };
  callsActions.transcript({ callId: s.callId, speaker: s.party, ...seg });
  segmentOutbox.add(s.callId, seg);
  if (final) {
    s.seq++;
    s.lastEndMs = seg.endMs;
  }
}

function attach(s: Stream, m: Model) {
  const ms = (samples: number) => (samples / s.sampleRate) * 1000;
  const r = m.recognizer(s.sampleRate, (msg: RecognizerMessage) => {
    if (msg.event === 'result') {
      const text = joinWords(msg.result.text ?? '');
      if (!text) return;
      const words = msg.result.result ?? [];
      const skew = ms(s.lost);
      const start = words.length ? words[0].start * 1000 + skew : s.lastEndMs;
      const end = words.length ? words[words.length - 1].end * 1000 + skew : ms(s.fed + s.lost);
      const confidence = words.length ? words.reduce((a, w) => a + w.conf, 0) / words.length : null;
      emit(s, text, true, start, end, confidence);
    } else if (msg.event === 'partialresult') {
      const text = joinWords(msg.result.partial ?? '');
      if (text) emit(s, text, false, s.lastEndMs, ms(s.fed + s.lost), null);
    } else if (msg.event === 'error') {
      console.warn(`recognizer ${s.callId}/${s.party}: ${msg.error}`);
    }
  });
  s.recognizer = r;
  for (const f of s.early.splice(0)) feed(s, f.firstSample, f.pcm);
  s.earlySamples = 0;
  if (s.ended) finish(s);
}

function feed(s: Stream, firstSample: number, pcm: Int16Array) {
  if (!s.recognizer) {
    if (s.earlySamples + pcm.length > EARLY_LIMIT_S * s.sampleRate) return;
    s.early.push({ firstSample, pcm: pcm.slice() });
    s.earlySamples += pcm.length;
    return;
  }
  // Frames dropped on the way (the socket was behind) shift the recognizer's clock: keep times true.
  const expected = s.fed + s.lost;
  if (firstSample > expected) s.lost += firstSample - expected;
  s.recognizer.acceptWaveformFloat(toFloat(pcm), s.sampleRate);
  s.fed += pcm.length;
}

function finish(s: Stream) {
  if (!s.recognizer) return;
  const r = s.recognizer;
  // Removing answers with the final result (the last words) as a 'result' event; the listener stays a moment for it.
  r.remove();
  streams.delete(keyOf(s.callId, s.party));
}

/** `call.audio.start`: a party's audio is coming. */
export function audioStarted(msg: Record<string, unknown>) {
  if (typeof msg.callId !== 'string' || (msg.party !== 'caller' && msg.party !== 'agent')) return;
  const sampleRate = typeof msg.sampleRate === 'number' && msg.sampleRate > 0 ? msg.sampleRate : 8000;
  // A call handed over from another agent's console: number after that console's segments.
  const seq = typeof msg.seqBase === 'number' && Number.isInteger(msg.seqBase) && msg.seqBase > 0 ? msg.seqBase : 0;
  const s: Stream = { callId: msg.callId, party: msg.party, sampleRate, recognizer: null, fed: 0, lost: 0, seq, lastEndMs: 0, early: [], earlySamples: 0, ended: false };
  streams.set(keyOf(s.callId, s.party), s);
  void ensureModel().then((m) => {
    if (m && streams.get(keyOf(s.callId, s.party)) === s) attach(s, m);
    else if (!m) streams.delete(keyOf(s.callId, s.party));
  });
}

/** A binary frame of a party's audio. */
export function audioFrame(buf: ArrayBuffer) {
  const f = decodeAudioFrame(buf);
  if (!f) return;
  const s = streams.get(keyOf(f.callId, f.party));
  if (s && !s.ended) feed(s, f.firstSample, f.pcm);
}

/** `call.audio.end`: the party's audio is over; the last words become final. */
export function audioEnded(msg: Record<string, unknown>) {
  if (typeof msg.callId !== 'string' || (msg.party !== 'caller' && msg.party !== 'agent')) return;
  const s = streams.get(keyOf(msg.callId, msg.party));
  if (!s) return;
  s.ended = true;
  finish(s);
}
