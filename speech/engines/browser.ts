/**
 * The `browser` engine (浏览器端转写): the server does not recognise; it streams each party's PCM
 * to the console of the agent the call is offered to, over the live WebSocket (an ephemeral direct
 * message: never stored, dropped when the agent is not connected), and the console recognises it
 * with vosk-browser and posts the segments back (`POST /api/v1/calls/:callId/transcript/segments`).
 * So this engine's streams never emit segments themselves: they reach the speech service through
 * that route. Framing: see {@link encodeAudioFrame} and the comment in speech/ports.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../core';
import type { AudioStreamInfo, Party, RecognitionStream, SpeechEngine, SpeechEngineHealth } from '../ports';

/** The first byte of a binary live frame that carries call audio. */
export const AUDIO_FRAME_KIND = 1;
/** Party byte values. */
export const PARTY_CODE: Readonly<Record<Party, number>> = { caller: 0, agent: 1 };

/** What the engine needs of the live feed: `LiveService.sendToUser` (what happened on this node). */
export type SendToUser = (cityId: string, userId: string, frame: string | Uint8Array) => Promise<{ sent: number; dropped: number; bufferedBytes: number }>;

export interface BrowserEngineOptions {
  /** The agent the call is offered to (their console recognises it); null when nobody has it. */
  agentOf(callId: string): Promise<{ cityId: string; userId: string } | null>;
  send: SendToUser;
  /** The directory served at /speech-models/ (SPEECH_BROWSER_MODEL_DIR); null when not configured. */
  modelDir: string | null;
  /** The model archive in it (a Vosk model folder as .tar.gz); default `model.tar.gz`. */
  modelFile?: string;
  /** Unsent bytes on the agent's socket over which `write` asks the caller to wait; default 64 KiB. */
  highWaterBytes?: number;
  /** Sends not yet handed to the broker over which `write` asks the caller to wait; default 8. */
  maxPendingSends?: number;
  /**
   * How often a stream asks `agentOf` again while it writes (default 1000 ms; 0: at every write): a
   * call re-offered to another agent (振铃未接, 改派) takes its audio to the new agent's console.
   */
  agentRecheckMs?: number;
}

/**
 * Where a stream handed to a new agent numbers its segments from: the console numbers from the
 * `seqBase` of its `call.audio.start`, so the new console's segments never collide with the ones
 * the previous console stored (segments are idempotent per call, party, seq). 10 000 segments a
 * console (hours of speech), and room for 99 hand-overs under the routes' seq limit (1 000 000).
 */
export const HANDOVER_SEQ_STEP = 10_000;

/**
 * One binary frame of call audio:
 * `[u8 1 (audio)][u8 party: 0 caller, 1 agent][u8 n: callId byte length][u8 0]`
 * `[u32 LE: index of the first sample since the stream started][callId, n bytes UTF-8][u8 0 if n is odd]`
 * `[PCM 16-bit little-endian mono at the stream's sample rate]`.
 * The PCM starts at an even offset (8 + n + n % 2), so the console reads it in place as an
 * Int16Array; the sample index keeps the times right when frames were dropped on the way.
 */
export function encodeAudioFrame(callId: string, party: Party, firstSample: number, pcm: Int16Array): Uint8Array {
  const id = Buffer.from(callId, 'utf8');
  if (id.length > 255) throw new Error('speech: a call id over 255 bytes cannot be framed');
  const head = 8 + id.length + (id.length % 2);
  const out = new Uint8Array(head + pcm.length * 2);
  const view = new DataView(out.buffer);
  out[0] = AUDIO_FRAME_KIND;
  out[1] = PARTY_CODE[party];
  out[2] = id.length;
  view.setUint32(4, firstSample >>> 0, true);
  out.set(id, 8);
  for (let i = 0; i < pcm.length; i++) view.setInt16(head + i * 2, pcm[i], true);
  return out;
}

/** The inverse of {@link encodeAudioFrame} (tests, and the shape the console's reader follows); null when not an audio frame. */
export function decodeAudioFrame(b: Uint8Array): { callId: string; party: Party; firstSample: number; pcm: Int16Array } | null {
  if (b.length < 8 || b[0] !== AUDIO_FRAME_KIND || b[1] > 1) return null;
  const n = b[2];
  const head = 8 + n + (n % 2);
  if (b.length < head || (b.length - head) % 2) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const pcm = new Int16Array((b.length - head) / 2);
  for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(head + i * 2, true);
  return { callId: Buffer.from(b.subarray(8, 8 + n)).toString('utf8'), party: b[1] === 0 ? 'caller' : 'agent', firstSample: view.getUint32(4, true), pcm };
}

/** Why the console cannot load the browser engine's model from this server, or null when the archive is there. */
export function browserModelProblem(modelDir: string | null, modelFile = 'model.tar.gz'): { code: string; zh: string; en: string } | null {
  if (!modelDir) {
    return { code: 'SPEECH_BROWSER_MODEL_DIR_UNSET', zh: '浏览器端转写未配置模型目录（SPEECH_BROWSER_MODEL_DIR）', en: 'the browser engine has no model directory (SPEECH_BROWSER_MODEL_DIR)' };
  }
  const file = join(modelDir, modelFile);
  if (!existsSync(file) || !statSync(file).isFile()) {
    return { code: 'SPEECH_BROWSER_MODEL_MISSING', zh: `浏览器端转写模型不存在：${file}`, en: `the browser engine's model is missing: ${file}` };
  }
  return null;
}

export function createBrowserSpeechEngine(opts: BrowserEngineOptions): SpeechEngine {
  const modelFile = opts.modelFile ?? 'model.tar.gz';
  const highWater = opts.highWaterBytes ?? 64 * 1024;
  const maxPending = opts.maxPendingSends ?? 8;
  const recheckMs = opts.agentRecheckMs ?? 1000;
  const open = new Set<{ abort(): void }>();

  const modelProblem = () => browserModelProblem(opts.modelDir, modelFile);

  return {
    kind: 'browser',

    async open(info: AudioStreamInfo): Promise<RecognitionStream> {
      let agent = await opts.agentOf(info.callId);
      if (!agent) {
        throw new AppError('SPEECH_NO_AGENT', 409, `call ${info.callId} is not offered to an agent: no console to recognise it`, `通话 ${info.callId} 尚未分配坐席，无法在浏览器端转写`);
      }
      const drainListeners: (() => void)[] = [];
      const errorListeners: ((err: Error) => void)[] = [];
      let samples = 0;
      let pending = 0;
      let buffered = 0;
      let waiting = false;
      let done = false;
      let drainTimer: NodeJS.Timeout | null = null;
      let handovers = 0;
      let checkedAt = Date.now();
      let checking = false;

      const congested = () => pending >= maxPending || buffered > highWater;
      const maybeDrain = () => {
        if (!waiting || done) return;
        if (!congested()) {
          waiting = false;
          for (const l of drainListeners) l();
        } else if (pending === 0 && !drainTimer) {
          // Nothing in flight will tell us the socket caught up: look again shortly (the next write re-measures).
          drainTimer = setTimeout(() => {
            drainTimer = null;
            buffered = 0;
            maybeDrain();
          }, 20);
          drainTimer.unref();
        }
      };
      const send = (frame: string | Uint8Array, to: { cityId: string; userId: string } | null = agent) => {
        if (!to) return;
        pending++;
        opts.send(to.cityId, to.userId, frame).then(
          (r) => {
            pending--;
            buffered = r.bufferedBytes;
            maybeDrain();
          },
          (err: unknown) => {
            pending--;
            for (const l of errorListeners) l(err instanceof Error ? err : new Error(String(err)));
            maybeDrain();
          },
        );
      };
      const stop = () => {
        done = true;
        if (drainTimer) clearTimeout(drainTimer);
        open.delete(handle);
      };
      const handle = { abort: () => stream.abort() };
      open.add(handle);

      const start = () => JSON.stringify({
        type: 'call.audio.start', callId: info.callId, party: info.party, sampleRate: info.sampleRate, language: info.language,
        ...(handovers ? { seqBase: handovers * HANDOVER_SEQ_STEP } : {}),
      });
      const end = (aborted: boolean) => JSON.stringify({ type: 'call.audio.end', callId: info.callId, party: info.party, ...(aborted ? { aborted: true } : {}) });
      /**
       * The audio follows the call's current agent: re-offered to another (the first did not answer),
       * the first console's stream is ended (aborted) and the new one's starts, the sample index
       * running on so its times stay on the stream's axis; with nobody (withdrawn) it goes nowhere.
       */
      const followAgent = () => {
        if (checking || done || Date.now() - checkedAt < recheckMs) return;
        checking = true;
        opts.agentOf(info.callId).then((next) => {
          checking = false;
          checkedAt = Date.now();
          if (done || (next?.userId === agent?.userId && next?.cityId === agent?.cityId)) return;
          if (agent) send(end(true), agent);
          agent = next;
          if (agent) {
            handovers = Math.min(handovers + 1, 99);
            send(start(), agent);
          }
        }, () => {
          // Not known just now (the database is busy): the audio stays where it goes; asked again later.
          checking = false;
          checkedAt = Date.now();
        });
      };

      send(start());

      const stream: RecognitionStream = {
        write(pcm) {
          if (done) return false;
          followAgent();
          send(encodeAudioFrame(info.callId, info.party, samples, pcm));
          samples += pcm.length;
          if (congested()) {
            waiting = true;
            maybeDrain();
            return false;
          }
          return true;
        },
        onDrain: (l) => void drainListeners.push(l),
        // The console posts its segments to the calls route (acceptSegments): none come through here.
        onSegment: () => {},
        onError: (l) => void errorListeners.push(l),
        async end() {
          if (done) return;
          send(end(false));
          stop();
        },
        abort() {
          if (done) return;
          send(end(true));
          stop();
        },
      };
      return stream;
    },

    async health(): Promise<SpeechEngineHealth> {
      const problem = modelProblem();
      return problem ? { engine: 'browser', ok: false, detail: problem } : { engine: 'browser', ok: true };
    },

    async close() {
      for (const s of [...open]) s.abort();
    },
  };
}
